/**
 * The isolate's side of the budget: one LeaseClient per isolate holds, per client, a lease from that client's ledger
 * (BudgetLedger) and spends it locally, so the common request reserves and settles in memory with no call to the
 * Durable Object. It renews the lease in the background (ctx.waitUntil) before it runs low or expires, reports settled
 * spend in batches, asks the ledger on the request path only when the lease cannot cover a request, and refuses when it
 * cannot reach the ledger and holds nothing (fail closed).
 *
 * Per client it keeps:  free = held - unreported - reserved
 *   held        what the ledger holds for this isolate, as of the last answer
 *   unreported  spend settled here that the ledger has not acknowledged (it is still inside `held`)
 *   reserved    worst cases of the requests in flight
 * A reservation takes from `free`; a settle moves its actual cost to `unreported` and frees the rest; a report moves
 * `unreported` into the ledger's `spent`. Time, ids and the ledger are injected.
 */

import { type Budgets, limitsFor } from "../contract/budgets";
import { costNanos, type Nanos, rfc3339, secondsUntil, toNanos, toUsd, type Usage, utcDay, type WindowName } from "./cost";
import type { LeaseGrant, LeaseTerms, LedgerLimits, SpendLine, SyncRequest, WindowState } from "./ledger";

/** The ledger's RPC methods as the isolate calls them (a DurableObjectStub<BudgetLedger> satisfies it). */
export interface LedgerApi {
  acquireLease(req: SyncRequest): Promise<LeaseGrant>;
  settle(req: Omit<SyncRequest, "needNanos">): Promise<LeaseGrant>;
  returnLease(req: Omit<SyncRequest, "needNanos" | "release">): Promise<LeaseGrant>;
}

/** The part of ExecutionContext the client needs: background work outlives the response. */
export interface Background {
  waitUntil(promise: Promise<unknown>): void;
}

export interface LeaseClientDeps {
  budgets: Budgets;
  /**
   * The ledger of a client. Called once per ledger call: a stub that threw once is broken for good, so a fresh one
   * is cheaper than a stuck one. In the Worker: (client) => env.BUDGET_LEDGER.getByName(client).
   * https://developers.cloudflare.com/durable-objects/api/stub/
   */
  ledger: (client: string) => LedgerApi;
  now: () => number;
  /** Names this isolate's lease at each ledger; unique per isolate (crypto.randomUUID() at start-up). */
  isolateId: string;
  /** Waits before a batched report; injected so tests decide when reports go out. */
  sleep?: (ms: number) => Promise<void>;
  log?: (line: string) => void;
}

/** What the budget headers report: the window with the least left. */
export interface BudgetStatus {
  window: WindowName;
  limitUsd: number;
  remainingUsd: number;
  /** RFC 3339, when the window starts again. */
  reset: string;
}

export interface Refusal {
  ok: false;
  status: 429 | 503;
  type: "budget_exceeded" | "budget_unavailable";
  message: string;
  /** Seconds, for Retry-After. */
  retryAfter: number;
  /** The budget as far as it is known (absent when the ledger could not be read). */
  budget: BudgetStatus | null;
}

/** One model's part of a settled attempt. A gateway cache hit is `cached: true`, and costs nothing. */
export interface Charge {
  /** Price key, "<provider>/<model>". */
  model: string;
  usage: Usage;
  cached?: boolean;
}

/** Money held for one upstream attempt, from reserve until settle or release. */
export class Reservation {
  readonly ok = true;
  /** Set when the client is over its limit and the stack only reports (action "report"). */
  readonly overBudget: boolean;
  #done = false;
  /** @internal */
  constructor(
    readonly client: string,
    /** UTC day the attempt started: its spend is booked on this day. */
    readonly day: string,
    /** What is held for it; grows when a stream is extended. */
    public heldNanos: Nanos,
    /** false: not covered by a lease (metered-only client, or over the limit in report mode). */
    readonly backed: boolean,
    overBudget: boolean,
    /** @internal the lease it was taken from */
    readonly lease: LocalLease | null,
  ) {
    this.overBudget = overBudget;
  }

