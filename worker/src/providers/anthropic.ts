/**
 * Anthropic Messages through the gateway, sent with the official SDK's base client and Messages resource only (the
 * full client would triple the bundle). The raw response is handed back unparsed so bodies and streams pass through
 * byte for byte.
 */
import { BaseAnthropic } from "@anthropic-ai/sdk/client";
import { APIError } from "@anthropic-ai/sdk/core/error";
import { Messages, type MessageCreateParams } from "@anthropic-ai/sdk/resources/messages/messages";
import { gatewayUrl } from "../gateway";
import { count, isRecord, parseJson, type Provider, type UpstreamCall } from "./provider";

let cached: { baseURL: string; apiKey: string; fetch: typeof fetch; messages: Messages } | undefined;

function messagesFor(call: UpstreamCall): Messages {
  const baseURL = `${gatewayUrl(call.env)}/anthropic`;
  const apiKey = call.env.ANTHROPIC_API_KEY;
  if (cached?.baseURL === baseURL && cached.apiKey === apiKey && cached.fetch === call.fetch) return cached.messages;
  const client = new BaseAnthropic({
    baseURL,
    apiKey,
    fetch: call.fetch,
    // One attempt per call: /api/chat falls back to another provider instead, and the SDKs of /v1/messages callers retry themselves.
    maxRetries: 0,
    openTelemetry: false,
    logLevel: "off",
  });
  cached = { baseURL, apiKey, fetch: call.fetch, messages: new Messages(client) };
  return cached.messages;
}

export const anthropic: Provider = {
  name: "anthropic",
  // metadata.user_id is for Anthropic's abuse tracking; it does not change the answer.
  volatileFields: ["metadata"],

  async send(call) {
    try {
      // The SDK would send its key as Authorization: Bearer; the gateway's Anthropic endpoint gets it as x-api-key.
      const headers = { ...call.headers, "x-api-key": call.env.ANTHROPIC_API_KEY, authorization: null };
      return await messagesFor(call)
        .create(call.body as unknown as MessageCreateParams, { headers, signal: call.signal, timeout: call.timeoutMs })
        .asResponse();
    } catch (e) {
      // The SDK turns non-2xx answers into errors; give the caller the answer back so all providers look alike.
      if (e instanceof APIError && e.status !== undefined) {
        return new Response(e.error === undefined ? "" : JSON.stringify(e.error), { status: e.status, headers: e.headers });
      }
      throw e;
    }
  },

  chatBody(messages, model, maxTokens, stream) {
    const system = messages.filter((m) => m.role === "system").map((m) => m.content);
    return {
      model,
      max_tokens: maxTokens,
      ...(system.length > 0 ? { system: system.join("\n\n") } : {}),
      messages: messages.filter((m) => m.role !== "system").map((m) => ({ role: m.role, content: m.content })),
      ...(stream ? { stream: true } : {}),
    };
  },

  readAnswer(body) {
    if (!isRecord(body) || body.type !== "message" || !Array.isArray(body.content) || !isRecord(body.usage)) return undefined;
    let text = "";
    for (const block of body.content) if (isRecord(block) && block.type === "text" && typeof block.text === "string") text += block.text;
    return { text, usage: { input: count(body.usage.input_tokens) ?? 0, output: count(body.usage.output_tokens) ?? 0 } };
  },

  readEvent(ev) {
    const data = parseJson(ev.data);
    if (!isRecord(data)) return undefined;
    switch (data.type) {
      case "message_start": {
        const usage = isRecord(data.message) && isRecord(data.message.usage) ? data.message.usage : {};
        return { usage: { input: count(usage.input_tokens), output: count(usage.output_tokens) } };
      }
      case "content_block_delta": {
        const d = data.delta;
        return isRecord(d) && d.type === "text_delta" && typeof d.text === "string" ? { text: d.text } : {};
      }
      case "message_delta": {
        const usage = isRecord(data.usage) ? data.usage : {};
        return { usage: { input: count(usage.input_tokens), output: count(usage.output_tokens) } };
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

  sseError(message) {
    return `event: error\ndata: ${JSON.stringify({ type: "error", error: { type: "api_error", message } })}\n\n`;
  },
};
