/**
 * POST /v1/chat/completions: OpenAI Chat Completions, passed through to OpenAI via the gateway (JSON or SSE,
 * stream_options.include_usage included), so the OpenAI SDK works with baseURL `<worker>/v1` and a client key.
 * On a stack with budgets, a stream that does not ask for its usage chunk is sent asking for it, so the ledger books
 * the tokens OpenAI counted rather than a bound, and that chunk is not passed on: the client gets the stream it asked
 * for. https://platform.openai.com/docs/api-reference/chat/create#chat-create-stream_options
 */
import { allowedModel, feature, optionalBoolean, optionalObject, optionalPositiveInt, requireArray, requireString } from "../body";
import type { ApiCall } from "../pipeline";
import { openai } from "../providers/openai";
import { IN } from "../wire";
import { passThrough } from "./pass-through";

export function chatCompletions(call: ApiCall): Promise<Response> {
  const body = call.body.value;
  const model = allowedModel(requireString(body, "model"), call.iso.routing.models.openai);
  requireArray(body, "messages");
  optionalPositiveInt(body, "max_tokens");
  optionalPositiveInt(body, "max_completion_tokens");
  optionalPositiveInt(body, "n");
  const stream = optionalBoolean(body, "stream") ?? false;
  optionalObject(body, "stream_options");
  const options = body.stream_options as Record<string, unknown> | undefined;
  const askUsage = stream && call.iso.budget !== undefined && options?.include_usage !== true;

  return passThrough(call, {
    provider: openai,
    model,
    stream,
    forwarded: {},
    ...(askUsage
      ? { upstreamText: JSON.stringify({ ...body, stream_options: { ...options, include_usage: true } }), dropUsageChunk: true }
      : {}),
    feature: feature(call.req.headers.get(IN.feature) ?? undefined, `The ${IN.feature} header`),
  });
}