  /** @internal */
  finish(): boolean {
    if (this.#done) return false;
    this.#done = true;
    return true;
  }
}

/** @internal One day's lease as this isolate sees it. */
class LocalLease {
  held = 0;
  reserved = 0;
  expiresAt = 0;
  grantedAt = 0;
  /** What the last answer granted: the renewal threshold is a share of it. */
  lastGrant = 0;
  constructor(readonly day: string) {}
}

interface ClientState {
  lease: LocalLease | null;
  /** Settled, not yet sent. Keyed "day model". */
  pending: Map<string, SpendLine>;
  /** Settled, not yet acknowledged (pending plus in flight), per day. */
  unreported: Map<string, Nanos>;
  syncing: Promise<void> | null;
  flushing: boolean;
  /** The ledger said no: refuse locally until then. */
  exhaustedUntil: number;
  windows: WindowState[];
}

export type ReserveResult = Reservation | Refusal;

const SHOULD_RETRY_503_SECONDS = 5;
/** Ledger calls of other requests a request waits out before it gives up (each is one round trip). */
const MAX_WAITS = 64;

export class LeaseClient {
  private readonly states = new Map<string, ClientState>();
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly log: (line: string) => void;
  /** Ledger calls made, by method, and reservations that had to wait for the ledger: for tests and the log. */
  readonly calls = { acquireLease: 0, settle: 0, returnLease: 0, reservesThatWaited: 0 };

  constructor(private readonly deps: LeaseClientDeps) {
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.log = deps.log ?? (() => {});
  }

  private get terms(): LeaseTerms {
    const l = this.deps.budgets.lease;
    return {
      share: l.share,
      maxNanos: l.maxUsd === undefined ? undefined : toNanos(l.maxUsd),
      ttlMs: l.ttlSeconds * 1000,
      graceMs: l.graceSeconds * 1000,
    };
  }

  private limits(client: string): LedgerLimits | null {
    const l = limitsFor(this.deps.budgets, client);
    if (!l) return null;
    return {
      ...(l.dailyUsd !== undefined ? { dailyNanos: toNanos(l.dailyUsd) } : {}),
      ...(l.monthlyUsd !== undefined ? { monthlyNanos: toNanos(l.monthlyUsd) } : {}),
    };
  }

  private state(client: string): ClientState {
    let s = this.states.get(client);
    if (!s) {
      s = { lease: null, pending: new Map(), unreported: new Map(), syncing: null, flushing: false, exhaustedUntil: 0, windows: [] };
      this.states.set(client, s);
    }
    return s;
  }

  private free(s: ClientState, lease: LocalLease): Nanos {
    return lease.held - (s.unreported.get(lease.day) ?? 0) - lease.reserved;
  }

  /** The lease usable at `now`: today's, not expired. */
  private usable(s: ClientState, now: number): LocalLease | null {
    const l = s.lease;
    return l && l.day === utcDay(now) && now < l.expiresAt ? l : null;
  }

  /** The cost of a charge on its model's price; a model without a price costs `fallback` (checkBudgets prevents it). */
  costOf(charge: Charge, fallback: Nanos = 0): Nanos {
    if (charge.cached) return 0;
    const price = this.deps.budgets.prices[charge.model];
    if (!price) {
      this.log(JSON.stringify({ event: "budget.unpriced_model", level: "error", model: charge.model }));
      return fallback;
    }
    return costNanos(price, charge.usage);
  }

