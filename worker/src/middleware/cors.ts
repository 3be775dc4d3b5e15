/**
 * CORS for browser clients: only origins in ROUTING.cors.allowOrigins get an Access-Control-Allow-Origin back.
 * Preflights are answered here, before auth (browsers send them without credentials).
 */
import { cors } from "hono/cors";
import { routingOf } from "../config";
import { CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS } from "../wire";

export const corsPolicy = cors({
  origin: (origin, c) => {
    if (origin === "") return null;
    let allowed: string[];
    try {
      allowed = routingOf(c.env as Env).cors.allowOrigins;
    } catch {
      // A broken ROUTING fails the request itself with config_error; the preflight just allows nothing.
      return null;
    }
    return allowed.includes("*") ? "*" : allowed.includes(origin) ? origin : null;
  },
  allowMethods: ["POST", "OPTIONS"],
  allowHeaders: [...CORS_ALLOW_HEADERS],
  exposeHeaders: [...CORS_EXPOSE_HEADERS],
  maxAge: 600,
});
