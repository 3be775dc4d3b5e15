/**
 * The stack config's one definition: the schema of every non-secret key of `Pulumi.<stack>.yaml`, built from the
 * contract's pieces (ROUTING, CLIENTS, ALERTS, BUDGETS and the cron check are the Worker's own schemas). Types, defaults,
 * validation and the JSON Schema editors use (`npm run schema`) all come from here; Pulumi.yaml only documents them.
 */
import * as v from "valibot";
import {
  AlertRulesSchema,
  alertsEntries,
  BINDINGS,
  type BindingName,
  BudgetsSchema,
  bool,
  budgetsProblems,
  CacheTtlSchema,
  ClientsSchema,
  CronSchema,
  checkDestinations,
  firstRepeat,
  int,
  list,
  matching,
  num,
  object,
  objectMessage,
  oneOf,
  PROVIDERS,
  type Routing,
  RoutingSchema,
  refine,
  text,
  webhookEntries,
} from "../worker/src/contract";

export const RATE_LIMIT_TECHNIQUES = ["fixed", "sliding"] as const;
export const LOG_STRATEGIES = ["STOP_INSERTING", "DELETE_OLDEST"] as const;
export const RETRY_BACKOFFS = ["constant", "linear", "exponential"] as const;
export const GUARDRAIL_ACTIONS = ["FLAG", "BLOCK"] as const;
export const GUARDRAIL_CATEGORIES = ["p1", ...Array.from({ length: 13 }, (_, i) => `s${i + 1}`)] as const;
export const TOKEN_SOURCES = ["mint", "config"] as const;
/** Periods the Workers rate-limit binding accepts. */
export const RATE_LIMITER_PERIODS = [10, 60] as const;
export const ANALYTICS_TOKEN_SOURCES = ["mint", "config"] as const;
/** Cloudflare's incident impact levels, for the incident_alert filter. */
export const INCIDENT_IMPACTS = [
  "INCIDENT_IMPACT_NONE",
  "INCIDENT_IMPACT_MINOR",
  "INCIDENT_IMPACT_MAJOR",
  "INCIDENT_IMPACT_CRITICAL",
] as const;
const DEFAULT_INCIDENT_IMPACTS: (typeof INCIDENT_IMPACTS)[number][] = ["INCIDENT_IMPACT_MAJOR", "INCIDENT_IMPACT_CRITICAL"];

/** Secret config keys (all `pulumi config set --secret`); they are read with requireSecret, never through this schema. */
export const SECRET_KEYS = ["anthropicApiKey", "openaiApiKey", "clientKeys", "gatewayToken"] as const;
export const ALERT_SECRET_KEYS = {
  analyticsToken: "alertsAnalyticsToken",
  webhookSecret: "alertsWebhookSecret",
  pagerdutyRoutingKey: "alertsPagerdutyRoutingKey",
} as const;

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
export const RESOURCE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const CONFIG_KEY = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const NAMESPACE_ID = "a positive whole number as a string, unique in the account";
const SUBDOMAIN = "the account's workers.dev subdomain (lowercase letters, digits, '-')";