  /**
   * Holds `worstNanos` for one upstream attempt, before the call. Common case: taken from the lease in memory, no
   * ledger call. Otherwise one ledger call on the request path; if that fails and the lease cannot cover the request,
   * a 503 refusal. Over the limit: a 429 refusal (action "refuse") or an unbacked reservation marked overBudget.
   */
  async reserve(client: string, worstNanos: Nanos, ctx: Background): Promise<ReserveResult> {
    const s = this.state(client);
    const limits = this.limits(client);
    const now = this.deps.now();
    const today = utcDay(now);
    if (!limits) return new Reservation(client, today, worstNanos, false, false, null);

    const take = (lease: LocalLease): Reservation => {
      lease.reserved += worstNanos;
      this.maybeRenew(client, s, lease, ctx);
      return new Reservation(client, lease.day, worstNanos, true, false, lease);
    };

    let lease = this.usable(s, now);
    if (lease && this.free(s, lease) >= worstNanos) return take(lease);

    if (now < s.exhaustedUntil && s.lease?.day === today) return this.overLimit(client, s, worstNanos, now);

    // Wait out ledger calls already under way (a renewal, or another request's); then, if the lease still cannot
    // cover this request, ask for it. Only our own answer decides a refusal: others asked for less.
    let asked = false;
    this.calls.reservesThatWaited++;
    for (let round = 0; round < MAX_WAITS && !asked; round++) {
      const theirs = s.syncing;
      asked = theirs === null;
      try {
        await (theirs ?? this.sync(client, s, worstNanos));
      } catch (err) {
        lease = this.usable(s, this.deps.now());
        if (lease && this.free(s, lease) >= worstNanos) return take(lease);
        if (!asked) continue;
        this.logFailure("budget.ledger_unreachable", "error", client, err);
        return this.unavailable(client);
      }
      lease = this.usable(s, this.deps.now());
      if (lease && this.free(s, lease) >= worstNanos) return take(lease);
    }
    // Never got to ask (the ledger stayed busy with others' calls): no answer is not a "no".
    if (!asked) return this.unavailable(client);
    // Refuse locally for a while, unless money comes back here first (a settle or release below clears this).
    s.exhaustedUntil = now + this.deps.budgets.lease.recheckSeconds * 1000;
    return this.overLimit(client, s, worstNanos, now);
  }

  /** One log line for a ledger call that failed: the event, the client and the reason (never a value it carried). */
  private logFailure(event: string, level: "warn" | "error", client: string, err: unknown): void {
    this.log(JSON.stringify({ event, level, client, reason: err instanceof Error ? err.message : String(err) }));
  }

  private unavailable(client: string): Refusal {
    return {
      ok: false,
      status: 503,
      type: "budget_unavailable",
      message: "The budget ledger cannot be reached right now, so the request was not sent. Try again shortly.",
      retryAfter: SHOULD_RETRY_503_SECONDS,
      budget: this.status(client),
    };
  }

  private overLimit(client: string, s: ClientState, worstNanos: Nanos, now: number): ReserveResult {
    if (this.deps.budgets.action === "report") {
      this.log(JSON.stringify({ event: "budget.over_limit", level: "warn", client, action: "report" }));
      return new Reservation(client, utcDay(now), worstNanos, false, true, null);
    }
    // The blocking window: the one whose own spend leaves no room, else the one with the least room.
    const unrep = s.unreported.get(utcDay(now)) ?? 0;
    const blocking = s.windows.filter((w) => w.limitNanos - w.spentNanos - unrep < worstNanos);
    let retryAt: number;
    if (blocking.length > 0) retryAt = Math.max(...blocking.map((w) => w.resetAt));
    else retryAt = now + this.terms.ttlMs + this.terms.graceMs; // only held by other isolates' leases: they lapse by then
    const budget = this.status(client);
    return {
      ok: false,
      status: 429,
      type: "budget_exceeded",
      message: `This client's ${blocking.length > 0 ? `${blocking.map((w) => (w.window === "day" ? "daily" : "monthly")).join(" and ")} ` : ""}budget does not cover this request. Try again after ${rfc3339(retryAt)}.`,
      retryAfter: secondsUntil(retryAt, now),
      budget,
    };
  }

