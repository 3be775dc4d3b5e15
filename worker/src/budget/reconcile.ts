/**
 * Reconciliation: one UTC day's ledger total (every client's ledger) against the gateway's own analytics cost for the
 * same window. They are two estimates of one bill: the ledger prices usage with BUDGETS.prices, the gateway with its
 * own table (https://developers.cloudflare.com/ai-gateway/observability/costs/), so they may differ a little; more
 * than the declared share (and more than minUsdDiff) means a price table is wrong or spend escapes the ledger.
 * Missing analytics never reads as agreement: it is reported as unavailable.
 */
import type { AlertMessage } from "../alerts/deliver";
import type { Budgets } from "../contract/budgets";
import { type Nanos, toUsd } from "./cost";
import type { UsageLedger } from "./usage";

export type AnalyticsCost = (start: Date, end: Date) => Promise<{ ok: true; value: number } | { ok: false; reason: string }>;

export interface ReconcileInput {
  /** The UTC day to compare, "2026-11-05"; pick one the analytics have caught up with (it lags by minutes). */
  day: string;
  /** Every client that can call (CLIENTS): each has its own ledger. */
  clients: readonly string[];
  ledgerFor: (client: string) => UsageLedger;
  /** The gateway's summed `cost` for [start, end) (alerts/analytics.ts readGroups, summed). */
  gatewayCost: AnalyticsCost;
  settings: Budgets["reconcile"];
}

export type ReconcileReport =
  | {
      day: string;
      outcome: "agree" | "differ";
      ledgerUsd: number;
      gatewayUsd: number;
      diffUsd: number;
      share: number;
      byClient: Record<string, number>;
    }
  | { day: string; outcome: "unavailable"; reason: string };

/** Compares one day; never throws (an unreachable ledger or analytics is an "unavailable" report). */
export async function reconcileDay(input: ReconcileInput): Promise<ReconcileReport> {
  const start = new Date(`${input.day}T00:00:00Z`);
  const end = new Date(start.getTime() + 86_400_000);
  const byClient: Record<string, number> = {};
  let ledger: Nanos = 0;
  try {
    for (const client of input.clients) {
      const rows = await input.ledgerFor(client).usage({ from: input.day, to: input.day });
      const n = rows.reduce((x, r) => x + r.nanos, 0);
      byClient[client] = toUsd(n);
      ledger += n;
    }
  } catch (err) {
    return { day: input.day, outcome: "unavailable", reason: `ledger unreachable: ${err instanceof Error ? err.message : String(err)}` };
  }
  const gateway = await input.gatewayCost(start, end);
  if (!gateway.ok) return { day: input.day, outcome: "unavailable", reason: gateway.reason };
  const ledgerUsd = toUsd(ledger);
  const diffUsd = Math.abs(ledgerUsd - gateway.value);
  const larger = Math.max(ledgerUsd, gateway.value);
  const share = larger === 0 ? 0 : diffUsd / larger;
  const differ = share > input.settings.maxShareDiff && diffUsd > input.settings.minUsdDiff;
  return { day: input.day, outcome: differ ? "differ" : "agree", ledgerUsd, gatewayUsd: gateway.value, diffUsd, share, byClient };
}

/** The alert for a day whose totals differ, in the computed alerts' message shape (alerts/deliver.ts). */
export function reconcileAlert(
  report: ReconcileReport,
  ctx: { stack: string; gateway: string; at: Date; maxShareDiff: number },
): AlertMessage | null {
  if (report.outcome !== "differ") return null;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return {
    alert: "budget_ledger_mismatch",
    status: "firing",
    stack: ctx.stack,
    gateway: ctx.gateway,
    summary: `Budget ledger and gateway analytics disagree for ${report.day}: ledger $${report.ledgerUsd.toFixed(4)}, gateway $${report.gatewayUsd.toFixed(4)} (${pct(report.share)} apart, allowed ${pct(ctx.maxShareDiff)})`,
    at: ctx.at.toISOString(),
    severity: "warning",
    window: {
      start: `${report.day}T00:00:00Z`,
      end: new Date(Date.parse(`${report.day}T00:00:00Z`) + 86_400_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
    },
    value: report.share,
    threshold: ctx.maxShareDiff,
    unit: "share",
    detail: {
      ledgerUsd: report.ledgerUsd,
      gatewayUsd: report.gatewayUsd,
      ...Object.fromEntries(Object.entries(report.byClient).map(([c, v]) => [`client:${c}`, v])),
    },
  };
}
