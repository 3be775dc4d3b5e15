/**
 * Reconciliation of a day's ledger totals (real ledger Durable Objects, one per client) with the gateway's analytics
 * cost: agreement within the declared share, a difference that raises the alert, and missing data never read as
 * agreement.
 */
import { env } from "cloudflare:workers";
import { describe, expect, test } from "vitest";
import { toNanos } from "../src/budget/cost";
import { type AnalyticsCost, reconcileAlert, reconcileDay } from "../src/budget/reconcile";
import { parseBudgets } from "../src/contract/budgets";

const SETTINGS = parseBudgets({ prices: {}, reconcile: { maxShareDiff: 0.05, minUsdDiff: 0.01 } }).reconcile;
const AT = Date.parse("2026-11-06T01:00:00Z");

async function ledgers() {
  const prefix = crypto.randomUUID();
  const ledgerFor = (client: string) => env.BUDGET_LEDGER.getByName(`${prefix}:${client}`);
  const spend = (day: string, usd: number) => [
    {
      day,
      model: "anthropic/claude-haiku-4-5",
      nanos: toNanos(usd),
      usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 },
      requests: 1,
      cached: 0,
    },
  ];
  const terms = { share: 0.02, ttlMs: 60_000, graceMs: 300_000 };
  await ledgerFor("web").settle({
    isolateId: "i",
    at: AT,
    limits: {},
    terms,
    spend: [...spend("2026-11-05", 3), ...spend("2026-11-06", 9)],
  });
  await ledgerFor("batch").settle({ isolateId: "i", at: AT, limits: {}, terms, spend: spend("2026-11-05", 1) });
  return ledgerFor;
}

function gateway(usd: number, seen?: [Date, Date][]): AnalyticsCost {
  return async (start, end) => {
    seen?.push([start, end]);
    return { ok: true, value: usd };
  };
}

describe("reconcileDay", () => {
  test("agrees when the day's ledger total is within the declared share of the gateway's cost", async () => {
    const seen: [Date, Date][] = [];
    const report = await reconcileDay({
      day: "2026-11-05",
      clients: ["web", "batch"],
      ledgerFor: await ledgers(),
      gatewayCost: gateway(4.1, seen),
      settings: SETTINGS,
    });
    expect(report).toMatchObject({ outcome: "agree", ledgerUsd: 4, gatewayUsd: 4.1, byClient: { web: 3, batch: 1 } });
    expect(seen.map(([s, e]) => [s.toISOString(), e.toISOString()])).toEqual([["2026-11-05T00:00:00.000Z", "2026-11-06T00:00:00.000Z"]]);
  });

  test("differs past the share, and the alert names both totals, the day and each client's part", async () => {
    const report = await reconcileDay({
      day: "2026-11-05",
      clients: ["web", "batch"],
      ledgerFor: await ledgers(),
      gatewayCost: gateway(5),
      settings: SETTINGS,
    });
    expect(report).toMatchObject({ outcome: "differ", ledgerUsd: 4, gatewayUsd: 5, diffUsd: 1, share: 0.2 });
    const alert = reconcileAlert(report, { stack: "test", gateway: "gw", at: new Date(AT), maxShareDiff: SETTINGS.maxShareDiff });
    expect(alert).toMatchObject({
      alert: "budget_ledger_mismatch",
      status: "firing",
      window: { start: "2026-11-05T00:00:00Z", end: "2026-11-06T00:00:00Z" },
      value: 0.2,
      threshold: 0.05,
      detail: { ledgerUsd: 4, gatewayUsd: 5, "client:web": 3, "client:batch": 1 },
    });
    expect(alert?.summary).toContain("ledger $4.0000, gateway $5.0000 (20.0% apart, allowed 5.0%)");
  });

  test("a difference under minUsdDiff is not an incident, whatever its share", async () => {
    const prefix = crypto.randomUUID();
    const ledgerFor = (client: string) => env.BUDGET_LEDGER.getByName(`${prefix}:${client}`);
    const report = await reconcileDay({
      day: "2026-11-05",
      clients: ["quiet"],
      ledgerFor,
      gatewayCost: gateway(0.004),
      settings: SETTINGS,
    });
    expect(report).toMatchObject({ outcome: "agree", ledgerUsd: 0, share: 1 });
    expect(reconcileAlert(report, { stack: "t", gateway: "g", at: new Date(AT), maxShareDiff: 0.05 })).toBeNull();
  });

  test("missing analytics or an unreachable ledger is reported as unavailable, never as agreement", async () => {
    const noAnalytics: AnalyticsCost = async () => ({ ok: false, reason: "analytics API answered HTTP 500" });
    expect(
      await reconcileDay({ day: "2026-11-05", clients: ["web"], ledgerFor: await ledgers(), gatewayCost: noAnalytics, settings: SETTINGS }),
    ).toEqual({
      day: "2026-11-05",
      outcome: "unavailable",
      reason: "analytics API answered HTTP 500",
    });
    const down = () => ({
      usage: async () => {
        throw new Error("unreachable");
      },
    });
    expect(
      await reconcileDay({ day: "2026-11-05", clients: ["web"], ledgerFor: down, gatewayCost: gateway(1), settings: SETTINGS }),
    ).toMatchObject({ outcome: "unavailable" });
  });
});
