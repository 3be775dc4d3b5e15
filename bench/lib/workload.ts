/**
 * Request bodies for the benchmarks: unique bodies for the cache-miss path, and a replayed workload with the variation
 * real clients produce (key order, whitespace, per-call fields such as Anthropic `metadata.user_id` or OpenAI `user`)
 * to compare the Worker's canonical cache keys with exact-match keys. Seeded, so every run replays the same calls.
 */

export type Surface = "messages" | "chatCompletions";

/** How a replayed call differs from its base request. */
export const VARIATIONS = ["identical", "keyOrder", "whitespace", "perCallField", "combined"] as const;
export type Variation = (typeof VARIATIONS)[number];

/** Models the local Worker config allows (worker/wrangler.jsonc ROUTING.models). */
export const BENCH_MODELS = { messages: "claude-haiku-4-5", chatCompletions: "gpt-5.4-mini" } as const;

export interface ReplayCall {
  /** Index of the base request: calls with the same surface and base ask the same question. */
  readonly base: number;
  readonly surface: Surface;
  readonly variation: Variation;
  /** The exact bytes sent. */
  readonly body: string;
}

export interface ReplayOptions {
  readonly seed: number;
  readonly calls: number;
  /** Distinct questions per surface. */
  readonly bases: number;
  readonly surfaces?: readonly Surface[];
  /** Share of each variation; defaults to an even-ish mix. Need not sum to 1. */
  readonly mix?: Readonly<Record<Variation, number>>;
  /** Distinct end users behind the per-call field. */
  readonly users?: number;
}

const DEFAULT_MIX: Record<Variation, number> = {
  identical: 0.25,
  keyOrder: 0.2,
  whitespace: 0.2,
  perCallField: 0.2,
  combined: 0.15,
};

/** mulberry32: a tiny seeded PRNG, good enough to shuffle keys and pick requests reproducibly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The base request for question `i` on a surface: what an app would send, in the SDK's own key order. */
export function baseRequest(surface: Surface, i: number, opts: { stream?: boolean; tag?: string } = {}): Record<string, unknown> {
  const question = `${opts.tag ?? "Question"} ${i}: summarise the trade-offs of option ${i % 7} in two sentences.`;
  if (surface === "messages") {
    return {
      model: BENCH_MODELS.messages,
      max_tokens: 256,
      system: "You are a concise assistant.",
      messages: [{ role: "user", content: question }],
      temperature: 0,
      ...(opts.stream ? { stream: true } : {}),
    };
  }
  return {
    model: BENCH_MODELS.chatCompletions,
    messages: [
      { role: "system", content: "You are a concise assistant." },
      { role: "user", content: question },
    ],
    max_completion_tokens: 256,
    temperature: 0,
    ...(opts.stream ? { stream: true } : {}),
  };
}

/** A body no earlier call has sent: every request on the miss path asks a new question. */
export function uniqueBody(surface: Surface, n: number, opts: { stream?: boolean; tag?: string } = {}): string {
  return JSON.stringify(baseRequest(surface, n, { ...opts, tag: opts.tag ?? "Unique" }));
}

/** A body for the app endpoint POST /api/chat (`{messages, stream?}`) no earlier call has sent. */
export function uniqueChatBody(n: number, opts: { stream?: boolean } = {}): string {
  const question = `Unique ${n}: summarise the trade-offs of option ${n % 7} in two sentences.`;
  return JSON.stringify({ messages: [{ role: "user", content: question }], ...(opts.stream ? { stream: true } : {}) });
}

/** A deep copy with every object's keys in a random order; array order is kept (it changes the meaning). */
export function shuffleKeys(value: unknown, rand: () => number): unknown {
  if (Array.isArray(value)) return value.map((v) => shuffleKeys(v, rand));
  if (value === null || typeof value !== "object") return value;
  const keys = Object.keys(value);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = shuffleKeys((value as Record<string, unknown>)[k], rand);
  return out;
}

export const WHITESPACE_STYLES = ["compact", "indent2", "tabs", "spaced"] as const;
export type WhitespaceStyle = (typeof WHITESPACE_STYLES)[number];

