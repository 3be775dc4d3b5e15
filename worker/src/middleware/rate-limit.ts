/** Per-client rate limit through the RATE_LIMITER binding, keyed by client id (never by key or IP). */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../context";
import { ApiError } from "../errors";
import { RATE_LIMIT_PERIOD_SECONDS } from "../wire";

export const rateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const limiter: RateLimit | undefined = c.env.RATE_LIMITER;
  if (typeof limiter?.limit !== "function") {
    throw new ApiError(500, "config_error", "The service is misconfigured; the operator has been told.", { detail: "RATE_LIMITER is not bound" });
  }
  const { success } = await limiter.limit({ key: c.get("client") });
  if (!success) {
    throw new ApiError(429, "rate_limited", `Rate limit reached for this client; retry after ${RATE_LIMIT_PERIOD_SECONDS} seconds.`, {
      retryAfter: RATE_LIMIT_PERIOD_SECONDS,
    });
  }
  await next();
});
