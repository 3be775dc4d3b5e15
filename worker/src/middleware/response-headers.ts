/**
 * Adds headers to the response a route produced, in place. Hono's c.header() on a finished response copies the whole
 * Response on every call; the Worker's own responses have mutable headers, so they are set directly, and only a
 * response with immutable headers (one returned straight from fetch) is copied, once.
 */
import type { Context } from "hono";
import type { AppEnv } from "../context";

export function addHeaders(c: Context<AppEnv>, set: Record<string, string>, append?: Record<string, string>): void {
  const apply = (h: Headers) => {
    for (const name in set) h.set(name, set[name]!);
    if (append) for (const name in append) h.append(name, append[name]!);
  };
  const res = c.res;
  try {
    apply(res.headers);
  } catch {
    const copy = new Response(res.body, res);
    apply(copy.headers);
    c.res = copy;
  }
}
