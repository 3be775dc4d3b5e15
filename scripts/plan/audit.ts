/**
 * The audit summary of a stack, read off its declared resources (not off the yaml, so it shows what would be
 * deployed): who may call, what is cached and for how long, what is logged and kept, rate limits at each layer,
 * models, fallback chain and A/B splits, spend control (budgets, prices, ledger), alerts, where the Worker answers,
 * and the secrets by name.
 */
import { describeStatus, installedCatalog, type ModelCatalog, routedModels } from "../../infra/models";
import { analyticsTokenPermissions, deployTokenPermissions, describePermission, gatewayTokenPermissions } from "../../infra/permissions";
import { routedModelsOf } from "../../infra/stack-schema";
import { type AlertFact, alertFacts, type NativeAlertFact } from "../../policy/alerts";
import type { PolicyResource } from "../../policy/rules";
import { type Budgets, limitsFor, parseBudgets, priceKey } from "../../worker/src/contract/budgets";
import { parseClients } from "../../worker/src/contract/clients";
import { parseRouting, type Routing } from "../../worker/src/contract/routing";
import type { Snapshot, SnapshotResource } from "./snapshot";

const T = {
  gateway: "cloudflare:index/aiGateway:AiGateway",
  worker: "cloudflare:index/workersScript:WorkersScript",
  cron: "cloudflare:index/workersCronTrigger:WorkersCronTrigger",
  domain: "cloudflare:index/workersCustomDomain:WorkersCustomDomain",
  route: "cloudflare:index/workersRoute:WorkersRoute",
  subdomain: "cloudflare:index/workersScriptSubdomain:WorkersScriptSubdomain",
  webhook: "cloudflare:index/notificationPolicyWebhooks:NotificationPolicyWebhooks",
  token: "cloudflare:index/accountToken:AccountToken",
} as const;

export interface AuditSummary {
  callers: {
    /** The CLIENTS allow-list as declared; null when the Worker declares none (it would refuse every caller). */
    clientIds: string[] | null;
    corsOrigins: string[];
    publicUrls: string[];
  };
  cache: {
    gatewayDefaultTtlSeconds: number | null;
    invalidateOnUpdate: boolean | null;
    /** Per Worker surface, seconds; 0 = not cached. */
    perSurfaceTtlSeconds: Record<string, number>;
  };
  logging: {
    gatewayCollectsLogs: boolean | null;
    gatewayMaxStoredLogs: number | null;
    gatewayWhenFull: string | null;
    gatewayLogpush: boolean;
    workerObservability: { enabled: boolean; headSamplingRate: number | null };
  };
  rateLimits: {
    perClient: { limit: number; periodSeconds: number } | null;
    gateway: { limit: number; intervalSeconds: number; technique: string | null } | null;
    spendLimits: { limitUsd: number; windowSeconds: number; technique: string | null }[];
    maxRequestBytes: number | null;
  };
  routing: {
    models: Record<string, string[]>;
    fallback: string[];
    experiments: { name: string; weight: number; percent: number; target: string }[];
    retries: { maxAttempts: number | null; delayMs: number | null; backoff: string | null };
    timeouts: { attemptMs: number; totalMs: number } | null;
    /** Each routed model's lifecycle on the plan's date: live, retiring on DATE, retired since DATE, unknown. */
    lifecycle: { target: string; state: string; status: string; source: string | null }[];
  };
  guardrails: { prompt: Record<string, string>; response: Record<string, string> } | null;
  /** Per-client spend control (the BUDGETS binding and its ledger); null: the Worker runs unmetered. */
  spend: SpendSummary | null;
  alerts: { computed: AlertFact[]; schedules: { resource: string; cron: string }[]; native: NativeAlertFact[]; problems: string[] };
  schedules: string[];
  /** API token permissions, derived from the declared resources (infra/permissions.ts). */
  permissions: {
    /** What the token Pulumi deploys with needs, one line per permission group, with what needs it. */
    deployToken: { permission: string; for: string[] }[];
    /** The Worker's gateway token: minted by the program, or supplied as the secret gatewayToken. */
    gatewayToken: { source: "mint" | "config"; permissions: string[] };
    /** The alerts' analytics token, when the stack has alerts. */
    analyticsToken: { source: "mint" | "config"; permissions: string[] } | null;
  };
  /** Every secret the stack declares, by where it goes (binding name or resource property); values never. */
  secrets: string[];
}

