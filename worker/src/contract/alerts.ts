/**
 * The ALERTS binding: which computed alerts a stack runs (cost per day, error rate, usage spike), on which cron, and
 * where they are delivered. Infra builds it from `Pulumi.<stack>.yaml` and validates it with this same schema (plus
 * the keys only the stack config has) before declaring anything; the Worker parses it once per scheduled run. Errors
 * name the bad field by its path. Secrets (analytics token, webhook secrets, PagerDuty routing key) never appear here:
 * they have their own bindings.
 */
import * as v from "valibot";
import { bool, type Fail, firstRepeat, httpUrl, int, list, num, object, oneOf, parseWith, refine, text } from "./schema";

export const RULE_IDS = ["cost_per_day", "error_rate", "usage_spike"] as const;
export type RuleId = (typeof RULE_IDS)[number];

export const COST_WINDOWS = ["rolling24h", "calendarDayUtc"] as const;
export type CostWindow = (typeof COST_WINDOWS)[number];

export const DEFAULT_ENDPOINTS = {
  analytics: "https://api.cloudflare.com/client/v4/graphql",
  pagerduty: "https://events.pagerduty.com/v2/enqueue",
} as const;

/** The analytics API answers at most this many groups per query; the spike rule's history must fit in it. */
export const MAX_GROUPS = 10_000;

// Five space-separated fields of digits, names, '*', ',', '-', '/', '?', 'L', 'W', '#'; Cloudflare validates the rest
// at deploy time.
const CRON_FIELD = /^[\d*,\-/A-Za-z?LW#]+$/;

/**
 * One spelling per schedule: fields joined by single spaces. Cloudflare hands the scheduled handler the trigger's
 * cron as declared, so the ALERTS cron and the declared trigger must be spelt alike for the handler to recognise it.
 */
export function normalizeCron(s: string): string {
  return s.trim().split(/\s+/).join(" ");
}

function isCron(s: string): boolean {
  const fields = normalizeCron(s).split(" ");
  return fields.length === 5 && fields.every((f) => CRON_FIELD.test(f));
}

/** The one cron check (the ALERTS cron and the stack's own crons): a five-field expression, normalized. */
export const CronSchema = v.pipe(
  text(),
  v.check(isCron, 'must be a five-field cron expression like "*/5 * * * *"'),
  v.transform(normalizeCron),
);

const CostPerDaySchema = object({
  /** Fires when the gateway's estimated cost in the window reaches this many US dollars. */
  usd: num(0.01, 1e9),
  /** rolling24h: the 24 hours before the evaluation point; calendarDayUtc: since 00:00 UTC of that day. */
  window: v.optional(oneOf(COST_WINDOWS), "rolling24h"),
});

const ErrorRateSchema = object({
  /** Fires when errored / total requests in the window reaches this percentage... */
  percent: num(0.01, 100),
  windowMinutes: int(5, 24 * 60),
  /** ...and the window holds at least this many requests (1 error in 2 requests does not page). */
  minRequests: v.optional(int(1, 1e9), 20),
});

/** Minutes of history the spike rule reads: the current window and the baseline windows before it. */
export function spikeSpanMinutes(rule: { windowMinutes: number; baselineWindows: number }): number {
  return (rule.baselineWindows + 1) * rule.windowMinutes;
}

const UsageSpikeSchema = refine(
  object({
    /** Fires when requests in the window reach factor x the baseline... */
    factor: num(1.01, 1000),
    windowMinutes: int(5, 24 * 60),
    /** Baseline: the median request count of this many same-length windows right before the current one. */
    baselineWindows: v.optional(int(3, 1000), 24),
    /** ...and the window holds at least this many requests. */
    minRequests: v.optional(int(1, 1e9), 100),
  }),
  (r, fail) => {
    // The history is read in one query grouped by minute, or by hour when that would not fit one answer (whole hours only).
    const minutes = spikeSpanMinutes(r);
    if (minutes >= MAX_GROUPS && (r.windowMinutes % 60 !== 0 || minutes / 60 >= MAX_GROUPS)) {
      fail(
        ["baselineWindows"],
        `spans ${minutes} minutes of history with windowMinutes ${r.windowMinutes}; keep (baselineWindows + 1) x windowMinutes under ${MAX_GROUPS} minutes, or use whole-hour windows`,
      );
    } else if (minutes > 31 * 24 * 60) {
      fail(["baselineWindows"], "reaches back more than 31 days, past the analytics retention");
    }
  },
);

export const AlertRulesSchema = refine(
  object({ costPerDay: v.optional(CostPerDaySchema), errorRate: v.optional(ErrorRateSchema), usageSpike: v.optional(UsageSpikeSchema) }),
  (rules, fail) => {
    if (Object.keys(rules).length === 0) fail([], "must declare at least one of costPerDay, errorRate, usageSpike");
  },
);

/** A webhook destination's fields as the Worker reads them; the stack config adds the key of its secret. */
export const webhookEntries = {
  name: v.pipe(text(), v.regex(/^[A-Za-z0-9_-]{1,40}$/, "must be 1-40 letters, digits, '_' or '-'")),
  url: httpUrl(),
};

/** Distinct webhook names, and somewhere to send: what every destinations value must satisfy. */
export function checkDestinations(d: { webhooks: { name: string }[]; pagerduty: boolean }, fail: Fail): void {
  if (firstRepeat(d.webhooks, (w) => w.name) !== undefined) fail(["webhooks"], "names a webhook twice");
  else if (d.webhooks.length === 0 && !d.pagerduty) fail([], "must declare at least one webhook or pagerduty: true");
}

const DestinationsSchema = refine(
  object({
    /** Webhooks the Worker posts to; each has its secret in ALERTS_WEBHOOK_SECRETS under its name. */
    webhooks: v.optional(list(object(webhookEntries)), []),
    /** true: also send PagerDuty Events v2 (routing key in ALERTS_PAGERDUTY_ROUTING_KEY). */
    pagerduty: v.optional(bool(), false),
  }),
  checkDestinations,
);

/** The ALERTS value's fields, in the order the binding is written; the stack config extends them. */
export const alertsEntries = {
  /** The cron expression this evaluator runs on; other crons of the Worker are ignored. */
  cron: v.optional(CronSchema, "*/5 * * * *"),
  /** Windows end this many minutes before the scheduled time, because analytics data lags. */
  // Third parties measured 139–365 s from a request to aiGatewayRequestsAdaptiveGroups: 7 minutes covers it.
  lagMinutes: v.optional(int(0, 120), 7),
  /** Consecutive runs with an analytics failure before the failure itself is reported. */
  failureRuns: v.optional(int(1, 1000), 3),
  rules: AlertRulesSchema,
  destinations: DestinationsSchema,
  /** Endpoint overrides for local runs and tests; deployed stacks use the public APIs. */
  endpoints: v.optional(
    object({
      analytics: v.optional(httpUrl(), DEFAULT_ENDPOINTS.analytics),
      pagerduty: v.optional(httpUrl(), DEFAULT_ENDPOINTS.pagerduty),
    }),
    {},
  ),
};

export const AlertsSchema = object(alertsEntries);

export type AlertsBinding = v.InferOutput<typeof AlertsSchema>;
export type CostPerDayRule = v.InferOutput<typeof CostPerDaySchema>;
export type ErrorRateRule = v.InferOutput<typeof ErrorRateSchema>;
export type UsageSpikeRule = v.InferOutput<typeof UsageSpikeSchema>;

/** Validates an ALERTS value; throws ContractError naming the first bad field. */
export function parseAlertsBinding(input: unknown): AlertsBinding {
  return parseWith(AlertsSchema, input);
}
