/**
 * The policy rules every stack must pass, as plain functions over declared resources. `policy/index.ts` turns them
 * into a `@pulumi/policy` pack for `pulumi preview --policy-pack policy`; tests and `npm run plan` call them directly
 * (constructing a PolicyPack starts a gRPC server, so nothing here may import it).
 *
 * Which stacks are "production" is pack configuration (`productionStacks`), matched against the stack name in the
 * resource URNs — infra never branches on the stack name, and a new production-like stack is one config entry.
 */
import { ContractError, limitsFor, parseBudgets, parseClients } from "../worker/src/contract";
import { type AlertFacts, alertFacts, REQUIRED_ALERT_KINDS } from "./alerts";
import { modelsNotRetired, modelsNotRetiringSoon } from "./models";
import {
  bindingsOf,
  jsonBinding,
  type PolicyResource,
  type PolicySettings,
  type ResourceRule,
  type Rule,
  type RuleContext,
  record,
  type StackRule,
  TYPES,
  type Violation,
} from "./resource";
import { findKeyShapedValue } from "./secrets";

/** One declared resource, as both the policy engine and the offline plan see it; the rule shapes (policy/resource.ts). */
export type { PolicyResource, PolicySettings, ResourceRule, Rule, RuleContext, StackRule, Violation } from "./resource";
export { TYPES } from "./resource";

export const DEFAULT_SETTINGS: PolicySettings = {
  productionStacks: ["prod"],
  maxCompatibilityDateAgeDays: 365,
  modelRetirementWarningDays: 30,
};

export const isProduction = (ctx: RuleContext): boolean => ctx.settings.productionStacks.includes(ctx.stack);

const ofType =
  (type: string) =>
  (t: string): boolean =>
    t === type;

const positive = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v) && v > 0;

export const gatewayAuthenticated: ResourceRule = {
  scope: "resource",
  name: "gateway-authenticated",
  description: "Every AI Gateway requires cf-aig-authorization (authentication: true).",
  settings: [],
  appliesTo: ofType(TYPES.aiGateway),
  check: (r) =>
    r.props.authentication === true
      ? []
      : [
          `AI Gateway "${r.name}" must set authentication: true (found ${JSON.stringify(r.props.authentication ?? null)}); an unauthenticated gateway lets anyone with its URL spend the account's money`,
        ],
};

export const gatewayRateLimited: ResourceRule = {
  scope: "resource",
  name: "gateway-rate-limited",
  description: "Every AI Gateway has a rate limit (rateLimitingLimit and rateLimitingInterval above 0).",
  settings: [],
  appliesTo: ofType(TYPES.aiGateway),
  check: (r) => {
    const out: string[] = [];
    if (!positive(r.props.rateLimitingLimit)) {
      out.push(
        `AI Gateway "${r.name}" must set rateLimitingLimit above 0 (found ${JSON.stringify(r.props.rateLimitingLimit ?? null)}; 0 turns rate limiting off)`,
      );
    }
    if (!positive(r.props.rateLimitingInterval)) {
      out.push(
        `AI Gateway "${r.name}" must set rateLimitingInterval above 0 (found ${JSON.stringify(r.props.rateLimitingInterval ?? null)})`,
      );
    }
    return out;
  },
};

export const workerRateLimited: ResourceRule = {
  scope: "resource",
  name: "worker-rate-limited",
  description: "Every Worker has a ratelimit binding with a limit and period above 0 (the per-client limit).",
  settings: [],
  appliesTo: ofType(TYPES.workersScript),
  check: (r) => {
    const limiters = bindingsOf(r).filter((b) => b.type === "ratelimit");
    if (limiters.length === 0) return [`Worker "${r.name}" must declare a ratelimit binding (per-client rate limit); none found`];
    return limiters.flatMap((b) => {
      const simple = record(b.simple);
      return positive(simple.limit) && positive(simple.period)
        ? []
        : [
            `Worker "${r.name}" ratelimit binding "${String(b.name)}" must set simple.limit and simple.period above 0 (found ${JSON.stringify(b.simple ?? null)})`,
          ];
    });
  },
};

export const workerClientsListed: ResourceRule = {
  scope: "resource",
  name: "worker-clients-listed",
  description: "Every Worker declares who may call: a plain CLIENTS json binding listing at least one valid client id.",
  settings: [],
  appliesTo: ofType(TYPES.workersScript),
  check: (r) => {
    const b = bindingsOf(r).find((x) => x.name === "CLIENTS");
    if (!b) return [`Worker "${r.name}" must declare the CLIENTS json binding (the client ids that may call); none found`];
    if (b.type !== "json" || typeof b.json !== "string") {
      return [`Worker "${r.name}" binding "CLIENTS" must be a json binding, readable in plans and audits (found ${String(b.type)})`];
    }
    try {
      parseClients(JSON.parse(b.json));
      return [];
    } catch (e) {
      const why = e instanceof ContractError ? `${e.path} ${e.problem}` : "is not valid JSON";
      return [`Worker "${r.name}" binding "CLIENTS"${why.startsWith("[") ? why : ` ${why.trim()}`}`];
    }
  },
};

