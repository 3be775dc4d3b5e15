/**
 * POST /v1/messages: the Anthropic Messages API, passed through to Anthropic via the gateway, so the Anthropic SDK
 * works with only its baseURL and apiKey changed. System prompts, tools, images, stop sequences and the rest pass
 * through as sent; the checks here are the ones this Worker owns (allowed model, required fields, basic types).
 */
import { Hono } from "hono/tiny";
import { allowedModel, feature, optionalBoolean, optionalObject, optionalPositiveInt, readJsonObject, requireArray, requireString } from "../body";
import type { AppEnv } from "../context";
import { anthropic } from "../providers/anthropic";
import { ANTHROPIC_FORWARDED, IN } from "../wire";
import { passThrough } from "./pass-through";

export const messages = new Hono<AppEnv>().post("/", async (c) => {
  const routing = c.get("routing");
  const body = await readJsonObject(c.req.raw, routing.limits.maxRequestBytes);
  const model = allowedModel(requireString(body, "model"), routing.models.anthropic);
  requireArray(body, "messages");
  optionalPositiveInt(body, "max_tokens", true);
  const stream = optionalBoolean(body, "stream") ?? false;
  optionalObject(body, "metadata");

  const forwarded: Record<string, string> = {};
  for (const name of ANTHROPIC_FORWARDED) {
    const v = c.req.header(name);
    if (v !== undefined) forwarded[name] = v;
  }
  return passThrough(c, {
    surface: "messages",
    provider: anthropic,
    model,
    body,
    stream,
    forwarded,
    feature: feature(c.req.header(IN.feature), `The ${IN.feature} header`),
  });
});
