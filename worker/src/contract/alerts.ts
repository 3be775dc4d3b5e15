/**
 * The ALERTS binding: which computed alerts a stack runs (cost per day, error rate, usage spike), on which cron, and
 * where they are delivered. Infra builds it from `Pulumi.<stack>.yaml` and validates it with this same parser before
 * declaring anything; the Worker parses it once per scheduled run. Errors name the bad field by its path.
 * Secrets (analytics token, webhook secrets, PagerDuty routing key) never appear here: they have their own bindings.
 */

export const RULE_IDS = ["cost_per_day", "error_rate", "usage_spike"] as const;
export type RuleId = (typeof RULE_IDS)[number];

export const COST_WINDOWS = ["rolling24h", "calendarDayUtc"] as const;
export type CostWindow = (typeof COST_WINDOWS)[number];

export interface CostPerDayRule {
  /** Fires when the gateway's estimated cost in the window reaches this many US dollars. */
  usd: number;
  /** rolling24h: the 24 hours before the evaluation point; calendarDayUtc: since 00:00 UTC of that day. */
  window: CostWindow;
}

export interface ErrorRateRule {
  /** Fires when errored / total requests in the window reaches this percentage... */
  percent: number;
  windowMinutes: number;
  /** ...and the window holds at least this many requests (1 error in 2 requests does not page). */
  minRequests: number;
}

export interface UsageSpikeRule {
  /** Fires when requests in the window reach factor x the baseline... */
  factor: number;
  windowMinutes: number;
  /** Baseline: the median request count of this many same-length windows right before the current one. */
  baselineWindows: number;
  /** ...and the window holds at least this many requests. */
  minRequests: number;
}

export interface AlertsBinding {
  /** The cron expression this evaluator runs on; other crons of the Worker are ignored. */
  cron: string;
  /** Windows end this many minutes before the scheduled time, because analytics data lags. */
  lagMinutes: number;
  /** Consecutive runs with an analytics failure before the failure itself is reported. */
  failureRuns: number;
  rules: { costPerDay?: CostPerDayRule; errorRate?: ErrorRateRule; usageSpike?: UsageSpikeRule };
  destinations: {
    /** Webhooks the Worker posts to; each has its secret in ALERTS_WEBHOOK_SECRETS under its name. */
    webhooks: { name: string; url: string }[];
    /** true: also send PagerDuty Events v2 (routing key in ALERTS_PAGERDUTY_ROUTING_KEY). */
    pagerduty: boolean;
  };
  /** Endpoint overrides for local runs and tests; deployed stacks use the public APIs. */
  endpoints: { analytics: string; pagerduty: string };
}

export const DEFAULT_ENDPOINTS = {
  analytics: "https://api.cloudflare.com/client/v4/graphql",
  pagerduty: "https://events.pagerduty.com/v2/enqueue",
} as const;

/** The analytics API answers at most this many groups per query; the spike rule's history must fit in it. */
export const MAX_GROUPS = 10_000;

