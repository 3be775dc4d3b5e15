/**
 * The budget ledger Durable Object itself (real SQLite storage in workerd), called over RPC as isolates call it:
 * lease grants and their sizes, spend moving from leases into the ledger, the limit invariant, windows and rollover,
 * lease expiry and grace, and spend by day and model.
 */

import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, test } from "vitest";
import { toNanos } from "../src/budget/cost";
import type { BudgetLedger, LeaseTerms, SpendLine, SyncRequest } from "../src/budget/ledger";

const TERMS: LeaseTerms = { share: 0.1, ttlMs: 60_000, graceMs: 300_000 };
const T0 = Date.parse("2026-11-05T12:00:00Z");
const USD = (x: number) => toNanos(x);

let seq = 0;
/** A fresh ledger per test: one client each. */
function ledger(): DurableObjectStub<BudgetLedger> {
  seq += 1;
  return env.BUDGET_LEDGER.getByName(`ledger-test-${seq}-${crypto.randomUUID()}`);
}

function req(isolateId: string, at: number, over: Partial<SyncRequest> = {}): SyncRequest {
  return { isolateId, at, limits: { dailyNanos: USD(10) }, terms: TERMS, spend: [], needNanos: 0, ...over };
}

function line(day: string, model: string, usd: number, over: Partial<SpendLine> = {}): SpendLine {
  return { day, model, nanos: USD(usd), usage: { input: 100, output: 50, cacheRead: 10, cacheWrite: 5 }, requests: 1, cached: 0, ...over };
}

/** spent + what live leases hold, per the ledger's own tables. */
async function committed(stub: DurableObjectStub<BudgetLedger>, at: number): Promise<number> {
  return runInDurableObject(stub, (_obj: BudgetLedger, state) => {
    const day = new Date(at).toISOString().slice(0, 10);
    const spent = state.storage.sql.exec<{ s: number | null }>("SELECT SUM(nanos) AS s FROM spend WHERE day = ?", day).one().s ?? 0;
    const held =
      state.storage.sql.exec<{ s: number | null }>("SELECT SUM(held) AS s FROM leases WHERE day = ? AND void_at > ?", day, at).one().s ?? 0;
    return spent + held;
  });
}

