// POST /api/chat: the browser endpoint — A/B variant first, then the fallback chain, JSON or SSE deltas.
import { describe, expect, it } from "vitest";
import type { Routing } from "../src/contract/routing";
import {
  anthropicAnswer,
  anthropicFrames,
  BATCH_KEY,
  hang,
  harness,
  json,
  openaiAnswer,
  openaiFrames,
  post,
  readSse,
  routing,
  sse,
  workersAiAnswer,
  workersAiFrames,
} from "./support";

const ask = {
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hi" },
  ],
  feature: "support-chat",
};
const fast = (r: Routing) => (r.timeouts = { attemptMs: 150, totalMs: 2000 });

describe("POST /api/chat (JSON)", () => {
  it("answers {text, provider, model, variant, cached, usage} from the first provider in the chain", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => json(anthropicAnswer("Hello!"), 200, { "cf-aig-cache-status": "HIT" }));
    const res = await h.fetch("/api/chat", post(ask));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      text: "Hello!",
      provider: "anthropic",
      model: "claude-haiku-4-5",
      variant: "default",
      cached: true,
      usage: { inputTokens: 11, outputTokens: 7 },
    });
    expect(res.headers.get("x-ai-provider")).toBe("anthropic");
    expect(res.headers.get("x-ai-variant")).toBe("default");
    expect(res.headers.get("x-cache")).toBe("HIT");
    const body = h.gateway.calls[0]!.body;
    expect(body).toEqual({ model: "claude-haiku-4-5", max_tokens: 512, system: "Be brief.", messages: [{ role: "user", content: "Hi" }] });
  });

  it("falls back to OpenAI when Anthropic answers 529", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => json({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }, 529));
    h.gateway.on("openai", () => json(openaiAnswer("from openai")));
    const res = await h.fetch("/api/chat", post(ask));
    expect(await res.json()).toMatchObject({
      text: "from openai",
      provider: "openai",
      model: "gpt-4.1-mini",
      usage: { inputTokens: 13, outputTokens: 5 },
    });
    expect(h.gateway.calls.map((c) => c.provider)).toEqual(["anthropic", "openai"]);
    expect(h.gateway.calls[1]!.body).toMatchObject({ model: "gpt-4.1-mini", max_completion_tokens: 512, messages: ask.messages });
    expect(h.logs[0]).toMatchObject({ attempts: 2, tried: ["anthropic:529", "openai:200"], provider: "openai", status: 200 });
  });

  it("falls back through the whole chain to Workers AI on 429 then 500", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => json({}, 429));
    h.gateway.on("openai", () => json({}, 500));
    h.gateway.on("workers-ai", () => json(workersAiAnswer("from llama")));
    const res = await h.fetch("/api/chat", post(ask));
    expect(await res.json()).toMatchObject({
      text: "from llama",
      provider: "workers-ai",
      model: "@cf/meta/llama-3.1-8b-instruct",
      usage: { inputTokens: 9, outputTokens: 4 },
    });
    const wai = h.gateway.calls[2]!;
    expect(wai.path).toBe("/workers-ai/@cf/meta/llama-3.1-8b-instruct");
    expect(wai.body).toEqual({ messages: ask.messages, max_tokens: 512 });
  });

  it("falls back when a provider times out, cannot be reached, or answers a malformed body", async () => {
    const h = harness({ routing: routing(fast) });
    h.gateway.on("anthropic", hang);
    h.gateway.on("openai", () => Promise.reject(new TypeError("network down")));
    h.gateway.on("workers-ai", () => json({ result: { nothing: true }, success: true }));
    const res = await h.fetch("/api/chat", post(ask));
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ error: { type: "upstream_error", message: "No model provider could answer." } });
    expect(h.logs[0]!.tried).toEqual(["anthropic:timeout", "openai:network", "workers-ai:bad_body"]);
  });

  it("does not fall back on an upstream 400: the conversation itself was refused (422, no upstream detail)", async () => {
    const h = harness();
    h.gateway.on("anthropic", () =>
      json({ type: "error", error: { type: "invalid_request_error", message: "prompt is too long: 250000 tokens" } }, 400),
    );
    const res = await h.fetch("/api/chat", post(ask));
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe("upstream_rejected");
    expect(body.error.message).not.toContain("250000");
    expect(h.gateway.calls).toHaveLength(1);
  });

  it("does not fall back on an upstream 401 and reports it as a 502 (the Worker's credentials, not the client's)", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => json({ type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } }, 401));
    const res = await h.fetch("/api/chat", post(ask));
    expect(res.status).toBe(502);
    expect(h.gateway.calls).toHaveLength(1);
  });

  it("answers 503 when every provider is rate limited or overloaded", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => json({}, 529));
    h.gateway.on("openai", () => json({}, 429));
    h.gateway.on("workers-ai", () => json({}, 503));
    const res = await h.fetch("/api/chat", post(ask));
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe("upstream_unavailable");
  });

  it("stops at the overall deadline: 504 without trying the rest of the chain", async () => {
    const h = harness({ routing: routing((r) => (r.timeouts = { attemptMs: 150, totalMs: 220 })) });
    h.gateway.on("anthropic", hang);
    h.gateway.on("openai", hang);
    const res = await h.fetch("/api/chat", post(ask));
    expect(res.status).toBe(504);
    expect(h.gateway.calls.map((c) => c.provider)).toEqual(["anthropic", "openai"]);
    // The second attempt only gets what is left of the deadline.
    expect(Number(h.gateway.calls[1]!.headers.get("cf-aig-request-timeout"))).toBeLessThan(150);
  });
});

