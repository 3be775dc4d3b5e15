// What every gateway call carries: auth, metadata, cache key/TTL/skip, timeout; and x-cache back to the client.
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../src/canonical";
import { TEST_SECRETS } from "./fixtures";
import { anthropicAnswer, BATCH_KEY, type Harness, harness, json, openaiAnswer, post, routing, workersAiAnswer } from "./support";

const messages = { model: "claude-haiku-4-5", max_tokens: 64, messages: [{ role: "user", content: "Hi" }] };

async function keyOf(h: Harness, path: string, body: string | object, headers: Record<string, string> = {}): Promise<string | null> {
  const provider = path === "/v1/messages" ? "anthropic" : "openai";
  h.gateway.on(provider, () => json(provider === "anthropic" ? anthropicAnswer("x") : openaiAnswer("x")));
  await h.fetch(path, post(body, headers));
  return h.gateway.calls.at(-1)!.headers.get("cf-aig-cache-key");
}

describe("canonicalJson", () => {
  it("sorts keys at every depth and drops insignificant whitespace", () => {
    expect(canonicalJson(JSON.parse('{ "b": [ {"y": 1, "x": 2.50} ], "a": null }'))).toBe('{"a":null,"b":[{"x":2.5,"y":1}]}');
  });
});

describe("cf-aig-cache-key", () => {
  it("is the same for the same request whatever the key order and whitespace", async () => {
    const h = harness();
    const a = await keyOf(h, "/v1/messages", messages);
    const b = await keyOf(
      h,
      "/v1/messages",
      `{\n  "messages": [ { "content": "Hi", "role": "user" } ],\n  "max_tokens": 64, "model": "claude-haiku-4-5"\n}`,
    );
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(b).toBe(a);
  });

  it("differs between clients, so clients never share cache entries", async () => {
    const h = harness();
    expect(await keyOf(h, "/v1/messages", messages)).not.toBe(await keyOf(h, "/v1/messages", messages, { "x-api-key": BATCH_KEY }));
  });

  it("differs when the answer would: another max_tokens, or another anthropic-beta", async () => {
    const h = harness();
    const base = await keyOf(h, "/v1/messages", messages);
    expect(await keyOf(h, "/v1/messages", { ...messages, max_tokens: 65 })).not.toBe(base);
    expect(await keyOf(h, "/v1/messages", messages, { "anthropic-beta": "some-beta" })).not.toBe(base);
  });

  it("ignores per-call bookkeeping: Anthropic metadata, OpenAI user/metadata/store", async () => {
    const h = harness();
    expect(await keyOf(h, "/v1/messages", { ...messages, metadata: { user_id: "u-1" } })).toBe(await keyOf(h, "/v1/messages", messages));
    const chat = { model: "gpt-4.1-mini", messages: [{ role: "user", content: "Hi" }] };
    expect(await keyOf(h, "/v1/chat/completions", { ...chat, user: "u-1", metadata: { a: "b" }, store: true })).toBe(
      await keyOf(h, "/v1/chat/completions", chat),
    );
  });
});

