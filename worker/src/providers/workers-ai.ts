/**
 * Workers AI through the gateway (model in the path). It answers {result:{response}, success} JSON, or SSE lines
 * `data: {"response":"..."}` ending with `data: [DONE]`; errors come in Cloudflare's envelope. Authenticated with
 * the gateway token, which infra mints with Workers AI permission as well.
 */
import { openaiUsage } from "../budget/cost";
import { cloudflareError, count, isRecord, type Provider, parseJson, sseEvent } from "./provider";

function usageOf(v: unknown): { input?: number; output?: number } | undefined {
  return isRecord(v) ? { input: count(v.prompt_tokens), output: count(v.completion_tokens) } : undefined;
}

/**
 * Error 5028 "This model was deprecated": what a retired model answers from its retirement date on
 * (https://developers.cloudflare.com/workers-ai/platform/errors/, cloudflare/cloudflare-docs#32501).
 */
const RETIRED = 5028;

export const workersAi: Provider = {
  name: "workers-ai",
  volatileFields: [],
  defaultHeaders: {},

  path: (model) => `/workers-ai/${model}`,

  chatBody(messages, _model, maxTokens, stream) {
    return {
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

  billed: (body) => (isRecord(body) && isRecord(body.result) && isRecord(body.result.usage) ? openaiUsage(body.result.usage) : undefined),

  watches: () => true,

  readEvent(ev) {
    if (ev.data === "[DONE]") return { done: true };
    const data = parseJson(ev.data);
    if (!isRecord(data)) return undefined;
    if (data.error !== undefined || data.errors !== undefined) return { error: true };
    const usage = usageOf(data.usage);
    return {
      ...(typeof data.response === "string" && data.response !== "" ? { text: data.response } : {}),
      ...(usage ? { usage, billed: openaiUsage(data.usage) } : {}),
    };
  },

  readError(body) {
    const e = cloudflareError(body);
    return e ? { type: "workers_ai_error", message: e.message, ...(e.code !== undefined ? { code: e.code } : {}) } : undefined;
  },

  retired: (_status, error) => error?.code === RETIRED,

  sseError(message, type) {
    return sseEvent({ error: { message, ...(type ? { type } : {}) } });
  },

  answerAsSse(body) {
    const answer = this.readAnswer(body);
    if (!answer) return undefined;
    return `${sseEvent({ response: answer.text })}${sseEvent({ response: "", usage: { prompt_tokens: answer.usage.input, completion_tokens: answer.usage.output } })}${sseEvent("[DONE]")}`;
  },
};
