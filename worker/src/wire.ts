/**
 * Wire constants: every header name and fixed value the Worker reads or writes, in one place, so a typo is a type
 * error and a reader can see the whole HTTP contract at a glance.
 */

/** Headers the gateway honours (see shared/reference/ai-gateway.md). */
export const AIG = {
  authorization: "cf-aig-authorization",
  metadata: "cf-aig-metadata",
  eventId: "cf-aig-event-id",
  cacheKey: "cf-aig-cache-key",
  cacheTtl: "cf-aig-cache-ttl",
  skipCache: "cf-aig-skip-cache",
  requestTimeout: "cf-aig-request-timeout",
  cacheStatus: "cf-aig-cache-status",
} as const;

/** Headers the Worker sends back to its clients. */
export const OUT = {
  requestId: "x-request-id",
  provider: "x-ai-provider",
  model: "x-ai-model",
  variant: "x-ai-variant",
  cache: "x-cache",
  retryAfter: "retry-after",
  /** "false" on answers no retry can change (the official SDKs honour it). */
  shouldRetry: "x-should-retry",
  /** The client's budget in USD for the window with the least left, what is left of it, and when it resets (RFC 3339). */
  budgetLimit: "x-ai-budget-limit",
  budgetRemaining: "x-ai-budget-remaining",
  budgetReset: "x-ai-budget-reset",
} as const;

/** Request headers a client may send. */
export const IN = {
  apiKey: "x-api-key",
  authorization: "authorization",
  cacheControl: "cache-control",
  contentLength: "content-length",
  origin: "origin",
  /** Optional feature label for gateway metadata on the pass-through surfaces (/api/chat takes it in the body). */
  feature: "x-ai-feature",
  anthropicVersion: "anthropic-version",
  anthropicBeta: "anthropic-beta",
} as const;

/** Client headers forwarded to Anthropic: they change what the API does, and carry nothing secret. */
export const ANTHROPIC_FORWARDED = [IN.anthropicVersion, IN.anthropicBeta] as const;

/** CORS: what a browser may send and read. */
export const CORS_ALLOW_HEADERS = [
  IN.apiKey,
  IN.authorization,
  IN.anthropicVersion,
  IN.anthropicBeta,
  "content-type",
  IN.cacheControl,
  IN.feature,
] as const;
export const CORS_EXPOSE_HEADERS = [
  OUT.requestId,
  OUT.provider,
  OUT.model,
  OUT.variant,
  OUT.cache,
  OUT.retryAfter,
  OUT.budgetLimit,
  OUT.budgetRemaining,
  OUT.budgetReset,
] as const;

/** Sent on every response: this is an API, never a page to frame, sniff or cache. */
export const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "strict-transport-security": "max-age=63072000; includeSubDomains",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "cache-control": "no-store",
} as const;

/**
 * x-cache values. BYPASS: the request told the gateway not to use its cache (client no-cache/no-store, or TTL 0).
 * COALESCED: an identical request of the same client was already on its way upstream, and this one shared its answer.
 */
export type CacheOutcome = "HIT" | "MISS" | "BYPASS" | "COALESCED";

/** The three API surfaces; the names match ROUTING.cacheTtl's keys. */
export type Surface = "messages" | "chatCompletions" | "chat";

/** The API paths and the surface each one is: the one list the app, the logs and the error shapes use. */
export const API_PATHS = {
  "/v1/messages": "messages",
  "/v1/chat/completions": "chatCompletions",
  "/api/chat": "chat",
} as const satisfies Record<string, Surface>;
export type ApiPath = keyof typeof API_PATHS;

export const HEALTH_PATH = "/healthz";
/** A client's own spend, from its budget ledger (GET). */
export const USAGE_PATH = "/v1/usage";

/** Variant reported for the pass-through surfaces, which have no A/B split. */
export const NO_VARIANT = "none";
/** Feature reported when the client names none. */
export const DEFAULT_FEATURE = "default";

export const SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8";
