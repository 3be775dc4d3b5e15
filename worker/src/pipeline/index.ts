/**
 * The API pipeline: one function per request instead of a chain of middleware. In order: request id and log record,
 * CORS (preflights answered here), method check, the isolate's config, client auth, then the per-client rate limit,
 * which runs while the body is read (its answer decides before anything goes upstream), then the route. Every
 * answer, errors included, is built once with its final headers: security headers, x-request-id and CORS. The one log
 * line goes out when the answer is complete (for a stream, when it has ended).
 */
import type { Context } from "hono";
import { type JsonBody, readJsonBody } from "../body";
import { type AppEnv, type Deps, type Lifetime, type LogRecord, newLog } from "../context";

export type { Lifetime };

import { budgetHeaders } from "../budget/http";
import { usageResponse } from "../budget/usage";
import { ApiError, errorBody, surfaceOf } from "../errors";
import { type Isolate, isolateOf } from "../isolate";
import { redact } from "../redact";
import { OUT, SECURITY_HEADERS, type Surface } from "../wire";
import { authenticate } from "./auth";
import { addCors, preflight } from "./cors";

/** One authenticated API request, as a route sees it. */
export interface ApiCall {
  readonly req: Request;
  readonly env: Env;
  readonly ctx: Lifetime;
  readonly deps: Deps;
  readonly iso: Isolate;
  readonly surface: Surface;
  readonly client: string;
  readonly requestId: string;
  readonly log: LogRecord;
  readonly body: JsonBody;
  /** The answer's headers so far (security, request id, CORS): a route adds its own and answers with this set. */
  readonly out: Headers;
  /** A streaming route hands over a promise that settles when the stream has ended; the log line waits for it. */
  streaming(done: Promise<void>): void;
}

export type Route = (call: ApiCall) => Promise<Response>;

const SECURITY = Object.entries(SECURITY_HEADERS);

function baseHeaders(requestId: string): Headers {
  const out = new Headers(SECURITY);
  out.set(OUT.requestId, requestId);
  return out;
}

/** An error as the caller's SDK expects it, on the headers collected so far. */
function errorResponse(e: unknown, surface: Surface, requestId: string, out: Headers, log: LogRecord, env: Env): Response {
  const err =
    e instanceof ApiError
      ? e
      : new ApiError(500, "internal_error", "Internal error.", {
          detail: redact(e instanceof Error ? `${e.name}: ${e.message}` : String(e), env),
        });
  log.error = err.type;
  log.errorDetail = err.extra.detail ?? null;
  if (err.extra.retryAfter !== undefined) out.set(OUT.retryAfter, String(err.extra.retryAfter));
  if (err.extra.allow !== undefined) out.set("allow", err.extra.allow);
  if (err.extra.noRetry) out.set(OUT.shouldRetry, "false");
  out.set("content-type", "application/json");
  return new Response(JSON.stringify(errorBody(surface, err, requestId)), { status: err.status, headers: out });
}

function methodNotAllowed(method: string, methods: readonly string[]): ApiError {
  return new ApiError(405, "method_not_allowed", `Method ${method} is not allowed here; use ${methods.join(" or ")}.`, {
    allow: [...methods, "OPTIONS"].join(", "),
  });
}

async function allowedOrThrow(limited: Promise<RateLimitOutcome>, period: number): Promise<void> {
  if (!(await limited).success) {
    throw new ApiError(429, "rate_limited", `Rate limit reached for this client; retry after ${period} seconds.`, { retryAfter: period });
  }
}

/** The client's budget on an answer (none for a stack without BUDGETS, or a client it only meters). */
function addBudget(res: Response, iso: Isolate | undefined, client: string | null): void {
  if (!iso?.budget || client === null) return;
  const h = budgetHeaders(iso.budget.leases.status(client));
  for (const name in h) res.headers.set(name, h[name]!);
}

/** Writes the log line now, or once the stream has ended. */
function finish(deps: Deps, ctx: Lifetime, log: LogRecord, started: number, streamDone: Promise<void> | undefined): void {
  const write = () => {
    log.durationMs = deps.now() - started;
    deps.log(log);
  };
  if (streamDone) ctx.waitUntil(streamDone.then(write, write));
  else write();
}

/** One request's frame, as an endpoint's handler fills it in: the isolate (for the budget headers) and a stream's end. */
interface Frame {
  readonly requestId: string;
  readonly log: LogRecord;
  /** The answer's headers so far: security headers and the request id. */
  readonly out: Headers;
  iso: Isolate | undefined;
  streamDone: Promise<void> | undefined;
}

