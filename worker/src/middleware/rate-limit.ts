/**
 * Per-client rate limit through the RATE_LIMITER binding, keyed by client id (never by key or IP). Retry-After is the
 * limiter's period, which the binding cannot report: RATE_LIMIT_PERIOD carries it, bound from the same value.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../context";
import { configError, rateLimitPeriodOf } from "../config";
import { ApiError } from "../errors";

export const rateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const limiter: RateLimit | undefined = c.env.RATE_LIMITER;
  if (typeof limiter?.limit !== "function") {
    throw configError("RATE_LIMITER is not bound");
  }
  // Read before limiting, so a missing period fails every request at once rather than only the throttled ones.
  const period = rateLimitPeriodOf(c.env);
  const { success } = await limiter.limit({ key: c.get("client") });
  if (!success) {
    throw new ApiError(429, "rate_limited", `Rate limit reached for this client; retry after ${period} seconds.`, { retryAfter: period });
  }
  await next();
});