describe("BudgetLedger leases", () => {
  test("grants a share of what is left, and the next isolate a share of what the first left", async () => {
    const stub = ledger();
    const a = await stub.acquireLease(req("iso-a", T0));
    expect(a.heldNanos).toBe(USD(1)); // 10% of $10
    expect(a.day).toBe("2026-11-05");
    expect(a.expiresAt).toBe(T0 + 60_000);
    expect(a.windows).toEqual([
      { window: "day", limitNanos: USD(10), spentNanos: 0, heldByOthersNanos: 0, resetAt: Date.parse("2026-11-06T00:00:00Z") },
    ]);
    const b = await stub.acquireLease(req("iso-b", T0));
    expect(b.heldNanos).toBe(USD(0.9)); // 10% of $9
    expect(b.windows[0]?.heldByOthersNanos).toBe(USD(1));
    expect(await stub.leases(T0)).toEqual([
      { isolateId: "iso-a", heldNanos: USD(1), day: "2026-11-05" },
      { isolateId: "iso-b", heldNanos: USD(0.9), day: "2026-11-05" },
    ]);
  });

  test("grants what a request needs above the share, but never more than the limit leaves", async () => {
    const stub = ledger();
    expect((await stub.acquireLease(req("iso-a", T0, { needNanos: USD(4) }))).heldNanos).toBe(USD(4));
    expect((await stub.acquireLease(req("iso-b", T0, { needNanos: USD(7) }))).heldNanos).toBe(USD(6));
    expect((await stub.acquireLease(req("iso-c", T0, { needNanos: USD(1) }))).heldNanos).toBe(0);
    expect(await committed(stub, T0)).toBe(USD(10));
  });

  test("caps a lease at maxNanos whatever the share gives", async () => {
    const stub = ledger();
    const g = await stub.acquireLease(req("iso-a", T0, { terms: { ...TERMS, share: 0.5, maxNanos: USD(0.25) } }));
    expect(g.heldNanos).toBe(USD(0.25));
  });

  test("reported spend moves out of the lease into the ledger, and the lease is topped up to its share", async () => {
    const stub = ledger();
    await stub.acquireLease(req("iso-a", T0)); // holds $1
    const g = await stub.acquireLease(req("iso-a", T0 + 1000, { spend: [line("2026-11-05", "anthropic/claude-haiku-4-5", 0.6)] }));
    // $0.40 of the old lease is left; 10% of ($10 - $0.60 spent) = $0.94 is the new target.
    expect(g.heldNanos).toBe(USD(0.94));
    expect(g.windows[0]?.spentNanos).toBe(USD(0.6));
    expect(await committed(stub, T0 + 1000)).toBe(USD(0.6) + USD(0.94));
  });

  test("settle reports without growing; returnLease gives everything back", async () => {
    const stub = ledger();
    await stub.acquireLease(req("iso-a", T0)); // $1
    const s = await stub.settle({ ...req("iso-a", T0), spend: [line("2026-11-05", "m/x", 0.25)] });
    expect(s.heldNanos).toBe(USD(0.75));
    const r = await stub.returnLease({ ...req("iso-a", T0), spend: [line("2026-11-05", "m/x", 0.25)] });
    expect(r.heldNanos).toBe(0);
    expect(await stub.leases(T0)).toEqual([]);
    expect(await committed(stub, T0)).toBe(USD(0.5));
  });

  test("spend plus live leases never passes the limit over a long run of random grants and reports", async () => {
    const stub = ledger();
    const isolates = ["a", "b", "c", "d"];
    const held: Record<string, number> = {};
    let x = 7;
    const next = () => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x / 2 ** 31;
    };
    for (let i = 0; i < 200; i++) {
      const iso = isolates[i % isolates.length] as string;
      // Report some of what the isolate holds as spent (never more: its requests were covered by the lease).
      const spend = Math.floor((held[iso] ?? 0) * next());
      const g = await stub.acquireLease(
        req(iso, T0 + i, {
          needNanos: Math.floor(next() * USD(0.5)),
          spend: spend > 0 ? [{ ...line("2026-11-05", "m/x", 0), nanos: spend }] : [],
        }),
      );
      held[iso] = g.heldNanos;
      expect(await committed(stub, T0 + i)).toBeLessThanOrEqual(USD(10));
    }
    // By now the budget is mostly spent, and what is left is all held.
    expect(await committed(stub, T0 + 200)).toBeGreaterThan(USD(9));
  });

  test("the monthly limit binds across days, and resets on the first of the month", async () => {
    const stub = ledger();
    const limits = { dailyNanos: USD(10), monthlyNanos: USD(12) };
    await stub.settle({ ...req("iso-a", Date.parse("2026-11-03T10:00:00Z"), { limits }), spend: [line("2026-11-03", "m/x", 9)] });
    const g = await stub.acquireLease(req("iso-a", T0, { limits, needNanos: USD(5) }));
    // Today's $10 is untouched, but the month has only $3 left.
    expect(g.heldNanos).toBe(USD(3));
    expect(g.windows.map((w) => [w.window, w.spentNanos, w.resetAt])).toEqual([
      ["day", 0, Date.parse("2026-11-06T00:00:00Z")],
      ["month", USD(9), Date.parse("2026-12-01T00:00:00Z")],
    ]);
    const dec = await stub.acquireLease(req("iso-a", Date.parse("2026-12-01T00:00:01Z"), { limits, needNanos: USD(5) }));
    expect(dec.heldNanos).toBe(USD(5));
    expect(dec.windows[1]?.spentNanos).toBe(0);
  });

  test("a lease ends at midnight: yesterday's lease holds nothing today", async () => {
    const stub = ledger();
    await stub.acquireLease(req("iso-a", Date.parse("2026-11-05T23:59:30Z"), { needNanos: USD(8) }));
    const b = await stub.acquireLease(req("iso-b", Date.parse("2026-11-06T00:00:10Z")));
    expect(b.windows[0]?.heldByOthersNanos).toBe(0);
    expect(b.heldNanos).toBe(USD(1));
    // Yesterday's late report is booked on yesterday, not against today's limit.
    const late = await stub.settle({ ...req("iso-a", Date.parse("2026-11-06T00:00:20Z")), spend: [line("2026-11-05", "m/x", 2)] });
    expect(late.windows[0]?.spentNanos).toBe(0);
    expect((await stub.usage({ from: "2026-11-05", to: "2026-11-06" })).map((r) => [r.day, r.nanos])).toEqual([["2026-11-05", USD(2)]]);
  });

  test("an expired lease still counts through its grace, then its money can be granted again", async () => {
    const stub = ledger();
    await stub.acquireLease(req("iso-a", T0, { needNanos: USD(9) }));
    const inGrace = await stub.acquireLease(req("iso-b", T0 + 60_000 + 299_000, { needNanos: USD(5) }));
    expect(inGrace.heldNanos).toBe(USD(1));
    const after = await stub.acquireLease(req("iso-b", T0 + 60_000 + 300_000, { needNanos: USD(5) }));
    expect(after.heldNanos).toBe(USD(5));
    expect((await stub.leases(T0 + 360_000)).map((l) => l.isolateId)).toEqual(["iso-b"]);
  });

  test("a client without limits is metered only: spend is kept, nothing is held", async () => {
    const stub = ledger();
    const g = await stub.acquireLease(req("iso-a", T0, { limits: {}, needNanos: USD(1), spend: [line("2026-11-05", "m/x", 0.5)] }));
    expect(g).toMatchObject({ heldNanos: 0, windows: [] });
    expect((await stub.usage({ from: "2026-11-05", to: "2026-11-05" }))[0]?.nanos).toBe(USD(0.5));
  });
});

