// How the Worker reads answers the live gateway gives and a kind stand-in would not: the gateway's own decisions in
// Cloudflare's envelope, retired models, streams buffered by response guardrails, and error text naming the gateway.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { TEST_ACCOUNT_ID } from "./fixtures";
import { anthropicAnswer, harness, json, openaiAnswer, post, readSse, WEB_KEY, workersAiAnswer } from "./support";

const ask = { messages: [{ role: "user", content: "Hi" }] };
const messages = { model: "claude-haiku-4-5", max_tokens: 64, messages: [{ role: "user" as const, content: "Hi" }] };
/** Cloudflare's error envelope, as the gateway answers its own decisions. */
const envelope = (code: number, message: string) => ({ success: false, result: [], messages: [], error: [{ code, message }] });

describe("the gateway's own decisions", () => {
  it("ends /api/chat at once on the gateway-wide rate limit: 429 naming the gateway's limit, no other provider tried", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => json(envelope(2003, "Rate limited"), 429, { "retry-after": "30" }));
    const res = await h.fetch("/api/chat", post(ask));
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("30");
    const body = (await res.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe("gateway_limited");
    expect(body.error.message).toMatch(/gateway rate limit/);
    expect(body.error.message).not.toMatch(/provider/);
    expect(h.gateway.calls).toHaveLength(1);
  });

  it("moves past a step a spend limit refuses to a step it does not cover", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => json(envelope(2028, "Spend limit exceeded for provider anthropic"), 429));
    h.gateway.on("openai", () => json(openaiAnswer("from openai")));
    const res = await h.fetch("/api/chat", post(ask));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { provider: string }).provider).toBe("openai");
  });

  it("answers the spend limit when every step is refused by it", async () => {
    const h = harness();
    for (const p of ["anthropic", "openai", "workers-ai"] as const)
      h.gateway.on(p, () => json(envelope(2028, "Spend limit exceeded"), 429));
    const res = await h.fetch("/api/chat", post(ask));
    expect(res.status).toBe(429);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe("gateway_limited");
  });

  it("answers a Guardrails block as a 400 in the surface's shape, not retried and not to be retried", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => json(envelope(2016, "Prompt blocked due to security configurations"), 424));
    h.gateway.on("anthropic", () => json(envelope(2017, "Response blocked due to security configurations"), 424));
    const chat = await h.fetch("/api/chat", post(ask));
    expect(chat.status).toBe(400);
    expect(chat.headers.get("x-should-retry")).toBe("false");
    expect(((await chat.json()) as { error: { type: string; message: string } }).error).toEqual({
      type: "policy_blocked",
      message: "A content policy of this service blocked the request.",
    });
    const sdk = new Anthropic({ baseURL: "https://worker.test", apiKey: WEB_KEY, fetch: h.sdkFetch, maxRetries: 2 });
    const err = await sdk.messages.create(messages).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as Error).message).toContain("blocked the answer");
    expect(h.gateway.calls).toHaveLength(2);
  });

  it("answers a Guardrails service failure (503 code 7013, 402 code 2021) with 503, without trying another provider", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => json(envelope(7013, "Guardrails service unavailable"), 503));
    h.gateway.on("anthropic", () => json(envelope(2021, "Insufficient credits for Guardrails"), 402));
    for (let i = 0; i < 2; i++) {
      const res = await h.fetch("/api/chat", post(ask));
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { type: string } }).error.type).toBe("policy_unavailable");
    }
    expect(h.gateway.calls.map((c) => c.provider)).toEqual(["anthropic", "anthropic"]);
  });

  it("still falls back on a Workers AI error that uses the same envelope but is the provider's own", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => json({}, 529));
    h.gateway.on("openai", () => json({}, 503));
    h.gateway.on("workers-ai", () => json({ success: false, errors: [{ code: 3040, message: "Capacity temporarily exceeded" }] }, 429));
    const res = await h.fetch("/api/chat", post(ask));
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe("upstream_unavailable");
  });
});

