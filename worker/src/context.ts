/**
 * The app's typed context: injected dependencies (fetch, clock, ids, hash, log sink) so tests drive the real app
 * without patching globals, and the per-request state every middleware and route shares.
 */
import type { Routing } from "./contract/routing";
import type { UnitHash } from "./ab";
import type { CacheOutcome, Surface } from "./wire";

export interface Deps {
  /** Outbound fetch to the gateway. */
  fetch: typeof fetch;
  now: () => number;
  requestId: () => string;
  /** Maps a string to [0,1) deterministically; A/B bucketing uses it. */
  unitHash: UnitHash;
  /** Where the one JSON line per request goes. */
  log: (line: string) => void;
}

/** The one structured log line per request. Never carries keys, the gateway URL or the account id. */
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

export interface Vars {
  deps: Deps;
  requestId: string;
  log: LogRecord;
  routing: Routing;
  client: string;
  /** Set by a streaming route: settles when the stream has ended, so the log line can wait for the final outcome. */
  streamDone: Promise<void> | undefined;
}

export type AppEnv = { Bindings: Env; Variables: Vars };
