/**
 * The Worker's bindings: the one list both sides use. The Worker reads exactly these names; infra declares exactly
 * these on the `WorkersScript` (and a test proves the two sets are equal). Changing a name here changes both sides.
 */

/** How a binding is declared on the script (Cloudflare's binding `type`). */
export type BindingKind = "plain_text" | "secret_text" | "json" | "ratelimit" | "kv_namespace" | "durable_object_namespace";

export interface BindingSpec {
  readonly kind: BindingKind;
  /** false: the Worker works without it (infra may leave it out). */
  readonly required: boolean;
}

export const BINDINGS = {
  AI_GATEWAY_ACCOUNT_ID: { kind: "plain_text", required: true },
  AI_GATEWAY_ID: { kind: "plain_text", required: true },
  AI_GATEWAY_BASE_URL: { kind: "plain_text", required: false },
  AI_GATEWAY_TOKEN: { kind: "secret_text", required: true },
  ANTHROPIC_API_KEY: { kind: "secret_text", required: true },
  OPENAI_API_KEY: { kind: "secret_text", required: true },
  CLIENT_KEYS: { kind: "secret_text", required: true },
  CLIENTS: { kind: "json", required: true },
  ROUTING: { kind: "json", required: true },
  STACK: { kind: "plain_text", required: true },
  RATE_LIMITER: { kind: "ratelimit", required: true },
  RATE_LIMIT_PERIOD: { kind: "plain_text", required: true },
  ALERTS: { kind: "json", required: false },
  ALERTS_STATE: { kind: "kv_namespace", required: false },
  ALERTS_ANALYTICS_TOKEN: { kind: "secret_text", required: false },
  ALERTS_WEBHOOK_SECRETS: { kind: "secret_text", required: false },
  ALERTS_PAGERDUTY_ROUTING_KEY: { kind: "secret_text", required: false },
  BUDGETS: { kind: "json", required: false },
  BUDGET_LEDGER: { kind: "durable_object_namespace", required: false },
} as const satisfies Record<string, BindingSpec>;

export type BindingName = keyof typeof BINDINGS;

/** One line per binding for plans, audits and docs (kept apart from BINDINGS so the Worker bundle does not carry it). */
export const BINDING_DOCS = {
  AI_GATEWAY_ACCOUNT_ID: "Cloudflare account that owns the gateway",
  AI_GATEWAY_ID: "the stack's AI Gateway id",
  AI_GATEWAY_BASE_URL: "overrides https://gateway.ai.cloudflare.com/v1 (local runs and tests only)",
  AI_GATEWAY_TOKEN: "sent as cf-aig-authorization on every gateway call",
  ANTHROPIC_API_KEY: "Anthropic provider key",
  OPENAI_API_KEY: "OpenAI provider key",
  CLIENT_KEYS: "JSON: client id -> SHA-256 hex digest of its key",
  CLIENTS: "client ids that may call (a key works only if its client is listed here too)",
  ROUTING: "models, fallback chain, A/B splits, cache TTLs, limits, timeouts, CORS",
  STACK: "stack name, sent in gateway metadata",
  RATE_LIMITER: "per-client request limit",
  RATE_LIMIT_PERIOD: "RATE_LIMITER's period in seconds, sent as Retry-After (the binding cannot tell the Worker; set beside it)",
  ALERTS: "computed alerts: cron, rules (cost/day, error rate, usage spike), destinations",
  ALERTS_STATE: "alert state: firing rules, analytics failure streak",
  ALERTS_ANALYTICS_TOKEN: "Account Analytics Read token for the GraphQL API",
  ALERTS_WEBHOOK_SECRETS: "JSON: webhook name -> its cf-webhook-auth secret",
  ALERTS_PAGERDUTY_ROUTING_KEY: "PagerDuty Events v2 routing key",
  BUDGETS: "spend control: model prices, per-client daily/monthly budgets, action at the limit, lease sizing",
  BUDGET_LEDGER: "budget ledger, one Durable Object per client (class BudgetLedger)",
} as const satisfies Record<BindingName, string>;

export const BINDING_NAMES = Object.keys(BINDINGS) as BindingName[];

/** Names whose values are secrets: declared as `secret_text`, shown by name only. */
export const SECRET_BINDING_NAMES = BINDING_NAMES.filter((n) => BINDINGS[n].kind === "secret_text");