/** Serialises with insignificant whitespace in one of the ways HTTP clients and hand-written requests do. */
export function formatJson(value: unknown, style: WhitespaceStyle): string {
  switch (style) {
    case "compact":
      return JSON.stringify(value);
    case "indent2":
      return JSON.stringify(value, null, 2);
    case "tabs":
      return `${JSON.stringify(value, null, "\t")}\n`;
    case "spaced":
      // Python's json.dumps default: a space after every comma and colon outside strings.
      return spaceOutside(JSON.stringify(value));
  }
}

function spaceOutside(compact: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < compact.length; i++) {
    const ch = compact[i]!;
    out += ch;
    if (inString) {
      if (ch === "\\") out += compact[++i] ?? "";
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "," || ch === ":") out += " ";
  }
  return out;
}

/** Adds the per-call field each API has for the end user: it identifies the caller, it does not change the answer. */
export function withPerCallField(surface: Surface, body: Record<string, unknown>, user: string): Record<string, unknown> {
  return surface === "messages" ? { ...body, metadata: { user_id: user } } : { ...body, user };
}

/** Picks an index in [0, n) with Zipf-like popularity (weight 1/(rank+1)): a few questions are asked often. */
function zipfPicker(n: number, rand: () => number): () => number {
  const cumulative: number[] = [];
  let total = 0;
  for (let i = 0; i < n; i++) cumulative.push((total += 1 / (i + 1)));
  return () => {
    const x = rand() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

function pickVariation(mix: Readonly<Record<Variation, number>>, rand: () => number): Variation {
  const total = VARIATIONS.reduce((s, v) => s + Math.max(0, mix[v]), 0);
  let x = rand() * total;
  for (const v of VARIATIONS) {
    x -= Math.max(0, mix[v]);
    if (x < 0) return v;
  }
  return VARIATIONS[VARIATIONS.length - 1]!;
}

/** The replayed workload: `calls` requests over `bases` questions per surface, each with one kind of variation. */
export function generateReplay(opts: ReplayOptions): ReplayCall[] {
  const rand = seededRandom(opts.seed);
  const surfaces = opts.surfaces ?? (["messages", "chatCompletions"] as const);
  const mix = opts.mix ?? DEFAULT_MIX;
  const users = opts.users ?? 50;
  const pickBase = zipfPicker(opts.bases, rand);
  const calls: ReplayCall[] = [];
  for (let n = 0; n < opts.calls; n++) {
    const surface = surfaces[Math.floor(rand() * surfaces.length)]!;
    const base = pickBase();
    const variation = pickVariation(mix, rand);
    const request = baseRequest(surface, base);
    const user = `user-${Math.floor(rand() * users)}`;
    let body: string;
    switch (variation) {
      case "identical":
        body = JSON.stringify(request);
        break;
      case "keyOrder":
        body = JSON.stringify(shuffleKeys(request, rand));
        break;
      case "whitespace":
        body = formatJson(request, WHITESPACE_STYLES[Math.floor(rand() * WHITESPACE_STYLES.length)]!);
        break;
      case "perCallField":
        body = JSON.stringify(withPerCallField(surface, request, user));
        break;
      case "combined": {
        const varied = shuffleKeys(withPerCallField(surface, request, user), rand);
        body = formatJson(varied, WHITESPACE_STYLES[Math.floor(rand() * WHITESPACE_STYLES.length)]!);
        break;
      }
    }
    calls.push({ base, surface, variation, body });
  }
  return calls;
}

export interface HitCounts {
  readonly calls: number;
  readonly hits: number;
}

/**
 * Hits an unbounded cache would serve if requests were keyed by `key`: every call whose key an earlier call already
 * used. With `key` = the raw body this is the exact-match cache; with `key` = the question it is the best possible.
 */
export function expectedHits<T>(calls: readonly T[], key: (c: T) => string, filter?: (c: T) => boolean): HitCounts {
  const seen = new Set<string>();
  let hits = 0;
  let counted = 0;
  for (const c of calls) {
    const k = key(c);
    if (!filter || filter(c)) {
      counted++;
      if (seen.has(k)) hits++;
    }
    seen.add(k);
  }
  return { calls: counted, hits };
}

/** Exact-match key: the bytes on the wire (what a gateway without a custom key compares). */
export const exactKey = (c: ReplayCall): string => `${c.surface}\n${c.body}`;
/** Ideal key: the question itself, ignoring every variation that does not change the answer. */
export const idealKey = (c: ReplayCall): string => `${c.surface}\n${c.base}`;
