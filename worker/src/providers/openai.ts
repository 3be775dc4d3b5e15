/** OpenAI Chat Completions through the gateway, with plain fetch (the surface is small and the SDK is not needed). */
import { gatewayUrl } from "../gateway";
import { count, isRecord, parseJson, postJson, type Provider } from "./provider";

export const openai: Provider = {
  name: "openai",
  // Bookkeeping that never changes the completion: end-user ids, stored-completion flags and metadata, and the
  // provider's own prompt-cache routing hints.
  volatileFields: ["user", "safety_identifier", "metadata", "store", "prompt_cache_key", "prompt_cache_retention"],

  send(call) {
    return postJson(call, `${gatewayUrl(call.env)}/openai/chat/completions`, { authorization: `Bearer ${call.env.OPENAI_API_KEY}` });
  },

  chatBody(messages, model, maxTokens, stream) {
    return {
      model,
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      max_completion_tokens: maxTokens,
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    };
  },

  readAnswer(body) {
    if (!isRecord(body) || !Array.isArray(body.choices) || body.choices.length === 0) return undefined;
    const first: unknown = body.choices[0];
    if (!isRecord(first) || !isRecord(first.message)) return undefined;
    const content = first.message.content;
    if (content !== null && typeof content !== "string") return undefined;
    const usage = isRecord(body.usage) ? body.usage : {};
    return { text: content ?? "", usage: { input: count(usage.prompt_tokens) ?? 0, output: count(usage.completion_tokens) ?? 0 } };
  },

  readEvent(ev) {
    if (ev.data === "[DONE]") return { done: true };
    const data = parseJson(ev.data);
    if (!isRecord(data)) return undefined;
    if (data.error !== undefined) return { error: true };
    const piece: { text?: string; usage?: { input?: number; output?: number } } = {};
    const first: unknown = Array.isArray(data.choices) ? data.choices[0] : undefined;
    if (isRecord(first) && isRecord(first.delta) && typeof first.delta.content === "string" && first.delta.content !== "") {
      piece.text = first.delta.content;
    }
    if (isRecord(data.usage)) piece.usage = { input: count(data.usage.prompt_tokens), output: count(data.usage.completion_tokens) };
    return piece;
  },

  readError(body) {
    if (!isRecord(body) || !isRecord(body.error)) return undefined;
    const { type, message } = body.error;
    return typeof message === "string" ? { type: typeof type === "string" ? type : "invalid_request_error", message } : undefined;
  },

  sseError(message) {
    return `data: ${JSON.stringify({ error: { message, type: "server_error", param: null, code: "upstream_error" } })}\n\n`;
  },
};
