/**
 * What a stack's declared resources say about its alerts, in words an auditor reads: the computed rules in the
 * Worker's ALERTS binding (cost per day, error rate, usage spike; parsed with the Worker's own parser), where they are
 * delivered, whether the cron that evaluates them exists, and Cloudflare's native notification policies.
 * Shared by the alerts policy rule and the plan's audit summary, so both describe the same thing.
 */
import { type AlertsBinding, parseAlertsBinding } from "../worker/src/contract/alerts";
import { bindingsOf, type PolicyResource, record, TYPES } from "./resource";

export const ALERTS_BINDING = "ALERTS";

/** The computed alerts every stack must have. */
export const REQUIRED_ALERT_KINDS = ["cost", "error-rate", "usage-spike"] as const;
export type AlertKind = (typeof REQUIRED_ALERT_KINDS)[number];

export interface AlertFact {
  readonly kind: AlertKind;
  /** Rule id as the Worker reports it. */
  readonly name: string;
  readonly threshold: string;
  readonly window: string;
  readonly destinations: string[];
  /** The Worker that evaluates it. */
  readonly resource: string;
}

export interface NativeAlertFact {
  readonly resource: string;
  readonly alertType: string;
  readonly enabled: boolean;
  readonly destinations: string[];
}

export interface AlertFacts {
  readonly alerts: AlertFact[];
  /** The cron expression each Worker evaluates alerts on. */
  readonly schedules: { resource: string; cron: string }[];
  readonly native: NativeAlertFact[];
  /** Declarations that make the alerts unusable, e.g. an invalid ALERTS binding or a missing cron trigger. */
  readonly problems: string[];
}

function list(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.map(record) : [];
}

function host(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "(invalid URL)";
  }
}

/** Destinations named without credentials: webhook URLs can carry tokens in their path, so only the host is shown. */
function destinations(b: AlertsBinding): string[] {
  return [...b.destinations.webhooks.map((w) => `webhook ${w.name} (${host(w.url)})`), ...(b.destinations.pagerduty ? ["PagerDuty"] : [])];
}

const COST_WINDOW_WORDS = { rolling24h: "the last 24 hours (rolling)", calendarDayUtc: "the calendar day so far (UTC)" } as const;

function computedAlerts(b: AlertsBinding, resource: string): AlertFact[] {
  const to = destinations(b);
  const out: AlertFact[] = [];
  const { costPerDay, errorRate, usageSpike } = b.rules;
  if (costPerDay) {
    out.push({
      kind: "cost",
      name: "cost_per_day",
      threshold: `estimated spend reaches $${costPerDay.usd}`,
      window: COST_WINDOW_WORDS[costPerDay.window],
      destinations: to,
      resource,
    });
  }
  if (errorRate) {
    out.push({
      kind: "error-rate",
      name: "error_rate",
      threshold: `${errorRate.percent}% of requests errored (at least ${errorRate.minRequests} requests)`,
      window: `${errorRate.windowMinutes} minutes`,
      destinations: to,
      resource,
    });
  }
  if (usageSpike) {
    out.push({
      kind: "usage-spike",
      name: "usage_spike",
      threshold: `requests reach ${usageSpike.factor}x the median of the previous ${usageSpike.baselineWindows} windows (at least ${usageSpike.minRequests} requests)`,
      window: `${usageSpike.windowMinutes} minutes`,
      destinations: to,
      resource,
    });
  }
  return out;
}

function scriptCrons(resources: readonly PolicyResource[], scriptName: unknown): string[] {
  return resources
    .filter((r) => r.type === TYPES.workersCronTrigger && r.props.scriptName === scriptName)
    .flatMap((r) => list(r.props.schedules).map((s) => String(s.cron).trim()));
}

export function alertFacts(resources: readonly PolicyResource[]): AlertFacts {
  const alerts: AlertFact[] = [];
  const schedules: AlertFacts["schedules"] = [];
  const problems: string[] = [];
  for (const w of resources.filter((r) => r.type === TYPES.workersScript)) {
    const binding = bindingsOf(w).find((b) => b.name === ALERTS_BINDING);
    if (!binding) continue;
    if (binding.type !== "json") {
      problems.push(`Worker "${w.name}" binding ${ALERTS_BINDING} must be a json binding (found ${String(binding.type)})`);
      continue;
    }
    let parsed: AlertsBinding;
    try {
      parsed = parseAlertsBinding(typeof binding.json === "string" ? JSON.parse(binding.json) : binding.json);
    } catch (e) {
      problems.push(`Worker "${w.name}" ${ALERTS_BINDING} binding is invalid: ${(e as Error).message}`);
      continue;
    }
    alerts.push(...computedAlerts(parsed, w.name));
    schedules.push({ resource: w.name, cron: parsed.cron });
    if (!scriptCrons(resources, w.props.scriptName).includes(parsed.cron)) {
      problems.push(
        `Worker "${w.name}" evaluates alerts on cron "${parsed.cron}" but no cron trigger of the script has that schedule; the alerts would never run`,
      );
    }
  }
  const native = resources
    .filter((r) => r.type === TYPES.notificationPolicy)
    .map((r): NativeAlertFact => {
      const m = record(r.props.mechanisms);
      return {
        resource: r.name,
        alertType: String(r.props.alertType),
        enabled: r.props.enabled !== false,
        destinations: [
          ...list(m.webhooks).map(() => "webhook"),
          ...list(m.emails).map((e) => `email ${String(e.id)}`),
          ...list(m.pagerduties).map(() => "PagerDuty"),
        ],
      };
    });
  return { alerts, schedules, native, problems };
}
