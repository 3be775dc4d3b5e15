/**
 * Entry point of the computed alerts: adapts the Worker's bindings to the evaluator. The Worker's `scheduled` export
 * calls `runScheduledAlerts(controller, env)`; tests pass their own fetch, clock and log sink. A stack without an
 * ALERTS binding, or a cron that is not the alerts cron, is a no-op.
 */
import type { FetchFn } from "./analytics";
import { parseAlertsBinding } from "../contract/alerts";
import { evaluateAlerts, type RunReport } from "./evaluator";
import type { StateStore } from "./state";

export { parseAlertsBinding, type AlertsBinding } from "../contract/alerts";
export { evaluateAlerts, ANALYTICS_ALERT, type AlertsInput, type AlertsDeps, type RunReport } from "./evaluator";
export { MemoryStateStore, type StateStore } from "./state";

/** The bindings the alerts read; every ALERTS_* one is optional because a stack may run without alerts. */
export interface AlertsEnv {
  AI_GATEWAY_ACCOUNT_ID: string;
  AI_GATEWAY_ID: string;
  STACK: string;
  ALERTS?: unknown;
  ALERTS_STATE?: StateStore;
  ALERTS_ANALYTICS_TOKEN?: string;
  ALERTS_WEBHOOK_SECRETS?: string;
  ALERTS_PAGERDUTY_ROUTING_KEY?: string;
}

export interface ScheduledDeps {
  fetch?: FetchFn;
  log?: (line: string) => void;
}

function webhookSecrets(raw: string | undefined): Record<string, string> {
  if (!raw) return {};
  try {
    const v = JSON.parse(raw) as unknown;
    if (typeof v !== "object" || v === null || Array.isArray(v)) return {};
    return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === "string"));
  } catch {
    return {};
  }
}

/** Runs one evaluation for a cron event; resolves to the run's report, or undefined when alerts do not apply. */
export async function runScheduledAlerts(
  controller: { cron: string; scheduledTime: number },
  env: AlertsEnv,
  deps: ScheduledDeps = {},
): Promise<RunReport | undefined> {
  const log = deps.log ?? console.log;
  if (env.ALERTS === undefined || env.ALERTS === null || env.ALERTS === "") return undefined;
  let config;
  try {
    config = parseAlertsBinding(typeof env.ALERTS === "string" ? JSON.parse(env.ALERTS) : env.ALERTS);
  } catch (err) {
    log(JSON.stringify({ event: "alerts.run", level: "error", stack: env.STACK, reason: `ALERTS binding invalid: ${err instanceof Error ? err.message : "?"}` }));
    return undefined;
  }
  if (controller.cron !== config.cron) return undefined;
  if (!env.ALERTS_STATE) {
    // Without state every run would repeat every firing alert: refuse instead.
    log(JSON.stringify({ event: "alerts.run", level: "error", stack: env.STACK, reason: "ALERTS_STATE binding missing" }));
    return undefined;
  }
  return evaluateAlerts(
    {
      config,
      stack: env.STACK,
      accountId: env.AI_GATEWAY_ACCOUNT_ID,
      gatewayId: env.AI_GATEWAY_ID,
      analyticsToken: env.ALERTS_ANALYTICS_TOKEN ?? "",
      secrets: { webhooks: webhookSecrets(env.ALERTS_WEBHOOK_SECRETS), pagerdutyRoutingKey: env.ALERTS_PAGERDUTY_ROUTING_KEY || undefined },
    },
    { now: new Date(controller.scheduledTime), fetch: deps.fetch ?? ((input, init) => fetch(input, init)), store: env.ALERTS_STATE, log },
  );
}