  /**
   * Grows a reservation to `runningNanos` (a stream's cost so far) when it has outgrown what was held. false: the
   * budget cannot cover it, and the stream must end with the surface's error event.
   */
  extend(reservation: Reservation, runningNanos: Nanos): boolean {
    if (runningNanos <= reservation.heldNanos) return true;
    if (!reservation.backed) return true; // metered only, or over the limit in report mode: nothing to stop
    const lease = reservation.lease;
    const s = this.state(reservation.client);
    if (!lease || lease !== s.lease || this.deps.now() >= lease.expiresAt) return false;
    const extra = runningNanos - reservation.heldNanos;
    if (this.free(s, lease) < extra) return this.deps.budgets.action === "report";
    lease.reserved += extra;
    reservation.heldNanos = runningNanos;
    return true;
  }

  /**
   * `extend`, and when the lease cannot cover the growth, one ledger call for it (a stream outgrowing its hold, or
   * running past its lease's expiry). false: the client's budget cannot cover the stream, or the ledger cannot be
   * reached to say so; the stream ends either way (fail closed).
   */
  async extendFromLedger(reservation: Reservation, runningNanos: Nanos): Promise<boolean> {
    if (this.extend(reservation, runningNanos)) return true;
    const s = this.state(reservation.client);
    if (!reservation.lease || reservation.lease !== s.lease) return false; // a lease of a day that is over
    if (s.syncing) await s.syncing.catch(() => {});
    if (this.extend(reservation, runningNanos)) return true;
    try {
      await this.sync(reservation.client, s, runningNanos - reservation.heldNanos);
    } catch (err) {
      this.logFailure("budget.ledger_unreachable", "error", reservation.client, err);
      return false;
    }
    return this.extend(reservation, runningNanos);
  }

  /**
   * After the answer (JSON usage, or a stream's last usage event; cache hits as cached): books the actual cost on the
   * reservation's day, frees the rest of what was held, and schedules the batched report. Returns the cost booked.
   */
  settle(reservation: Reservation, charges: readonly Charge[], ctx: Background): Nanos {
    if (!reservation.finish()) return 0;
    const s = this.state(reservation.client);
    if (reservation.lease) reservation.lease.reserved = Math.max(0, reservation.lease.reserved - reservation.heldNanos);
    s.exhaustedUntil = 0;
    let total = 0;
    for (const c of charges) {
      const nanos = this.costOf(c, reservation.heldNanos);
      total += nanos;
      const key = `${reservation.day} ${c.model}`;
      const line = s.pending.get(key) ?? {
        day: reservation.day,
        model: c.model,
        nanos: 0,
        usage: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
        requests: 0,
        cached: 0,
      };
      line.nanos += nanos;
      line.usage.input += c.cached ? 0 : c.usage.input;
      line.usage.output += c.cached ? 0 : c.usage.output;
      line.usage.cacheRead += c.cached ? 0 : c.usage.cacheRead;
      line.usage.cacheWrite += c.cached ? 0 : c.usage.cacheWrite;
      line.requests += 1;
      line.cached += c.cached ? 1 : 0;
      s.pending.set(key, line);
    }
    s.unreported.set(reservation.day, (s.unreported.get(reservation.day) ?? 0) + total);
    this.scheduleFlush(reservation.client, s, ctx);
    return total;
  }

  /** A failed attempt that cost nothing (refused, timed out before any token): frees everything it held. */
  release(reservation: Reservation): void {
    if (!reservation.finish()) return;
    if (reservation.lease) reservation.lease.reserved = Math.max(0, reservation.lease.reserved - reservation.heldNanos);
    this.state(reservation.client).exhaustedUntil = 0;
  }

  /** What the headers report for a client: the window with the least left, null when the client is metered only. */
  status(client: string): BudgetStatus | null {
    const s = this.state(client);
    if (s.windows.length === 0) return null;
    const now = this.deps.now();
    const unrep = s.unreported.get(utcDay(now)) ?? 0;
    let best: BudgetStatus | null = null;
    let bestLeft = Number.POSITIVE_INFINITY;
    for (const w of s.windows) {
      if (w.resetAt <= now) continue; // a window that has ended: the next ledger answer brings the new one
      const left = w.limitNanos - w.spentNanos - unrep;
      if (left < bestLeft) {
        bestLeft = left;
        best = { window: w.window, limitUsd: toUsd(w.limitNanos), remainingUsd: toUsd(Math.max(0, left)), reset: rfc3339(w.resetAt) };
      }
    }
    return best;
  }