describe("POST /api/chat (A/B)", () => {
  const ab = routing((r) => {
    r.chat.experiments = [
      { name: "control", weight: 0, target: { provider: "anthropic", model: "claude-haiku-4-5" } },
      { name: "gpt", weight: 1, target: { provider: "openai", model: "gpt-5-mini" } },
    ];
  });

  it("tries the variant's target first, then the rest of the chain without repeating it", async () => {
    const h = harness({ routing: ab });
    h.gateway.on("openai", () => json({}, 500));
    h.gateway.on("anthropic", () => json({}, 500));
    h.gateway.on("openai", () => json(openaiAnswer("second openai model")));
    const res = await h.fetch("/api/chat", post(ask));
    expect(await res.json()).toMatchObject({ provider: "openai", model: "gpt-4.1-mini", variant: "gpt" });
    expect(h.gateway.calls.map((c) => `${c.provider}:${String(c.body.model)}`)).toEqual([
      "openai:gpt-5-mini",
      "anthropic:claude-haiku-4-5",
      "openai:gpt-4.1-mini",
    ]);
    expect(res.headers.get("x-ai-variant")).toBe("gpt");
    expect(JSON.parse(h.gateway.calls[0]!.headers.get("cf-aig-metadata")!)).toMatchObject({ variant: "gpt", feature: "support-chat" });
  });

  it("keeps a client in its variant across requests", async () => {
    const split = routing((r) => {
      r.chat.experiments = [
        { name: "a", weight: 50, target: { provider: "anthropic", model: "claude-haiku-4-5" } },
        { name: "b", weight: 50, target: { provider: "openai", model: "gpt-4.1-mini" } },
      ];
    });
    const h = harness({ routing: split });
    h.gateway.always("anthropic", () => json(anthropicAnswer("a"))).always("openai", () => json(openaiAnswer("b")));
    const variants: string[] = [];
    for (let i = 0; i < 6; i++)
      variants.push((await h.fetch("/api/chat", post(ask, { "x-api-key": BATCH_KEY }))).headers.get("x-ai-variant")!);
    expect(new Set(variants).size).toBe(1);
    expect(["a", "b"]).toContain(variants[0]);
  });
});

