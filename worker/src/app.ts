/**
 * Composes the Worker: request context first (ids, security headers, the log line), then per API path CORS, method
 * check, config, client auth and rate limit, then the routes; one onError renders every failure in the caller's
 * surface shape. Dependencies come in, so tests run this same app with a fake gateway.
 */
import type { Context } from "hono";
import { Hono } from "hono/tiny";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv, Deps } from "./context";
import { ApiError, errorBody, surfaceOf } from "./errors";
import { clientAuth } from "./middleware/auth";
import { loadConfig } from "./middleware/config";
import { corsPolicy } from "./middleware/cors";
import { allowMethods } from "./middleware/methods";
import { rateLimit } from "./middleware/rate-limit";
import { requestContext } from "./middleware/request";
import { redact } from "./redact";
import { chat } from "./routes/chat";
import { chatCompletions } from "./routes/chat-completions";
import { messages } from "./routes/messages";
import { OUT } from "./wire";

function renderError(c: Context<AppEnv>, err: ApiError): Response {
  const log = c.get("log");
  if (log) {
    log.error = err.type;
    log.errorDetail = err.extra.detail ?? null;
  }
  if (err.extra.retryAfter !== undefined) c.header(OUT.retryAfter, String(err.extra.retryAfter));
  if (err.extra.allow !== undefined) c.header("allow", err.extra.allow);
  const surface = surfaceOf(c.req.path);
  return c.json(errorBody(surface, err, c.get("requestId") ?? ""), err.status as ContentfulStatusCode);
}

export function createApp(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(requestContext(deps));

  app.use("/healthz", allowMethods("GET", "HEAD"));
  app.get("/healthz", (c) => c.json({ ok: true }));

  for (const path of ["/v1/messages", "/v1/chat/completions", "/api/chat"]) {
    app.use(path, corsPolicy, allowMethods("POST"), loadConfig, clientAuth, rateLimit);
  }
  app.route("/v1/messages", messages);
  app.route("/v1/chat/completions", chatCompletions);
  app.route("/api/chat", chat);

  app.notFound((c) => renderError(c, new ApiError(404, "not_found", `No route for ${c.req.method} ${c.req.path}.`)));
  app.onError((err, c) => {
    if (err instanceof ApiError) return renderError(c, err);
    const detail = redact(`${err.name}: ${err.message}`, c.env);
    return renderError(c, new ApiError(500, "internal_error", "Internal error.", { detail }));
  });
  return app;
}
