/**
 * One scheduled evaluation: read each rule's window from the analytics API, decide, compare with the stored state,
 * and deliver only transitions (firing once, resolved once). Time, fetch, the state store and the log sink are
 * passed in, so tests drive it with a fixed clock and local servers.
 *
 * Missing or failed analytics never changes a rule's state. A failure streak of `failureRuns` runs is itself
 * reported once ("analytics_unavailable"), and a recovery note follows the first clean run.
 * A transition counts as sent when at least one destination accepted it; if none did, the next run tries again.
 */

import type { AlertsBinding, RuleId } from "../contract/alerts";
import { type FetchFn, iso, readGroups } from "./analytics";
import { type AlertMessage, type Delivery, deliver, type Secrets } from "./deliver";
import { plans, type Verdict } from "./rules";
import { type AlertsState, loadState, type StateStore, saveState } from "./state";

export interface AlertsInput {
  config: AlertsBinding;
  stack: string;
  accountId: string;
  gatewayId: string;
  /** Account Analytics Read token; empty when the binding is missing (then every run counts as failed). */
  analyticsToken: string;
  secrets: Secrets;
}

export interface AlertsDeps {
  now: Date;
  fetch: FetchFn;
  store: StateStore;
  /** Receives the run's one JSON log line. */
  log?: (line: string) => void;
}

export interface Sent {
  alert: string;
  status: AlertMessage["status"];
  deliveries: Delivery[];
}

export interface RunReport {
  verdicts: Verdict[];
  failures: { rule: RuleId; reason: string }[];
  sent: Sent[];
  state: AlertsState;
}

export const ANALYTICS_ALERT = "analytics_unavailable";

const SEVERITY: Record<RuleId, AlertMessage["severity"]> = { cost_per_day: "warning", error_rate: "error", usage_spike: "warning" };

function redact(line: string, secrets: string[]): string {
  let out = line;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join("[redacted]");
  return out;
}

export async function evaluateAlerts(input: AlertsInput, deps: AlertsDeps): Promise<RunReport> {
  const { config, stack, gatewayId } = input;
  const at = iso(deps.now);
  const state = await loadState(deps.store);
  const client = { url: config.endpoints.analytics, token: input.analyticsToken, accountId: input.accountId, gatewayId, fetch: deps.fetch };

  const verdicts: Verdict[] = [];
  const failures: RunReport["failures"] = [];
  await Promise.all(
    plans(config, deps.now).map(async (plan) => {
      const answer = input.analyticsToken
        ? await readGroups(client, plan.range.start, plan.range.end, plan.bucket)
        : { ok: false as const, reason: "ALERTS_ANALYTICS_TOKEN is not set" };
      if (answer.ok) verdicts.push(plan.evaluate(answer.value));
      else failures.push({ rule: plan.rule, reason: answer.reason });
    }),
  );

  const sent: Sent[] = [];
  const send = async (msg: AlertMessage): Promise<boolean> => {
    const deliveries = await deliver(deps.fetch, config, input.secrets, msg, deps.now);
    sent.push({ alert: msg.alert, status: msg.status, deliveries });
    return deliveries.some((d) => d.ok);
  };
  const base = { stack, gateway: gatewayId, at };

  for (const v of verdicts) {
    if (v.status === "no_data") continue;
    const was = state.rules[v.rule]?.firing === true;
    const firing = v.status === "firing";
    if (firing === was) continue;
    const msg: AlertMessage = {
      ...base,
      alert: v.rule,
      status: firing ? "firing" : "resolved",
      severity: SEVERITY[v.rule],
      summary: v.summary,
      window: { start: iso(v.window.start), end: iso(v.window.end) },
      value: v.value,
      threshold: v.threshold,
      unit: v.unit,
      detail: v.detail,
    };
    if (!(await send(msg))) continue;
    if (firing) state.rules[v.rule] = { firing: true, since: at };
    else delete state.rules[v.rule];
  }

  const a = state.analytics;
  if (failures.length > 0) {
    a.failures += 1;
    a.since ??= at;
    a.lastReason = failures[0]!.reason;
    if (a.failures >= config.failureRuns && !a.reported) {
      a.reported = await send({
        ...base,
        alert: ANALYTICS_ALERT,
        status: "firing",
        severity: "warning",
        summary: `gateway analytics unreadable for ${a.failures} runs in a row since ${a.since}: ${a.lastReason}. Computed alerts cannot fire until it recovers.`,
        detail: { failedRuns: a.failures },
      });
    }
  } else {
    const recovered =
      !a.reported ||
      (await send({
        ...base,
        alert: ANALYTICS_ALERT,
        status: "resolved",
        severity: "info",
        summary: `gateway analytics readable again (failing since ${a.since ?? "?"})`,
      }));
    state.analytics = recovered ? { failures: 0, reported: false } : { ...a, failures: 0 };
  }

  await saveState(deps.store, state);

  const line = JSON.stringify({
    event: "alerts.run",
    level: failures.length > 0 || sent.some((s) => s.deliveries.some((d) => !d.ok)) ? "warn" : "info",
    stack,
    gateway: gatewayId,
    at,
    verdicts: verdicts.map((v) =>
      v.status === "no_data"
        ? { rule: v.rule, status: v.status }
        : { rule: v.rule, status: v.status, value: v.value, threshold: v.threshold },
    ),
    failures,
    analytics: { failedRuns: state.analytics.failures, reported: state.analytics.reported },
    sent,
  });
  const secrets = [input.analyticsToken, ...Object.values(input.secrets.webhooks), input.secrets.pagerdutyRoutingKey ?? ""];
  (deps.log ?? console.log)(redact(line, secrets));
  return { verdicts, failures, sent, state };
}
