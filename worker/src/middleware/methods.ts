/** 405 with an Allow header for a known path called with the wrong method (CORS preflights are answered earlier). */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../context";
import { ApiError } from "../errors";

export function allowMethods(...methods: string[]) {
  const allow = [...methods, "OPTIONS"].join(", ");
  return createMiddleware<AppEnv>(async (c, next) => {
    if (!methods.includes(c.req.method)) {
      throw new ApiError(405, "method_not_allowed", `Method ${c.req.method} is not allowed here; use ${methods.join(" or ")}.`, { allow });
    }
    await next();
  });
}
