/**
 * CORS for browser clients: only origins in ROUTING.cors.allowOrigins get an Access-Control-Allow-Origin back.
 * Preflights are answered before auth (browsers send them without credentials). The headers go onto the response's
 * header set before the response is built, so nothing is copied afterwards.
 */
import type { Isolate } from "../isolate";
import { CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS } from "../wire";

const ALLOW_HEADERS = CORS_ALLOW_HEADERS.join(",");
const EXPOSE_HEADERS = CORS_EXPOSE_HEADERS.join(",");

/** Adds the CORS headers of an API answer. A broken config (no isolate) allows no origin. */
export function addCors(out: Headers, origin: string | null, iso: Isolate | undefined): void {
  if (origin && iso && (iso.anyOrigin || iso.origins.has(origin))) out.set("access-control-allow-origin", iso.anyOrigin ? "*" : origin);
  out.set("access-control-expose-headers", EXPOSE_HEADERS);
  out.set("vary", "Origin");
}

/** The answer to a preflight, with the CORS headers addCors already put on `out`. */
export function preflight(out: Headers): Response {
  out.set("vary", "Origin, Access-Control-Request-Headers");
  out.set("access-control-max-age", "600");
  out.set("access-control-allow-methods", "POST,OPTIONS");
  out.set("access-control-allow-headers", ALLOW_HEADERS);
  return new Response(null, { status: 204, headers: out });
}
