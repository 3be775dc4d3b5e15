/**
 * Pure pricing: what a usage costs on a model, the worst case a request can cost before it is sent, the usage fields of
 * each provider's answers in one shape, and the budget windows (UTC day, calendar month) with their resets.
 * Money is counted in whole nano-dollars (1e-9 USD) so that sums, leases and limits compare exactly: a token of the
 * cheapest model costs a few hundredths of a micro-dollar, and 2^53 nano-dollars is still nine million dollars.
 */
import type { EstimateSettings, Price } from "../contract/budgets";

/** Whole nano-dollars. */
export type Nanos = number;
export const NANOS_PER_USD = 1_000_000_000;

export function toNanos(usd: number): Nanos {
  return Math.round(usd * NANOS_PER_USD);
}

export function toUsd(nanos: Nanos): number {
  return nanos / NANOS_PER_USD;
}

/** Tokens of one call, split the way providers bill them. `input` excludes cache reads and writes. */
export interface Usage {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

export const NO_USAGE: Usage = Object.freeze({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0 });

/** USD per million tokens x tokens = tokens x price x 1000 nano-dollars; rounded up so a charge is never short. */
export function costNanos(price: Price, usage: Usage): Nanos {
  const raw =
    usage.input * price.inputPerMTok +
    usage.output * price.outputPerMTok +
    usage.cacheRead * price.cacheReadPerMTok +
    usage.cacheWrite * price.cacheWritePerMTok;
  // The epsilon keeps float noise (0.1 * 3 = 0.30000000000000004) from adding a nano-dollar.
  return Math.max(0, Math.ceil(raw * 1000 - 1e-6));
}

/** What the Worker knows about a request before sending it. */
export interface RequestShape {
  /** Size of the request body as sent upstream. */
  bodyBytes: number;
  /** The request's own output cap (max_tokens, max_completion_tokens), if it names one. */
  maxTokens?: number;
  /** Image, document, file and audio parts, whose tokens their bytes do not bound. */
  attachments?: number;
}

/** Input tokens a request can be billed for at most, by the estimate settings (see schema.ts for the bound). */
export function worstInputTokens(shape: RequestShape, estimate: EstimateSettings): number {
  return (
    Math.ceil(shape.bodyBytes / estimate.bytesPerToken) + estimate.overheadTokens + (shape.attachments ?? 0) * estimate.attachmentTokens
  );
}

/**
 * The most a request can cost: every input token at the dearest input rate (a prompt may be written to the cache,
 * which costs more than plain input) plus the whole output cap at the output price.
 */
export function worstCaseNanos(price: Price, shape: RequestShape, estimate: EstimateSettings): Nanos {
  const inputRate = Math.max(price.inputPerMTok, price.cacheWritePerMTok, price.cacheReadPerMTok);
  const output = shape.maxTokens ?? estimate.defaultMaxOutputTokens;
  return costNanos(
    { inputPerMTok: inputRate, outputPerMTok: price.outputPerMTok, cacheReadPerMTok: 0, cacheWritePerMTok: 0 },
    {
      input: worstInputTokens(shape, estimate),
      output,
      cacheRead: 0,
      cacheWrite: 0,
    },
  );
}

/** An upper bound on output tokens already streamed: no token is shorter than a byte. */
export function streamedOutputNanos(price: Price, streamedTextBytes: number): Nanos {
  return costNanos(price, { input: 0, output: streamedTextBytes, cacheRead: 0, cacheWrite: 0 });
}

const ATTACHMENT_TYPES = new Set(["image", "document", "image_url", "input_image", "input_file", "file", "input_audio", "audio"]);

/** Counts content parts whose cost their bytes do not bound (Anthropic image/document, OpenAI image_url/file/audio). */
export function countAttachments(body: unknown, depth = 0): number {
  if (depth > 12 || body === null || typeof body !== "object") return 0;
  if (Array.isArray(body)) return body.reduce((n: number, x) => n + countAttachments(x, depth + 1), 0);
  const o = body as Record<string, unknown>;
  let n = typeof o.type === "string" && ATTACHMENT_TYPES.has(o.type) ? 1 : 0;
  for (const [k, x] of Object.entries(o)) {
    // An image part's own source (base64 data) holds no further parts.
    if (n === 1 && (k === "source" || k === "image_url" || k === "file" || k === "input_audio")) continue;
    n += countAttachments(x, depth + 1);
  }
  return n;
}

/**
 * The output cap a request names (Anthropic max_tokens, OpenAI max_completion_tokens or the older max_tokens), for
 * all its choices: OpenAI's `n` asks for that many answers, each up to the cap.
 * https://platform.openai.com/docs/api-reference/chat/create (n, max_completion_tokens)
 */
export function requestedMaxTokens(body: unknown): number | undefined {
  if (body === null || typeof body !== "object") return undefined;
  const o = body as Record<string, unknown>;
  const n = typeof o.n === "number" && Number.isInteger(o.n) && o.n > 1 ? o.n : 1;
  for (const k of ["max_tokens", "max_completion_tokens", "max_output_tokens"]) {
    const x = o[k];
    if (typeof x === "number" && Number.isInteger(x) && x > 0) return x * n;
  }
  return undefined;
}

function count(x: unknown): number {
  return typeof x === "number" && Number.isFinite(x) && x > 0 ? Math.floor(x) : 0;
}

/**
 * Anthropic's `usage` (JSON answer, message_start's message.usage, message_delta's usage): input_tokens excludes the
 * cache reads and writes, which come separately.
 * https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching#tracking-cache-performance
 */
export function anthropicUsage(u: unknown): Usage {
  const o = (u ?? {}) as Record<string, unknown>;
  return {
    input: count(o.input_tokens),
    output: count(o.output_tokens),
    cacheRead: count(o.cache_read_input_tokens),
    cacheWrite: count(o.cache_creation_input_tokens),
  };
}

/**
 * OpenAI's (and Workers AI's OpenAI-shaped) `usage`: prompt_tokens includes the cached ones, reported again in
 * prompt_tokens_details.cached_tokens; OpenAI does not charge for cache writes.
 */
export function openaiUsage(u: unknown): Usage {
  const o = (u ?? {}) as Record<string, unknown>;
  const details = (o.prompt_tokens_details ?? {}) as Record<string, unknown>;
  const prompt = count(o.prompt_tokens ?? o.input_tokens);
  const cached = Math.min(prompt, count(details.cached_tokens));
  return { input: prompt - cached, output: count(o.completion_tokens ?? o.output_tokens), cacheRead: cached, cacheWrite: 0 };
}

/**
 * Folds a stream's usage events: Anthropic's message_delta carries cumulative counts and message_start the input
 * side, so the largest value seen per field is the total.
 */
export function foldUsage(a: Usage, b: Usage): Usage {
  return {
    input: Math.max(a.input, b.input),
    output: Math.max(a.output, b.output),
    cacheRead: Math.max(a.cacheRead, b.cacheRead),
    cacheWrite: Math.max(a.cacheWrite, b.cacheWrite),
  };
}

// ---- Windows ------------------------------------------------------------------------------------------------------

export type WindowName = "day" | "month";

/** "2026-11-05": the UTC day an instant falls in. */
export function utcDay(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** "2026-11": the UTC calendar month an instant falls in. */
export function utcMonth(at: number): string {
  return new Date(at).toISOString().slice(0, 7);
}

/** The instant a window that contains `at` ends (next 00:00Z, or the first of next month at 00:00Z). */
export function windowReset(window: WindowName, at: number): number {
  const d = new Date(at);
  return window === "day"
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** First and last UTC day of the month `at` falls in. */
export function monthDays(at: number): { first: string; last: string } {
  const reset = windowReset("month", at);
  return { first: `${utcMonth(at)}-01`, last: utcDay(reset - 1) };
}

/** RFC 3339 in UTC, whole seconds: "2026-11-06T00:00:00Z". */
export function rfc3339(at: number): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Whole seconds from `now` until `at`, at least 1 (a Retry-After of 0 invites a tight loop). */
export function secondsUntil(at: number, now: number): number {
  return Math.max(1, Math.ceil((at - now) / 1000));
}
