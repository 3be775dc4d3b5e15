/**
 * What every request shares: the injected dependencies (fetch, clock, ids, hash, log sink) so tests drive the real
 * app without patching globals, and the one log record a request writes.
 */
import type { UnitHash } from "./ab";
import type { CacheOutcome, Surface } from "./wire";

export interface Deps {
  /** Outbound fetch to the gateway. */
  fetch: typeof fetch;
  now: () => number;
  requestId: () => string;
  /** Maps a string to [0,1) deterministically; A/B bucketing uses it. */
  unitHash: UnitHash;
  /**
   * Where the one structured record per request (and the rare warning) goes. The entry point writes it as one JSON
   * line, which Workers Logs indexes field by field.
   */
  log: (record: LogRecord | Warning) => void;
}

/** The one structured log record per request. Never carries keys, the gateway URL or the account id. */
export interface LogRecord {
  requestId: string;
  method: string;
  path: string;
  client: string | null;
  /** null for health checks and unknown routes. */
  surface: Surface | null;
  feature: string | null;
  provider: string | null;
  model: string | null;
  variant: string | null;
  attempts: number;
  /** provider:outcome per upstream attempt, e.g. ["anthropic:529", "openai:200"]. */
  tried: string[];
  status: number;
  cache: CacheOutcome | null;
  stream: boolean;
  usage: { input: number; output: number } | null;
  durationMs: number;
  error: string | null;
  errorDetail: string | null;
}

/** An operator-facing warning: a setting to change, named by its key; never a value. */
export interface Warning {
  level: "warn";
  warning: string;
  detail: string;
  [field: string]: string;
}

export type AppEnv = { Bindings: Env };

/** The part of the execution context a request uses: keeping the request alive for work after the answer. */
export interface Lifetime {
  waitUntil(promise: Promise<unknown>): void;
}

export function newLog(requestId: string, method: string, path: string, surface: Surface | null): LogRecord {
  return {
    requestId,
    method,
    path,
    client: null,
    surface,
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
}