/**
 * Production is the pack's `productionStacks` (the same notion the logs and protect rules use), not the stack's own
 * `protect` flag: a stack cannot opt out of the rule by leaving protect off.
 */
export const productionClientsBudgeted: ResourceRule = {
  scope: "resource",
  name: "production-clients-budgeted",
  description:
    "In production stacks the Worker holds every listed client to a budget (BUDGETS: its own limits or the default) and binds the ledger.",
  settings: ["productionStacks"],
  appliesTo: ofType(TYPES.workersScript),
  check: (r, ctx) => {
    if (!isProduction(ctx)) return [];
    const where = `in production stack "${ctx.stack}"`;
    const list = bindingsOf(r);
    const b = list.find((x) => x.name === "BUDGETS");
    if (!b)
      return [
        `Worker "${r.name}" must declare the BUDGETS json binding ${where} (set budgets in the stack config); none found, so no client's spend is limited`,
      ];
    if (b.type !== "json" || typeof b.json !== "string")
      return [`Worker "${r.name}" binding "BUDGETS" must be a json binding, readable in plans and audits (found ${String(b.type)})`];
    let budgets: ReturnType<typeof parseBudgets>;
    try {
      budgets = parseBudgets(JSON.parse(b.json));
    } catch (e) {
      return [`Worker "${r.name}" binding "BUDGETS" is unusable: ${e instanceof ContractError ? e.at("BUDGETS") : "not valid JSON"}`];
    }
    const out: string[] = [];
    if (!list.some((x) => x.name === "BUDGET_LEDGER" && x.type === "durable_object_namespace")) {
      out.push(`Worker "${r.name}" must bind the BUDGET_LEDGER Durable Object ${where}: without its ledger the Worker cannot hold budgets`);
    }
    const clients = jsonBinding(r, "CLIENTS");
    let ids: string[] = [];
    try {
      ids = clients !== undefined ? parseClients(JSON.parse(clients)) : [];
    } catch {
      // worker-clients-listed reports a bad CLIENTS binding.
    }
    const unbudgeted = ids.filter((id) => limitsFor(budgets, id) === null);
    if (unbudgeted.length > 0) {
      out.push(
        `Worker "${r.name}" lets ${unbudgeted.map((id) => `"${id}"`).join(", ")} spend without a limit ${where}: give each a daily or monthly budget in budgets.clients, or set budgets.default`,
      );
    }
    return out;
  },
};

export const productionLogsCollected: ResourceRule = {
  scope: "resource",
  name: "production-logs-collected",
  description: "In production stacks every AI Gateway collects logs (collectLogs: true).",
  settings: ["productionStacks"],
  appliesTo: ofType(TYPES.aiGateway),
  check: (r, ctx) =>
    !isProduction(ctx) || r.props.collectLogs === true
      ? []
      : [
          `AI Gateway "${r.name}" must set collectLogs: true in production stack "${ctx.stack}" (found ${JSON.stringify(r.props.collectLogs ?? null)}); without logs there is no audit trail`,
        ],
};

/** Binding names that promise a secret: `*_KEY`, `*_TOKEN`, `*_SECRET`, `*_PASSWORD`, `*_CREDENTIALS`, … */
const SECRET_NAME = /(^|_)(KEYS?|TOKENS?|SECRETS?|PASSWORDS?|CREDENTIALS?)$/i;

export const secretsOnlyInSecretBindings: ResourceRule = {
  scope: "resource",
  name: "secrets-only-in-secret-bindings",
  description:
    "No Worker plain_text or json binding holds a key-shaped value or has a secret-shaped name; secrets go in secret_text bindings.",
  settings: [],
  appliesTo: ofType(TYPES.workersScript),
  check: (r) => {
    const accountId = typeof r.props.accountId === "string" ? r.props.accountId : undefined;
    const out: string[] = [];
    for (const b of bindingsOf(r)) {
      const name = String(b.name);
      if (b.type !== "plain_text" && b.type !== "json") continue;
      if (SECRET_NAME.test(name)) {
        out.push(`Worker "${r.name}" binding "${name}" is named like a secret but is ${b.type}; declare it as secret_text`);
      }
      const raw = b.type === "plain_text" ? b.text : b.json;
      // The account id is a 32-hex string that every resource carries in the clear; it is an identifier, not a secret.
      const found = findKeyShapedValue(raw, accountId === undefined ? [] : [accountId]);
      if (found) {
        out.push(`Worker "${r.name}" ${b.type} binding "${name}" holds a value that looks like ${found}; move it to a secret_text binding`);
      }
    }
    return out;
  },
};

export const productionResourcesProtected: ResourceRule = {
  scope: "resource",
  name: "production-resources-protected",
  description: "In production stacks every Cloudflare resource is declared with protect: true.",
  settings: ["productionStacks"],
  appliesTo: (t) => t.startsWith("cloudflare:"),
  check: (r, ctx) =>
    !isProduction(ctx) || r.protect
      ? []
      : [`${r.type.split(":").pop()} "${r.name}" must be declared with protect: true in production stack "${ctx.stack}"`],
};