describe("BudgetLedger spend", () => {
  test("keeps spend per UTC day and model with tokens, requests and cache hits", async () => {
    const stub = ledger();
    await stub.settle({
      ...req("iso-a", T0),
      spend: [
        line("2026-11-04", "anthropic/claude-haiku-4-5", 0.1),
        line("2026-11-05", "anthropic/claude-haiku-4-5", 0.2),
        line("2026-11-05", "openai/gpt-4.1-mini", 0.05, { requests: 3, cached: 1 }),
      ],
    });
    await stub.settle({ ...req("iso-b", T0), spend: [line("2026-11-05", "anthropic/claude-haiku-4-5", 0.3)] });
    expect(await stub.usage({ from: "2026-11-05", to: "2026-11-30" })).toEqual([
      {
        day: "2026-11-05",
        model: "anthropic/claude-haiku-4-5",
        nanos: USD(0.5),
        usage: { input: 200, output: 100, cacheRead: 20, cacheWrite: 10 },
        requests: 2,
        cached: 0,
      },
      {
        day: "2026-11-05",
        model: "openai/gpt-4.1-mini",
        nanos: USD(0.05),
        usage: { input: 100, output: 50, cacheRead: 10, cacheWrite: 5 },
        requests: 3,
        cached: 1,
      },
    ]);
    expect(await stub.usage({ from: "2026-11-01", to: "2026-11-04" })).toHaveLength(1);
  });

  test("reads nothing for a usage range that is not two days", async () => {
    const stub = ledger();
    await stub.settle({ ...req("iso-a", T0), spend: [line("2026-11-05", "m/x", 1)] });
    expect(await stub.usage({ from: "yesterday", to: "2026-11-05" })).toEqual([]);
    expect(await stub.usage({ from: "2026-11-05", to: "2026-11-05" })).toHaveLength(1);
  });

  test("keeps its spend in SQLite storage across an eviction", async () => {
    const name = `ledger-evict-${crypto.randomUUID()}`;
    const stub = env.BUDGET_LEDGER.getByName(name);
    await stub.settle({ ...req("iso-a", T0), spend: [line("2026-11-05", "m/x", 1.5)] });
    await evictDurableObject(stub);
    const again = env.BUDGET_LEDGER.getByName(name);
    expect((await again.usage({ from: "2026-11-05", to: "2026-11-05" })).map((r) => r.nanos)).toEqual([USD(1.5)]);
    const rows = await runInDurableObject(again, (_obj: BudgetLedger, state) =>
      state.storage.sql.exec("SELECT day, model, nanos FROM spend").toArray(),
    );
    expect(rows).toEqual([{ day: "2026-11-05", model: "m/x", nanos: USD(1.5) }]);
  });
});