export interface SpendSummary {
  action: Budgets["action"];
  /** Each listed client's limits, its own or the default's; neither: metered only. */
  clients: { client: string; dailyUsd: number | null; monthlyUsd: number | null; from: "own" | "default" | "none" }[];
  default: { dailyUsd: number | null; monthlyUsd: number | null } | null;
  /** The price of every model the stack can route to; null: none in the table (the program refuses that). */
  prices: { target: string; price: Budgets["prices"][string] | null }[];
  /** Prices the table holds for models the stack does not route to. */
  unusedPrices: string[];
  lease: { share: number; ttlSeconds: number; graceSeconds: number };
  /** docs/budgets.md: N isolates hold at most 1 - (1 - share)^N of a budget; that is what spend can pass it by. */
  overSpendPercent: { isolates: number; percent: number }[];
  ledger: { binding: string; className: string | null; storage: string; migrationTag: string | null } | null;
}

function rec(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
const num = (v: unknown): number | null => (typeof v === "number" ? v : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const bool = (v: unknown): boolean | null => (typeof v === "boolean" ? v : null);

function of(snapshot: Snapshot, type: string): SnapshotResource[] {
  return snapshot.resources.filter((r) => r.type === type);
}

function bindingsOf(worker: SnapshotResource | undefined): Record<string, unknown>[] {
  const list = worker?.inputs.bindings;
  return Array.isArray(list) ? list.map(rec) : [];
}

function routingOf(bindings: Record<string, unknown>[]): Routing | null {
  const b = bindings.find((x) => x.name === "ROUTING");
  if (typeof b?.json !== "string") return null;
  return parseRouting(JSON.parse(b.json));
}

function clientIdsOf(bindings: Record<string, unknown>[]): string[] | null {
  const b = bindings.find((x) => x.name === "CLIENTS");
  return typeof b?.json === "string" ? parseClients(JSON.parse(b.json)) : null;
}

const target = (t: { provider: string; model: string }) => `${t.provider}/${t.model}`;

const usdOrNull = (v: number | undefined) => (v === undefined ? null : v);

function spendOf(
  worker: SnapshotResource | undefined,
  bindings: Record<string, unknown>[],
  routing: Routing | null,
  clientIds: string[] | null,
): SpendSummary | null {
  const b = bindings.find((x) => x.name === "BUDGETS");
  if (typeof b?.json !== "string") return null;
  const budgets = parseBudgets(JSON.parse(b.json));
  const routed = routing ? [...new Set(routedModelsOf(routing).map((m) => priceKey(m.provider, m.model)))] : [];
  const ledgerBinding = bindings.find((x) => x.type === "durable_object_namespace" && x.name === "BUDGET_LEDGER");
  const migrations = rec(worker?.inputs.migrations);
  const className = ledgerBinding ? str(ledgerBinding.className) : null;
  const sqlite = Array.isArray(migrations.newSqliteClasses) && className !== null && migrations.newSqliteClasses.includes(className);
  const d = budgets.default;
  return {
    action: budgets.action,
    clients: (clientIds ?? []).map((client) => {
      const limits = limitsFor(budgets, client);
      const from = limits === null ? "none" : budgets.clients[client] ? "own" : "default";
      return { client, dailyUsd: usdOrNull(limits?.dailyUsd), monthlyUsd: usdOrNull(limits?.monthlyUsd), from };
    }),
    default: d ? { dailyUsd: usdOrNull(d.dailyUsd), monthlyUsd: usdOrNull(d.monthlyUsd) } : null,
    prices: routed.map((key) => ({ target: key, price: budgets.prices[key] ?? null })),
    unusedPrices: Object.keys(budgets.prices).filter((k) => !routed.includes(k)),
    lease: { share: budgets.lease.share, ttlSeconds: budgets.lease.ttlSeconds, graceSeconds: budgets.lease.graceSeconds },
    overSpendPercent: [5, 10].map((n) => ({ isolates: n, percent: Math.round((1 - (1 - budgets.lease.share) ** n) * 1000) / 10 })),
    ledger: ledgerBinding
      ? {
          binding: String(ledgerBinding.name),
          className,
          storage: sqlite ? "SQLite" : "not declared by the migrations",
          migrationTag: str(migrations.newTag),
        }
      : null,
  };
}

/** Hosts of NotificationPolicyWebhooks, for naming native policies' webhook destinations. */
function nativeDestinations(snapshot: Snapshot, native: NativeAlertFact[]): NativeAlertFact[] {
  const hooks = of(snapshot, T.webhook);
  return native.map((n) => {
    const policy = snapshot.resources.find((r) => r.name === n.resource);
    const ids = Array.isArray(rec(policy?.inputs.mechanisms).webhooks)
      ? (rec(policy?.inputs.mechanisms).webhooks as unknown[]).map((w) => String(rec(w).id))
      : [];
    // Under the mock runtime a resource's id is "<name>-id"; a real preview shows the id as unknown.
    const named = ids.map((id) => {
      const hook = hooks.find((h) => `${h.name}-id` === id);
      if (!hook) return "webhook";
      let host = "";
      try {
        host = ` (${new URL(String(hook.inputs.url)).host})`;
      } catch {
        host = "";
      }
      return `webhook ${String(hook.inputs.name)}${host}`;
    });
    return { ...n, destinations: [...named, ...n.destinations.filter((d) => d !== "webhook")] };
  });
}

function secretsOf(snapshot: Snapshot): string[] {
  const out: string[] = [];
  const walk = (v: unknown, at: string, into: string[]) => {
    if (v === "[secret]") into.push(at);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`, into));
    else if (typeof v === "object" && v !== null) for (const [k, x] of Object.entries(v)) walk(x, at ? `${at}.${k}` : k, into);
  };
  for (const r of snapshot.resources) {
    if (r.type === T.worker) {
      for (const b of bindingsOf(r)) if (b.text === "[secret]") out.push(`Worker binding ${String(b.name)}`);
      const rest = { ...r.inputs, bindings: undefined };
      const found: string[] = [];
      walk(rest, "", found);
      out.push(...found.map((p) => `${r.name}: ${p}`));
      continue;
    }
    const found: string[] = [];
    walk(r.inputs, "", found);
    out.push(...found.map((p) => `${r.type.split(":").pop()} ${r.name}: ${p}`));
  }
  return out;
}

export interface AuditOptions {
  /** The date model lifecycles are measured against. */
  now: Date;
  /** Model lifecycle data; default: the installed SDKs' and infra/model-lifecycle.ts. */
  models?: ModelCatalog;
}

export function auditOf(snapshot: Snapshot, opts: AuditOptions): AuditSummary {
  const gateway = of(snapshot, T.gateway)[0]?.inputs ?? {};
  const worker = of(snapshot, T.worker)[0];
  const bindings = bindingsOf(worker);
  const routing = routingOf(bindings);
  const clientIds = clientIdsOf(bindings);
  const limiter = bindings.find((b) => b.type === "ratelimit");
  const simple = rec(limiter?.simple);
  const obs = rec(worker?.inputs.observability);
  const facts = alertFacts(
    snapshot.resources.map((r): PolicyResource => ({ type: r.type, name: r.name, props: r.inputs, protect: r.protect })),
  );
  const weights = routing?.chat.experiments.reduce((s, e) => s + e.weight, 0) ?? 0;
  const guard = rec(gateway.guardrails);
  const urls = snapshot.outputs.urls;

  return {
    callers: {
      clientIds,
      corsOrigins: routing?.cors.allowOrigins ?? [],
      publicUrls: Array.isArray(urls) ? urls.map(String) : [],
    },
    cache: {
      gatewayDefaultTtlSeconds: num(gateway.cacheTtl),
      invalidateOnUpdate: bool(gateway.cacheInvalidateOnUpdate),
      perSurfaceTtlSeconds: routing ? { ...routing.cacheTtl } : {},
    },
    logging: {
      gatewayCollectsLogs: bool(gateway.collectLogs),
      gatewayMaxStoredLogs: num(gateway.logManagement),
      gatewayWhenFull: str(gateway.logManagementStrategy),
      gatewayLogpush: gateway.logpush === true,
      workerObservability: { enabled: obs.enabled === true, headSamplingRate: num(obs.headSamplingRate) },
    },
    rateLimits: {
      perClient:
        typeof simple.limit === "number" && typeof simple.period === "number"
          ? { limit: simple.limit, periodSeconds: simple.period }
          : null,
      gateway:
        typeof gateway.rateLimitingLimit === "number" && gateway.rateLimitingLimit > 0
          ? {
              limit: gateway.rateLimitingLimit,
              intervalSeconds: Number(gateway.rateLimitingInterval),
              technique: str(gateway.rateLimitingTechnique),
            }
          : null,
      spendLimits:
        rec(gateway.spendLimits).enabled === true && Array.isArray(rec(gateway.spendLimits).rules)
          ? (rec(gateway.spendLimits).rules as unknown[])
              .map(rec)
              .map((r) => ({ limitUsd: Number(r.limit), windowSeconds: Number(r.window), technique: str(r.technique) }))
          : [],
      maxRequestBytes: routing?.limits.maxRequestBytes ?? null,
    },
    routing: {
      models: routing ? { ...routing.models } : {},
      fallback: routing?.chat.fallback.map(target) ?? [],
      experiments:
        routing?.chat.experiments.map((e) => ({
          name: e.name,
          weight: e.weight,
          percent: weights > 0 ? Math.round((e.weight / weights) * 1000) / 10 : 0,
          target: target(e.target),
        })) ?? [],
      retries: { maxAttempts: num(gateway.retryMaxAttempts), delayMs: num(gateway.retryDelay), backoff: str(gateway.retryBackoff) },
      timeouts: routing ? { ...routing.timeouts } : null,
      lifecycle: routing
        ? routedModels(routing, opts.models ?? installedCatalog(), opts.now).map((m) => ({
            target: `${m.provider}/${m.model}`,
            state: m.status.state,
            // No countdown: the committed plan changes when a status does, not every day.
            status: describeStatus(m.status, { days: false }),
            source: "source" in m.status ? m.status.source : null,
          }))
        : [],
    },
    spend: spendOf(worker, bindings, routing, clientIds),
    guardrails:
      Object.keys(guard).length > 0
        ? { prompt: rec(guard.prompt) as Record<string, string>, response: rec(guard.response) as Record<string, string> }
        : null,
    alerts: {
      computed: facts.alerts,
      schedules: facts.schedules,
      native: nativeDestinations(snapshot, facts.native),
      problems: facts.problems,
    },
    schedules: of(snapshot, T.cron).flatMap((r) =>
      Array.isArray(r.inputs.schedules) ? r.inputs.schedules.map((s) => String(rec(s).cron)) : [],
    ),
    permissions: {
      deployToken: deployTokenPermissions(snapshot.resources).map((p) => ({ permission: describePermission(p), for: p.for })),
      gatewayToken: {
        source: snapshot.resources.some((r) => r.type === T.token && r.parent?.startsWith("ai-gateway-stack:infra:GatewayToken::"))
          ? "mint"
          : "config",
        permissions: routing ? gatewayTokenPermissions(routing).map(describePermission) : [],
      },
      analyticsToken: bindings.some((b) => b.name === "ALERTS_ANALYTICS_TOKEN")
        ? {
            source: snapshot.resources.some((r) => r.type === T.token && r.parent?.startsWith("ai-gateway-stack:infra:Alerts::"))
              ? "mint"
              : "config",
            permissions: analyticsTokenPermissions().map(describePermission),
          }
        : null,
    },
    secrets: secretsOf(snapshot),
  };
}
