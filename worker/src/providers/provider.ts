/**
 * What a provider is to the Worker: a path behind the gateway, its own auth, and how its wire format maps to and from
 * /api/chat. Each provider is one object in its own file; adding a provider touches that file and the registry.
 */
import type { ProviderName } from "../contract/routing";

export interface Usage {
  input: number;
  output: number;
}

/** One /api/chat message, already validated. */
export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** A complete (non-streaming) answer. */
export interface Answer {
  text: string;
  usage: Usage;
}

export interface SseEvent {
  event: string | undefined;
  data: string;
}

/**
 * What one upstream SSE event means. `done`: the provider's end-of-stream marker (a stream that stops without it was
 * cut short). `error`: the provider reported a failure inside the stream.
 */
export interface StreamPiece {
  text?: string;
  usage?: Partial<Usage>;
  done?: boolean;
  error?: boolean;
}

export interface UpstreamCall {
  env: Env;
  fetch: typeof fetch;
  model: string;
  /** The provider-format request body (model included where the provider expects it). */
  body: Record<string, unknown>;
  /** Gateway headers plus any client headers the provider should see. */
  headers: Record<string, string>;
  signal: AbortSignal;
  timeoutMs: number;
}

export interface Provider {
  readonly name: ProviderName;
  /**
   * Body fields that are per-call bookkeeping, not part of the question, so they are left out of the cache key:
   * two requests that differ only there get the same answer.
   */
  readonly volatileFields: readonly string[];
  /** One call through the gateway. Resolves with the gateway's response whatever its status; rejects on network failure or abort. */
  send(call: UpstreamCall): Promise<Response>;
  /** The upstream body for an /api/chat conversation. */
  chatBody(messages: readonly ChatMessage[], model: string, maxTokens: number, stream: boolean): Record<string, unknown>;
  /** Text and usage of a JSON answer; undefined when the body is not this provider's shape. */
  readAnswer(body: unknown): Answer | undefined;
  /** Meaning of one SSE event of a streamed answer; undefined when the event is not this provider's shape. */
  readEvent(ev: SseEvent): StreamPiece | undefined;
  /** Type and message of an error body in this provider's format, if it is one. */
  readError(body: unknown): { type: string; message: string } | undefined;
  /** An SSE event in this provider's dialect that makes its SDK raise, for a pass-through stream that fails midway. */
  sseError(message: string): string;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function count(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** JSON.parse that answers undefined instead of throwing. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A POST through plain fetch, for the providers that need no SDK. */
export function postJson(call: UpstreamCall, url: string, auth: Record<string, string>): Promise<Response> {
  return call.fetch(url, {
    method: "POST",
    headers: { ...call.headers, ...auth, "content-type": "application/json" },
    body: JSON.stringify(call.body),
    signal: call.signal,
  });
}
