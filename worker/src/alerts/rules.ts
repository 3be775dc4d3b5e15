/**
 * The three computed alert rules as plain functions: which range each reads from the analytics API, and the verdict
 * on what came back. No I/O here. A rule whose data is missing says "no_data" (neither firing nor resolved), so
 * a gap in the analytics can never raise or clear an alert on its own.
 */

import {
  type AlertsBinding,
  type CostPerDayRule,
  type ErrorRateRule,
  MAX_GROUPS,
  type RuleId,
  spikeSpanMinutes,
  type UsageSpikeRule,
} from "../contract/alerts";
import type { Bucket, Bucketing, Totals } from "./analytics";
import { total } from "./analytics";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
// Float sums of per-request costs should not miss a threshold they meet exactly.
const EPSILON = 1e-9;

export interface Window {
  start: Date;
  end: Date;
}

/** What one rule reads: a range, and whether the rows come grouped by hour or minute. */
export interface RulePlan {
  rule: RuleId;
  range: Window;
  bucket?: Bucketing;
  evaluate(rows: readonly Bucket[]): Verdict;
}

export type Verdict =
  | {
      rule: RuleId;
      status: "firing" | "ok";
      value: number;
      threshold: number;
      unit: "USD" | "%" | "requests";
      window: Window;
      summary: string;
      /** Numbers behind the verdict (requests, errors, baseline...), sent with the alert. */
      detail: Record<string, number>;
    }
  | { rule: RuleId; status: "no_data"; window: Window; summary: string };

function floorTo(ms: number, step: number): number {
  return Math.floor(ms / step) * step;
}

function noData(rule: RuleId, window: Window, what: string): Verdict {
  return { rule, status: "no_data", window, summary: `no analytics data for ${what}; the rule keeps its state` };
}

const usd = (n: number) => `$${n.toFixed(2)}`;

export function costPlan(rule: CostPerDayRule, end: Date): RulePlan {
  const start = rule.window === "rolling24h" ? new Date(end.getTime() - DAY) : new Date(floorTo(end.getTime() - 1, DAY));
  const window = { start, end };
  return {
    rule: "cost_per_day",
    range: window,
    evaluate(rows) {
      const t = total(rows);
      if (t.requests === 0) return noData("cost_per_day", window, "the cost window");
      const firing = t.cost + EPSILON >= rule.usd;
      const span = rule.window === "rolling24h" ? "in the last 24 hours" : "since 00:00 UTC";
      return {
        rule: "cost_per_day",
        status: firing ? "firing" : "ok",
        value: t.cost,
        threshold: rule.usd,
        unit: "USD",
        window,
        summary: `gateway cost ${usd(t.cost)} ${span} ${firing ? "reached" : "is below"} the ${usd(rule.usd)} limit`,
        detail: { requests: t.requests },
      };
    },
  };
}

export function errorRatePlan(rule: ErrorRateRule, end: Date): RulePlan {
  const window = { start: new Date(end.getTime() - rule.windowMinutes * MINUTE), end };
  return {
    rule: "error_rate",
    range: window,
    evaluate(rows) {
      const t: Totals = total(rows);
      if (t.requests === 0) return noData("error_rate", window, `the last ${rule.windowMinutes} minutes`);
      const percent = t.requests > 0 ? (t.errors / t.requests) * 100 : 0;
      const enough = t.requests >= rule.minRequests;
      // errors/requests >= percent/100, compared without dividing so 5 in 100 meets 5% exactly.
      const firing = enough && t.errors * 100 + EPSILON >= rule.percent * t.requests;
      const why = enough ? "" : ` (only ${t.requests} requests, fewer than the ${rule.minRequests} needed)`;
      return {
        rule: "error_rate",
        status: firing ? "firing" : "ok",
        value: percent,
        threshold: rule.percent,
        unit: "%",
        window,
        summary: `error rate ${percent.toFixed(2)}% (${t.errors} of ${t.requests} requests) over ${rule.windowMinutes} minutes ${firing ? "reached" : "is below"} ${rule.percent}%${why}`,
        detail: { requests: t.requests, errors: t.errors, minRequests: rule.minRequests },
      };
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function spikePlan(rule: UsageSpikeRule, end: Date): RulePlan {
  const minutes = spikeSpanMinutes(rule);
  // Hourly groups only when minute groups would not fit one answer; then windows must start on the hour.
  const bucket: Bucketing = minutes < MAX_GROUPS ? "datetimeMinute" : "datetimeHour";
  const endMs = bucket === "datetimeHour" ? floorTo(end.getTime(), HOUR) : end.getTime();
  const w = rule.windowMinutes * MINUTE;
  const range = { start: new Date(endMs - minutes * MINUTE), end: new Date(endMs) };
  const current = { start: new Date(endMs - w), end: range.end };
  return {
    rule: "usage_spike",
    range,
    bucket,
    evaluate(rows) {
      // counts[0] is the current window, counts[k] the k-th window before it; a window without rows had no requests.
      const counts = new Array<number>(rule.baselineWindows + 1).fill(0);
      for (const r of rows) {
        const k = Math.ceil((endMs - Date.parse(r.start)) / w) - 1;
        if (k < 0 || k > rule.baselineWindows || Number.isNaN(k)) continue;
        counts[k]! += r.requests;
      }
      const now = counts[0]!;
      if (now === 0) return noData("usage_spike", current, `the last ${rule.windowMinutes} minutes`);
      if (counts.every((c, k) => k === 0 || c === 0)) return noData("usage_spike", current, "the baseline history");
      const baseline = median(counts.slice(1));
      const limit = rule.factor * baseline;
      const firing = now >= rule.minRequests && now + EPSILON >= limit;
      return {
        rule: "usage_spike",
        status: firing ? "firing" : "ok",
        value: now,
        threshold: limit,
        unit: "requests",
        window: current,
        summary: `${now} requests in ${rule.windowMinutes} minutes ${firing ? "reached" : "is below"} ${rule.factor}x the baseline of ${baseline} (median of the ${rule.baselineWindows} windows before)`,
        detail: { baseline, factor: rule.factor, minRequests: rule.minRequests },
      };
    },
  };
}

/** The plans for every rule the stack declares, for windows ending `lagMinutes` before `now`. */
export function plans(config: AlertsBinding, now: Date): RulePlan[] {
  const end = new Date(floorTo(now.getTime(), MINUTE) - config.lagMinutes * MINUTE);
  const out: RulePlan[] = [];
  if (config.rules.costPerDay) out.push(costPlan(config.rules.costPerDay, end));
  if (config.rules.errorRate) out.push(errorRatePlan(config.rules.errorRate, end));
  if (config.rules.usageSpike) out.push(spikePlan(config.rules.usageSpike, end));
  return out;
}
