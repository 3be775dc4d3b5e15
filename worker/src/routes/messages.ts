/**
 * POST /v1/messages: the Anthropic Messages API, passed through to Anthropic via the gateway, so the Anthropic SDK
 * works with only its baseURL and apiKey changed. System prompts, tools, images, stop sequences and the rest pass
 * through as sent; the checks here are the ones this Worker owns (allowed model, required fields, basic types).
 */
import { allowedModel, feature, optionalBoolean, optionalObject, optionalPositiveInt, requireArray, requireString } from "../body";
import type { ApiCall } from "../pipeline";
import { anthropic } from "../providers/anthropic";
import { ANTHROPIC_FORWARDED, IN } from "../wire";
import { passThrough } from "./pass-through";

export function messages(call: ApiCall): Promise<Response> {
  const body = call.body.value;
  const model = allowedModel(requireString(body, "model"), call.iso.routing.models.anthropic);
  requireArray(body, "messages");
  optionalPositiveInt(body, "max_tokens", true);
  const stream = optionalBoolean(body, "stream") ?? false;
  optionalObject(body, "metadata");

  const forwarded: Record<string, string> = {};
  for (const name of ANTHROPIC_FORWARDED) {
    const v = call.req.headers.get(name);
    if (v !== null) forwarded[name] = v;
  }
  return passThrough(call, {
    provider: anthropic,
    model,
    stream,
    forwarded,
    feature: feature(call.req.headers.get(IN.feature) ?? undefined, `The ${IN.feature} header`),
  });
}
