/**
 * Anthropic Messages through the gateway, sent with plain fetch and typed with the official SDK's own types (type
 * imports only: no SDK code in the bundle). The Worker passes bodies and streams through byte for byte, so the SDK's
 * client added only its request building on top of fetch: measured in docs/performance.md.
 */
import type { Message, MessageCreateParams, RawMessageStreamEvent } from "@anthropic-ai/sdk/resources/messages/messages";
import { anthropicUsage } from "../budget/cost";
import { count, isRecord, type Provider, parseJson, sseEvent } from "./provider";

/** The API version the SDK sends; a client's own anthropic-version header wins. */
const API_VERSION = "2023-06-01";

/** Stream events that carry usage, the end or an error; content deltas pass through unparsed. */
const WATCHED = new Set(["message_start", "message_delta", "message_stop", "error"]);

function blockEvents(block: unknown, index: number): RawMessageStreamEvent[] {
  if (!isRecord(block)) return [];
  const stop = { type: "content_block_stop", index } as const;
  if (block.type === "text" && typeof block.text === "string") {
    return [
      { type: "content_block_start", index, content_block: { type: "text", text: "", citations: null } },
      { type: "content_block_delta", index, delta: { type: "text_delta", text: block.text } },
      stop,
    ] as RawMessageStreamEvent[];
  }
  if (block.type === "tool_use") {
    return [
      { type: "content_block_start", index, content_block: { ...block, input: {} } },
      { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: JSON.stringify(block.input ?? {}) } },
      stop,
    ] as RawMessageStreamEvent[];
  }
  // Other blocks (thinking, server tools) arrive whole in their start event.
  return [{ type: "content_block_start", index, content_block: block }, stop] as RawMessageStreamEvent[];
}

export const anthropic: Provider = {
  name: "anthropic",
  // metadata.user_id is for Anthropic's abuse tracking; it does not change the answer.
  volatileFields: ["metadata"],
  defaultHeaders: { "anthropic-version": API_VERSION },

  path: () => "/anthropic/v1/messages",

  chatBody(messages, model, maxTokens, stream) {
    const system = messages.filter((m) => m.role === "system").map((m) => m.content);
    const body: MessageCreateParams = {
      model,
      max_tokens: maxTokens,
      ...(system.length > 0 ? { system: system.join("\n\n") } : {}),
      messages: messages.filter((m) => m.role !== "system").map((m) => ({ role: m.role as "user" | "assistant", content: m.content })),
      ...(stream ? { stream: true } : {}),
    };
    return body as unknown as Record<string, unknown>;
  },

  readAnswer(body) {
    if (!isRecord(body) || body.type !== "message" || !Array.isArray(body.content) || !isRecord(body.usage)) return undefined;
    let text = "";
    for (const block of body.content) if (isRecord(block) && block.type === "text" && typeof block.text === "string") text += block.text;
    return { text, usage: { input: count(body.usage.input_tokens) ?? 0, output: count(body.usage.output_tokens) ?? 0 } };
  },

  billed: (body) => (isRecord(body) && isRecord(body.usage) ? anthropicUsage(body.usage) : undefined),

  watches: (ev) => ev.event !== undefined && WATCHED.has(ev.event),

  readEvent(ev) {
    const data = parseJson(ev.data);
    if (!isRecord(data)) return undefined;
    switch (data.type) {
      case "message_start": {
        const usage = isRecord(data.message) && isRecord(data.message.usage) ? data.message.usage : {};
        return { usage: { input: count(usage.input_tokens), output: count(usage.output_tokens) }, billed: anthropicUsage(usage) };
      }
      case "content_block_delta": {
        const d = data.delta;
        return isRecord(d) && d.type === "text_delta" && typeof d.text === "string" ? { text: d.text } : {};
      }
      case "message_delta": {
        const usage = isRecord(data.usage) ? data.usage : {};
        return { usage: { input: count(usage.input_tokens), output: count(usage.output_tokens) }, billed: anthropicUsage(usage) };
      }
      case "message_stop":
        return { done: true };
      case "error":
        return { error: true };
      default:
        return {};
    }
  },

  readError(body) {
    if (!isRecord(body) || !isRecord(body.error)) return undefined;
    const { type, message } = body.error;
    return typeof type === "string" && typeof message === "string" ? { type, message } : undefined;
  },

  // A retired model answers 404 not_found_error naming the model.
  retired: (status, error) => status === 404 && error?.type === "not_found_error" && /model/i.test(error.message),

  sseError(message, type = "api_error") {
    return sseEvent({ type: "error", error: { type, message } }, "error");
  },

  answerAsSse(body) {
    if (!isRecord(body) || body.type !== "message" || !Array.isArray(body.content)) return undefined;
    const message = body as unknown as Message;
    const usage = isRecord(body.usage) ? body.usage : {};
    const events: RawMessageStreamEvent[] = [
      {
        type: "message_start",
        message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: { ...message.usage, output_tokens: 0 } },
      },
      ...body.content.flatMap(blockEvents),
      {
        type: "message_delta",
        delta: { stop_reason: message.stop_reason, stop_sequence: message.stop_sequence ?? null },
        usage: { output_tokens: count(usage.output_tokens) ?? 0 },
      } as RawMessageStreamEvent,
      { type: "message_stop" },
    ];
    return events.map((e) => sseEvent(e, e.type)).join("");
  },
};