export const workerObservability: ResourceRule = {
  scope: "resource",
  name: "worker-observability-on",
  description: "Every Worker has observability enabled with a sampling rate above 0.",
  settings: [],
  appliesTo: ofType(TYPES.workersScript),
  check: (r) => {
    const o = record(r.props.observability);
    if (o.enabled !== true) {
      return [`Worker "${r.name}" must set observability.enabled: true (found ${JSON.stringify(r.props.observability ?? null)})`];
    }
    if (o.headSamplingRate !== undefined && o.headSamplingRate !== null && !positive(o.headSamplingRate)) {
      return [
        `Worker "${r.name}" observability.headSamplingRate must be above 0 (found ${JSON.stringify(o.headSamplingRate)}; 0 records nothing)`,
      ];
    }
    return [];
  },
};

const DAY_MS = 86_400_000;

export const compatibilityDateRecent: ResourceRule = {
  scope: "resource",
  name: "compatibility-date-recent",
  description: "Every Worker's compatibility date is a real date, not in the future, and at most maxCompatibilityDateAgeDays old.",
  settings: ["maxCompatibilityDateAgeDays"],
  appliesTo: ofType(TYPES.workersScript),
  check: (r, ctx) => {
    const raw = r.props.compatibilityDate;
    const m = typeof raw === "string" ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw) : null;
    const date = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
    if (!m || !date || date.toISOString().slice(0, 10) !== raw) {
      return [`Worker "${r.name}" must set compatibilityDate as YYYY-MM-DD (found ${JSON.stringify(raw ?? null)})`];
    }
    const today = Date.UTC(ctx.now.getUTCFullYear(), ctx.now.getUTCMonth(), ctx.now.getUTCDate());
    const age = Math.round((today - date.getTime()) / DAY_MS);
    if (age < 0) return [`Worker "${r.name}" compatibilityDate ${raw} is in the future`];
    const max = ctx.settings.maxCompatibilityDateAgeDays;
    return age > max
      ? [`Worker "${r.name}" compatibilityDate ${raw} is ${age} days old; at most ${max} allowed: move it forward and re-test`]
      : [];
  },
};

export const alertsCovered: StackRule = {
  scope: "stack",
  name: "alerts-cost-error-usage",
  description: `Every stack declares ${REQUIRED_ALERT_KINDS.join(", ")} alerts, each delivered to at least one destination.`,
  settings: [],
  check: (resources) => {
    const facts: AlertFacts = alertFacts(resources);
    const out: Violation[] = [...facts.problems.map((message) => ({ message }))];
    for (const kind of REQUIRED_ALERT_KINDS) {
      const rules = facts.alerts.filter((a) => a.kind === kind);
      if (rules.length === 0) {
        out.push({ message: `the stack declares no ${kind} alert; every stack needs ${REQUIRED_ALERT_KINDS.join(", ")} alerts` });
        continue;
      }
      for (const a of rules) {
        if (a.destinations.length === 0) {
          out.push({ message: `${kind} alert "${a.name}" has no destination; it would fire into nothing`, resource: a.resource });
        }
      }
    }
    return out;
  },
};

/** Every rule, in the order plans list them. */
export const RULES: readonly Rule[] = [
  gatewayAuthenticated,
  gatewayRateLimited,
  workerRateLimited,
  workerClientsListed,
  productionClientsBudgeted,
  productionLogsCollected,
  secretsOnlyInSecretBindings,
  productionResourcesProtected,
  alertsCovered,
  workerObservability,
  compatibilityDateRecent,
  modelsNotRetired,
  modelsNotRetiringSoon,
];

export interface RuleResult {
  readonly rule: string;
  readonly description: string;
  readonly enforcement: "mandatory" | "advisory";
  /** No violations (for an advisory rule: no warnings). */
  readonly passed: boolean;
  readonly violations: Violation[];
}

/** Runs every rule over a stack's resources, as the pack would, in rule order. */
export function evaluate(resources: readonly PolicyResource[], ctx: RuleContext, rules: readonly Rule[] = RULES): RuleResult[] {
  return rules.map((rule) => {
    const violations: Violation[] =
      rule.scope === "stack"
        ? rule.check(resources, ctx)
        : resources
            .filter((r) => rule.appliesTo(r.type))
            .flatMap((r) => rule.check(r, ctx).map((message) => ({ message, resource: r.name })));
    return {
      rule: rule.name,
      description: rule.description,
      enforcement: rule.enforcement ?? "mandatory",
      passed: violations.length === 0,
      violations,
    };
  });
}

/** The stack segment of a URN (`urn:pulumi:<stack>::<project>::<type>::<name>`). */
export function stackOfUrn(urn: string): string {
  const m = /^urn:pulumi:([^:]+)::/.exec(urn);
  if (!m?.[1]) throw new Error(`cannot read the stack name from URN ${JSON.stringify(urn)}`);
  return m[1];
}