  /** Sends what is pending now (for the scheduled handler or a test); resolves when the ledger has it. */
  async flush(client: string): Promise<void> {
    const s = this.state(client);
    if (s.syncing) await s.syncing.catch(() => {});
    if (s.pending.size > 0) await this.sync(client, s, 0);
  }

  private maybeRenew(client: string, s: ClientState, lease: LocalLease, ctx: Background): void {
    if (s.syncing) return;
    const now = this.deps.now();
    const low = this.free(s, lease) < this.deps.budgets.lease.renewAtShare * lease.lastGrant;
    const ageing = now >= lease.grantedAt + (lease.expiresAt - lease.grantedAt) / 2;
    if (!low && !ageing) return;
    ctx.waitUntil(this.sync(client, s, 0).catch((err) => this.logFailure("budget.renew_failed", "warn", client, err)));
  }

  private scheduleFlush(client: string, s: ClientState, ctx: Background): void {
    if (s.flushing) return;
    s.flushing = true;
    const run = async () => {
      await this.sleep(this.deps.budgets.lease.flushSeconds * 1000);
      s.flushing = false;
      if (s.syncing) await s.syncing.catch(() => {});
      if (s.pending.size > 0) await this.sync(client, s, 0);
    };
    ctx.waitUntil(
      run().catch((err) => {
        s.flushing = false;
        this.logFailure("budget.report_failed", "warn", client, err);
      }),
    );
  }

  /** One ledger call: report what is pending and ask for `extraNanos` beyond what is reserved. One at a time per client. */
  private sync(client: string, s: ClientState, extraNanos: Nanos): Promise<void> {
    if (s.syncing) return s.syncing;
    const run = async () => {
      const lines = [...s.pending.values()];
      s.pending.clear();
      const at = this.deps.now();
      const today = utcDay(at);
      const limits = this.limits(client);
      const reserved = s.lease && s.lease.day === today ? s.lease.reserved : 0;
      const base = { isolateId: this.deps.isolateId, at, limits: limits ?? {}, terms: this.terms, spend: lines };
      let grant: LeaseGrant;
      try {
        if (limits) {
          this.calls.acquireLease++;
          grant = await this.deps.ledger(client).acquireLease({ ...base, needNanos: reserved + extraNanos });
        } else {
          this.calls.settle++;
          grant = await this.deps.ledger(client).settle(base);
        }
      } catch (err) {
        // Nothing lost: the lines go back to be sent with the next report.
        for (const line of lines) mergeLine(s.pending, line);
        throw err;
      }
      for (const line of lines) s.unreported.set(line.day, Math.max(0, (s.unreported.get(line.day) ?? 0) - line.nanos));
      for (const [day, n] of s.unreported) if (n === 0 && ![...s.pending.values()].some((l) => l.day === day)) s.unreported.delete(day);
      s.windows = grant.windows;
      if (!limits) return;
      // A new day starts a new lease; reservations of the old one settle against the old one.
      if (!s.lease || s.lease.day !== grant.day) s.lease = new LocalLease(grant.day);
      s.lease.held = grant.heldNanos;
      s.lease.expiresAt = grant.expiresAt;
      s.lease.grantedAt = at;
      s.lease.lastGrant = grant.heldNanos;
    };
    s.syncing = run().finally(() => {
      s.syncing = null;
    });
    return s.syncing;
  }
}

function mergeLine(into: Map<string, SpendLine>, line: SpendLine): void {
  const key = `${line.day} ${line.model}`;
  const cur = into.get(key);
  if (!cur) {
    into.set(key, line);
    return;
  }
  cur.nanos += line.nanos;
  cur.usage.input += line.usage.input;
  cur.usage.output += line.usage.output;
  cur.usage.cacheRead += line.usage.cacheRead;
  cur.usage.cacheWrite += line.usage.cacheWrite;
  cur.requests += line.requests;
  cur.cached += line.cached;
}
