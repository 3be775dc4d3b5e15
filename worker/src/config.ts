/**
 * Reads the Worker's configuration bindings once per isolate: ROUTING (validated by contract/routing.ts), CLIENT_KEYS
 * (client id -> SHA-256 hex digest) with the CLIENTS allow-list (contract/clients.ts), and RATE_LIMIT_PERIOD. Each parse is cached by the raw binding value, so the hot path is one identity
 * comparison. A broken binding is the operator's mistake: the request gets a 500 config_error without detail, and
 * the log line says what is wrong (never a value).
 */
import { BINDING_NAMES, BINDINGS } from "./contract/bindings";
import { CLIENT_ID, CLIENT_ID_RULE, parseClients } from "./contract/clients";
import { parseRouting, type Routing } from "./contract/routing";
import { ContractError } from "./contract/schema";
import { ApiError } from "./errors";

export interface ClientKey {
  id: string;
  digest: Uint8Array;
}

const DIGEST = /^[0-9a-fA-F]{64}$/;
/** The required text bindings (variables and secrets), from the contract's one list. */
const REQUIRED_STRINGS = BINDING_NAMES.filter(
  (n) => BINDINGS[n].required && (BINDINGS[n].kind === "plain_text" || BINDINGS[n].kind === "secret_text"),
);

/** The one shape of an operator mistake: a 500 with a fixed message; the detail goes to the log line only. */
export function configError(detail: string): ApiError {
  return new ApiError(500, "config_error", "The service is misconfigured; the operator has been told.", { detail });
}

let routingCache: { raw: unknown; value: Routing } | undefined;
let keysCache: { raw: unknown; listed: unknown; value: ClientKey[] } | undefined;
let periodCache: { raw: unknown; value: number } | undefined;

/** A json binding's value: already parsed in workerd, a JSON string when set as text (tests, local vars). */
export function jsonBinding(name: string, raw: unknown): unknown {
  if (typeof raw !== "string") return raw;
  try {
    return JSON.parse(raw);
  } catch {
    // The parser's message may quote the input; say only where the problem is.
    throw configError(`${name} is not valid JSON`);
  }
}

export function routingOf(env: Env): Routing {
  const raw: unknown = env.ROUTING;
  if (routingCache && routingCache.raw === raw) return routingCache.value;
  const input = jsonBinding("ROUTING", raw);
  try {
    const value = parseRouting(input);
    routingCache = { raw, value };
    return value;
  } catch (e) {
    throw configError(e instanceof ContractError ? e.at("ROUTING") : "ROUTING could not be read");
  }
}

export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** The CLIENTS allow-list. */
function clientsOf(raw: unknown): Set<string> {
  if (raw === undefined || raw === null || raw === "") throw configError("CLIENTS is not set (the client ids that may call)");
  const input = jsonBinding("CLIENTS", raw);
  try {
    return new Set(parseClients(input));
  } catch (e) {
    throw configError(e instanceof ContractError ? e.at("CLIENTS") : "CLIENTS could not be read");
  }
}

/**
 * The keys that may authenticate: CLIENT_KEYS entries whose client is also listed in CLIENTS (fail closed: a digest
 * alone lets nobody in). A digest for an unlisted client is dropped, and `warn` hears about it once per isolate (per
 * binding values), by client id only.
 */
export function clientKeysOf(env: Env, warn: (detail: string) => void): ClientKey[] {
  const raw: unknown = env.CLIENT_KEYS;
  const listed: unknown = env.CLIENTS;
  if (keysCache && keysCache.raw === raw && keysCache.listed === listed) return keysCache.value;
  const allowed = clientsOf(listed);
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
    if (!CLIENT_ID.test(id)) throw configError(`CLIENT_KEYS has a client id that is not ${CLIENT_ID_RULE}`);
    if (typeof digest !== "string" || !DIGEST.test(digest)) {
      throw configError(`CLIENT_KEYS["${id}"] must be a SHA-256 hex digest (64 hex characters), not a key`);
    }
    value.push({ id, digest: hexToBytes(digest) });
  }
  if (value.length === 0) throw configError("CLIENT_KEYS lists no clients");
  const unlisted = value.filter((k) => !allowed.has(k.id)).map((k) => k.id);
  if (unlisted.length > 0) {
    warn(`CLIENT_KEYS has keys for client ids not listed in CLIENTS, refused until listed: ${unlisted.join(", ")}`);
  }
  const usable = value.filter((k) => allowed.has(k.id));
  keysCache = { raw, listed, value: usable };
  return usable;
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
    const v: unknown = (env as unknown as Record<string, unknown>)[name];
    if (typeof v !== "string" || v === "") throw configError(`${name} is not set`);
  }
}