describe("retired models", () => {
  it("moves /api/chat past each provider's 'model is gone' answer and warns naming the setting to change", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => json({ type: "error", error: { type: "not_found_error", message: "model: claude-haiku-4-5" } }, 404));
    h.gateway.on("openai", () =>
      json(
        {
          error: {
            message: "The model `gpt-4.1-mini` does not exist",
            type: "invalid_request_error",
            param: null,
            code: "model_not_found",
          },
        },
        404,
      ),
    );
    h.gateway.on("workers-ai", () => json(workersAiAnswer("still here")));
    const res = await h.fetch("/api/chat", post(ask));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { provider: string }).provider).toBe("workers-ai");
    const warnings = h.logs.filter((l) => l.warning === "model_retired");
    expect(warnings.map((w) => w.detail)).toEqual([
      expect.stringContaining("change routing.chat.fallback[0].model in Pulumi.test.yaml"),
      expect.stringContaining("change routing.chat.fallback[1].model in Pulumi.test.yaml"),
    ]);
  });

  it("moves on from Workers AI's 5028 'This model was deprecated'", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => json({}, 500));
    h.gateway.on("openai", () => json({}, 500));
    h.gateway.on("workers-ai", () => json({ success: false, errors: [{ code: 5028, message: "This model was deprecated" }] }, 400));
    const res = await h.fetch("/api/chat", post(ask));
    expect(res.status).toBe(502);
    expect(h.logs.find((l) => l.warning === "model_retired")).toMatchObject({
      provider: "workers-ai",
      model: "@cf/meta/llama-3.1-8b-instruct",
    });
    expect(h.logs.find((l) => l.surface === "chat")!.tried).toEqual(["anthropic:500", "openai:500", "workers-ai:400:model_retired"]);
  });
});

describe("streams buffered by response guardrails", () => {
  it("re-emits a JSON answer to a streaming /api/chat as delta and done events, without falling back", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => json(anthropicAnswer("whole answer")));
    const res = await h.fetch("/api/chat", post({ ...ask, stream: true }));
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = await readSse(res);
    expect(events.map((e) => e.event)).toEqual(["delta", "done"]);
    expect(JSON.parse(events[0]!.data)).toEqual({ text: "whole answer" });
    expect(JSON.parse(events[1]!.data)).toMatchObject({ provider: "anthropic", usage: { inputTokens: 11, outputTokens: 7 } });
    expect(h.gateway.calls).toHaveLength(1);
  });

  it("gives the Anthropic SDK a well-formed stream from a buffered JSON answer", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => json(anthropicAnswer("buffered by guardrails")));
    const sdk = new Anthropic({ baseURL: "https://worker.test", apiKey: WEB_KEY, fetch: h.sdkFetch, maxRetries: 0 });
    const stream = sdk.messages.stream(messages);
    let text = "";
    stream.on("text", (t) => (text += t));
    const final = await stream.finalMessage();
    expect(text).toBe("buffered by guardrails");
    expect(final.usage.output_tokens).toBe(7);
    expect(final.stop_reason).toBe("end_turn");
  });

  it("gives the OpenAI SDK a well-formed stream with usage from a buffered JSON answer", async () => {
    const h = harness();
    h.gateway.on("openai", () => json(openaiAnswer("buffered too")));
    const sdk = new OpenAI({ baseURL: "https://worker.test/v1", apiKey: WEB_KEY, fetch: h.sdkFetch, maxRetries: 0 });
    const stream = await sdk.chat.completions.create({
      model: "gpt-4.1-mini",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null | undefined;
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish ??= chunk.choices[0]?.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("buffered too");
    expect(finish).toBe("stop");
    expect(usage).toMatchObject({ prompt_tokens: 13, completion_tokens: 5 });
  });
});

describe("the gateway's address stays out of logs", () => {
  it("redacts a gateway path an upstream error quotes, even with a short gateway id", async () => {
    const h = harness({ env: { AI_GATEWAY_ID: "gw" } });
    const path = `/v1/${TEST_ACCOUNT_ID}/gw/anthropic/v1/messages`;
    h.gateway.on("anthropic", () =>
      json({ type: "error", error: { type: "invalid_request_error", message: `bad request to ${path} (gateway gw)` } }, 400),
    );
    const res = await h.fetch("/v1/messages", post(messages));
    expect(res.status).toBe(400);
    const text = await res.text();
    const logged = JSON.stringify(h.logs);
    for (const out of [text, logged]) {
      expect(out).not.toContain(path);
      expect(out).not.toContain("/gw/");
      expect(out).not.toContain(TEST_ACCOUNT_ID);
    }
  });
});
