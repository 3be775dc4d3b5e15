/**
 * Entry point of the computed alerts: adapts the Worker's bindings to the evaluator. The Worker's `scheduled` export
 * calls `runScheduledAlerts(controller, env)`; tests pass their own fetch, clock and log sink. A stack without an
 * ALERTS binding, or a cron that is not the alerts cron, is a no-op.
 */

import { utcDay } from "../budget/cost";
import { type ReconcileReport, reconcileAlert, reconcileDay } from "../budget/reconcile";
import type { UsageLedger } from "../budget/usage";
import { type AlertsBinding, parseAlertsBinding } from "../contract/alerts";
import { parseBudgets } from "../contract/budgets";
import { parseClients } from "../contract/clients";
import { type FetchFn, readGroups, total } from "./analytics";
import { deliver } from "./deliver";
import { evaluateAlerts, type RunReport } from "./evaluator";
import type { StateStore } from "./state";

export { type AlertsBinding, parseAlertsBinding } from "../contract/alerts";
export { type AlertsDeps, type AlertsInput, ANALYTICS_ALERT, evaluateAlerts, type RunReport } from "./evaluator";
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

/**
 * Once a day, on the first alerts run after yesterday's analytics have caught up, compares yesterday's ledger total
 * (every client's budget ledger) with the gateway's analytics cost and alerts through the declared destinations when
 * they differ by more than BUDGETS.reconcile allows: a stale price table, or traffic that bypassed the Worker. The
 * day is marked in the alerts state so it is compared once.
 */
async function reconcileYesterday(
  env: AlertsEnv & { BUDGETS?: unknown; BUDGET_LEDGER?: { getByName(name: string): UsageLedger }; CLIENTS?: unknown },
  config: AlertsBinding,
  at: Date,
  fetchFn: FetchFn,
  log: (line: string) => void,
): Promise<ReconcileReport | undefined> {
  if (!env.BUDGETS || !env.BUDGET_LEDGER || !env.ALERTS_STATE) return undefined;
  const budgets = parseBudgets(typeof env.BUDGETS === "string" ? JSON.parse(env.BUDGETS) : env.BUDGETS);
  const clients = parseClients(typeof env.CLIENTS === "string" ? JSON.parse(env.CLIENTS) : env.CLIENTS);
  const day = utcDay(at.getTime() - config.lagMinutes * 60_000 - 86_400_000);
  const mark = `reconciled:${day}`;
  if ((await env.ALERTS_STATE.get(mark)) !== null) return undefined;
  const ledgers = env.BUDGET_LEDGER;
  const analytics = {
    url: config.endpoints.analytics,
    token: env.ALERTS_ANALYTICS_TOKEN ?? "",
    accountId: env.AI_GATEWAY_ACCOUNT_ID,
    gatewayId: env.AI_GATEWAY_ID,
    fetch: fetchFn,
  };
  const report = await reconcileDay({
    day,
    clients,
    ledgerFor: (client) => ledgers.getByName(client),
    gatewayCost: async (start, end) => {
      const rows = await readGroups(analytics, start, end);
      return rows.ok ? { ok: true, value: total(rows.value).cost } : rows;
    },
    settings: budgets.reconcile,
  });
  log(JSON.stringify({ event: "budgets.reconcile", stack: env.STACK, ...report }));
  // An unavailable side is tried again on the next run; a compared day is done.
  if (report.outcome === "unavailable") return report;
  const msg = reconcileAlert(report, { stack: env.STACK, gateway: env.AI_GATEWAY_ID, at, maxShareDiff: budgets.reconcile.maxShareDiff });
  if (msg) {
    await deliver(
      fetchFn,
      config,
      { webhooks: webhookSecrets(env.ALERTS_WEBHOOK_SECRETS), pagerdutyRoutingKey: env.ALERTS_PAGERDUTY_ROUTING_KEY || undefined },
      msg,
      at,
    );
  }
  await env.ALERTS_STATE.put(mark, report.outcome);
  return report;
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
    log(
      JSON.stringify({
        event: "alerts.run",
        level: "error",
        stack: env.STACK,
        reason: `ALERTS binding invalid: ${err instanceof Error ? err.message : "?"}`,
      }),
    );
    return undefined;
  }
  if (controller.cron !== config.cron) return undefined;
  if (!env.ALERTS_STATE) {
    // Without state every run would repeat every firing alert: refuse instead.
    log(JSON.stringify({ event: "alerts.run", level: "error", stack: env.STACK, reason: "ALERTS_STATE binding missing" }));
    return undefined;
  }
  const now = new Date(controller.scheduledTime);
  const fetchFn: FetchFn = deps.fetch ?? ((input, init) => fetch(input, init));
  try {
    await reconcileYesterday(env, config, now, fetchFn, log);
  } catch (err) {
    // Reconciliation never holds up the alerts themselves.
    log(
      JSON.stringify({
        event: "budgets.reconcile",
        level: "error",
        stack: env.STACK,
        reason: err instanceof Error ? err.message : String(err),
      }),
    );
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
    { now, fetch: fetchFn, store: env.ALERTS_STATE, log },
  );
}