export class AlertsConfigError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path} ${problem}`);
    this.name = "AlertsConfigError";
  }
}

/**
 * Reads one object's fields with their paths, so every message names the field. Also used by infra for the keys only
 * the stack config has (native policies, token source).
 */
export class Fields {
  readonly o: Record<string, unknown>;

  constructor(
    value: unknown,
    readonly path: string,
    allowed: readonly string[],
  ) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new AlertsConfigError(path, "must be an object");
    this.o = value as Record<string, unknown>;
    for (const k of Object.keys(this.o)) {
      if (!allowed.includes(k)) throw new AlertsConfigError(this.at(k), `is not a known field (expected one of: ${allowed.join(", ")})`);
    }
  }

  at(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  has(key: string): boolean {
    return this.o[key] !== undefined && this.o[key] !== null;
  }

  num(key: string, min: number, max: number, fallback?: number, whole = false): number {
    const v = this.o[key] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max || (whole && !Number.isInteger(v))) {
      throw new AlertsConfigError(this.at(key), `must be a ${whole ? "whole " : ""}number from ${min} to ${max}`);
    }
    return v;
  }

  int(key: string, min: number, max: number, fallback?: number): number {
    return this.num(key, min, max, fallback, true);
  }

  str(key: string, fallback?: string): string {
    const v = this.o[key] ?? fallback;
    if (typeof v !== "string" || v.trim() === "") throw new AlertsConfigError(this.at(key), "must be a non-empty string");
    return v;
  }

  oneOf<T extends string>(key: string, choices: readonly T[], fallback?: T): T {
    const v = this.o[key] ?? fallback;
    if (!choices.includes(v as T)) throw new AlertsConfigError(this.at(key), `must be one of: ${choices.join(", ")}`);
    return v as T;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.o[key] ?? fallback;
    if (typeof v !== "boolean") throw new AlertsConfigError(this.at(key), "must be true or false");
    return v;
  }

  list(key: string): unknown[] {
    const v = this.o[key] ?? [];
    if (!Array.isArray(v)) throw new AlertsConfigError(this.at(key), "must be a list");
    return v;
  }

  url(key: string, fallback?: string): string {
    const s = this.str(key, fallback);
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      throw new AlertsConfigError(this.at(key), "must be an http(s) URL");
    }
    if (u.protocol !== "https:" && u.protocol !== "http:") throw new AlertsConfigError(this.at(key), "must be an http(s) URL");
    return s;
  }
}

// Five space-separated fields of digits, '*', ',', '-', '/'; Cloudflare validates the rest at deploy time.
const CRON = /^\s*(\S+\s+){4}\S+\s*$/;
const CRON_FIELD = /^[\d*,\-/A-Za-z?LW#]+$/;
const NAME = /^[A-Za-z0-9_-]{1,40}$/;

/**
 * One spelling per schedule: fields joined by single spaces. Cloudflare hands the scheduled handler the trigger's
 * cron as declared, so the ALERTS cron and the declared trigger must be spelt alike for the handler to recognise it.
 */
export function normalizeCron(s: string): string {
  return s.trim().split(/\s+/).join(" ");
}

function cron(f: Fields, key: string): string {
  const s = f.str(key, "*/5 * * * *");
  if (!CRON.test(s) || !s.trim().split(/\s+/).every((x) => CRON_FIELD.test(x))) {
    throw new AlertsConfigError(f.at(key), `"${s}" is not a five-field cron expression like "*/5 * * * *"`);
  }
  return normalizeCron(s);
}

/** Minutes of history the spike rule reads: the current window and the baseline windows before it. */
export function spikeSpanMinutes(rule: UsageSpikeRule): number {
  return (rule.baselineWindows + 1) * rule.windowMinutes;
}

function spikeRule(v: unknown, path: string): UsageSpikeRule {
  const f = new Fields(v, path, ["factor", "windowMinutes", "baselineWindows", "minRequests"]);
  const rule = {
    factor: f.num("factor", 1.01, 1000),
    windowMinutes: f.int("windowMinutes", 5, 24 * 60),
    baselineWindows: f.int("baselineWindows", 3, 1000, 24),
    minRequests: f.int("minRequests", 1, 1e9, 100),
  };
  // The history is read in one query grouped by minute, or by hour when that would not fit one answer (whole hours only).
  const minutes = spikeSpanMinutes(rule);
  if (minutes >= MAX_GROUPS && (rule.windowMinutes % 60 !== 0 || minutes / 60 >= MAX_GROUPS)) {
    throw new AlertsConfigError(
      `${path}.baselineWindows`,
      `spans ${minutes} minutes of history with windowMinutes ${rule.windowMinutes}; keep (baselineWindows + 1) x windowMinutes under ${MAX_GROUPS} minutes, or use whole-hour windows`,
    );
  }
  if (minutes > 31 * 24 * 60) throw new AlertsConfigError(`${path}.baselineWindows`, "reaches back more than 31 days, past the analytics retention");
  return rule;
}

/** Validates an ALERTS value; throws AlertsConfigError naming the first bad field. */
export function parseAlertsBinding(input: unknown): AlertsBinding {
  const root = new Fields(input, "", ["cron", "lagMinutes", "failureRuns", "rules", "destinations", "endpoints"]);

  const r = new Fields(root.o.rules, "rules", ["costPerDay", "errorRate", "usageSpike"]);
  const rules: AlertsBinding["rules"] = {};
  if (r.has("costPerDay")) {
    const f = new Fields(r.o.costPerDay, "rules.costPerDay", ["usd", "window"]);
    rules.costPerDay = { usd: f.num("usd", 0.01, 1e9), window: f.oneOf("window", COST_WINDOWS, "rolling24h") };
  }
  if (r.has("errorRate")) {
    const f = new Fields(r.o.errorRate, "rules.errorRate", ["percent", "windowMinutes", "minRequests"]);
    rules.errorRate = {
      percent: f.num("percent", 0.01, 100),
      windowMinutes: f.int("windowMinutes", 5, 24 * 60),
      minRequests: f.int("minRequests", 1, 1e9, 20),
    };
  }
  if (r.has("usageSpike")) rules.usageSpike = spikeRule(r.o.usageSpike, "rules.usageSpike");
  if (Object.keys(rules).length === 0) throw new AlertsConfigError("rules", "must declare at least one of costPerDay, errorRate, usageSpike");

  const d = new Fields(root.o.destinations, "destinations", ["webhooks", "pagerduty"]);
  const webhooks = d.list("webhooks").map((w, i) => {
    const f = new Fields(w, `destinations.webhooks[${i}]`, ["name", "url"]);
    const name = f.str("name");
    if (!NAME.test(name)) throw new AlertsConfigError(f.at("name"), "must be 1-40 letters, digits, '_' or '-'");
    return { name, url: f.url("url") };
  });
  if (new Set(webhooks.map((w) => w.name)).size !== webhooks.length) {
    throw new AlertsConfigError("destinations.webhooks", "names a webhook twice");
  }
  const pagerduty = d.bool("pagerduty", false);
  if (webhooks.length === 0 && !pagerduty) {
    throw new AlertsConfigError("destinations", "must declare at least one webhook or pagerduty: true");
  }

  const e = new Fields(root.o.endpoints ?? {}, "endpoints", ["analytics", "pagerduty"]);
  return {
    cron: cron(root, "cron"),
    lagMinutes: root.int("lagMinutes", 0, 120, 5),
    failureRuns: root.int("failureRuns", 1, 1000, 3),
    rules,
    destinations: { webhooks, pagerduty },
    endpoints: { analytics: e.url("analytics", DEFAULT_ENDPOINTS.analytics), pagerduty: e.url("pagerduty", DEFAULT_ENDPOINTS.pagerduty) },
  };
}
