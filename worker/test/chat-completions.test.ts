// POST /v1/chat/completions: OpenAI Chat Completions passed through the gateway, JSON and SSE, usable by the OpenAI SDK.
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { TEST_SECRETS } from "./fixtures";
import { harness, json, openaiAnswer, openaiFrames, post, readSse, sse, WEB_KEY } from "./support";

const request = {
  model: "gpt-4.1-mini",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hi" },
  ],
  max_completion_tokens: 100,
  user: "end-user-42",
};

const bearer = (key: string) => ({ authorization: `Bearer ${key}`, "x-api-key": "" });

describe("POST /v1/chat/completions", () => {
  it("sends the request to {gateway}/openai/chat/completions with the Worker's OpenAI key and passes the JSON answer through", async () => {
    const h = harness();
    const text = JSON.stringify(openaiAnswer("Hello"));
    h.gateway.on("openai", () => new Response(text, { headers: { "content-type": "application/json", "cf-aig-cache-status": "HIT" } }));
    const res = await h.fetch("/v1/chat/completions", post(request, bearer(WEB_KEY)));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(text);
    expect(res.headers.get("x-ai-provider")).toBe("openai");
    expect(res.headers.get("x-ai-model")).toBe("gpt-4.1-mini");
    expect(res.headers.get("x-cache")).toBe("HIT");

    const [call] = h.gateway.calls;
    expect(call!.path).toBe("/openai/chat/completions");
    expect(call!.body).toEqual(request);
    expect(call!.headers.get("authorization")).toBe(`Bearer ${TEST_SECRETS.OPENAI_API_KEY}`);
    expect(call!.headers.get("cf-aig-authorization")).toBe(`Bearer ${TEST_SECRETS.AI_GATEWAY_TOKEN}`);
    for (const [, value] of call!.headers) expect(value).not.toContain(WEB_KEY);
    expect(h.logs[0]).toMatchObject({
      surface: "chatCompletions",
      provider: "openai",
      status: 200,
      cache: "HIT",
      usage: { input: 13, output: 5 },
    });
  });

  it("streams SSE through unchanged, including the include_usage chunk", async () => {
    const h = harness();
    const frames = openaiFrames(["Hel", "lo"]);
    h.gateway.on("openai", () => sse(frames));
    const res = await h.fetch("/v1/chat/completions", post({ ...request, stream: true, stream_options: { include_usage: true } }));
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(await res.text()).toBe(frames.join(""));
    expect(h.gateway.calls[0]!.body.stream_options).toEqual({ include_usage: true });
    await h.settled();
    expect(h.logs[0]).toMatchObject({ stream: true, usage: { input: 13, output: 5 }, error: null });
  });

  it("ends a stream that stops before [DONE] with an OpenAI-style error chunk", async () => {
    const h = harness();
    h.gateway.on("openai", () => sse(openaiFrames(["Hel"], { end: false }), "error"));
    const events = await readSse(await h.fetch("/v1/chat/completions", post({ ...request, stream: true })));
    expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ error: { type: "server_error", code: "upstream_error" } });
  });

  it("gives upstream errors in OpenAI's error shape", async () => {
    const h = harness();
    h.gateway.on(
      "openai",
      () =>
        json(
          { error: { message: "Invalid value for 'temperature'", type: "invalid_request_error", param: "temperature", code: null } },
          400,
        ),
      () => json({ error: { message: "busy", type: "server_error" } }, 503),
    );
    const bad = await h.fetch("/v1/chat/completions", post(request));
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: { message: "Invalid value for 'temperature'", type: "invalid_request_error", param: null, code: "upstream_rejected" },
    });
    const busy = await h.fetch("/v1/chat/completions", post(request));
    expect(busy.status).toBe(503);
    expect(((await busy.json()) as { error: { code: string } }).error.code).toBe("upstream_unavailable");
  });

  it("works with the official OpenAI SDK, for a completion and a stream with usage", async () => {
    const h = harness();
    h.gateway.on(
      "openai",
      () => json(openaiAnswer("Hi from the SDK")),
      () => sse(openaiFrames(["str", "eamed"])),
    );
    const client = new OpenAI({ baseURL: "https://worker.test/v1", apiKey: WEB_KEY, fetch: h.sdkFetch, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: "gpt-4.1-mini", messages: [{ role: "user", content: "hi" }] });
    expect(completion.choices[0]!.message.content).toBe("Hi from the SDK");

    const stream = await client.chat.completions.create({
      model: "gpt-4.1-mini",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("streamed");
    expect(usage).toMatchObject({ prompt_tokens: 13, completion_tokens: 5 });
  });

  it("makes the OpenAI SDK raise when the stream breaks midway", async () => {
    const h = harness();
    h.gateway.on("openai", () => sse(openaiFrames(["partial"], { end: false }), "error"));
    const client = new OpenAI({ baseURL: "https://worker.test/v1", apiKey: WEB_KEY, fetch: h.sdkFetch, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: "gpt-4.1-mini",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    });
    await expect(
      (async () => {
        for await (const _ of stream) {
          // drain
        }
      })(),
    ).rejects.toThrow(/stream failed/);
  });

  it("gives the OpenAI SDK a 401 AuthenticationError for a wrong key", async () => {
    const h = harness();
    const client = new OpenAI({ baseURL: "https://worker.test/v1", apiKey: "not-a-client-key", fetch: h.sdkFetch, maxRetries: 0 });
    const err = await client.chat.completions
      .create({ model: "gpt-4.1-mini", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
  });
});
