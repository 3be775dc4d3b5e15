/**
 * The budget on the request path: one held reservation per upstream attempt. Before the call it holds the worst case
 * (the body's bytes as input tokens at the dearest input rate, plus the output cap at the output price); after the
 * answer it books what the usage says (a gateway cache hit or a shared answer costs nothing); a failed attempt gives
 * everything back. While a stream runs, the cost so far is checked on each text delta. A request with an output cap
 * (max_tokens) never outgrows its hold, since no provider streams past the cap; one without a cap (its hold used the
 * estimate) grows its hold from the lease, then from the ledger, and the stream is ended with the surface's error
 * event once the client's budget cannot cover it. All of it is in memory on the common request (lease.ts); a client
 * without BUDGETS on its stack is not metered.
 */

import type { Lifetime } from "../context";
import { type Budgets, type Price, priceKey } from "../contract/budgets";
import { ApiError } from "../errors";
import type { Provider } from "../providers/provider";
import {
  costNanos,
  countAttachments,
  foldUsage,
  NO_USAGE,
  requestedMaxTokens,
  streamedOutputNanos,
  type Usage,
  worstCaseNanos,
  worstInputTokens,
} from "./cost";
import { refusalError } from "./http";
import { type LeaseClient, Reservation } from "./lease";

const encoder = new TextEncoder();

export interface BudgetRuntime {
  budgets: Budgets;
  leases: LeaseClient;
}

/** Money held for one attempt, and what the stream has cost so far. */
export class Held {
  private usage: Usage = NO_USAGE;
  private streamedBytes = 0;

  constructor(
    private readonly leases: LeaseClient,
    private readonly reservation: Reservation,
    private readonly model: string,
    private readonly price: Price,
    private readonly ctx: Lifetime,
    /** The request's output cap in tokens (all choices), when it names one: output never runs past it. */
    private readonly outputCap: number | undefined,
    /** The input tokens the hold assumed: charged for a stream that ends before it reports its input. */
    private readonly inputEstimate: number,
  ) {}

  /** The usage so far, with the estimated input while the answer has not reported its own. */
  private withInput(): Usage {
    const u = this.usage;
    return u.input + u.cacheRead + u.cacheWrite > 0 ? u : { ...u, input: this.inputEstimate };
  }

  /** A usage report from the answer or the stream (the largest count per field is the total). */
  observe(usage: Usage | undefined): void {
    if (usage) this.usage = foldUsage(this.usage, usage);
  }

  /** Output tokens streamed so far, at most: a token is at least a byte, and never more than the cap. */
  private outputBound(): number {
    const bytes = this.outputCap === undefined ? this.streamedBytes : Math.min(this.streamedBytes, this.outputCap);
    return Math.max(bytes, this.usage.output);
  }

  private running(): number {
    return costNanos(this.price, { ...this.withInput(), output: 0 }) + streamedOutputNanos(this.price, this.outputBound());
  }

  /**
   * A streamed text delta; false when what is held (and the lease's free part) cannot cover the stream so far, and
   * `cover()` must be asked before more is sent.
   */
  streamed(text: string): boolean {
    this.streamedBytes += encoder.encode(text).byteLength;
    return this.leases.extend(this.reservation, this.running());
  }

  /** Asks the ledger for what the stream so far needs beyond the lease; false: the client's budget cannot cover it. */
  cover(): Promise<boolean> {
    return this.leases.extendFromLedger(this.reservation, this.running());
  }

  /**
   * Books what was used; `free` for an answer that cost nothing (a gateway cache hit, a shared answer). A stream that
   * did not finish, or never reported its usage (an OpenAI stream without include_usage), is charged its bounds: the
   * estimated input unless it reported its own, and the text streamed as output tokens, up to the cap.
   */
  settle(free: boolean, complete = true): void {
    const reported = this.streamedBytes === 0 || (complete && this.usage.output > 0);
    const usage = reported ? this.usage : { ...this.withInput(), output: this.outputBound() };
    this.leases.settle(this.reservation, [{ model: this.model, usage, cached: free }], this.ctx);
  }

  release(): void {
    this.leases.release(this.reservation);
  }
}

/** The refusal of a stream cut at the budget, for the surface's own error event. */
export const STREAM_BUDGET_MESSAGE = "The client's budget is spent; the answer was cut at the limit.";

/**
 * Holds the worst case of one attempt, or throws the refusal (429 budget_exceeded with Retry-After until the window
 * resets, 503 budget_unavailable when the ledger cannot be reached and no lease covers it).
 */
export async function hold(
  budget: BudgetRuntime | undefined,
  o: { client: string; provider: Provider; model: string; bodyBytes: number; body: unknown; sentMaxTokens?: number; ctx: Lifetime },
): Promise<Held | undefined> {
  if (!budget) return undefined;
  const key = priceKey(o.provider.name, o.model);
  const price = budget.budgets.prices[key];
  // Validation gives every routed model a price; a model without one cannot be metered, so it is not served.
  if (!price)
    throw new ApiError(500, "config_error", "The service is misconfigured; the operator has been told.", {
      detail: `BUDGETS has no price for ${key}`,
    });
  const maxTokens = requestedMaxTokens(o.body) ?? o.sentMaxTokens;
  const shape = { bodyBytes: o.bodyBytes, maxTokens, attachments: countAttachments(o.body) };
  const worst = worstCaseNanos(price, shape, budget.budgets.estimate);
  const r = await budget.leases.reserve(o.client, worst, o.ctx);
  if (!(r instanceof Reservation)) {
    const err = refusalError(r);
    throw new ApiError(err.status, err.type, err.message, { ...err.extra, noRetry: r.status === 429 });
  }
  return new Held(budget.leases, r, key, price, o.ctx, maxTokens, worstInputTokens(shape, budget.budgets.estimate));
}
