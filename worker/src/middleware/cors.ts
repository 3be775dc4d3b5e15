/**
 * CORS for browser clients: only origins in ROUTING.cors.allowOrigins get an Access-Control-Allow-Origin back.
 * Preflights are answered here, before auth (browsers send them without credentials). Hand-written rather than
 * hono/cors, which sets headers through c.res before and after the route and so copies the response up to twice per
 * request; here the headers go onto the route's response in one pass (addHeaders).
 */
import { createMiddleware } from "hono/factory";
import { routingOf } from "../config";
import type { AppEnv } from "../context";
import { CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS, IN } from "../wire";
import { addHeaders } from "./response-headers";

const ALLOW_HEADERS = CORS_ALLOW_HEADERS.join(",");
const EXPOSE_HEADERS = CORS_EXPOSE_HEADERS.join(",");

function allowedOrigin(origin: string, env: Env): string | null {
  if (origin === "") return null;
  let allowed: string[];
  try {
    allowed = routingOf(env).cors.allowOrigins;
  } catch {
    // A broken ROUTING fails the request itself with config_error; the preflight just allows nothing.
    return null;
  }
  return allowed.includes("*") ? "*" : allowed.includes(origin) ? origin : null;
}

export const corsPolicy = createMiddleware<AppEnv>(async (c, next) => {
  const origin = allowedOrigin(c.req.header(IN.origin) ?? "", c.env);
  const headers: Record<string, string> = origin === null ? {} : { "access-control-allow-origin": origin };
  headers["access-control-expose-headers"] = EXPOSE_HEADERS;
  if (c.req.method === "OPTIONS") {
    return new Response(null, {
      status: 204,
      headers: {
        ...headers,
        vary: "Origin, Access-Control-Request-Headers",
        "access-control-max-age": "600",
        "access-control-allow-methods": "POST,OPTIONS",
        "access-control-allow-headers": ALLOW_HEADERS,
      },
    });
  }
  await next();
  addHeaders(c, headers, { vary: "Origin" });
});