/**
 * The frame the API and usage endpoints share: request id, log record and base headers first; anything the handler
 * throws answered as an error on `errorSurface`; then the client's budget headers, the status and the log line.
 */
function framed(
  deps: Deps,
  logSurface: Surface | null,
  errorSurface: Surface,
  handle: (c: Context<AppEnv>, frame: Frame) => Promise<Response>,
) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const req = c.req.raw;
    const started = deps.now();
    const requestId = deps.requestId();
    const frame: Frame = {
      requestId,
      log: newLog(requestId, req.method, c.req.path, logSurface),
      out: baseHeaders(requestId),
      iso: undefined,
      streamDone: undefined,
    };
    let res: Response;
    try {
      res = await handle(c, frame);
    } catch (e) {
      res = errorResponse(e, errorSurface, requestId, frame.out, frame.log, c.env);
    }
    addBudget(res, frame.iso, frame.log.client);
    frame.log.status = res.status;
    finish(deps, c.executionCtx, frame.log, started, frame.streamDone);
    return res;
  };
}

/** The Hono handler of one API path. */
export function apiEndpoint(deps: Deps, surface: Surface, route: Route) {
  const warn = (detail: string) => deps.log({ level: "warn", warning: "config", detail });
  return framed(deps, surface, surface, async (c, frame) => {
    const req = c.req.raw;
    const env = c.env;
    const { out, log } = frame;
    let broken: unknown;
    try {
      frame.iso = isolateOf(env, warn, deps.now);
    } catch (e) {
      broken = e;
    }
    const iso = frame.iso;
    addCors(out, req.headers.get("origin"), iso);
    if (req.method === "OPTIONS") return preflight(out);
    if (req.method !== "POST") throw methodNotAllowed(req.method, ["POST"]);
    if (!iso) throw broken;
    const client = await authenticate(req.headers, iso.keys);
    log.client = client;
    // The limiter is a call outside the isolate: it runs while the body arrives, and decides before the route.
    const limited = iso.limiter.limit({ key: client });
    let body: JsonBody;
    try {
      body = await readJsonBody(req, iso.routing.limits.maxRequestBytes);
    } catch (e) {
      await allowedOrThrow(limited, iso.period);
      throw e;
    }
    await allowedOrThrow(limited, iso.period);
    return route({
      req,
      env,
      ctx: c.executionCtx,
      deps,
      iso,
      surface,
      client,
      requestId: frame.requestId,
      log,
      body,
      out,
      streaming: (done) => void (frame.streamDone = done),
    });
  });
}

/**
 * GET /v1/usage: the calling client's own spend per UTC day and model, from its ledger (`?from=&to=`, this month by
 * default). Authenticated and limited like the API; 404 on a stack that keeps no ledger.
 */
export function usageEndpoint(deps: Deps) {
  const warn = (detail: string) => deps.log({ level: "warn", warning: "config", detail });
  return framed(deps, null, "chat", async (c, frame) => {
    const req = c.req.raw;
    if (req.method !== "GET") throw methodNotAllowed(req.method, ["GET"]);
    const iso = isolateOf(c.env, warn, deps.now);
    frame.iso = iso;
    const client = await authenticate(req.headers, iso.keys);
    frame.log.client = client;
    await allowedOrThrow(iso.limiter.limit({ key: client }), iso.period);
    const budget = iso.budget;
    if (!budget) throw new ApiError(404, "not_found", "This service keeps no spend ledger (its stack declares no budgets).");
    const ledger = c.env.BUDGET_LEDGER.getByName(client);
    const res = await usageResponse(client, ledger, new URL(req.url).searchParams, deps.now(), budget.leases.status(client));
    for (const [name, value] of frame.out) res.headers.set(name, value);
    return res;
  });
}

/** A handler outside the API (health, unknown paths): security headers, request id and a log line, no auth. */
export function plainEndpoint(deps: Deps, methods: readonly string[] | undefined, answer: (c: Context<AppEnv>) => Response) {
  return (c: Context<AppEnv>): Response => {
    const started = deps.now();
    const requestId = deps.requestId();
    const log = newLog(requestId, c.req.method, c.req.path, null);
    const out = baseHeaders(requestId);
    let res: Response;
    try {
      if (methods && !methods.includes(c.req.method)) throw methodNotAllowed(c.req.method, methods);
      res = answer(c);
      for (const [name, value] of out) res.headers.set(name, value);
    } catch (e) {
      res = errorResponse(e, surfaceOf(c.req.path), requestId, out, log, c.env);
    }
    log.status = res.status;
    finish(deps, c.executionCtx, log, started, undefined);
    return res;
  };
}
