/**
 * The stack's configuration, read once and validated before any resource is declared. Every difference between
 * stacks lives in Pulumi.<stack>.yaml; this file only knows the shapes, ranges and defaults (documented in Pulumi.yaml).
 * A bad value stops the program with a message naming the key and the stack; secret values are never echoed.
 */
import * as pulumi from "@pulumi/pulumi";
import { BINDINGS } from "../worker/src/contract/bindings";
import { normalizeCron } from "../worker/src/contract/alerts";
import { ClientsError, parseClients } from "../worker/src/contract/clients";
import { parseRouting, RoutingError, type Routing } from "../worker/src/contract/routing";
import { readAlertsConfig } from "./alerts-config";

export const RATE_LIMIT_TECHNIQUES = ["fixed", "sliding"] as const;
export const LOG_STRATEGIES = ["STOP_INSERTING", "DELETE_OLDEST"] as const;
export const RETRY_BACKOFFS = ["constant", "linear", "exponential"] as const;
export const GUARDRAIL_ACTIONS = ["FLAG", "BLOCK"] as const;
export const GUARDRAIL_CATEGORIES = ["p1", ...Array.from({ length: 13 }, (_, i) => `s${i + 1}`)] as const;
export const TOKEN_SOURCES = ["mint", "config"] as const;
/** Periods the Workers rate-limit binding accepts. */
export const RATE_LIMITER_PERIODS = [10, 60] as const;

export interface GatewaySettings {
  cacheTtl: number;
  cacheInvalidateOnUpdate: boolean;
  rateLimit: { limit: number; interval: number; technique: (typeof RATE_LIMIT_TECHNIQUES)[number] };
  logs: { collect: boolean; maxStored: number; strategy: (typeof LOG_STRATEGIES)[number] };
  retries: { maxAttempts: number; delayMs: number; backoff: (typeof RETRY_BACKOFFS)[number] };
  spendLimits?: {
    enabled: boolean;
    rules: { limit: number; window: number; technique: (typeof RATE_LIMIT_TECHNIQUES)[number]; providers?: string[]; models?: string[] }[];
  };
  guardrails?: { prompt: Record<string, "FLAG" | "BLOCK">; response: Record<string, "FLAG" | "BLOCK"> };
}

export interface WorkerSettings {
  compatibilityDate: string;
  compatibilityFlags: string[];
  observability: { enabled: boolean; headSamplingRate: number };
  rateLimit: { namespaceId: string; limit: number; period: (typeof RATE_LIMITER_PERIODS)[number] };
  /** Values for optional plain_text / json bindings, by binding name. */
  vars: Record<string, unknown>;
}

/** A zone route's hostname needs a proxied DNS record: declare one ("create") or rely on one already there ("exists"). */
export const ROUTE_DNS_RECORD = ["create", "exists"] as const;

export interface RoutesSettings {
  workersDev: boolean;
  workersDevSubdomain?: string;
  customDomains: { hostname: string; zone: string }[];
  zoneRoutes: { pattern: string; zone: string; dnsRecord: (typeof ROUTE_DNS_RECORD)[number] }[];
}

/** Everything but the secrets: plain data, validated by validateSettings. */
export interface Settings {
  accountId: string;
  /** "<name>-<stack>": the gateway id and the Worker script name. */
  resourceName: string;
  protect: boolean;
  gatewayTokenSource: (typeof TOKEN_SOURCES)[number];
  gateway: GatewaySettings;
  worker: WorkerSettings;
  routing: Routing;
  /** Client ids that may call (the CLIENTS binding); their key digests are the secret clientKeys. */
  clients: string[];
  routes: RoutesSettings;
  crons: string[];
  /** Offline runs under the SDK mocks only (plan, tests): let sample placeholders through (infra/placeholders.ts). */
  allowPlaceholders: boolean;
}

