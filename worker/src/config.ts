/**
 * Reads the Worker's configuration bindings once per isolate: ROUTING (validated by routing.ts), CLIENT_KEYS
 * (client id -> SHA-256 hex digest) and RATE_LIMIT_PERIOD. Each parse is cached by the raw binding value, so the hot path is one identity
 * comparison. A broken binding is the operator's mistake: the request gets a 500 config_error without detail, and
 * the log line says what is wrong (never a value).
 */
import { ApiError } from "./errors";
import { parseRouting, RoutingError, type Routing } from "./routing";

export interface ClientKey {
  id: string;
  digest: Uint8Array;
}

const CLIENT_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const DIGEST = /^[0-9a-fA-F]{64}$/;
const REQUIRED_STRINGS = ["AI_GATEWAY_ACCOUNT_ID", "AI_GATEWAY_ID", "AI_GATEWAY_TOKEN", "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "STACK"] as const;

function configError(detail: string): ApiError {
  return new ApiError(500, "config_error", "The service is misconfigured; the operator has been told.", { detail });
}

let routingCache: { raw: unknown; value: Routing } | undefined;
let keysCache: { raw: unknown; value: ClientKey[] } | undefined;
let periodCache: { raw: unknown; value: number } | undefined;

export function routingOf(env: Env): Routing {
  const raw: unknown = env.ROUTING;
  if (routingCache && routingCache.raw === raw) return routingCache.value;
  let input = raw;
  if (typeof raw === "string") {
    try {
      input = JSON.parse(raw);
    } catch {
      // The parser's message may quote the input; say only where the problem is.
      throw configError("ROUTING is not valid JSON");
    }
  }
  try {
    const value = parseRouting(input);
    routingCache = { raw, value };
    return value;
  } catch (e) {
    throw configError(e instanceof RoutingError ? e.message : "ROUTING could not be read");
  }
}

export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function clientKeysOf(env: Env): ClientKey[] {
  const raw: unknown = env.CLIENT_KEYS;
  if (keysCache && keysCache.raw === raw) return keysCache.value;
  if (typeof raw !== "string" || raw.trim() === "") throw configError("CLIENT_KEYS is not set");
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw configError("CLIENT_KEYS is not valid JSON (expected an object: client id -> SHA-256 hex digest)");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw configError("CLIENT_KEYS must be a JSON object: client id -> SHA-256 hex digest");
  }
  const value: ClientKey[] = [];
  for (const [id, digest] of Object.entries(parsed)) {
    if (!CLIENT_ID.test(id)) throw configError(`CLIENT_KEYS has a client id that is not 1-64 letters, digits, '_', '.', ':' or '-'`);
    if (typeof digest !== "string" || !DIGEST.test(digest)) {
      throw configError(`CLIENT_KEYS["${id}"] must be a SHA-256 hex digest (64 hex characters), not a key`);
    }
    value.push({ id, digest: hexToBytes(digest) });
  }
  if (value.length === 0) throw configError("CLIENT_KEYS lists no clients");
  keysCache = { raw, value };
  return value;
}

/** RATE_LIMITER's period in seconds (a whole number of seconds as text), for Retry-After. */
export function rateLimitPeriodOf(env: Env): number {
  const raw: unknown = env.RATE_LIMIT_PERIOD;
  if (periodCache && periodCache.raw === raw) return periodCache.value;
  const value = typeof raw === "string" && /^[1-9][0-9]{0,5}$/.test(raw.trim()) ? Number(raw) : NaN;
  if (Number.isNaN(value)) throw configError("RATE_LIMIT_PERIOD must be RATE_LIMITER's period in whole seconds (e.g. 60)");
  periodCache = { raw, value };
  return value;
}

/** Fails with config_error naming the first missing secret or variable, so a half-configured stack says why. */
export function requireBindings(env: Env): void {
  for (const name of REQUIRED_STRINGS) {
    const v: unknown = env[name];
    if (typeof v !== "string" || v === "") throw configError(`${name} is not set`);
  }
}