describe("cache TTL and skip", () => {
  it("sends each surface's TTL from ROUTING.cacheTtl", async () => {
    const h = harness();
    h.gateway.on(
      "anthropic",
      () => json(anthropicAnswer("x")),
      () => json(anthropicAnswer("x")),
    );
    h.gateway.on("openai", () => json(openaiAnswer("x")));
    await h.fetch("/v1/messages", post(messages));
    await h.fetch("/v1/chat/completions", post({ model: "gpt-4.1-mini", messages: [{ role: "user", content: "Hi" }] }));
    await h.fetch("/api/chat", post({ messages: [{ role: "user", content: "Hi" }] }));
    expect(h.gateway.calls.map((c) => c.headers.get("cf-aig-cache-ttl"))).toEqual(["300", "120", "600"]);
    expect(h.gateway.calls.map((c) => c.headers.get("cf-aig-skip-cache"))).toEqual([null, null, null]);
  });

  it.each(["no-cache", "no-store", "max-age=0, no-store"])(
    "skips the gateway cache for Cache-Control: %s and reports x-cache BYPASS",
    async (cc) => {
      const h = harness();
      h.gateway.on("anthropic", () => json(anthropicAnswer("x"), 200, { "cf-aig-cache-status": "MISS" }));
      const res = await h.fetch("/v1/messages", post(messages, { "cache-control": cc }));
      const call = h.gateway.calls[0]!;
      expect(call.headers.get("cf-aig-skip-cache")).toBe("true");
      expect(call.headers.get("cf-aig-cache-key")).toBeNull();
      expect(call.headers.get("cf-aig-cache-ttl")).toBeNull();
      expect(res.headers.get("x-cache")).toBe("BYPASS");
    },
  );

  it("does not skip for other Cache-Control values", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => json(anthropicAnswer("x")));
    const res = await h.fetch("/v1/messages", post(messages, { "cache-control": "max-age=60" }));
    expect(h.gateway.calls[0]!.headers.get("cf-aig-skip-cache")).toBeNull();
    expect(res.headers.get("x-cache")).toBe("MISS");
  });

  it("skips the cache when the surface's TTL is 0", async () => {
    const h = harness({ routing: routing((r) => (r.cacheTtl.chat = 0)) });
    h.gateway.on("anthropic", () => json(anthropicAnswer("x")));
    const res = await h.fetch("/api/chat", post({ messages: [{ role: "user", content: "Hi" }] }));
    expect(h.gateway.calls[0]!.headers.get("cf-aig-skip-cache")).toBe("true");
    expect(((await res.json()) as { cached: boolean }).cached).toBe(false);
    expect(res.headers.get("x-cache")).toBe("BYPASS");
  });

  it("reports x-cache HIT only when the gateway says so", async () => {
    const h = harness();
    h.gateway.on(
      "anthropic",
      () => json(anthropicAnswer("x"), 200, { "cf-aig-cache-status": "HIT" }),
      () => json(anthropicAnswer("x")),
    );
    expect((await h.fetch("/v1/messages", post(messages))).headers.get("x-cache")).toBe("HIT");
    expect((await h.fetch("/v1/messages", post(messages))).headers.get("x-cache")).toBe("MISS");
  });
});

describe("metadata, auth and timeout headers", () => {
  it("sends cf-aig-metadata with exactly client, feature, variant, stack and requestId", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => json(anthropicAnswer("x")));
    const res = await h.fetch("/v1/messages", post(messages, { "x-ai-feature": "summaries" }));
    const call = h.gateway.calls[0]!;
    const meta = JSON.parse(call.headers.get("cf-aig-metadata")!) as Record<string, unknown>;
    expect(meta).toEqual({
      client: "web",
      feature: "summaries",
      variant: "none",
      stack: "test",
      requestId: res.headers.get("x-request-id"),
    });
    expect(Object.values(meta).every((v) => ["string", "number", "boolean"].includes(typeof v))).toBe(true);
    expect(call.headers.get("cf-aig-event-id")).toBe(res.headers.get("x-request-id"));
    expect(call.headers.get("cf-aig-request-timeout")).toBe("300");
  });

  it("authenticates every provider call to the gateway, and Workers AI with the gateway token", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => json({}, 500));
    h.gateway.on("openai", () => json({}, 500));
    h.gateway.on("workers-ai", () => json(workersAiAnswer("x")));
    await h.fetch("/api/chat", post({ messages: [{ role: "user", content: "Hi" }] }));
    for (const call of h.gateway.calls) expect(call.headers.get("cf-aig-authorization")).toBe(`Bearer ${TEST_SECRETS.AI_GATEWAY_TOKEN}`);
    const [anthropic, openai, workersAi] = h.gateway.calls;
    expect(anthropic!.headers.get("x-api-key")).toBe(TEST_SECRETS.ANTHROPIC_API_KEY);
    expect(openai!.headers.get("authorization")).toBe(`Bearer ${TEST_SECRETS.OPENAI_API_KEY}`);
    expect(workersAi!.headers.get("authorization")).toBe(`Bearer ${TEST_SECRETS.AI_GATEWAY_TOKEN}`);
  });

  it("rejects a malformed x-ai-feature header with 400", async () => {
    const h = harness();
    const res = await h.fetch("/v1/messages", post(messages, { "x-ai-feature": "has spaces" }));
    expect(res.status).toBe(400);
  });
});
