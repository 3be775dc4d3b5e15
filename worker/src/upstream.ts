/**
 * One call through the gateway, shared by every route: the gateway headers for it, what an upstream status means,
 * and reading an upstream SSE body under a timeout (event by event for /api/chat, byte for byte for the
 * pass-through surfaces).
 */
import type { Context } from "hono";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";
import { cacheKey, cachePlan, gatewayHeaders, without, type CachePlan, type Metadata } from "./gateway";
import type { Provider, SseEvent, StreamPiece, Usage } from "./providers/provider";
import { isRecord, parseJson } from "./providers/provider";
import { redact } from "./redact";
import { SseParser, TimeoutError, within } from "./sse";
import { IN, type Surface } from "./wire";

export interface PreparedCall {
  headers: Record<string, string>;
  plan: CachePlan;
}

/** Gateway headers (auth, metadata, cache) for one attempt of this request. */
export async function prepareCall(
  c: Context<AppEnv>,
  o: { surface: Surface; provider: Provider; model: string; body: Record<string, unknown>; forwarded: Record<string, string>; variant: string; feature: string; attemptMs: number },
): Promise<PreparedCall> {
  const client = c.get("client");
  const plan = cachePlan(c.get("routing").cacheTtl[o.surface], c.req.header(IN.cacheControl));
  const key = plan.skip
    ? ""
    : await cacheKey({ client, surface: o.surface, provider: o.provider.name, model: o.model, headers: o.forwarded, body: without(o.body, o.provider.volatileFields) });
  const meta: Metadata = { client, feature: o.feature, variant: o.variant, stack: c.env.STACK, requestId: c.get("requestId") };
  return { headers: { ...gatewayHeaders(c.env, meta, plan, key, o.attemptMs), ...o.forwarded }, plan };
}

/** Upstream statuses worth another provider (or a later retry): rate limits, overload, server errors, timeouts. */
export function isTransient(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Short label for the log's `tried` list. */
export function failureLabel(e: unknown): string {
  return e instanceof TimeoutError ? "timeout" : "network";
}

function retryAfterOf(res: Response): number | undefined {
  const v = Number(res.headers.get("retry-after"));
  return Number.isInteger(v) && v > 0 && v <= 3600 ? v : undefined;
}

/**
 * A non-2xx answer on a pass-through surface, as the client should see it. The provider's own 4xx type and message
 * pass through (scrubbed), since SDK users rely on them; credentials problems are the operator's, so they become a
 * 502; overload and server errors become 503/502 with our own message.
 */
export async function passThroughError(res: Response, provider: Provider, env: Env): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  const upstream = provider.readError(parseJson(text));
  const detail = `${provider.name} answered ${res.status}${upstream ? ` (${upstream.type}: ${redact(upstream.message, env, 200)})` : ""}`;
  const s = res.status;
  if (s === 429) return new ApiError(429, "rate_limited", "The model provider is rate limiting requests; retry later.", { retryAfter: retryAfterOf(res), detail });
  if (s === 408 || s === 504) return new ApiError(504, "upstream_timeout", "The model provider did not answer in time.", { detail });
  if (s === 401 || s === 403) return new ApiError(502, "upstream_error", "The model provider refused this service's credentials; the operator has been told.", { detail });
  if (s === 503 || s === 529) return new ApiError(503, "upstream_unavailable", "The model provider is overloaded; retry later.", { retryAfter: retryAfterOf(res), detail });
  if (s >= 500 || s < 400) return new ApiError(502, "upstream_error", "The model provider failed to answer.", { detail });
  return new ApiError(s, "upstream_rejected", upstream ? redact(upstream.message, env) : `The model provider rejected the request (HTTP ${s}).`, {
    providerType: upstream?.type,
    detail,
  });
}

export function mergeUsage(into: Usage, piece: Partial<Usage> | undefined): void {
  if (piece?.input !== undefined) into.input = piece.input;
  if (piece?.output !== undefined) into.output = piece.output;
}

/** Usage of a JSON answer on a pass-through surface (both providers call the counters `usage`). */
export function usageOfAnswer(provider: Provider, body: unknown): Usage | null {
  return isRecord(body) ? (provider.readAnswer(body)?.usage ?? null) : null;
}

/**
 * An upstream SSE body read event by event, each read bounded by a timeout. `next` answers the meaning of the next
 * event, "end" when the body is over, or { error } when the event is not the provider's shape.
 */
export class UpstreamEvents {
  private readonly reader: ReadableStreamDefaultReader<string>;
  private readonly parser = new SseParser();
  private readonly queue: SseEvent[] = [];
  private ended = false;

  constructor(
    body: ReadableStream<Uint8Array>,
    private readonly provider: Provider,
    private readonly controller: AbortController,
  ) {
    this.reader = body.pipeThrough(new TextDecoderStream()).getReader();
  }

  async next(timeoutMs: number): Promise<StreamPiece | "end"> {
    while (this.queue.length === 0) {
      if (this.ended) return "end";
      const r = await within(this.reader.read(), timeoutMs, this.controller);
      if (r.done) {
        this.ended = true;
        this.queue.push(...this.parser.end());
      } else {
        this.queue.push(...this.parser.push(r.value));
      }
    }
    return this.provider.readEvent(this.queue.shift()!) ?? { error: true };
  }

  cancel(): void {
    this.controller.abort();
    this.reader.cancel().catch(() => {});
  }
}

export interface RelayOutcome {
  usage: Usage;
  /** Why the stream ended early, if it did. */
  error: string | null;
}

/**
 * Passes an upstream SSE body through unchanged while watching it for usage and its end marker. If it stalls for
 * idleMs, fails, or stops before the provider's end marker, the client gets an error event in the provider's own
 * dialect (so its SDK raises) instead of a silently truncated answer.
 */
export function relay(
  body: ReadableStream<Uint8Array>,
  provider: Provider,
  idleMs: number,
  controller: AbortController,
  onEnd: (outcome: RelayOutcome) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  const encoder = new TextEncoder();
  const usage: Usage = { input: 0, output: 0 };
  let sawEnd = false;
  let sawError = false;
  let finished = false;

  const finish = (error: string | null) => {
    if (finished) return;
    finished = true;
    onEnd({ usage, error });
  };
  const watch = (events: SseEvent[]) => {
    for (const ev of events) {
      const piece = provider.readEvent(ev);
      mergeUsage(usage, piece?.usage);
      if (piece?.done) sawEnd = true;
      if (piece?.error) sawError = true;
    }
  };

  return new ReadableStream<Uint8Array>({
    async pull(out) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await within(reader.read(), idleMs, controller);
      } catch (e) {
        const why = e instanceof TimeoutError ? "stalled" : "failed";
        reader.cancel().catch(() => {});
        // A blank line first closes any event the upstream left half-written.
        out.enqueue(encoder.encode(`\n\n${provider.sseError(`The upstream stream ${why} before it finished.`)}`));
        out.close();
        finish(`stream_${why}`);
        return;
      }
      if (r.done) {
        watch(parser.push(decoder.decode()));
        watch(parser.end());
        if (!sawEnd && !sawError) {
          out.enqueue(encoder.encode(`\n\n${provider.sseError("The upstream stream ended before it finished.")}`));
          finish("stream_truncated");
        } else {
          finish(sawError ? "stream_error_event" : null);
        }
        out.close();
        return;
      }
      out.enqueue(r.value);
      watch(parser.push(decoder.decode(r.value, { stream: true })));
    },
    cancel() {
      controller.abort();
      reader.cancel().catch(() => {});
      finish("client_closed");
    },
  });
}
