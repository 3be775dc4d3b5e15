/**
 * Outermost middleware: gives the request its id and log record, puts the security headers and x-request-id on
 * whatever response comes back (errors included), and writes the one log line, after a streamed body has ended.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv, Deps, LogRecord } from "../context";
import { apiSurface } from "../errors";
import { OUT, SECURITY_HEADERS } from "../wire";
import { addHeaders } from "./response-headers";

export function requestContext(deps: Deps) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const started = deps.now();
    const requestId = deps.requestId();
    // Hono has already split the path off the URL to route it; parsing the URL again costs a URL object per request.
    const path = c.req.path;
    const log: LogRecord = {
      requestId,
      method: c.req.method,
      path,
      client: null,
      surface: apiSurface(path),
      feature: null,
      provider: null,
      model: null,
      variant: null,
      attempts: 0,
      tried: [],
      status: 0,
      cache: null,
      stream: false,
      usage: null,
      durationMs: 0,
      error: null,
      errorDetail: null,
    };
    c.set("deps", deps);
    c.set("requestId", requestId);
    c.set("log", log);
    c.set("streamDone", undefined);

    await next();

    addHeaders(c, { ...SECURITY_HEADERS, [OUT.requestId]: requestId });
    log.status = c.res.status;
    const finish = () => {
      log.durationMs = deps.now() - started;
      deps.log(JSON.stringify(log));
    };
    const streamDone = c.get("streamDone");
    if (streamDone) c.executionCtx.waitUntil(streamDone.then(finish, finish));
    else finish();
  });
}
