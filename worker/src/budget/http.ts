/**
 * The budget on the wire: the x-ai-budget-* headers every answer carries, and a refusal as the Worker's one error
 * type, so onError renders it in each surface's own shape (type `budget_exceeded` or `budget_unavailable`).
 * `x-should-retry: false` tells the official SDKs not to retry a 429 that no retry before the reset can cure: both the
 * Anthropic and the OpenAI SDK read it before their own status-based retry rule.
 */
import { ApiError } from "../errors";
import { OUT } from "../wire";
import type { BudgetStatus, Refusal } from "./lease";

export const BUDGET_HEADERS = {
  limit: OUT.budgetLimit,
  remaining: OUT.budgetRemaining,
  reset: OUT.budgetReset,
  shouldRetry: OUT.shouldRetry,
  retryAfter: OUT.retryAfter,
} as const;

/** USD with at most six decimals and no trailing zeros: "5", "4.99875", "0.000125". */
export function formatUsd(usd: number): string {
  const fixed = Math.max(0, usd).toFixed(6);
  return fixed.replace(/\.?0+$/, "") || "0";
}

/** The three budget headers; none for a client that is metered only (it has no limit to report). */
export function budgetHeaders(status: BudgetStatus | null): Record<string, string> {
  if (!status) return {};
  return {
    [BUDGET_HEADERS.limit]: formatUsd(status.limitUsd),
    [BUDGET_HEADERS.remaining]: formatUsd(status.remainingUsd),
    [BUDGET_HEADERS.reset]: status.reset,
  };
}

/** Headers of a refusal: Retry-After, x-should-retry (false for 429: only the reset helps) and the budget. */
export function refusalHeaders(refusal: Refusal): Record<string, string> {
  return {
    ...budgetHeaders(refusal.budget),
    [BUDGET_HEADERS.retryAfter]: String(refusal.retryAfter),
    [BUDGET_HEADERS.shouldRetry]: refusal.status === 429 ? "false" : "true",
  };
}

/**
 * A refusal as an ApiError. providerType makes the surface-specific `type` field say budget_exceeded (or
 * budget_unavailable) on every surface, while the status keeps each SDK's own error class (429 RateLimitError, 503).
 */
export function refusalError(refusal: Refusal): ApiError {
  return new ApiError(refusal.status, refusal.type, refusal.message, { retryAfter: refusal.retryAfter, providerType: refusal.type });
}