describe("POST /api/chat (stream)", () => {
  const streamAsk = { ...ask, stream: true };

  it("streams delta events ending with done carrying provider, model, variant, cached and usage", async () => {
    const h = harness();
    h.gateway.on("anthropic", () =>
      sse(anthropicFrames(["Hel", "lo"], { input: 20, output: 3 }), "close", { "cf-aig-cache-status": "MISS" }),
    );
    const res = await h.fetch("/api/chat", post(streamAsk));
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(res.headers.get("x-ai-provider")).toBe("anthropic");
    const events = await readSse(res);
    expect(events).toEqual([
      { event: "delta", data: JSON.stringify({ text: "Hel" }) },
      { event: "delta", data: JSON.stringify({ text: "lo" }) },
      {
        event: "done",
        data: JSON.stringify({
          provider: "anthropic",
          model: "claude-haiku-4-5",
          variant: "default",
          cached: false,
          usage: { inputTokens: 20, outputTokens: 3 },
        }),
      },
    ]);
    expect(h.gateway.calls[0]!.body.stream).toBe(true);
    await h.settled();
    expect(h.logs[0]).toMatchObject({ stream: true, status: 200, usage: { input: 20, output: 3 }, error: null });
  });

  it("falls back to OpenAI when the Anthropic stream breaks before its first token", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => sse(anthropicFrames([], { end: false }), "error"));
    h.gateway.on("openai", () => sse(openaiFrames(["from ", "openai"])));
    const events = await readSse(await h.fetch("/api/chat", post(streamAsk)));
    expect(
      events
        .filter((e) => e.event === "delta")
        .map((e) => JSON.parse(e.data).text)
        .join(""),
    ).toBe("from openai");
    expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ provider: "openai", usage: { inputTokens: 13, outputTokens: 5 } });
    expect(h.gateway.calls[1]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it("falls back when a stream stalls before its first token, then streams Workers AI", async () => {
    const h = harness({ routing: routing(fast) });
    h.gateway.on("anthropic", () => sse(anthropicFrames([], { end: false }), "stall"));
    h.gateway.on("openai", () => sse(["data: {not json}\n\n"]));
    h.gateway.on("workers-ai", () => sse(workersAiFrames(["lla", "ma"])));
    const res = await h.fetch("/api/chat", post(streamAsk));
    expect(res.headers.get("x-ai-provider")).toBe("workers-ai");
    const events = await readSse(res);
    expect(events.map((e) => e.event)).toEqual(["delta", "delta", "done"]);
    expect(JSON.parse(events[2]!.data)).toMatchObject({ provider: "workers-ai", usage: { inputTokens: 9, outputTokens: 4 } });
    await h.settled();
    expect(h.logs[0]!.tried).toEqual(["anthropic:bad_stream", "openai:bad_stream", "workers-ai:200"]);
  });

  it("ends with an error event, never done, when the stream breaks after its first token", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => sse(anthropicFrames(["Partial"], { end: false }), "error"));
    const events = await readSse(await h.fetch("/api/chat", post(streamAsk)));
    expect(events.map((e) => e.event)).toEqual(["delta", "error"]);
    expect(JSON.parse(events[1]!.data)).toEqual({ type: "upstream_error", message: "The answer was interrupted; it is incomplete." });
    expect(h.gateway.calls).toHaveLength(1);
    await h.settled();
    expect(h.logs[0]!.error).toBe("stream_failed");
  });

  it("ends with an error event when the stream stalls after its first token", async () => {
    const h = harness({ routing: routing((r) => (fast(r), (r.chat.fallback = [{ provider: "openai", model: "gpt-4.1-mini" }]))) });
    h.gateway.on("openai", () => sse(openaiFrames(["Par"], { end: false }), "stall"));
    expect((await readSse(await h.fetch("/api/chat", post(streamAsk)))).map((e) => e.event)).toEqual(["delta", "error"]);
    await h.settled();
    expect(h.logs[0]!.error).toBe("stream_stalled");
  });

  it("ends with an error event when the stream closes without its end marker after the first token", async () => {
    const h = harness({
      routing: routing((r) => (r.chat.fallback = [{ provider: "workers-ai", model: "@cf/meta/llama-3.1-8b-instruct" }])),
    });
    h.gateway.on("workers-ai", () => sse(workersAiFrames(["Par"], false), "close"));
    expect((await readSse(await h.fetch("/api/chat", post(streamAsk)))).map((e) => e.event)).toEqual(["delta", "error"]);
    await h.settled();
    expect(h.logs[0]!.error).toBe("stream_truncated");
  });
});
