/** OpenAI Chat Completions through the gateway, with plain fetch (the surface is small and the SDK is not needed). */
import { openaiUsage } from "../budget/cost";
import { count, isRecord, type Provider, parseJson, type StreamPiece, sseEvent } from "./provider";

export const openai: Provider = {
  name: "openai",
  // Bookkeeping that never changes the completion: end-user ids, stored-completion flags and metadata, and the
  // provider's own prompt-cache routing hints.
  volatileFields: ["user", "safety_identifier", "metadata", "store", "prompt_cache_key", "prompt_cache_retention"],
  defaultHeaders: {},

  path: () => "/openai/chat/completions",

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

  billed: (body) => (isRecord(body) && isRecord(body.usage) ? openaiUsage(body.usage) : undefined),

  // Content chunks carry "usage":null; only the end marker, a usage chunk or an error needs parsing.
  watches: (ev) => ev.data === "[DONE]" || ev.data.includes('"usage":{') || ev.data.includes('"error"'),

  readEvent(ev) {
    if (ev.data === "[DONE]") return { done: true };
    const data = parseJson(ev.data);
    if (!isRecord(data)) return undefined;
    if (data.error !== undefined) return { error: true };
    const piece: StreamPiece = {};
    const first: unknown = Array.isArray(data.choices) ? data.choices[0] : undefined;
    if (isRecord(first) && isRecord(first.delta) && typeof first.delta.content === "string" && first.delta.content !== "") {
      piece.text = first.delta.content;
    }
    if (isRecord(data.usage)) {
      piece.usage = { input: count(data.usage.prompt_tokens), output: count(data.usage.completion_tokens) };
      piece.billed = openaiUsage(data.usage);
      if (Array.isArray(data.choices) && data.choices.length === 0) piece.usageOnly = true;
    }
    return piece;
  },

  readError(body) {
    if (!isRecord(body) || !isRecord(body.error)) return undefined;
    const { type, message, code } = body.error;
    if (typeof message !== "string") return undefined;
    return { type: typeof type === "string" ? type : "invalid_request_error", message, ...(typeof code === "string" ? { code } : {}) };
  },

  // A retired or unknown model answers 404 with code model_not_found.
  retired: (status, error) => status === 404 && error?.code === "model_not_found",

  sseError(message, type) {
    return sseEvent({ error: { message, type: type ?? "server_error", param: null, code: type ?? "upstream_error" } });
  },

  answerAsSse(body) {
    if (!isRecord(body) || !Array.isArray(body.choices)) return undefined;
    const base = { id: body.id, object: "chat.completion.chunk", created: body.created, model: body.model };
    const chunks: unknown[] = [];
    for (const choice of body.choices) {
      if (!isRecord(choice) || !isRecord(choice.message)) return undefined;
      const { role, content, tool_calls, refusal } = choice.message;
      const delta: Record<string, unknown> = { role, content: content ?? null };
      if (refusal != null) delta.refusal = refusal;
      if (Array.isArray(tool_calls)) delta.tool_calls = tool_calls.map((t, index) => ({ index, ...(isRecord(t) ? t : {}) }));
      chunks.push({ ...base, choices: [{ index: choice.index ?? 0, delta, finish_reason: null, logprobs: null }], usage: null });
      chunks.push({
        ...base,
        choices: [{ index: choice.index ?? 0, delta: {}, finish_reason: choice.finish_reason ?? "stop", logprobs: null }],
        usage: null,
      });
    }
    if (isRecord(body.usage)) chunks.push({ ...base, choices: [], usage: body.usage });
    return `${chunks.map((c) => sseEvent(c)).join("")}${sseEvent("[DONE]")}`;
  },
};
