/**
 * Workers AI through the gateway (model in the path). It answers {result:{response}, success} JSON, or SSE lines
 * `data: {"response":"..."}` ending with `data: [DONE]`. Authenticated with the gateway token, which infra mints with
 * Workers AI permission as well.
 */
import { gatewayUrl } from "../gateway";
import { count, isRecord, parseJson, postJson, type Provider } from "./provider";

function usageOf(v: unknown): { input?: number; output?: number } | undefined {
  return isRecord(v) ? { input: count(v.prompt_tokens), output: count(v.completion_tokens) } : undefined;
}

export const workersAi: Provider = {
  name: "workers-ai",
  volatileFields: [],

  send(call) {
    const { model: _inPath, ...body } = call.body;
    return postJson({ ...call, body }, `${gatewayUrl(call.env)}/workers-ai/${call.model}`, {
      authorization: `Bearer ${call.env.AI_GATEWAY_TOKEN}`,
    });
  },

  chatBody(messages, model, maxTokens, stream) {
    return {
      model,
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      max_tokens: maxTokens,
      ...(stream ? { stream: true } : {}),
    };
  },

  readAnswer(body) {
    if (!isRecord(body) || body.success === false || !isRecord(body.result) || typeof body.result.response !== "string") return undefined;
    const usage = usageOf(body.result.usage);
    return { text: body.result.response, usage: { input: usage?.input ?? 0, output: usage?.output ?? 0 } };
  },

  readEvent(ev) {
    if (ev.data === "[DONE]") return { done: true };
    const data = parseJson(ev.data);
    if (!isRecord(data)) return undefined;
    if (data.error !== undefined || data.errors !== undefined) return { error: true };
    const usage = usageOf(data.usage);
    return {
      ...(typeof data.response === "string" && data.response !== "" ? { text: data.response } : {}),
      ...(usage ? { usage } : {}),
    };
  },

  readError(body) {
    if (!isRecord(body) || !Array.isArray(body.errors)) return undefined;
    const first: unknown = body.errors[0];
    return isRecord(first) && typeof first.message === "string" ? { type: "workers_ai_error", message: first.message } : undefined;
  },

  sseError(message) {
    return `data: ${JSON.stringify({ error: { message } })}\n\n`;
  },
};
