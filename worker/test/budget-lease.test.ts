/**
 * The isolate's lease client against the real ledger Durable Object: reserve/settle/release arithmetic, refusals at
 * the limit with their reset times, window rollover on an injected clock, renewal in the background with the ledger
 * calls counted, failing closed when the ledger throws, report mode, streams that outgrow their reservation, and the
 * over-spend bound with concurrent callers spread over several isolates (lease clients) against one ledger.
 */
import { env } from "cloudflare:workers";
import { describe, expect, test } from "vitest";
import { toNanos, toUsd } from "../src/budget/cost";
import { type Charge, LeaseClient, type LedgerApi, type Refusal, Reservation, type ReserveResult } from "../src/budget/lease";
import type { BudgetLedger } from "../src/budget/ledger";
import { parseBudgets } from "../src/contract/budgets";

const T0 = Date.parse("2026-11-05T12:00:00Z");
const USD = (x: number) => toNanos(x);
const MODEL = "anthropic/claude-haiku-4-5";
const PRICES = { [MODEL]: { inputPerMTok: 1, outputPerMTok: 5, cacheReadPerMTok: 0.1, cacheWritePerMTok: 1.25 } };

/** Output tokens that cost `usd` on MODEL ($5 per million). */
function costing(usd: number): Charge {
  return { model: MODEL, usage: { input: 0, output: Math.round(usd * 200_000), cacheRead: 0, cacheWrite: 0 } };
}

/** Collects ctx.waitUntil work; drain() runs it to the end, including work it starts. */
class Background {
  private readonly work: Promise<unknown>[] = [];
  readonly waitUntil = (p: Promise<unknown>) => {
    this.work.push(p);
  };
  /** How much work has been handed over so far; with settle(mark), waits only for what came after. */
  mark(): number {
    return this.work.length;
  }
  async settle(mark: number): Promise<void> {
    await Promise.allSettled(this.work.slice(mark));
  }
  async drain(): Promise<void> {
    while (this.work.length > 0) await Promise.allSettled(this.work.splice(0));
  }
}

/** One stack under test: BUDGETS, a clock, a ledger namespace per test, ledger calls counted, a switch to break it. */
function stack(budgets: Record<string, unknown>) {
  const parsed = parseBudgets({ prices: PRICES, ...budgets });
  const prefix = `lease-test-${crypto.randomUUID()}`;
  const clock = { now: T0 };
  const calls: string[] = [];
  const ledgerState = { down: false };
  const stubOf = (client: string) => env.BUDGET_LEDGER.getByName(`${prefix}:${client}`);
  const ledger = (client: string): LedgerApi => {
    const stub = stubOf(client);
    const count = (name: keyof LedgerApi) => {
      calls.push(name);
      if (ledgerState.down) throw new Error("Durable Object is unreachable (test)");
    };
    return {
      acquireLease: async (req) => {
        count("acquireLease");
        return stub.acquireLease(req);
      },
      settle: async (req) => {
        count("settle");
        return stub.settle(req);
      },
      returnLease: async (req) => {
        count("returnLease");
        return stub.returnLease(req);
      },
    };
  };
  // Batched reports wait for the test to release them.
  const sleepers: (() => void)[] = [];
  const sleep = () => new Promise<void>((resolve) => sleepers.push(resolve));
  const bg = new Background();
  const isolate = (id: string, logs?: string[]) =>
    new LeaseClient({ budgets: parsed, ledger, now: () => clock.now, isolateId: id, sleep, log: (l) => logs?.push(l) });
  return {
    clock,
    calls,
    ledgerState,
    bg,
    isolate,
    stubOf,
    /** Lets every batched report go out and waits for all background work. */
    async flushAll() {
      while (sleepers.length > 0) for (const wake of sleepers.splice(0)) wake();
      await bg.drain();
      if (sleepers.length > 0) await this.flushAll();
    },
    async spent(client: string, day = "2026-11-05"): Promise<number> {
      const rows = await stubOf(client).usage({ from: day, to: day });
      return rows.reduce((n, r) => n + r.nanos, 0);
    },
  };
}

