/**
 * The budget ledger: one Durable Object per client (SQLite storage), the one place that knows what a client has spent
 * and what each isolate may still spend. It keeps spend by UTC day and model (tokens too, for reading and for
 * reconciling with the gateway's analytics) and one lease per isolate: a slice of the client's remaining budget that
 * the isolate spends locally. It grants leases so that, for every window with a limit,
 *
 *     spent in the window + what live leases hold  <=  the window's limit
 *
 * An isolate reports settled spend in batches; reported spend moves from its lease into `spent`, so the sum only grows
 * by a grant, and a grant never takes more than the limit leaves. The one way past the limit is spend that outgrows
 * what was held for it (see docs/budgets.md for the bound).
 *
 * Every method is synchronous SQL with no await, so each call runs alone: nothing interleaves inside a call.
 * https://developers.cloudflare.com/durable-objects/api/storage-api/ (SQL API, transactionSync)
 * https://developers.cloudflare.com/durable-objects/best-practices/create-durable-object-stubs-and-send-requests/ (RPC)
 * Time comes with each call (`at`), from the isolate's injected clock, so the windows follow one clock in tests.
 */
import { DurableObject } from "cloudflare:workers";
import { monthDays, type Nanos, type Usage, utcDay, type WindowName, windowReset } from "./cost";

/** One line of settled spend: a model's cost and tokens on one UTC day. */
export interface SpendLine {
  /** UTC day the request started, "2026-11-05". */
  day: string;
  /** Price key, "<provider>/<model>". */
  model: string;
  nanos: Nanos;
  usage: Usage;
  requests: number;
  /** Requests the gateway answered from its cache (they cost nothing). */
  cached: number;
}

/** Limits in nano-dollars; a window without a limit is absent. */
export interface LedgerLimits {
  dailyNanos?: Nanos;
  monthlyNanos?: Nanos;
}

export interface LeaseTerms {
  /** Share of what is available to this isolate that one grant takes. */
  share: number;
  /** Cap on what one isolate holds. */
  maxNanos?: Nanos;
  ttlMs: number;
  graceMs: number;
}

export interface SyncRequest {
  isolateId: string;
  /** The caller's clock, ms since the epoch. */
  at: number;
  limits: LedgerLimits;
  terms: LeaseTerms;
  /** Settled spend since the last acknowledged report. */
  spend: SpendLine[];
  /** What the isolate needs held after this call (its reservations in flight plus the one it is about to make). */
  needNanos: Nanos;
  /** true: give the whole lease back (after reporting). */
  release?: boolean;
}

export interface WindowState {
  window: WindowName;
  limitNanos: Nanos;
  /** Reported spend in the window, all isolates. */
  spentNanos: Nanos;
  /** What the other isolates' live leases hold. */
  heldByOthersNanos: Nanos;
  /** When the window ends, ms since the epoch. */
  resetAt: number;
}

export interface LeaseGrant {
  /** What the ledger now holds for this isolate (unreported spend excluded: it was just reported). */
  heldNanos: Nanos;
  /** The UTC day the lease is for; a lease never crosses midnight. */
  day: string;
  /** The isolate stops spending the lease at this instant; the ledger counts it until expiresAt + grace. */
  expiresAt: number;
  /** The windows with a limit, for headers and refusals. Empty: the client is metered only. */
  windows: WindowState[];
}

/** A row of GET /v1/usage: the ledger's spend line as stored. */
export type UsageRow = SpendLine;