export interface StackConfig extends Settings {
  stack: string;
  secrets: {
    anthropicApiKey: pulumi.Output<string>;
    openaiApiKey: pulumi.Output<string>;
    clientKeys: pulumi.Output<string>;
    /** Set when gatewayTokenSource is "config". */
    gatewayToken?: pulumi.Output<string>;
  };
  /** The stack's alerts (rules, destinations, their secrets); undefined when the stack declares none. */
  alerts?: ReturnType<typeof readAlertsConfig>;
}

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly stack: string,
    problem: string,
  ) {
    super(`stack "${stack}": config ${key} ${problem}`);
    this.name = "ConfigError";
  }
}

type Raw = Record<string, unknown>;

/** Reads nested values and reports problems as `<project>:<key>.<path>` for one stack. */
class Reader {
  constructor(
    private readonly project: string,
    readonly stack: string,
  ) {}

  fail(path: string, problem: string): never {
    throw new ConfigError(`${this.project}:${path}`, this.stack, problem);
  }

  private show(v: unknown): string {
    return v === undefined ? "nothing" : JSON.stringify(v);
  }

  object(v: unknown, path: string): Raw {
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(path, `must be an object (got ${this.show(v)})`);
    return v as Raw;
  }

  known(o: Raw, path: string, keys: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!keys.includes(k)) this.fail(`${path}.${k}`, `is not a known setting (expected one of: ${keys.join(", ")})`);
    }
  }

  int(v: unknown, path: string, min: number, max: number, fallback?: number): number {
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      this.fail(path, `must be a whole number from ${min} to ${max} (got ${this.show(v)})`);
    }
    return v;
  }

  number(v: unknown, path: string, min: number, max: number, fallback?: number): number {
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
      this.fail(path, `must be a number from ${min} to ${max} (got ${this.show(v)})`);
    }
    return v;
  }

  bool(v: unknown, path: string, fallback?: boolean): boolean {
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== "boolean") this.fail(path, `must be true or false (got ${this.show(v)})`);
    return v;
  }

  string(v: unknown, path: string, pattern?: RegExp, what?: string): string {
    if (typeof v !== "string" || v.trim() === "") this.fail(path, `must be a non-empty string (got ${this.show(v)})`);
    if (pattern && !pattern.test(v)) this.fail(path, `must be ${what} (got ${this.show(v)})`);
    return v;
  }

  oneOf<T extends string | number>(v: unknown, path: string, allowed: readonly T[], fallback?: T): T {
    if (v === undefined && fallback !== undefined) return fallback;
    if (!allowed.includes(v as T)) this.fail(path, `must be one of: ${allowed.join(", ")} (got ${this.show(v)})`);
    return v as T;
  }

  list(v: unknown, path: string, fallback?: unknown[]): unknown[] {
    if (v === undefined && fallback !== undefined) return fallback;
    if (!Array.isArray(v)) this.fail(path, `must be a list (got ${this.show(v)})`);
    return v;
  }
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const RESOURCE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const CRON_FIELD = /^[0-9A-Za-z*,/?#LW-]+$/;

function gatewaySettings(r: Reader, v: unknown): GatewaySettings {
  const g = r.object(v, "gateway");
  r.known(g, "gateway", ["cacheTtl", "cacheInvalidateOnUpdate", "rateLimit", "logs", "retries", "spendLimits", "guardrails"]);
  const rl = r.object(g.rateLimit, "gateway.rateLimit");
  r.known(rl, "gateway.rateLimit", ["limit", "interval", "technique"]);
  const limit = r.int(rl.limit, "gateway.rateLimit.limit", 0, 1_000_000_000);
  const rateLimit = {
    limit,
    interval: r.int(rl.interval, "gateway.rateLimit.interval", limit > 0 ? 1 : 0, 86_400),
    technique: r.oneOf(rl.technique, "gateway.rateLimit.technique", RATE_LIMIT_TECHNIQUES, "sliding"),
  };
  const l = r.object(g.logs, "gateway.logs");
  r.known(l, "gateway.logs", ["collect", "maxStored", "strategy"]);
  const logs = {
    collect: r.bool(l.collect, "gateway.logs.collect"),
    maxStored: r.int(l.maxStored, "gateway.logs.maxStored", 10_000, 10_000_000),
    strategy: r.oneOf(l.strategy, "gateway.logs.strategy", LOG_STRATEGIES, "DELETE_OLDEST"),
  };
  const rt = r.object(g.retries ?? {}, "gateway.retries");
  r.known(rt, "gateway.retries", ["maxAttempts", "delayMs", "backoff"]);
  const retries = {
    maxAttempts: r.int(rt.maxAttempts, "gateway.retries.maxAttempts", 1, 5, 1),
    delayMs: r.int(rt.delayMs, "gateway.retries.delayMs", 0, 60_000, 0),
    backoff: r.oneOf(rt.backoff, "gateway.retries.backoff", RETRY_BACKOFFS, "constant"),
  };
  const settings: GatewaySettings = {
    cacheTtl: r.int(g.cacheTtl, "gateway.cacheTtl", 0, 2_592_000),
    cacheInvalidateOnUpdate: r.bool(g.cacheInvalidateOnUpdate, "gateway.cacheInvalidateOnUpdate", true),
    rateLimit,
    logs,
    retries,
  };
  if (g.spendLimits !== undefined) {
    const s = r.object(g.spendLimits, "gateway.spendLimits");
    r.known(s, "gateway.spendLimits", ["enabled", "rules"]);
    const rules = r.list(s.rules, "gateway.spendLimits.rules").map((rule, i) => {
      const p = `gateway.spendLimits.rules[${i}]`;
      const o = r.object(rule, p);
      r.known(o, p, ["limit", "limitType", "window", "technique", "providers", "models"]);
      r.oneOf(o.limitType, `${p}.limitType`, ["cost"], "cost");
      const names = (key: "providers" | "models") =>
        o[key] === undefined ? undefined : r.list(o[key], `${p}.${key}`).map((x, j) => r.string(x, `${p}.${key}[${j}]`));
      return {
        limit: r.number(o.limit, `${p}.limit`, 0.01, 1_000_000_000),
        window: r.int(o.window, `${p}.window`, 60, 31_536_000),
        technique: r.oneOf(o.technique, `${p}.technique`, RATE_LIMIT_TECHNIQUES, "fixed"),
        ...(o.providers !== undefined ? { providers: names("providers") } : {}),
        ...(o.models !== undefined ? { models: names("models") } : {}),
      };
    });
    if (rules.length === 0) r.fail("gateway.spendLimits.rules", "must hold at least one rule (or leave spendLimits out)");
    settings.spendLimits = { enabled: r.bool(s.enabled, "gateway.spendLimits.enabled", true), rules };
  }
  if (g.guardrails !== undefined) {
    const gr = r.object(g.guardrails, "gateway.guardrails");
    r.known(gr, "gateway.guardrails", ["prompt", "response"]);
    const side = (key: "prompt" | "response") => {
      const o = r.object(gr[key] ?? {}, `gateway.guardrails.${key}`);
      r.known(o, `gateway.guardrails.${key}`, GUARDRAIL_CATEGORIES);
      return Object.fromEntries(
        Object.entries(o).map(([cat, action]) => [cat, r.oneOf(action, `gateway.guardrails.${key}.${cat}`, GUARDRAIL_ACTIONS)]),
      );
    };
    settings.guardrails = { prompt: side("prompt"), response: side("response") };
  }
  return settings;
}

/** Optional bindings a stack may set itself; required ones are wired by infra from other settings. */
export function configurableVars(): string[] {
  return Object.entries(BINDINGS)
    // ALERTS* bindings come from the alerts component (validated by infra/alerts-config.ts), never from worker.vars.
    .filter(([name, spec]) => !spec.required && !name.startsWith("ALERTS") && (spec.kind === "plain_text" || spec.kind === "json"))
    .map(([name]) => name);
}

function workerSettings(r: Reader, v: unknown): WorkerSettings {
  const w = r.object(v, "worker");
  r.known(w, "worker", ["compatibilityDate", "compatibilityFlags", "observability", "rateLimit", "vars"]);
  const compatibilityDate = r.string(w.compatibilityDate, "worker.compatibilityDate", /^\d{4}-\d{2}-\d{2}$/, "a date like 2026-11-01");
  if (Number.isNaN(Date.parse(`${compatibilityDate}T00:00:00Z`))) r.fail("worker.compatibilityDate", `is not a real date (got "${compatibilityDate}")`);
  const flags = r
    .list(w.compatibilityFlags, "worker.compatibilityFlags", ["nodejs_compat"])
    .map((f, i) => r.string(f, `worker.compatibilityFlags[${i}]`, /^[a-z0-9_]+$/, "a flag name like nodejs_compat"));
  const o = r.object(w.observability ?? {}, "worker.observability");
  r.known(o, "worker.observability", ["enabled", "headSamplingRate"]);
  const rl = r.object(w.rateLimit, "worker.rateLimit");
  r.known(rl, "worker.rateLimit", ["namespaceId", "limit", "period"]);
  const vars = r.object(w.vars ?? {}, "worker.vars");
  const allowed = configurableVars();
  for (const [name, value] of Object.entries(vars)) {
    if (!allowed.includes(name)) {
      r.fail(`worker.vars.${name}`, `is not an optional plain_text/json binding in worker/src/contract/bindings.ts (allowed: ${allowed.join(", ") || "none"})`);
    }
    if (BINDINGS[name as keyof typeof BINDINGS].kind === "plain_text") r.string(value, `worker.vars.${name}`);
  }
  return {
    compatibilityDate,
    compatibilityFlags: flags,
    observability: {
      enabled: r.bool(o.enabled, "worker.observability.enabled", true),
      headSamplingRate: r.number(o.headSamplingRate, "worker.observability.headSamplingRate", 0, 1, 1),
    },
    rateLimit: {
      namespaceId: r.string(
        typeof rl.namespaceId === "number" ? String(rl.namespaceId) : rl.namespaceId,
        "worker.rateLimit.namespaceId",
        /^[1-9][0-9]{0,9}$/,
        "a positive whole number as a string, unique in the account",
      ),
      limit: r.int(rl.limit, "worker.rateLimit.limit", 1, 1_000_000),
      period: r.oneOf(rl.period, "worker.rateLimit.period", RATE_LIMITER_PERIODS),
    },
    vars,
  };
}

function inZone(host: string, zone: string): boolean {
  return host === zone || host.endsWith(`.${zone}`);
}

function routesSettings(r: Reader, v: unknown): RoutesSettings {
  const o = r.object(v ?? {}, "routes");
  r.known(o, "routes", ["workersDev", "workersDevSubdomain", "customDomains", "zoneRoutes"]);
  const workersDev = r.bool(o.workersDev, "routes.workersDev", false);
  const zone = (x: unknown, p: string) => r.string(x, p, HOSTNAME, "a zone name like example.com");
  const customDomains = r.list(o.customDomains, "routes.customDomains", []).map((d, i) => {
    const p = `routes.customDomains[${i}]`;
    const e = r.object(d, p);
    r.known(e, p, ["hostname", "zone"]);
    const z = zone(e.zone, `${p}.zone`);
    const hostname = r.string(e.hostname, `${p}.hostname`, HOSTNAME, "a hostname like ai.example.com");
    if (!inZone(hostname, z)) r.fail(`${p}.hostname`, `"${hostname}" is not in zone ${z}`);
    return { hostname, zone: z };
  });
  const zoneRoutes = r.list(o.zoneRoutes, "routes.zoneRoutes", []).map((d, i) => {
    const p = `routes.zoneRoutes[${i}]`;
    const e = r.object(d, p);
    r.known(e, p, ["pattern", "zone", "dnsRecord"]);
    const z = zone(e.zone, `${p}.zone`);
    const pattern = r.string(e.pattern, `${p}.pattern`);
    const problem = routePatternProblem(pattern, z);
    if (problem) r.fail(`${p}.pattern`, problem);
    // ---- dnsRecord: whether the program declares the proxied record the route's hostname needs (default create).
    const dnsRecord = r.oneOf(e.dnsRecord, `${p}.dnsRecord`, ROUTE_DNS_RECORD, "create");
    if (dnsRecord === "create" && pattern.startsWith("*")) {
      r.fail(`${p}.dnsRecord`, `cannot be create for the wildcard host of "${pattern}": declare its records yourself and set dnsRecord: exists`);
    }
    return { pattern, zone: z, dnsRecord };
  });
  const subdomain =
    o.workersDevSubdomain === undefined || o.workersDevSubdomain === ""
      ? undefined
      : r.string(o.workersDevSubdomain, "routes.workersDevSubdomain", RESOURCE_NAME, "the account's workers.dev subdomain (lowercase letters, digits, '-')");
  if (workersDev && !subdomain) r.fail("routes.workersDevSubdomain", "must be set when routes.workersDev is true (the account's <subdomain>.workers.dev)");
  if (!workersDev && customDomains.length === 0 && zoneRoutes.length === 0) {
    r.fail("routes", "gives the Worker no public URL: set workersDev: true or add customDomains or zoneRoutes");
  }
  const hosts = customDomains.map((d) => d.hostname);
  if (new Set(hosts).size !== hosts.length) r.fail("routes.customDomains", "names a hostname twice");
  return { workersDev, ...(subdomain ? { workersDevSubdomain: subdomain } : {}), customDomains, zoneRoutes };
}

/**
 * Why a Workers route pattern is unusable in `zone`, or undefined if it is fine. Patterns are `host/path` with no
 * scheme, an optional leading `*` on the host and an optional trailing `*` on the path.
 */
export function routePatternProblem(pattern: string, zone: string): string | undefined {
  if (/^[a-z]+:\/\//i.test(pattern)) return `"${pattern}" must not include a scheme (write host/path, e.g. api.${zone}/v1/*)`;
  const slash = pattern.indexOf("/");
  if (slash < 0) return `"${pattern}" needs a path (e.g. ${pattern}/*)`;
  const host = pattern.slice(0, slash);
  const bare = host.replace(/^\*\.?/, "");
  if (bare !== "" && !HOSTNAME.test(bare)) return `"${pattern}" has an invalid host "${host}"`;
  if (!inZone(bare || zone, zone)) return `"${pattern}" is not in zone ${zone}`;
  if (pattern.slice(slash).slice(0, -1).includes("*")) return `"${pattern}" may only use * at the start of the host or the end of the path`;
  return undefined;
}

function crons(r: Reader, v: unknown): string[] {
  const list = r.list(v, "crons", []).map((c, i) => {
    const s = r.string(c, `crons[${i}]`);
    const fields = normalizeCron(s).split(" ");
    if (fields.length !== 5 || !fields.every((f) => CRON_FIELD.test(f))) {
      r.fail(`crons[${i}]`, `must be a five-field cron expression like "*/5 * * * *" (got "${s}")`);
    }
    return fields.join(" ");
  });
  if (new Set(list).size !== list.length) r.fail("crons", "lists a schedule twice");
  return list;
}

function clients(r: Reader, v: unknown): string[] {
  if (v === undefined) r.fail("clients", "is missing: list the client ids that may call (each also needs its key digest in clientKeys)");
  try {
    return parseClients(v);
  } catch (err) {
    if (err instanceof ClientsError) r.fail(`clients${err.path}`, err.message);
    throw err;
  }
}

/**
 * Validates the non-secret settings. `raw` holds the stack's values by unqualified key, structured ones already
 * parsed. Pure: no Pulumi runtime needed.
 */
export function validateSettings(raw: Record<string, unknown>, project: string, stack: string): Settings {
  const r = new Reader(project, stack);
  const accountId = r.string(raw.accountId, "accountId", /^[0-9a-f]{32}$/, "a 32-character hex Cloudflare account id");
  const name = r.string(raw.name ?? "ai-gateway", "name");
  const resourceName = `${name}-${stack}`;
  if (!RESOURCE_NAME.test(resourceName)) {
    r.fail("name", `with the stack gives "${resourceName}", which must be at most 63 lowercase letters, digits and '-' (rename the stack or the prefix)`);
  }
  let routing: Routing;
  try {
    routing = parseRouting(r.object(raw.routing, "routing"));
  } catch (err) {
    if (err instanceof RoutingError) r.fail(`routing.${err.path}`, `is invalid: ${err.message}`);
    throw err;
  }
  return {
    accountId,
    resourceName,
    protect: r.bool(raw.protect, "protect", false),
    gatewayTokenSource: r.oneOf(raw.gatewayTokenSource, "gatewayTokenSource", TOKEN_SOURCES, "mint"),
    gateway: gatewaySettings(r, raw.gateway),
    worker: workerSettings(r, raw.worker),
    routing,
    clients: clients(r, raw.clients),
    routes: routesSettings(r, raw.routes),
    crons: crons(r, raw.crons),
    allowPlaceholders: r.bool(raw.allowPlaceholders, "allowPlaceholders", false),
  };
}

const STRUCTURED = ["gateway", "worker", "routing", "clients", "routes", "crons"] as const;
const SCALARS = ["accountId", "name", "gatewayTokenSource"] as const;

/** Reads and validates the current stack's config; throws ConfigError before anything is declared. */
export function loadConfig(): StackConfig {
  const project = pulumi.getProject();
  const stack = pulumi.getStack();
  const cfg = new pulumi.Config(project);
  const r = new Reader(project, stack);

  const raw: Record<string, unknown> = {};
  for (const key of SCALARS) raw[key] = cfg.get(key);
  for (const key of ["protect", "allowPlaceholders"]) {
    const v = cfg.get(key);
    if (v !== undefined) raw[key] = v === "true" ? true : v === "false" ? false : v;
  }
  for (const key of STRUCTURED) {
    const text = cfg.get(key);
    if (text === undefined) continue;
    try {
      raw[key] = JSON.parse(text);
    } catch {
      // A plain string where a structure belongs (pulumi config set gateway x): let validation name the shape.
      raw[key] = text;
    }
  }
  const settings = validateSettings(raw, project, stack);

  // Presence is checked on the raw string (never shown) so a missing secret names its stack like every other key.
  const present = (key: string) => (pulumi.runtime.getConfig(`${project}:${key}`) ?? "").trim() !== "";
  const secret = (key: string): pulumi.Output<string> => {
    if (!present(key)) r.fail(key, `is missing or empty: set it with pulumi config set --secret ${key} <value> --stack ${stack}`);
    return cfg.requireSecret(key);
  };
  if (settings.gatewayTokenSource === "mint" && present("gatewayToken")) {
    r.fail("gatewayToken", 'is set but gatewayTokenSource is "mint": remove it or set gatewayTokenSource to config');
  }
  const alerts = readAlertsConfig(cfg, stack);
  return {
    ...settings,
    stack,
    alerts,
    secrets: {
      anthropicApiKey: secret("anthropicApiKey"),
      openaiApiKey: secret("openaiApiKey"),
      clientKeys: secret("clientKeys"),
      ...(settings.gatewayTokenSource === "config" ? { gatewayToken: secret("gatewayToken") } : {}),
    },
  };
}