/** A seeded generator: the same callers and costs on every run. */
function lcg(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

function reserved(r: ReserveResult): Reservation {
  if (!(r instanceof Reservation)) throw new Error(`expected a reservation, got a refusal: ${JSON.stringify(r)}`);
  return r;
}

function refused(r: ReserveResult): Refusal {
  if (r instanceof Reservation) throw new Error("expected a refusal, got a reservation");
  return r;
}

describe("LeaseClient arithmetic", () => {
  test("reserves the worst case, settles the actual cost and frees the rest; the ledger gets exactly the actual", async () => {
    const s = stack({ clients: { web: { dailyUsd: 10 } }, lease: { share: 0.1 } });
    const iso = s.isolate("iso-1");
    const r = reserved(await iso.reserve("web", USD(0.3), s.bg));
    expect(r.backed).toBe(true);
    expect(iso.status("web")).toEqual({ window: "day", limitUsd: 10, remainingUsd: 10, reset: "2026-11-06T00:00:00Z" });
    expect(iso.settle(r, [costing(0.12)], s.bg)).toBe(USD(0.12));
    // Remaining counts the spend at once, before the ledger has it.
    expect(iso.status("web")?.remainingUsd).toBeCloseTo(9.88, 9);
    const r2 = reserved(await iso.reserve("web", USD(0.2), s.bg));
    iso.release(r2);
    // Settling or releasing twice does nothing.
    expect(iso.settle(r2, [costing(0.2)], s.bg)).toBe(0);
    await s.flushAll();
    expect(await s.spent("web")).toBe(USD(0.12));
    const rows = await s.stubOf("web").usage({ from: "2026-11-05", to: "2026-11-05" });
    expect(rows).toEqual([
      {
        day: "2026-11-05",
        model: MODEL,
        nanos: USD(0.12),
        usage: { input: 0, output: 24_000, cacheRead: 0, cacheWrite: 0 },
        requests: 1,
        cached: 0,
      },
    ]);
  });

  test("a gateway cache hit costs nothing but is counted", async () => {
    const s = stack({ clients: { web: { dailyUsd: 10 } } });
    const iso = s.isolate("iso-1");
    const r = reserved(await iso.reserve("web", USD(0.05), s.bg));
    expect(iso.settle(r, [{ ...costing(0.05), cached: true }], s.bg)).toBe(0);
    await s.flushAll();
    const rows = await s.stubOf("web").usage({ from: "2026-11-05", to: "2026-11-05" });
    expect(rows.map((x) => [x.nanos, x.requests, x.cached])).toEqual([[0, 1, 1]]);
  });

  test("a client without a budget is metered: no ledger call before the request, its spend is still kept", async () => {
    const s = stack({ clients: { web: { dailyUsd: 10 } } });
    const iso = s.isolate("iso-1");
    const r = reserved(await iso.reserve("batch", USD(1), s.bg));
    expect(r.backed).toBe(false);
    expect(s.calls).toEqual([]);
    expect(iso.status("batch")).toBeNull();
    iso.settle(r, [costing(0.4)], s.bg);
    await s.flushAll();
    expect(s.calls).toEqual(["settle"]);
    expect(await s.spent("batch")).toBe(USD(0.4));
  });
});

describe("LeaseClient ledger calls", () => {
  test("the common request makes no ledger call: 100 requests, one lease, one batched report", async () => {
    const s = stack({ clients: { web: { dailyUsd: 10 } }, lease: { share: 0.5 } });
    const iso = s.isolate("iso-1");
    for (let i = 0; i < 100; i++) {
      const r = reserved(await iso.reserve("web", USD(0.01), s.bg));
      iso.settle(r, [costing(0.004)], s.bg);
    }
    // The first request asked for the lease; the other 99 were served from it in memory.
    expect(s.calls).toEqual(["acquireLease"]);
    await s.flushAll();
    expect(s.calls).toEqual(["acquireLease", "acquireLease"]);
    expect(await s.spent("web")).toBe(USD(0.4));
  });

  test("renews in the background when the lease runs low, so the next requests still need no call", async () => {
    const s = stack({ clients: { web: { dailyUsd: 1 } }, lease: { share: 0.1, renewAtShare: 0.5 } });
    const iso = s.isolate("iso-1");
    const r1 = reserved(await iso.reserve("web", USD(0.03), s.bg)); // lease $0.10, free $0.07 after
    expect(s.calls).toEqual(["acquireLease"]);
    const mark = s.bg.mark();
    const r2 = reserved(await iso.reserve("web", USD(0.03), s.bg)); // free $0.04 < half the grant: renew in the background
    expect(s.calls).toEqual(["acquireLease", "acquireLease"]);
    await s.bg.settle(mark); // the renewal lands
    iso.settle(r1, [costing(0.03)], s.bg);
    iso.settle(r2, [costing(0.03)], s.bg);
    // The renewed lease ($0.04 left + 10% of $0.96) covers three more $0.02 requests with the ledger down.
    s.ledgerState.down = true;
    for (let i = 0; i < 3; i++) iso.settle(reserved(await iso.reserve("web", USD(0.02), s.bg)), [costing(0.01)], s.bg);
    s.ledgerState.down = false;
    await s.flushAll();
    expect(await s.spent("web")).toBe(USD(0.09));
    expect(s.calls.filter((c) => c === "acquireLease").length).toBeLessThanOrEqual(5);
  });

  test("renews in the background once the lease is half-way to expiry", async () => {
    const s = stack({ clients: { web: { dailyUsd: 10 } }, lease: { share: 0.5, ttlSeconds: 60 } });
    const iso = s.isolate("iso-1");
    iso.release(reserved(await iso.reserve("web", USD(0.01), s.bg)));
    s.clock.now += 29_000;
    iso.release(reserved(await iso.reserve("web", USD(0.01), s.bg)));
    expect(s.calls).toEqual(["acquireLease"]);
    s.clock.now += 2_000;
    iso.release(reserved(await iso.reserve("web", USD(0.01), s.bg)));
    await s.bg.drain();
    expect(s.calls).toEqual(["acquireLease", "acquireLease"]);
    // Renewed at 31 s, the lease runs to 91 s: at 70 s a request is served from it even with the ledger down
    // (the first lease ended at 60 s).
    s.clock.now += 39_000;
    s.ledgerState.down = true;
    iso.release(reserved(await iso.reserve("web", USD(0.01), s.bg)));
  });
});

describe("LeaseClient at the limit", () => {
  test("refuses with 429 budget_exceeded and Retry-After until midnight UTC once the daily budget is spent", async () => {
    const s = stack({ clients: { web: { dailyUsd: 0.05 } }, lease: { share: 1 } });
    const iso = s.isolate("iso-1");
    for (let i = 0; i < 2; i++) iso.settle(reserved(await iso.reserve("web", USD(0.02), s.bg)), [costing(0.02)], s.bg);
    s.clock.now = Date.parse("2026-11-05T23:00:00Z");
    const no = refused(await iso.reserve("web", USD(0.02), s.bg));
    expect(no).toMatchObject({ status: 429, type: "budget_exceeded", retryAfter: 3600 });
    expect(no.message).toContain("daily budget");
    expect(no.budget).toEqual({ window: "day", limitUsd: 0.05, remainingUsd: 0.01, reset: "2026-11-06T00:00:00Z" });
    // What is left still covers a smaller request.
    expect(reserved(await iso.reserve("web", USD(0.01), s.bg)).backed).toBe(true);
  });

  test("the monthly budget refuses until the first of next month", async () => {
    const s = stack({ clients: { web: { dailyUsd: 5, monthlyUsd: 1 } } });
    const iso = s.isolate("iso-1");
    iso.settle(reserved(await iso.reserve("web", USD(0.9), s.bg)), [costing(0.9)], s.bg);
    await s.flushAll();
    const no = refused(await iso.reserve("web", USD(0.2), s.bg));
    expect(no.retryAfter).toBe((Date.parse("2026-12-01T00:00:00Z") - T0) / 1000);
    expect(no.budget).toMatchObject({ window: "month", limitUsd: 1, reset: "2026-12-01T00:00:00Z" });
    expect(no.budget?.remainingUsd).toBeCloseTo(0.1, 9);
  });

  test("after a refusal, asks the ledger again only after recheckSeconds", async () => {
    const s = stack({ clients: { web: { dailyUsd: 0.01 } }, lease: { recheckSeconds: 5 } });
    const iso = s.isolate("iso-1");
    refused(await iso.reserve("web", USD(0.02), s.bg));
    const after = s.calls.length;
    for (let i = 0; i < 20; i++) refused(await iso.reserve("web", USD(0.02), s.bg));
    expect(s.calls.length).toBe(after);
    s.clock.now += 5_000;
    refused(await iso.reserve("web", USD(0.02), s.bg));
    expect(s.calls.length).toBe(after + 1);
  });

  test("a new UTC day brings a new budget: refused at 23:59, served at 00:00, spend booked on each day", async () => {
    const s = stack({ clients: { web: { dailyUsd: 0.1 } }, lease: { share: 1 } });
    const iso = s.isolate("iso-1");
    s.clock.now = Date.parse("2026-11-05T23:59:00Z");
    iso.settle(reserved(await iso.reserve("web", USD(0.08), s.bg)), [costing(0.08)], s.bg);
    const no = refused(await iso.reserve("web", USD(0.05), s.bg));
    expect(no.retryAfter).toBe(60);
    s.clock.now = Date.parse("2026-11-06T00:00:05Z");
    const r = reserved(await iso.reserve("web", USD(0.05), s.bg));
    expect(r.day).toBe("2026-11-06");
    iso.settle(r, [costing(0.05)], s.bg);
    expect(iso.status("web")).toMatchObject({ reset: "2026-11-07T00:00:00Z" });
    expect(iso.status("web")?.remainingUsd).toBeCloseTo(0.05, 9);
    await s.flushAll();
    expect(await s.spent("web", "2026-11-05")).toBe(USD(0.08));
    expect(await s.spent("web", "2026-11-06")).toBe(USD(0.05));
  });

  test("report mode lets the request through over the limit, marked, and still books its spend", async () => {
    const s = stack({ clients: { web: { dailyUsd: 0.01 } }, action: "report" });
    const logs: string[] = [];
    const iso = s.isolate("iso-1", logs);
    const r = reserved(await iso.reserve("web", USD(0.05), s.bg));
    expect(r).toMatchObject({ overBudget: true, backed: false });
    iso.settle(r, [costing(0.05)], s.bg);
    await s.flushAll();
    expect(await s.spent("web")).toBe(USD(0.05));
    expect(logs.some((l) => l.includes('"budget.over_limit"'))).toBe(true);
    expect(iso.status("web")?.remainingUsd).toBe(0);
  });
});

describe("LeaseClient when the ledger fails", () => {
  test("refuses with 503 budget_unavailable when the ledger throws and no lease covers the request", async () => {
    const s = stack({ clients: { web: { dailyUsd: 10 } } });
    s.ledgerState.down = true;
    const logs: string[] = [];
    const iso = s.isolate("iso-1", logs);
    const no = refused(await iso.reserve("web", USD(0.01), s.bg));
    expect(no).toMatchObject({ status: 503, type: "budget_unavailable", retryAfter: 5 });
    expect(logs.some((l) => l.includes('"budget.ledger_unreachable"'))).toBe(true);
  });

  test("keeps serving from a lease while the ledger is down, loses no spend, and fails closed once the lease is spent", async () => {
    const s = stack({ clients: { web: { dailyUsd: 1 } }, lease: { share: 0.1 } });
    const iso = s.isolate("iso-1");
    iso.settle(reserved(await iso.reserve("web", USD(0.02), s.bg)), [costing(0.02)], s.bg);
    s.ledgerState.down = true;
    // $0.08 left in the lease: four more requests of $0.02, whatever the background renewals and reports say.
    for (let i = 0; i < 4; i++) {
      iso.settle(reserved(await iso.reserve("web", USD(0.02), s.bg)), [costing(0.02)], s.bg);
      await s.flushAll();
    }
    expect(refused(await iso.reserve("web", USD(0.02), s.bg)).status).toBe(503);
    s.ledgerState.down = false;
    await iso.flush("web");
    expect(await s.spent("web")).toBe(USD(0.1));
    expect(reserved(await iso.reserve("web", USD(0.02), s.bg)).backed).toBe(true);
  });
});

describe("LeaseClient streams", () => {
  test("extends a stream past its reservation while the lease covers it, then says stop; the streamed part is charged", async () => {
    const s = stack({ clients: { web: { dailyUsd: 0.1 } }, lease: { share: 1 } });
    const iso = s.isolate("iso-1");
    const r = reserved(await iso.reserve("web", USD(0.02), s.bg));
    expect(iso.extend(r, USD(0.01))).toBe(true);
    expect(iso.extend(r, USD(0.09))).toBe(true);
    expect(r.heldNanos).toBe(USD(0.09));
    expect(iso.extend(r, USD(0.11))).toBe(false);
    iso.settle(r, [costing(0.1)], s.bg);
    await s.flushAll();
    expect(await s.spent("web")).toBe(USD(0.1));
    expect(refused(await iso.reserve("web", USD(0.01), s.bg)).status).toBe(429);
  });
});

describe("LeaseClient streams past the lease", () => {
  test("asks the ledger when the lease cannot cover a stream's growth, and stops only at the client's budget", async () => {
    // 1% leases: the stream outgrows its lease long before it reaches the $1 budget.
    const s = stack({ clients: { web: { dailyUsd: 1 } } });
    const iso = s.isolate("iso-1");
    const r = reserved(await iso.reserve("web", USD(0.005), s.bg));
    await s.bg.drain();
    expect(iso.extend(r, USD(0.05))).toBe(false);
    const before = s.calls.length;
    expect(await iso.extendFromLedger(r, USD(0.05))).toBe(true);
    expect(s.calls.slice(before)).toEqual(["acquireLease"]);
    expect(r.heldNanos).toBe(USD(0.05));
    expect(await iso.extendFromLedger(r, USD(0.9))).toBe(true);
    expect(await iso.extendFromLedger(r, USD(1.01))).toBe(false);
    expect(r.heldNanos).toBe(USD(0.9));
    iso.settle(r, [costing(0.9)], s.bg);
    await s.flushAll();
    expect(await s.spent("web")).toBe(USD(0.9));
  });

  test("renews a lease that expired while the stream ran, and fails closed when the ledger cannot be reached", async () => {
    const s = stack({ clients: { web: { dailyUsd: 1 } }, lease: { share: 1 } });
    const logs: string[] = [];
    const iso = s.isolate("iso-1", logs);
    const r = reserved(await iso.reserve("web", USD(0.01), s.bg));
    s.clock.now += 61_000; // past the 60 s lease
    expect(iso.extend(r, USD(0.02))).toBe(false);
    expect(await iso.extendFromLedger(r, USD(0.02))).toBe(true);
    s.clock.now += 61_000;
    s.ledgerState.down = true;
    expect(await iso.extendFromLedger(r, USD(0.03))).toBe(false);
    expect(r.heldNanos).toBe(USD(0.02));
    expect(logs.some((l) => l.includes("budget.ledger_unreachable"))).toBe(true);
  });
});

describe("over-spend bound with several isolates", () => {
  const CALLERS_PER_ISOLATE = 4;
  /** Runs `perIsolate` requests on each of `n` isolates, all at once, against one $1 daily budget. */
  async function run(n: number, perIsolate: number, actualShare: (i: number) => number) {
    const s = stack({ clients: { web: { dailyUsd: 1 } } }); // default leases: 1% of what is left
    const isolates = Array.from({ length: n }, (_, i) => s.isolate(`iso-${i}`));
    const rnd = lcg(42);
    const worst = Array.from({ length: n * perIsolate }, () => USD(0.001) + Math.floor(rnd() * USD(0.019)));
    const refusals = new Array<number>(n).fill(0);
    let served = 0;
    // Every isolate runs CALLERS callers at once, each sending its share of the requests one after another, so each
    // isolate has several requests in flight while the others compete for the same ledger.
    const CALLERS = CALLERS_PER_ISOLATE;
    await Promise.all(
      isolates.flatMap((iso, k) =>
        Array.from({ length: CALLERS }, async (_, c) => {
          for (let j = c; j < perIsolate; j += CALLERS) {
            const i = k * perIsolate + j;
            const w = worst[i] as number;
            const r = await iso.reserve("web", w, s.bg);
            if (!(r instanceof Reservation)) {
              refusals[k] = (refusals[k] ?? 0) + 1;
              continue;
            }
            served++;
            const actual = Math.floor(w * actualShare(i));
            await new Promise((resolve) => setTimeout(resolve, rnd() * 2));
            iso.settle(r, [{ model: MODEL, usage: { input: 0, output: Math.floor(actual / 5_000), cacheRead: 0, cacheWrite: 0 } }], s.bg);
          }
        }),
      ),
    );
    await s.flushAll();
    for (const iso of isolates) await iso.flush("web");
    const spent = await s.spent("web");
    const leases = await s.stubOf("web").leases(s.clock.now);
    const held = leases.reduce((x, l) => x + l.heldNanos, 0);
    const ledgerCalls = s.calls.length;
    return { spent, held, refusals, served, ledgerCalls, maxWorst: Math.max(...worst) };
  }

  test("never spends past the budget, and leaves at most one request's worth per caller unused (actual = worst case)", async () => {
    const n = 5;
    const { spent, held, refusals, served, ledgerCalls, maxWorst } = await run(n, 60, () => 1);
    expect(spent).toBeLessThanOrEqual(USD(1));
    expect(spent + held).toBeLessThanOrEqual(USD(1));
    // Every isolate ran into the limit, so the budget was really contended...
    expect(refusals.every((x) => x > 0)).toBe(true);
    expect(served).toBeGreaterThan(50);
    // ...and what is left unspent is what the last refused callers could not fit: under one request each.
    expect(USD(1) - spent).toBeLessThanOrEqual(n * CALLERS_PER_ISOLATE * maxWorst);
    console.log(
      `${n} isolates x 60 callers, $1/day: spent $${toUsd(spent).toFixed(6)}, unspent $${toUsd(USD(1) - spent).toFixed(6)}, ` +
        `${served} served, ${refusals.reduce((a, b) => a + b, 0)} refused, ${ledgerCalls} ledger calls`,
    );
  });

  test("far from the limit, 1,000 concurrent requests over 5 isolates wait for the ledger only for each isolate's first lease", async () => {
    const s = stack({ clients: { web: { dailyUsd: 100 } } });
    const isolates = Array.from({ length: 5 }, (_, i) => s.isolate(`iso-${i}`));
    const rnd = lcg(7);
    await Promise.all(
      isolates.flatMap((iso) =>
        Array.from({ length: CALLERS_PER_ISOLATE }, async () => {
          for (let j = 0; j < 50; j++) {
            const w = USD(0.001) + Math.floor(rnd() * USD(0.019));
            const r = reserved(await iso.reserve("web", w, s.bg));
            await new Promise((resolve) => setTimeout(resolve, rnd() * 2));
            iso.settle(r, [{ model: MODEL, usage: { input: 0, output: Math.floor(w / 10_000), cacheRead: 0, cacheWrite: 0 } }], s.bg);
          }
        }),
      ),
    );
    const waited = isolates.reduce((n, iso) => n + iso.calls.reservesThatWaited, 0);
    const inBackground = s.calls.length;
    await s.flushAll();
    // One wait per isolate for its first lease (its other callers wait for that same call).
    expect(waited).toBeLessThanOrEqual(isolates.length * CALLERS_PER_ISOLATE);
    expect(inBackground).toBeLessThan(100);
    console.log(
      `5 isolates x 4 callers x 50 requests, $100/day: ${waited} reservations waited for the ledger, ${inBackground} ledger calls before the final reports`,
    );
  });

  test("never spends past the budget when answers cost less than their worst case", async () => {
    const { spent, held } = await run(8, 50, (i) => ((i * 37) % 100) / 100);
    expect(spent).toBeLessThanOrEqual(USD(1));
    expect(spent + held).toBeLessThanOrEqual(USD(1));
    expect(spent).toBeGreaterThan(USD(0.5));
  });

  test("an isolate whose requests outlive its lease's grace can over-spend by at most what its lease held", async () => {
    const s = stack({ clients: { web: { dailyUsd: 1 } }, lease: { share: 0.2, ttlSeconds: 60, graceSeconds: 60 } });
    const stuck = s.isolate("stuck");
    const other = s.isolate("other");
    // The stuck isolate takes a lease ($0.20: 20% of $1) and starts three requests that then hang past its grace...
    const hung = [];
    for (let i = 0; i < 3; i++) hung.push(reserved(await stuck.reserve("web", USD(0.05), s.bg)));
    const [lease] = await s.stubOf("web").leases(s.clock.now);
    expect(lease).toMatchObject({ isolateId: "stuck", heldNanos: USD(0.2) });
    const stuckHeld = lease?.heldNanos ?? 0;
    s.clock.now += 121_000;
    // ...meanwhile the other isolate spends the whole budget, the stuck lease's money included...
    for (;;) {
      const r = await other.reserve("web", USD(0.05), s.bg);
      if (!(r instanceof Reservation)) break;
      other.settle(r, [costing(0.05)], s.bg);
    }
    // ...and then the hung requests finish and are charged: nothing is lost, and the excess is that lease at most.
    for (const r of hung) stuck.settle(r, [costing(0.05)], s.bg);
    await s.flushAll();
    await stuck.flush("web");
    await other.flush("web");
    const spent = await s.spent("web");
    expect(spent).toBe(USD(1.15));
    expect(spent - USD(1)).toBeLessThanOrEqual(stuckHeld);
  });
});

describe("LeaseClient against a DurableObjectStub", () => {
  test("the namespace's stub is a LedgerApi: a LeaseClient wired like the Worker will wire it", async () => {
    const prefix = crypto.randomUUID();
    const bg = new Background();
    const iso = new LeaseClient({
      budgets: parseBudgets({ prices: PRICES, clients: { web: { dailyUsd: 2 } } }),
      ledger: (client): LedgerApi => env.BUDGET_LEDGER.getByName(`${prefix}:${client}`) as DurableObjectStub<BudgetLedger>,
      now: () => T0,
      isolateId: "iso-real",
      sleep: () => Promise.resolve(),
    });
    iso.settle(reserved(await iso.reserve("web", USD(0.5), bg)), [costing(0.25)], bg);
    await bg.drain();
    const rows = await env.BUDGET_LEDGER.getByName(`${prefix}:web`).usage({ from: "2026-11-05", to: "2026-11-05" });
    expect(rows.map((r) => r.nanos)).toEqual([USD(0.25)]);
  });
});