interface LeaseRow {
  held: number;
  day: string;
  void_at: number;
  [key: string]: SqlStorageValue;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS spend (
  day TEXT NOT NULL,
  model TEXT NOT NULL,
  nanos INTEGER NOT NULL DEFAULT 0,
  input INTEGER NOT NULL DEFAULT 0,
  output INTEGER NOT NULL DEFAULT 0,
  cache_read INTEGER NOT NULL DEFAULT 0,
  cache_write INTEGER NOT NULL DEFAULT 0,
  requests INTEGER NOT NULL DEFAULT 0,
  cached INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, model)
);
CREATE TABLE IF NOT EXISTS leases (
  isolate TEXT PRIMARY KEY,
  held INTEGER NOT NULL,
  day TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  void_at INTEGER NOT NULL
);`;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function whole(n: unknown): number {
  return typeof n === "number" && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

export class BudgetLedger extends DurableObject {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
  }

  /** Reports spend and grows (or keeps) the isolate's lease to cover `needNanos`, if the limits allow. */
  acquireLease(req: SyncRequest): LeaseGrant {
    return this.ctx.storage.transactionSync(() => this.sync(req));
  }

  /** Reports spend and keeps the lease as it is (no grant beyond what is already held). */
  settle(req: Omit<SyncRequest, "needNanos">): LeaseGrant {
    return this.ctx.storage.transactionSync(() => this.sync({ ...req, needNanos: 0 }, false));
  }

  /** Reports spend and gives the whole lease back. */
  returnLease(req: Omit<SyncRequest, "needNanos" | "release">): LeaseGrant {
    return this.ctx.storage.transactionSync(() => this.sync({ ...req, needNanos: 0, release: true }));
  }

  /**
   * Spend by day and model, days `from` to `to` inclusive (UTC "YYYY-MM-DD"), oldest first. A malformed range reads
   * nothing (callers validate what a client sent; a throw here would also break the caller's stub).
   */
  usage(range: { from: string; to: string }): UsageRow[] {
    if (!DAY.test(range?.from) || !DAY.test(range?.to)) return [];
    return this.sql
      .exec<{
        day: string;
        model: string;
        nanos: number;
        input: number;
        output: number;
        cache_read: number;
        cache_write: number;
        requests: number;
        cached: number;
      }>(
        "SELECT day, model, nanos, input, output, cache_read, cache_write, requests, cached FROM spend WHERE day >= ? AND day <= ? ORDER BY day, model",
        range.from,
        range.to,
      )
      .toArray()
      .map((r) => ({
        day: r.day,
        model: r.model,
        nanos: r.nanos,
        usage: { input: r.input, output: r.output, cacheRead: r.cache_read, cacheWrite: r.cache_write },
        requests: r.requests,
        cached: r.cached,
      }));
  }

  /** Leases the ledger counts at `at`: what each isolate holds. For operators and tests. */
  leases(at: number): { isolateId: string; heldNanos: Nanos; day: string }[] {
    return this.sql
      .exec<{ isolate: string; held: number; day: string }>(
        "SELECT isolate, held, day FROM leases WHERE day = ? AND void_at > ? ORDER BY isolate",
        utcDay(at),
        at,
      )
      .toArray()
      .map((r) => ({ isolateId: r.isolate, heldNanos: r.held, day: r.day }));
  }

  private sync(req: SyncRequest, mayGrow = true): LeaseGrant {
    const at = req.at;
    const today = utcDay(at);
    const lease = this.sql.exec<LeaseRow>("SELECT held, day, void_at FROM leases WHERE isolate = ?", req.isolateId).toArray()[0];
    const live = lease !== undefined && lease.day === today && lease.void_at > at;
    let held = live ? lease.held : 0;

    for (const line of req.spend) {
      if (!DAY.test(line.day) || typeof line.model !== "string" || line.model === "") continue;
      const nanos = whole(line.nanos);
      this.sql.exec(
        `INSERT INTO spend (day, model, nanos, input, output, cache_read, cache_write, requests, cached) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (day, model) DO UPDATE SET nanos = nanos + excluded.nanos, input = input + excluded.input, output = output + excluded.output,
           cache_read = cache_read + excluded.cache_read, cache_write = cache_write + excluded.cache_write,
           requests = requests + excluded.requests, cached = cached + excluded.cached`,
        line.day,
        line.model,
        nanos,
        whole(line.usage?.input),
        whole(line.usage?.output),
        whole(line.usage?.cacheRead),
        whole(line.usage?.cacheWrite),
        whole(line.requests),
        whole(line.cached),
      );
      // Spend of the lease's own day was covered by the lease: it moves from held to spent.
      if (line.day === today) held = Math.max(0, held - nanos);
    }

    const windows = this.windows(req, at, today);
    // What this isolate may hold at most: the tightest window's limit less spend and the other isolates' leases.
    const room = windows.reduce((m, w) => Math.min(m, w.limitNanos - w.spentNanos - w.heldByOthersNanos), Number.POSITIVE_INFINITY);
    const cap = Math.max(0, room);

    let next: number;
    if (req.release) next = 0;
    else if (windows.length === 0)
      next = 0; // metered only: nothing to hold
    else if (!mayGrow) next = Math.min(held, cap);
    else {
      const slice = Math.floor(req.terms.share * cap);
      const target = Math.max(whole(req.needNanos), Math.min(slice, req.terms.maxNanos ?? Number.POSITIVE_INFINITY));
      // Never take back what the isolate already holds for requests in flight; never grant past the room.
      next = Math.min(Math.max(target, held), cap);
    }

    const expiresAt = at + req.terms.ttlMs;
    if (next > 0) {
      this.sql.exec(
        `INSERT INTO leases (isolate, held, day, expires_at, void_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (isolate) DO UPDATE SET held = excluded.held, day = excluded.day, expires_at = excluded.expires_at, void_at = excluded.void_at`,
        req.isolateId,
        next,
        today,
        expiresAt,
        // A lease never outlives its day: at midnight every window it was counted in is a new window.
        Math.min(expiresAt + req.terms.graceMs, windowReset("day", at)),
      );
    } else {
      this.sql.exec("DELETE FROM leases WHERE isolate = ?", req.isolateId);
    }
    // Dead leases hold nothing; dropping them keeps the table as small as the set of live isolates.
    this.sql.exec("DELETE FROM leases WHERE void_at <= ? OR day <> ?", at, today);
    return { heldNanos: next, day: today, expiresAt, windows };
  }

  private windows(req: SyncRequest, at: number, today: string): WindowState[] {
    const others =
      this.sql
        .exec<{ s: number | null }>(
          "SELECT SUM(held) AS s FROM leases WHERE isolate <> ? AND day = ? AND void_at > ?",
          req.isolateId,
          today,
          at,
        )
        .one().s ?? 0;
    const out: WindowState[] = [];
    const daily = req.limits.dailyNanos;
    if (daily !== undefined) {
      const spent = this.sql.exec<{ s: number | null }>("SELECT SUM(nanos) AS s FROM spend WHERE day = ?", today).one().s ?? 0;
      out.push({ window: "day", limitNanos: daily, spentNanos: spent, heldByOthersNanos: others, resetAt: windowReset("day", at) });
    }
    const monthly = req.limits.monthlyNanos;
    if (monthly !== undefined) {
      const { first, last } = monthDays(at);
      const spent =
        this.sql.exec<{ s: number | null }>("SELECT SUM(nanos) AS s FROM spend WHERE day >= ? AND day <= ?", first, last).one().s ?? 0;
      out.push({ window: "month", limitNanos: monthly, spentNanos: spent, heldByOthersNanos: others, resetAt: windowReset("month", at) });
    }
    return out;
  }
}
