/**
 * POST /v1/chat/completions: OpenAI Chat Completions, passed through to OpenAI via the gateway (JSON or SSE,
 * stream_options.include_usage included), so the OpenAI SDK works with baseURL `<worker>/v1` and a client key.
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

  return passThrough(call, {
    provider: openai,
    model,
    stream,
    forwarded: {},
    feature: feature(call.req.headers.get(IN.feature) ?? undefined, `The ${IN.feature} header`),
  });
}