const GatewaySchema = object({
  cacheTtl: CacheTtlSchema,
  cacheInvalidateOnUpdate: v.optional(bool(), true),
  rateLimit: refine(
    object({ limit: int(0, 1_000_000_000), interval: int(0, 86_400), technique: v.optional(oneOf(RATE_LIMIT_TECHNIQUES), "sliding") }),
    (rl, fail) => {
      // 0 turns the limit off; a limit needs a window to count in.
      if (rl.limit > 0 && rl.interval < 1) fail(["interval"], "must be a whole number from 1 to 86400 when limit is above 0", rl.interval);
    },
  ),
  logs: object({
    collect: bool(),
    maxStored: int(10_000, 10_000_000),
    strategy: v.optional(oneOf(LOG_STRATEGIES), "DELETE_OLDEST"),
  }),
  retries: v.optional(
    object({
      maxAttempts: v.optional(int(1, 5), 1),
      delayMs: v.optional(int(0, 60_000), 0),
      backoff: v.optional(oneOf(RETRY_BACKOFFS), "constant"),
    }),
    {},
  ),
  spendLimits: v.optional(
    object({
      enabled: v.optional(bool(), true),
      rules: v.pipe(
        list(
          v.pipe(
            object({
              limit: num(0.01, 1_000_000_000),
              limitType: v.optional(oneOf(["cost"] as const), "cost"),
              window: int(60, 31_536_000),
              technique: v.optional(oneOf(RATE_LIMIT_TECHNIQUES), "fixed"),
              providers: v.optional(list(text())),
              models: v.optional(list(text())),
            }),
            // The gateway has one limit type; the component writes it.
            v.transform(({ limitType: _, ...rule }) => rule),
          ),
        ),
        v.minLength(1, "must hold at least one rule (or leave spendLimits out)"),
      ),
    }),
  ),
  guardrails: v.optional(
    object({
      prompt: v.optional(
        v.record(
          v.picklist(GUARDRAIL_CATEGORIES, `is not a guardrail category (expected one of: ${GUARDRAIL_CATEGORIES.join(", ")})`),
          oneOf(GUARDRAIL_ACTIONS),
          "must be an object",
        ),
        {},
      ),
      response: v.optional(
        v.record(
          v.picklist(GUARDRAIL_CATEGORIES, `is not a guardrail category (expected one of: ${GUARDRAIL_CATEGORIES.join(", ")})`),
          oneOf(GUARDRAIL_ACTIONS),
          "must be an object",
        ),
        {},
      ),
    }),
  ),
});

/** Optional bindings a stack may set itself (worker.vars); required ones are wired by infra from other settings. */
export function configurableVars(): BindingName[] {
  return (Object.keys(BINDINGS) as BindingName[]).filter((name) => {
    const spec = BINDINGS[name];
    // ALERTS* bindings come from the alerts config and BUDGET* from budgets, never from worker.vars.
    return (
      !spec.required && !name.startsWith("ALERTS") && !name.startsWith("BUDGET") && (spec.kind === "plain_text" || spec.kind === "json")
    );
  });
}

function varsSchema() {
  const allowed = configurableVars();
  const entries = Object.fromEntries(
    allowed.map((name) => [name, v.optional(BINDINGS[name].kind === "plain_text" ? text() : v.unknown())]),
  );
  return object(entries, {
    unknown: `is not an optional plain_text/json binding in worker/src/contract/bindings.ts (allowed: ${allowed.join(", ") || "none"})`,
  });
}

const WorkerSchema = object({
  compatibilityDate: v.pipe(
    matching(/^\d{4}-\d{2}-\d{2}$/, "a date like 2026-11-01"),
    v.check((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)), "is not a real date"),
  ),
  compatibilityFlags: v.optional(list(matching(/^[a-z0-9_]+$/, "a flag name like nodejs_compat")), ["nodejs_compat"]),
  observability: v.optional(object({ enabled: v.optional(bool(), true), headSamplingRate: v.optional(num(0, 1), 1) }), {}),
  /** The RATE_LIMITER binding. */
  rateLimit: object({
    namespaceId: v.pipe(
      v.union(
        [
          matching(/^[1-9][0-9]{0,9}$/, NAMESPACE_ID),
          v.pipe(
            v.number(`must be ${NAMESPACE_ID}`),
            v.integer(`must be ${NAMESPACE_ID}`),
            v.minValue(1, `must be ${NAMESPACE_ID}`),
            v.maxValue(9_999_999_999, `must be ${NAMESPACE_ID}`),
          ),
        ],
        `must be ${NAMESPACE_ID}`,
      ),
      v.transform(String),
    ),
    limit: int(1, 1_000_000),
    period: oneOf(RATE_LIMITER_PERIODS),
  }),
  /** Values for optional plain_text / json bindings, by binding name. */
  vars: v.optional(varsSchema(), {}),
});

function inZone(host: string, zone: string): boolean {
  return host === zone || host.endsWith(`.${zone}`);
}

/** A zone route's hostname needs a proxied DNS record: declare one ("create") or rely on one already there ("exists"). */
export const ROUTE_DNS_RECORD = ["create", "exists"] as const;

/** The hostname of a zone route pattern ("api.example.com/v1/*" -> "api.example.com"). */
export function patternHost(pattern: string): string {
  return pattern.slice(0, pattern.indexOf("/"));
}

