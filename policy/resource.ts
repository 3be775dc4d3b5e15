/**
 * The shapes the policy rules share: a declared resource as the rules read it (also the alert facts' and the plans'
 * input), the pack settings, what a rule is, the resource types and the readers of a Worker's bindings. Apart from
 * policy/rules.ts so rule modules (policy/models.ts, policy/alerts.ts) need not import the rule list that imports them.
 */
import type { ModelCatalog } from "../infra/models";

/** The resource types the rules read. */
export const TYPES = {
  aiGateway: "cloudflare:index/aiGateway:AiGateway",
  workersScript: "cloudflare:index/workersScript:WorkersScript",
  workersCronTrigger: "cloudflare:index/workersCronTrigger:WorkersCronTrigger",
  notificationPolicy: "cloudflare:index/notificationPolicy:NotificationPolicy",
  notificationWebhooks: "cloudflare:index/notificationPolicyWebhooks:NotificationPolicyWebhooks",
} as const;

/** One declared resource as the policy rules read it: the shape shared by the rules, the alert facts and the plans. */
export interface PolicyResource {
  readonly type: string;
  readonly name: string;
  /** Declared inputs with secrets already unwrapped to plain values (the policy engine does the same). */
  readonly props: Record<string, unknown>;
  readonly protect: boolean;
}

/** Pack configuration; every key has a default, so the pack runs with no config file. */
export interface PolicySettings {
  /** Stacks held to production rules (logs collected, every resource protected). */
  readonly productionStacks: readonly string[];
  /** A Worker's compatibility date may be at most this many days old. */
  readonly maxCompatibilityDateAgeDays: number;
  /** Warn when a routed model's end of life is at most this many days away. */
  readonly modelRetirementWarningDays: number;
}

export interface RuleContext {
  readonly stack: string;
  readonly settings: PolicySettings;
  /** Injected so tests (and the compatibility-date and model rules) never read the wall clock themselves. */
  readonly now: Date;
  /** Model lifecycle data; default: the installed SDKs' and infra/model-lifecycle.ts (infra/models.ts). */
  readonly models?: ModelCatalog;
}

export interface Violation {
  readonly message: string;
  /** Name of the offending resource; absent for a stack-wide violation. */
  readonly resource?: string;
}

interface RuleBase {
  /** Policy name as Pulumi shows it. */
  readonly name: string;
  readonly description: string;
  /** Settings keys this rule reads (each becomes a key of its policy config schema). */
  readonly settings: readonly (keyof PolicySettings)[];
  /** "advisory" rules warn without failing the preview. @default "mandatory" */
  readonly enforcement?: "mandatory" | "advisory";
}

/** Checks one resource at a time; the pack runs it in `validateResource`. */
export interface ResourceRule extends RuleBase {
  readonly scope: "resource";
  appliesTo(type: string): boolean;
  /** Messages for this resource; empty when it passes. */
  check(resource: PolicyResource, ctx: RuleContext): string[];
}

/** Checks the whole stack; the pack runs it in `validateStack`. */
export interface StackRule extends RuleBase {
  readonly scope: "stack";
  check(resources: readonly PolicyResource[], ctx: RuleContext): Violation[];
}

export type Rule = ResourceRule | StackRule;

/** `v` when it is a plain object, else an empty one: declared inputs are read without trusting their shape. */
export function record(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** A Worker's declared bindings, each as a record (none when it declares no list). */
export function bindingsOf(resource: PolicyResource): Record<string, unknown>[] {
  const list = resource.props.bindings;
  return Array.isArray(list) ? list.map(record) : [];
}

/** The JSON text of the binding `name`; undefined when there is no such binding or it carries no JSON text. */
export function jsonBinding(resource: PolicyResource, name: string): string | undefined {
  const json = bindingsOf(resource).find((b) => b.name === name)?.json;
  return typeof json === "string" ? json : undefined;
}
