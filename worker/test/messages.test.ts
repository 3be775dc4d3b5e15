// POST /v1/messages: Anthropic Messages passed through the gateway, JSON and SSE, and usable by the Anthropic SDK.
import Anthropic from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import { TEST_SECRETS } from "./fixtures";
import { anthropicAnswer, anthropicFrames, hang, harness, json, post, readSse, routing, sse, WEB_KEY } from "./support";

const request = {
  model: "claude-sonnet-4-6",
  max_tokens: 256,
  system: [{ type: "text", text: "Be brief." }],
  messages: [
    {
      role: "user",
      content: [
        { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
        { type: "text", text: "What is this?" },
      ],
    },
  ],
  tools: [{ name: "lookup", description: "Look a thing up", input_schema: { type: "object", properties: { q: { type: "string" } } } }],
  stop_sequences: ["\n\nHuman:"],
  temperature: 0.2,
};

describe("POST /v1/messages", () => {
  it("passes the JSON answer through byte for byte with provider, model, variant and cache headers", async () => {
    const h = harness();
    const upstreamText = JSON.stringify(anthropicAnswer("Hello there")) + "\n";
    h.gateway.on(
      "anthropic",
      () => new Response(upstreamText, { headers: { "content-type": "application/json", "cf-aig-cache-status": "MISS" } }),
    );
    const res = await h.fetch("/v1/messages", post(request));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(upstreamText);
    expect(res.headers.get("x-ai-provider")).toBe("anthropic");
    expect(res.headers.get("x-ai-model")).toBe("claude-sonnet-4-6");
    expect(res.headers.get("x-ai-variant")).toBe("none");
    expect(res.headers.get("x-cache")).toBe("MISS");
    expect(res.headers.get("x-request-id")).toBe("req-1");
  });

  it("sends the request to {gateway}/anthropic/v1/messages unchanged, with the Worker's keys and never the client's", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => json(anthropicAnswer("ok")));
    await h.fetch("/v1/messages", post(request, { "anthropic-version": "2023-06-01", "anthropic-beta": "prompt-caching-2024-07-31" }));
    const [call] = h.gateway.calls;
    expect(call!.path).toBe("/anthropic/v1/messages");
    expect(call!.body).toEqual(request);
    expect(call!.headers.get("x-api-key")).toBe(TEST_SECRETS.ANTHROPIC_API_KEY);
    expect(call!.headers.get("cf-aig-authorization")).toBe(`Bearer ${TEST_SECRETS.AI_GATEWAY_TOKEN}`);
    expect(call!.headers.get("anthropic-version")).toBe("2023-06-01");
    expect(call!.headers.get("anthropic-beta")).toBe("prompt-caching-2024-07-31");
    expect(call!.headers.get("authorization")).toBeNull();
    for (const [, value] of call!.headers) expect(value).not.toContain(WEB_KEY);
  });

  it("streams SSE through unchanged and logs the usage the stream reported", async () => {
    const h = harness();
    const frames = anthropicFrames(["Hel", "lo"], { input: 21, output: 9 });
    h.gateway.on("anthropic", () => sse(frames));
    const res = await h.fetch("/v1/messages", post({ ...request, stream: true }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(await res.text()).toBe(frames.join(""));
    await h.settled();
    expect(h.logs[0]).toMatchObject({ surface: "messages", stream: true, status: 200, usage: { input: 21, output: 9 }, error: null });
  });

  it("ends a stream that breaks after its first token with an Anthropic error event", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => sse(anthropicFrames(["Hel"], { end: false }), "error"));
    const res = await h.fetch("/v1/messages", post({ ...request, stream: true }));
    const events = await readSse(res);
    expect(events.at(-1)!.event).toBe("error");
    expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ type: "error", error: { type: "api_error" } });
    await h.settled();
    expect(h.logs[0]!.error).toBe("stream_failed");
  });

  it("ends a stream that stops without message_stop with an error event, not a silent success", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => sse(anthropicFrames(["Hel", "lo"], { end: false }), "close"));
    const events = await readSse(await h.fetch("/v1/messages", post({ ...request, stream: true })));
    expect(events.map((e) => e.event)).not.toContain("message_stop");
    expect(events.at(-1)!.event).toBe("error");
  });

  it("ends a stream that stalls for longer than the attempt timeout with an error event", async () => {
    const h = harness({ routing: routing((r) => (r.timeouts = { attemptMs: 150, totalMs: 1000 })) });
    h.gateway.on("anthropic", () => sse(anthropicFrames(["Hel"], { end: false }), "stall"));
    const events = await readSse(await h.fetch("/v1/messages", post({ ...request, stream: true })));
    expect(events.at(-1)!.event).toBe("error");
    await h.settled();
    expect(h.logs[0]!.error).toBe("stream_stalled");
  });

  it("passes the provider's own 4xx type and message through, with secrets scrubbed", async () => {
    const h = harness();
    h.gateway.on("anthropic", () =>
      json(
        {
          type: "error",
          error: { type: "invalid_request_error", message: `messages.0: bad role (key ${TEST_SECRETS.ANTHROPIC_API_KEY})` },
        },
        400,
      ),
    );
    const res = await h.fetch("/v1/messages", post(request));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe("error");
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toContain("messages.0: bad role");
    expect(body.error.message).not.toContain(TEST_SECRETS.ANTHROPIC_API_KEY);
  });

  it.each([
    [429, 429, "rate_limit_error"],
    [529, 503, "overloaded_error"],
    [500, 502, "api_error"],
    [401, 502, "api_error"],
  ])("maps an upstream %i to %i %s without retrying", async (upstream, status, type) => {
    const h = harness();
    h.gateway.on("anthropic", () =>
      json({ type: "error", error: { type: "whatever", message: "upstream says no" } }, upstream, { "retry-after": "7" }),
    );
    const res = await h.fetch("/v1/messages", post(request));
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe(type);
    if (status === 429) expect(res.headers.get("retry-after")).toBe("7");
    expect(h.gateway.calls).toHaveLength(1);
  });

  it("answers 504 timeout_error when the gateway does not answer within the attempt timeout", async () => {
    const h = harness({ routing: routing((r) => (r.timeouts = { attemptMs: 150, totalMs: 1000 })) });
    h.gateway.on("anthropic", hang);
    const res = await h.fetch("/v1/messages", post(request));
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "timeout_error" }, request_id: "req-1" });
  });

  it("answers 502 when the gateway cannot be reached or sends a body that is not JSON", async () => {
    const h = harness();
    h.gateway.on(
      "anthropic",
      () => Promise.reject(new TypeError("connect ECONNREFUSED")),
      () => new Response("<html>oops</html>", { headers: { "content-type": "application/json" } }),
    );
    expect((await h.fetch("/v1/messages", post(request))).status).toBe(502);
    expect((await h.fetch("/v1/messages", post(request))).status).toBe(502);
  });

  it("works with the official Anthropic SDK, for a message and for a stream", async () => {
    const h = harness();
    h.gateway.on(
      "anthropic",
      () => json(anthropicAnswer("Hi from the SDK")),
      () => sse(anthropicFrames(["str", "eamed"])),
    );
    const client = new Anthropic({ baseURL: "https://worker.test", apiKey: WEB_KEY, fetch: h.sdkFetch, maxRetries: 0 });
    const message = await client.messages.create({
      model: "claude-sonnet-4-6",
      max_tokens: 64,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(message.content[0]).toMatchObject({ type: "text", text: "Hi from the SDK" });

    const stream = client.messages.stream({ model: "claude-sonnet-4-6", max_tokens: 64, messages: [{ role: "user", content: "hi" }] });
    let text = "";
    stream.on("text", (t) => (text += t));
    await stream.finalMessage();
    expect(text).toBe("streamed");
  });

  it("makes the Anthropic SDK raise when the stream breaks midway", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => sse(anthropicFrames(["partial"], { end: false }), "error"));
    const client = new Anthropic({ baseURL: "https://worker.test", apiKey: WEB_KEY, fetch: h.sdkFetch, maxRetries: 0 });
    const stream = client.messages.stream({ model: "claude-sonnet-4-6", max_tokens: 64, messages: [{ role: "user", content: "hi" }] });
    await expect(stream.finalMessage()).rejects.toThrow(/stream failed/);
  });

  it("gives the Anthropic SDK a typed error for a client mistake", async () => {
    const h = harness();
    const client = new Anthropic({ baseURL: "https://worker.test", apiKey: WEB_KEY, fetch: h.sdkFetch, maxRetries: 0 });
    const err = await client.messages
      .create({ model: "claude-unknown", max_tokens: 8, messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as InstanceType<typeof Anthropic.BadRequestError>).message).toContain("claude-unknown");
  });
});
