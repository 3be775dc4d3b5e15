/**
 * Turns the plain rules (policy/rules.ts) into `@pulumi/policy` policies. Kept apart from policy/index.ts, which
 * constructs the PolicyPack (and with it a gRPC server), so tests exercise exactly the policies the pack serves.
 */
import type { Policies, PolicyConfigSchema, ReportViolation, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import { DEFAULT_SETTINGS, type PolicySettings, RULES, type Rule, type RuleContext, stackOfUrn } from "./rules";

const SCHEMA: Record<keyof PolicySettings, PolicyConfigSchema["properties"][string]> = {
  productionStacks: {
    type: "array",
    items: { type: "string" },
    default: [...DEFAULT_SETTINGS.productionStacks],
    description: "Stacks held to production rules",
  },
  maxCompatibilityDateAgeDays: {
    type: "integer",
    minimum: 1,
    default: DEFAULT_SETTINGS.maxCompatibilityDateAgeDays,
    description: "Oldest allowed Worker compatibility date, in days",
  },
  modelRetirementWarningDays: {
    type: "integer",
    minimum: 0,
    default: DEFAULT_SETTINGS.modelRetirementWarningDays,
    description: "Warn when a routed model's end of life is at most this many days away",
  },
};

function settingsOf(config: Partial<PolicySettings>): PolicySettings {
  return { ...DEFAULT_SETTINGS, ...config };
}

function resourcePolicy(rule: Extract<Rule, { scope: "resource" }>, now: () => Date) {
  return (args: ResourceValidationArgs, report: ReportViolation): void => {
    if (!rule.appliesTo(args.type)) return;
    const ctx: RuleContext = { stack: stackOfUrn(args.urn), settings: settingsOf(args.getConfig()), now: now() };
    const resource = { type: args.type, name: args.name, props: args.props, protect: args.opts.protect === true };
    for (const message of rule.check(resource, ctx)) report(message);
  };
}

function stackPolicy(rule: Extract<Rule, { scope: "stack" }>, now: () => Date) {
  return (args: StackValidationArgs, report: ReportViolation): void => {
    const first = args.resources[0];
    if (!first) return;
    const ctx: RuleContext = { stack: stackOfUrn(first.urn), settings: settingsOf(args.getConfig()), now: now() };
    const resources = args.resources.map((r) => ({ type: r.type, name: r.name, props: r.props, protect: r.opts.protect === true }));
    for (const v of rule.check(resources, ctx)) {
      report(v.message, v.resource === undefined ? undefined : args.resources.find((r) => r.name === v.resource)?.urn);
    }
  };
}

/** The pack's policies, each at its rule's enforcement level (mandatory unless the rule is advisory); `now` is injected so tests can fix the date. */
export function policies(now: () => Date = () => new Date(), rules: readonly Rule[] = RULES): Policies {
  return rules.map((rule) => {
    const base = {
      name: rule.name,
      description: rule.description,
      enforcementLevel: rule.enforcement ?? ("mandatory" as const),
      ...(rule.settings.length > 0 ? { configSchema: { properties: Object.fromEntries(rule.settings.map((k) => [k, SCHEMA[k]])) } } : {}),
    };
    return rule.scope === "stack"
      ? { ...base, validateStack: stackPolicy(rule, now) }
      : { ...base, validateResource: resourcePolicy(rule, now) };
  });
}
