/**
 * The ROUTING binding: which models each surface may use, the /api/chat fallback chain and A/B split, cache TTLs,
 * limits, timeouts and CORS. Infra validates the stack's config with this schema before declaring anything, and the
 * Worker parses the binding with it once per isolate; both report the bad field by its path.
 */
import * as v from "valibot";
import { firstRepeat, int, list, object, oneOf, parseWith, refine, text } from "./schema";

export const PROVIDERS = ["anthropic", "openai", "workers-ai"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/**
 * A gateway cache TTL in seconds: 0 turns caching off; otherwise from 60 s (the gateway refuses shorter TTLs) to one
 * month. https://developers.cloudflare.com/ai-gateway/features/caching/ ("The minimum TTL is 60 seconds and the
 * maximum TTL is one month").
 */
export const MIN_CACHE_TTL = 60;
export const MAX_CACHE_TTL = 2_592_000;
const TTL = `must be 0 (no cache) or a whole number of seconds from ${MIN_CACHE_TTL} to ${MAX_CACHE_TTL}`;
/** The gap between 0 and 60: the one part of a TTL with no JSON Schema form of its own (see CACHE_TTL_JSON_SCHEMA). */
export const CACHE_TTL_RULE = v.check((t: number) => t === 0 || t >= MIN_CACHE_TTL, TTL);
export const CacheTtlSchema = v.pipe(v.number(TTL), v.integer(TTL), v.minValue(0, TTL), v.maxValue(MAX_CACHE_TTL, TTL), CACHE_TTL_RULE);
/** CacheTtlSchema as JSON Schema. */
export const CACHE_TTL_JSON_SCHEMA = {
  anyOf: [{ const: 0 }, { type: "integer", minimum: MIN_CACHE_TTL, maximum: MAX_CACHE_TTL }],
} as const;

const ORIGIN = "is not an origin like https://app.example.com (scheme and host, no path)";

function isOrigin(s: string): boolean {
  if (s === "*") return true;
  try {
    const u = new URL(s);
    return u.origin === s && (u.protocol === "https:" || u.protocol === "http:");
  } catch {
    return false;
  }
}

const TargetSchema = object({ provider: oneOf(PROVIDERS), model: text() });

const ExperimentSchema = object({
  /** Variant name, reported as x-ai-variant and in gateway metadata. */
  name: v.pipe(text(), v.regex(/^[A-Za-z0-9_.-]{1,40}$/, "must be 1-40 letters, digits, '_', '.' or '-'")),
  /** Relative weight; a client lands in a variant with probability weight / sum(weights). */
  weight: int(0, 1_000_000),
  /** Tried first for clients in this variant; the fallback chain follows. */
  target: TargetSchema,
});

const ModelList = v.optional(
  refine(list(text()), (models, fail) => {
    if (firstRepeat(models, (m) => m) !== undefined) fail([], "lists a model twice");
  }),
  [],
);

export const RoutingSchema = refine(
  object({
    /** Models a client may name, per provider surface (/v1/messages: anthropic, /v1/chat/completions: openai). */
    models: object({ anthropic: ModelList, openai: ModelList, "workers-ai": ModelList } satisfies Record<ProviderName, unknown>),
    chat: object({
      /** Ordered providers for /api/chat; tried in turn on 429, 5xx, timeout or a stream that fails before its first token. */
      fallback: v.pipe(list(TargetSchema), v.minLength(1, "must name at least one provider")),
      /** Sticky A/B split per client. Empty: every client is in variant "default" and uses the chain as declared. */
      experiments: v.optional(
        refine(list(ExperimentSchema), (experiments, fail) => {
          if (firstRepeat(experiments, (e) => e.name) !== undefined) fail([], "names a variant twice");
          else if (experiments.length > 0 && experiments.every((e) => e.weight === 0))
            fail([], "must give at least one variant a weight above 0");
        }),
        [],
      ),
      /** max_tokens sent upstream for /api/chat. */
      maxTokens: v.optional(int(1, 200_000), 1024),
    }),
    /** Gateway cache TTL in seconds per surface; 0 = do not cache. */
    cacheTtl: object({ messages: CacheTtlSchema, chatCompletions: CacheTtlSchema, chat: CacheTtlSchema }),
    limits: object({ maxRequestBytes: int(1024, 100 * 1024 * 1024) }),
    timeouts: refine(object({ attemptMs: int(100, 600_000), totalMs: int(100, 900_000) }), (t, fail) => {
      if (t.totalMs < t.attemptMs) fail(["totalMs"], "must be at least timeouts.attemptMs", t.totalMs);
    }),
    cors: v.optional(object({ allowOrigins: v.optional(list(v.pipe(text(), v.check(isOrigin, ORIGIN))), []) }), {}),
  }),
  // Every target names a model its provider lists, so a typo cannot send traffic to a model nobody reviewed.
  (r, fail) => {
    const check = (t: { provider: ProviderName; model: string }, keys: (string | number)[]) => {
      if (!r.models[t.provider].includes(t.model)) fail([...keys, "model"], `is not listed in models.${t.provider}`, t.model);
    };
    for (const [i, t] of r.chat.fallback.entries()) check(t, ["chat", "fallback", i]);
    for (const [i, e] of r.chat.experiments.entries()) check(e.target, ["chat", "experiments", i, "target"]);
  },
);

export type Routing = v.InferOutput<typeof RoutingSchema>;
export type Target = v.InferOutput<typeof TargetSchema>;
export type Experiment = v.InferOutput<typeof ExperimentSchema>;

/** Validates a ROUTING value; throws ContractError naming the first bad field. */
export function parseRouting(input: unknown): Routing {
  return parseWith(RoutingSchema, input);
}
