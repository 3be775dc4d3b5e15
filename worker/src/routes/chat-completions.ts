/**
 * POST /v1/chat/completions: OpenAI Chat Completions, passed through to OpenAI via the gateway (JSON or SSE,
 * stream_options.include_usage included), so the OpenAI SDK works with baseURL `<worker>/v1` and a client key.
 */
import { Hono } from "hono/tiny";
import { allowedModel, feature, optionalBoolean, optionalObject, optionalPositiveInt, readJsonObject, requireArray, requireString } from "../body";
import type { AppEnv } from "../context";
import { openai } from "../providers/openai";
import { IN } from "../wire";
import { passThrough } from "./pass-through";

export const chatCompletions = new Hono<AppEnv>().post("/", async (c) => {
  const routing = c.get("routing");
  const body = await readJsonObject(c.req.raw, routing.limits.maxRequestBytes);
  const model = allowedModel(requireString(body, "model"), routing.models.openai);
  requireArray(body, "messages");
  optionalPositiveInt(body, "max_tokens");
  optionalPositiveInt(body, "max_completion_tokens");
  optionalPositiveInt(body, "n");
  const stream = optionalBoolean(body, "stream") ?? false;
  optionalObject(body, "stream_options");

  return passThrough(c, {
    surface: "chatCompletions",
    provider: openai,
    model,
    body,
    stream,
    forwarded: {},
    feature: feature(c.req.header(IN.feature), `The ${IN.feature} header`),
  });
});