/**
 * Why a Workers route pattern is unusable in `zone`, or undefined if it is fine. Patterns are `host/path` with no
 * scheme, an optional leading `*` on the host and an optional trailing `*` on the path.
 */
export function routePatternProblem(pattern: string, zone: string): string | undefined {
  if (/^[a-z]+:\/\//i.test(pattern)) return `"${pattern}" must not include a scheme (write host/path, e.g. api.${zone}/v1/*)`;
  if (!pattern.includes("/")) return `"${pattern}" needs a path (e.g. ${pattern}/*)`;
  const host = patternHost(pattern);
  const bare = host.replace(/^\*\.?/, "");
  if (bare !== "" && !HOSTNAME.test(bare)) return `"${pattern}" has an invalid host "${host}"`;
  if (!inZone(bare || zone, zone)) return `"${pattern}" is not in zone ${zone}`;
  if (pattern.slice(host.length).slice(0, -1).includes("*"))
    return `"${pattern}" may only use * at the start of the host or the end of the path`;
  return undefined;
}

const Zone = matching(HOSTNAME, "a zone name like example.com");

const RoutesSchema = v.pipe(
  refine(
    object({
      workersDev: v.optional(bool(), false),
      /** The account's <subdomain>.workers.dev; needed when workersDev is true. */
      workersDevSubdomain: v.optional(v.union([v.literal(""), matching(RESOURCE_NAME, SUBDOMAIN)], `must be ${SUBDOMAIN}`)),
      customDomains: v.optional(
        list(
          refine(object({ hostname: matching(HOSTNAME, "a hostname like ai.example.com"), zone: Zone }), (d, fail) => {
            if (!inZone(d.hostname, d.zone)) fail(["hostname"], `is not in zone ${d.zone}`, d.hostname);
          }),
        ),
        [],
      ),
      zoneRoutes: v.optional(
        list(
          refine(object({ pattern: text(), zone: Zone, dnsRecord: v.optional(oneOf(ROUTE_DNS_RECORD), "create") }), (r, fail) => {
            const problem = routePatternProblem(r.pattern, r.zone);
            if (problem) fail(["pattern"], problem);
            // Whether the program declares the proxied record the route's hostname needs (default create).
            else if (r.dnsRecord === "create" && r.pattern.startsWith("*")) {
              fail(
                ["dnsRecord"],
                `cannot be create for the wildcard host of "${r.pattern}": declare its records yourself and set dnsRecord: exists`,
              );
            }
          }),
        ),
        [],
      ),
    }),
    (r, fail) => {
      if (r.workersDev && !r.workersDevSubdomain) {
        fail(["workersDevSubdomain"], "must be set when routes.workersDev is true (the account's <subdomain>.workers.dev)");
      } else if (!r.workersDev && r.customDomains.length === 0 && r.zoneRoutes.length === 0) {
        fail([], "gives the Worker no public URL: set workersDev: true or add customDomains or zoneRoutes");
      } else if (firstRepeat(r.customDomains, (d) => d.hostname) !== undefined) {
        fail(["customDomains"], "names a hostname twice");
      }
    },
  ),
  // An empty subdomain is the same as none.
  v.transform(({ workersDevSubdomain, ...r }) => ({
    workersDev: r.workersDev,
    ...(workersDevSubdomain ? { workersDevSubdomain } : {}),
    customDomains: r.customDomains,
    zoneRoutes: r.zoneRoutes,
  })),
);

const CronsSchema = refine(list(CronSchema), (crons, fail) => {
  if (firstRepeat(crons, (c) => c) !== undefined) fail([], "lists a schedule twice");
});

/** The stack's `alerts`: the Worker's ALERTS fields plus the keys only infra reads (emails, secret keys, native policies, token source). */
export const StackAlertsSchema = refine(
  object({
    ...alertsEntries,
    rules: AlertRulesSchema,
    destinations: refine(
      object({
        webhooks: v.optional(
          list(
            object({
              ...webhookEntries,
              /** The config key holding this webhook's secret. */
              secretKey: v.optional(
                matching(CONFIG_KEY, "a config key name (letters, digits, '_' or '-')"),
                ALERT_SECRET_KEYS.webhookSecret,
              ),
            }),
          ),
          [],
        ),
        pagerduty: v.optional(bool(), false),
        /** Addresses for the native notification policies only. */
        emails: v.optional(list(matching(EMAIL, "an email address")), []),
      }),
      checkDestinations,
    ),
    /** mint: the program mints an Account Analytics Read token; config: the secret alertsAnalyticsToken. */
    analyticsToken: v.optional(oneOf(ANALYTICS_TOKEN_SOURCES), "mint"),
    /** Cloudflare's own notification policies, sent to the webhooks and emails above. */
    native: v.optional(
      object({
        billingUsage: v.optional(object({ product: text(), limit: num(1, 1e15) })),
        incidents: v.optional(
          object({
            components: v.optional(v.pipe(list(text()), v.minLength(1, "must name at least one component")), []),
            impacts: v.optional(
              v.pipe(
                list(oneOf(INCIDENT_IMPACTS)),
                v.transform((l) => (l.length > 0 ? l : [...DEFAULT_INCIDENT_IMPACTS])),
              ),
              [...DEFAULT_INCIDENT_IMPACTS],
            ),
          }),
        ),
      }),
      {},
    ),
  }),
  (a, fail) => {
    if ((a.native.billingUsage || a.native.incidents) && a.destinations.webhooks.length === 0 && a.destinations.emails.length === 0) {
      fail(["native"], "needs a webhook or an email in alerts.destinations to notify");
    }
  },
);

/** Every non-secret key of the stack config, in the order they are checked. */
export const stackEntries = {
  accountId: matching(/^[0-9a-f]{32}$/, "a 32-character hex Cloudflare account id"),
  /** Name prefix; the gateway id and the Worker script are "<name>-<stack>". */
  name: v.optional(text(), "ai-gateway"),
  protect: v.optional(bool(), false),
  /** Offline runs under the SDK mocks only (plan, tests): let sample placeholders through (infra/placeholders.ts). */
  allowPlaceholders: v.optional(bool(), false),
  gatewayTokenSource: v.optional(oneOf(TOKEN_SOURCES), "mint"),
  gateway: GatewaySchema,
  worker: WorkerSchema,
  routing: RoutingSchema,
  clients: ClientsSchema,
  routes: v.optional(RoutesSchema, {}),
  crons: v.optional(CronsSchema, []),
  alerts: v.optional(StackAlertsSchema),
  /** The BUDGETS binding as it is (the Worker's own schema); absent: the Worker runs unmetered and no ledger is declared. */
  budgets: v.optional(BudgetsSchema),
};

/** Every provider and model `routing` lets traffic reach: the allow-lists, the chat fallback and the A/B targets. */
export function routedModelsOf(routing: Routing): { provider: string; model: string }[] {
  return [
    ...PROVIDERS.flatMap((provider) => routing.models[provider].map((model) => ({ provider, model }))),
    ...routing.chat.fallback,
    ...routing.chat.experiments.map((e) => e.target),
  ];
}

const MISSING = { clients: "is missing: list the client ids that may call (each also needs its key digest in clientKeys)" };

/**
 * The stack config of `stack` (secrets aside, which may sit beside it: keys this schema does not know are left to
 * the secret reader). The name prefix with the stack must make a name Cloudflare accepts.
 */
export function stackSchema(stack: string) {
  return refine(v.looseObject(stackEntries, objectMessage(stackEntries, { missing: MISSING })), (s, fail) => {
    const resourceName = `${s.name}-${stack}`;
    if (!RESOURCE_NAME.test(resourceName)) {
      fail(
        ["name"],
        `with the stack gives "${resourceName}", which must be at most 63 lowercase letters, digits and '-' (rename the stack or the prefix)`,
      );
    }
    // Budgets against the rest of the stack: a routed model without a price could not be metered, a budget for an
    // unlisted client would never apply (and usually means a typo in its id).
    if (s.budgets) {
      for (const p of budgetsProblems(s.budgets, { clients: s.clients, routedModels: routedModelsOf(s.routing) }))
        fail(["budgets", ...p.keys], p.problem);
    }
  });
}

export type StackValues = v.InferOutput<ReturnType<typeof stackSchema>>;
export type GatewaySettings = v.InferOutput<typeof GatewaySchema>;
export type WorkerSettings = v.InferOutput<typeof WorkerSchema>;
export type RoutesSettings = v.InferOutput<typeof RoutesSchema>;
export type { Budgets } from "../worker/src/contract";
