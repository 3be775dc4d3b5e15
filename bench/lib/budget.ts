/**
 * The budget subject's proof of metering and its ledger figures. A bench of a Worker that silently skips its budget
 * (no BUDGETS read) or fails closed (no ledger) measures nothing, so before the load the subject must answer with
 * the budget headers and a remaining amount that falls request by request, and GET /v1/usage must answer from the
 * ledger; after the load, the ledger must have booked at least every answered request. The ledger calls the load
 * caused are the Durable Object's own counts (workerd.ts countDurableObjectCalls), read before and after.
 */
import type { Target } from "./load";
import { sleep } from "./net";
import type { DurableObjectCalls } from "./workerd";

/** The budget headers every metered answer carries (the Worker's wire contract). */
export const BUDGET_HEADERS = { limit: "x-ai-budget-limit", remaining: "x-ai-budget-remaining", reset: "x-ai-budget-reset" } as const;

/** The ledger's Durable Object class, whose calls are counted. */
export const LEDGER_CLASS = "BudgetLedger";
/** The ledger methods the request path's lease protocol calls (GET /v1/usage's `usage` reads are the bench's own). */
export const LEASE_METHODS = ["acquireLease", "settle", "returnLease"] as const;
/** The ledger's RPC methods the Worker calls (worker/src/budget/lease.ts LedgerApi, and GET /v1/usage's read). */
export const LEDGER_METHODS = [...LEASE_METHODS, "usage"] as const;

export interface MeteringProbe {
  /** x-ai-budget-limit of the window with the least left, USD. */
  readonly limitUsd: number;
  /** x-ai-budget-remaining after each probe request, USD: strictly falling. */
  readonly remainingUsd: readonly number[];
  /** Requests GET /v1/usage reported booked after the probes. */
  readonly ledgerRequests: number;
}

/** The budget headers of one answer, or the reason they are not usable. */
export function budgetOf(headers: Headers): { limitUsd: number; remainingUsd: number } | string {
  const limit = headers.get(BUDGET_HEADERS.limit);
  const remaining = headers.get(BUDGET_HEADERS.remaining);
  if (limit === null || remaining === null) return `no ${BUDGET_HEADERS.limit} / ${BUDGET_HEADERS.remaining} headers`;
  const limitUsd = Number(limit);
  const remainingUsd = Number(remaining);
  if (!Number.isFinite(limitUsd) || !Number.isFinite(remainingUsd)) return `unreadable budget headers (${limit}, ${remaining})`;
  return { limitUsd, remainingUsd };
}

/** Throws unless every remaining amount is below the one before it (each request was booked against the budget). */
export function assertFalling(what: string, remaining: readonly number[]): void {
  for (let i = 1; i < remaining.length; i++) {
    if (!(remaining[i]! < remaining[i - 1]!)) {
      throw new Error(
        `${what}: ${BUDGET_HEADERS.remaining} did not fall across requests (${remaining.join(" → ")}): the budget is not metering`,
      );
    }
  }
}

/** Requests booked today, per GET /v1/usage (sum over the models of the last day it lists). */
export async function ledgerRequests(origin: string, headers: Readonly<Record<string, string>>): Promise<number> {
  const res = await fetch(new URL("/v1/usage", origin), { headers });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /v1/usage on ${origin} answered ${res.status}: ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as { days?: Array<{ models?: Array<{ requests?: number }> }> };
  const days = body.days ?? [];
  const today = days[days.length - 1];
  return (today?.models ?? []).reduce((n, m) => n + (m.requests ?? 0), 0);
}

/**
 * Reads GET /v1/usage until two reads `settleMs` apart agree: isolates report settled spend in batches (BUDGETS
 * lease.flushSeconds), so the last batch of a load reaches the ledger a moment after the load ends.
 */
export async function settledLedgerRequests(
  origin: string,
  headers: Readonly<Record<string, string>>,
  settleMs = 1500,
  maxReads = 8,
): Promise<number> {
  let last = await ledgerRequests(origin, headers);
  for (let i = 1; i < maxReads; i++) {
    await sleep(settleMs);
    const now = await ledgerRequests(origin, headers);
    if (now === last) return now;
    last = now;
  }
  return last;
}

/**
 * Sends `count` requests one at a time with fresh bodies; throws unless each answers 200 with the budget headers,
 * the remaining amount falls with each, and GET /v1/usage answers 200.
 */
export async function probeMetering(
  target: Target,
  body: () => string,
  count: number,
  send: (t: Target, body: string) => Promise<{ status: number; headers: Headers; text: string }>,
): Promise<MeteringProbe> {
  const remainingUsd: number[] = [];
  let limitUsd = Number.NaN;
  for (let i = 0; i < count; i++) {
    const res = await send(target, body());
    if (res.status !== 200) throw new Error(`${target.name} answered ${res.status}: ${res.text.slice(0, 300)}`);
    const b = budgetOf(res.headers);
    if (typeof b === "string") throw new Error(`${target.name}: ${b}: the Worker is not metering this client`);
    limitUsd = b.limitUsd;
    remainingUsd.push(b.remainingUsd);
  }
  assertFalling(target.name, remainingUsd);
  const booked = await settledLedgerRequests(target.origin, target.headers);
  return { limitUsd, remainingUsd, ledgerRequests: booked };
}

/** Calls per method between two readings of the counts of one class. */
export function callsBetween(before: DurableObjectCalls, after: DurableObjectCalls, className: string): Record<string, number> {
  const a = after[className] ?? {};
  const b = before[className] ?? {};
  const out: Record<string, number> = {};
  for (const m of Object.keys(a)) {
    const d = (a[m] ?? 0) - (b[m] ?? 0);
    if (d > 0) out[m] = d;
  }
  return out;
}
