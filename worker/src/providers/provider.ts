/**
 * What a provider is to the Worker: a path behind the gateway, its own auth, and how its wire format maps to and from
 * /api/chat. Each provider is one object in its own file; adding a provider touches that file and the registry.
 */
import type { EventSourceMessage as SseEvent } from "eventsource-parser";
import type { Usage as Billed } from "../budget/cost";
import type { ProviderName } from "../contract/routing";

export type { Billed, SseEvent };

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

/**
 * What one upstream SSE event means. `done`: the provider's end-of-stream marker (a stream that stops without it was
 * cut short). `error`: the provider reported a failure inside the stream.
 */
export interface StreamPiece {
  text?: string;
  usage?: Partial<Usage>;
  done?: boolean;
  error?: boolean;
  /** The event's usage split the way the provider bills it (cache reads and writes apart), for the budget. */
  billed?: Billed;
  /** The event carries usage and nothing else (OpenAI's include_usage chunk, whose choices are empty). */
  usageOnly?: boolean;
}

export interface ProviderError {
  type: string;
  message: string;
  code?: string | number;
}

export interface Provider {
  readonly name: ProviderName;
  /**
   * Body fields that are per-call bookkeeping, not part of the question, so they are left out of the cache key:
   * two requests that differ only there get the same answer.
   */
  readonly volatileFields: readonly string[];
  /** The path after the gateway's `{base}/{account}/{gateway}` for a model. */
  path(model: string): string;
  /** Headers the provider's API needs that a client may also send itself (the client's value wins). */
  readonly defaultHeaders: Readonly<Record<string, string>>;
  /** The upstream body for an /api/chat conversation. */
  chatBody(messages: readonly ChatMessage[], model: string, maxTokens: number, stream: boolean): Record<string, unknown>;
  /** Text and usage of a JSON answer; undefined when the body is not this provider's shape. */
  readAnswer(body: unknown): Answer | undefined;
  /** A JSON answer's usage split the way the provider bills it, for the budget. */
  billed(body: unknown): Billed | undefined;
  /** Whether a streamed event can carry usage, the end marker or an error (only those are parsed when passing through). */
  watches(ev: SseEvent): boolean;
  /** Meaning of one SSE event of a streamed answer; undefined when the event is not this provider's shape. */
  readEvent(ev: SseEvent): StreamPiece | undefined;
  /** Type, message and code of an error body in this provider's format, if it is one. */
  readError(body: unknown): ProviderError | undefined;
  /** Whether an error answer says the model no longer exists (retired), so the next step should be tried. */
  retired(status: number, error: ProviderError | undefined): boolean;
  /**
   * An SSE event in this provider's dialect that makes its SDK raise, for a pass-through stream that fails midway;
   * `type` names the error (default: the provider's generic server error).
   */
  sseError(message: string, type?: string): string;
  /**
   * A complete JSON answer re-emitted as this provider's stream events, for a streaming request the gateway answered
   * with one body (response guardrails buffer streams); undefined when the body is not this provider's shape.
   */
  answerAsSse(body: unknown): string | undefined;
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

/** One SSE event as text. */
export function sseEvent(data: unknown, event?: string): string {
  return `${event ? `event: ${event}\n` : ""}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
}

/** The first {code, message} of Cloudflare's error envelope ({success:false, errors|error:[…]}), if the body is one. */
export function cloudflareError(body: unknown): { code: number | undefined; message: string } | undefined {
  if (!isRecord(body) || body.success !== false) return undefined;
  const list = Array.isArray(body.errors) ? body.errors : Array.isArray(body.error) ? body.error : undefined;
  const first: unknown = list?.[0];
  if (!isRecord(first)) return { code: undefined, message: "" };
  return { code: typeof first.code === "number" ? first.code : undefined, message: typeof first.message === "string" ? first.message : "" };
}
