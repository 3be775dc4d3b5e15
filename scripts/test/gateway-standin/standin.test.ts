// The gateway stand-in over real HTTP on 127.0.0.1: gateway rules, provider answers, faults, records, control routes.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { readUntilBreak, standinControl } from "../../gateway-standin/client";
import { answerText, GATEWAY_REFUSALS, type GatewayFaultKind, type Standin, startStandin } from "../../gateway-standin/index";

const TOKEN = "gw-token-for-tests";
let s: Standin;
let base: string;

beforeAll(async () => {
  s = await startStandin({ token: TOKEN, providerKeys: { anthropic: "sk-ant-test", openai: "sk-oai-test" } });
  base = `${s.baseUrl}/acct-1/gw-1`;
});
afterAll(() => s.close());
afterEach(() => {
  vi.restoreAllMocks();
  s.clearFaults();
  s.setRateLimit(null);
});

const auth = { "cf-aig-authorization": `Bearer ${TOKEN}` };
const anthropicHeaders = { ...auth, "x-api-key": "sk-ant-test", "content-type": "application/json" };
const openaiHeaders = { ...auth, authorization: "Bearer sk-oai-test", "content-type": "application/json" };

function post(path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(`${base}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
}

const msg = (text: string, extra: Record<string, unknown> = {}) => ({
  model: "claude-haiku-4-5",
  max_tokens: 100,
  messages: [{ role: "user", content: text }],
  ...extra,
});
const chat = (text: string, extra: Record<string, unknown> = {}) => ({
  model: "gpt-5.4-mini",
  messages: [{ role: "user", content: text }],
  ...extra,
});

/** SSE events as [event, data] pairs; `event:` is absent for OpenAI / Workers AI framing. */
function events(text: string): [string | undefined, string][] {
  return text
    .split("\n\n")
    .filter((b) => b.trim() !== "")
    .map((b) => {
      const ev = /^event: (.*)$/m.exec(b)?.[1];
      const data = /^data: (.*)$/m.exec(b)?.[1] ?? "";
      return [ev, data];
    });
}

describe("gateway rules", () => {
  it("answers 404 with the expected URL scheme for paths outside /v1/{account}/{gateway}/{provider}", async () => {
    const res = await fetch(`${s.url}/v1/acct/anthropic`, { method: "POST", headers: auth, body: "{}" });
    expect(res.status).toBe(404);
    expect(JSON.stringify(await res.json())).toContain("/v1/{account}/{gateway}/{anthropic|openai|workers-ai}");
  });

  it("rejects a call without cf-aig-authorization, or with the wrong token, with 401", async () => {
    const { "cf-aig-authorization": _, ...noAuth } = anthropicHeaders;
    expect((await post("/anthropic/v1/messages", msg("hi"), noAuth)).status).toBe(401);
    const wrong = await post("/anthropic/v1/messages", msg("hi"), { ...anthropicHeaders, "cf-aig-authorization": "Bearer nope" });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { message: string }[] }).error[0]!.message).toMatch(/cf-aig-authorization/);
  });

  it("rejects a wrong provider key in the provider's own error shape", async () => {
    const res = await post("/anthropic/v1/messages", msg("hi"), { ...anthropicHeaders, "x-api-key": "bad" });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "authentication_error" } });
  });

  it.each([
    ["not JSON", "{oops", /not valid JSON/],
    ["an array", "[1,2]", /must be a JSON object/],
    ["six entries", JSON.stringify({ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 }), /6 entries; at most 5/],
    ["a nested value", JSON.stringify({ a: { b: 1 } }), /value of "a" must be a string, number or boolean/],
    ["a reserved key", JSON.stringify({ "cf.x": 1 }), /reserved "cf\." prefix/],
  ])("rejects cf-aig-metadata that is %s with 400 and says why", async (_name, meta, why) => {
    const res = await post("/anthropic/v1/messages", msg("hi"), { ...anthropicHeaders, "cf-aig-metadata": meta });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string }[] }).error[0]!.message).toMatch(why);
  });

  it("accepts metadata of five scalar entries", async () => {
    const meta = JSON.stringify({ client: "c1", feature: "f", variant: "v", stack: "dev", n: 2 });
    const res = await post("/anthropic/v1/messages", msg("hi"), { ...anthropicHeaders, "cf-aig-metadata": meta });
    expect(res.status).toBe(200);
  });

  it("rate-limits the whole gateway with 429 and retry-after once the window's limit is spent", async () => {
    s.setRateLimit({ limit: 2, windowMs: 60_000 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await post("/openai/chat/completions", chat(`rl ${i}`), openaiHeaders)).status);
    // The limit is gateway-wide: another provider is limited too.
    const other = await post("/anthropic/v1/messages", msg("rl other"), anthropicHeaders);
    expect(statuses).toEqual([200, 200, 429]);
    expect(other.status).toBe(429);
    expect(Number(other.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });

  it("answers the window's 429 as the injected rate-limit refusal: same code and message, recorded as that fault", async () => {
    s.setRateLimit({ limit: 1, windowMs: 60_000 });
    await post("/openai/chat/completions", chat("rl window 0"), openaiHeaders);
    const res = await post("/openai/chat/completions", chat("rl window 1"), openaiHeaders);
    expect(res.status).toBe(429);
    expect(((await res.json()) as { error: unknown }).error).toEqual([
      { code: GATEWAY_REFUSALS["rate-limit"].code, message: GATEWAY_REFUSALS["rate-limit"].message },
    ]);
    // The window's own countdown, not the injected fault's fixed second.
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(1);
    expect(s.records().at(-1)!.fault).toBe("rate-limit");
  });
});

describe("cache", () => {
  it("answers MISS then HIT for a repeated call with a TTL, replaying the same body", async () => {
    const h = { ...anthropicHeaders, "cf-aig-cache-ttl": "60" };
    const body = msg("cache me please");
    const a = await post("/anthropic/v1/messages", body, h);
    const b = await post("/anthropic/v1/messages", body, h);
    expect(a.headers.get("cf-aig-cache-status")).toBe("MISS");
    expect(b.headers.get("cf-aig-cache-status")).toBe("HIT");
    expect(await b.text()).toBe(await a.text());
  });

  it("does not cache without a TTL", async () => {
    const body = msg("no ttl here");
    await post("/anthropic/v1/messages", body, anthropicHeaders);
    const b = await post("/anthropic/v1/messages", body, anthropicHeaders);
    expect(b.headers.get("cf-aig-cache-status")).toBe("MISS");
  });

  it("skips the cache when cf-aig-skip-cache is true", async () => {
    const h = { ...anthropicHeaders, "cf-aig-cache-ttl": "60" };
    const body = msg("skip this one");
    await post("/anthropic/v1/messages", body, h);
    const b = await post("/anthropic/v1/messages", body, { ...h, "cf-aig-skip-cache": "true" });
    expect(b.headers.get("cf-aig-cache-status")).toBe("MISS");
  });

  it("keys entries by cf-aig-cache-key when given: same key shares, different keys do not", async () => {
    const h = { ...openaiHeaders, "cf-aig-cache-ttl": "60" };
    const body = chat("keyed body");
    await post("/openai/chat/completions", body, { ...h, "cf-aig-cache-key": "client-a:1" });
    const same = await post("/openai/chat/completions", body, { ...h, "cf-aig-cache-key": "client-a:1" });
    const other = await post("/openai/chat/completions", body, { ...h, "cf-aig-cache-key": "client-b:1" });
    expect(same.headers.get("cf-aig-cache-status")).toBe("HIT");
    expect(other.headers.get("cf-aig-cache-status")).toBe("MISS");
  });

  it("includes the provider auth header in the default key, like the real gateway", async () => {
    const open = await startStandin({}); // no provider keys enforced, so two keys can both answer
    try {
      const h = { "content-type": "application/json", "cf-aig-cache-ttl": "60" };
      const url = `${open.baseUrl}/a/g/openai/chat/completions`;
      const body = JSON.stringify(chat("default key"));
      await fetch(url, { method: "POST", headers: { ...h, authorization: "Bearer k1" }, body });
      const sameKey = await fetch(url, { method: "POST", headers: { ...h, authorization: "Bearer k1" }, body });
      const otherKey = await fetch(url, { method: "POST", headers: { ...h, authorization: "Bearer k2" }, body });
      expect(sameKey.headers.get("cf-aig-cache-status")).toBe("HIT");
      expect(otherKey.headers.get("cf-aig-cache-status")).toBe("MISS");
    } finally {
      await open.close();
    }
  });

  it("caches a streamed answer and replays the whole stream on a HIT", async () => {
    const h = { ...anthropicHeaders, "cf-aig-cache-ttl": "60" };
    const body = msg("stream and cache", { stream: true });
    const a = await (await post("/anthropic/v1/messages", body, h)).text();
    const b = await post("/anthropic/v1/messages", body, h);
    expect(b.headers.get("cf-aig-cache-status")).toBe("HIT");
    expect(b.headers.get("content-type")).toMatch(/text\/event-stream/);
    expect(await b.text()).toBe(a);
  });

  it("rejects a cf-aig-cache-ttl that is not whole seconds", async () => {
    const res = await post("/anthropic/v1/messages", msg("x"), { ...anthropicHeaders, "cf-aig-cache-ttl": "1.5" });
    expect(res.status).toBe(400);
  });
});

describe("Anthropic Messages", () => {
  it("answers JSON whose text is derived from the last user message", async () => {
    const res = await post("/anthropic/v1/messages", msg("hello there"), anthropicHeaders);
    expect(res.status).toBe(200);
    const j = (await res.json()) as Anthropic.Message;
    expect(j).toMatchObject({ type: "message", role: "assistant", model: "claude-haiku-4-5", stop_reason: "end_turn" });
    expect(j.content).toEqual([{ type: "text", text: answerText("anthropic", "claude-haiku-4-5", "hello there") }]);
    expect(j.usage.input_tokens).toBeGreaterThan(0);
  });

  it("streams the exact event sequence and the same text", async () => {
    const res = await post("/anthropic/v1/messages", msg("one two three", { stream: true }), anthropicHeaders);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const ev = events(await res.text());
    const names = ev.map(([e]) => e);
    const want = answerText("anthropic", "claude-haiku-4-5", "one two three");
    const deltas = ev
      .filter(([e]) => e === "content_block_delta")
      .map(([, d]) => (JSON.parse(d) as { delta: { text: string } }).delta.text);
    expect(names).toEqual([
      "message_start",
      "content_block_start",
      "ping",
      ...deltas.map(() => "content_block_delta"),
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe(want);
    for (const [e, d] of ev) expect((JSON.parse(d) as { type: string }).type).toBe(e);
  });

  it("calls a tool the last user message names, with arguments from its schema", async () => {
    const tools = [
      {
        name: "get_weather",
        description: "w",
        input_schema: { type: "object", properties: { city: { type: "string" }, days: { type: "integer" } } },
      },
    ];
    const res = await post("/anthropic/v1/messages", msg("please get_weather now", { tools }), anthropicHeaders);
    const j = (await res.json()) as Anthropic.Message;
    expect(j.stop_reason).toBe("tool_use");
    expect(j.content[0]).toMatchObject({ type: "tool_use", name: "get_weather", input: { city: "stand-in", days: 1 } });
  });

  it("answers in text when tools are given but not named", async () => {
    const tools = [{ name: "get_weather", input_schema: { type: "object", properties: {} } }];
    const j = (await (await post("/anthropic/v1/messages", msg("just chat", { tools }), anthropicHeaders)).json()) as Anthropic.Message;
    expect(j.stop_reason).toBe("end_turn");
  });

  it("stops at a stop sequence and at max_tokens", async () => {
    const stopped = (await (
      await post("/anthropic/v1/messages", msg("alpha beta gamma", { stop_sequences: ["beta"] }), anthropicHeaders)
    ).json()) as Anthropic.Message;
    expect(stopped).toMatchObject({ stop_reason: "stop_sequence", stop_sequence: "beta" });
    expect((stopped.content[0] as Anthropic.TextBlock).text).not.toContain("beta");
    const short = (await (
      await post("/anthropic/v1/messages", msg("alpha beta gamma", { max_tokens: 2 }), anthropicHeaders)
    ).json()) as Anthropic.Message;
    expect(short.stop_reason).toBe("max_tokens");
    expect((short.content[0] as Anthropic.TextBlock).text.trim().split(/\s+/)).toHaveLength(2);
  });

  it("is understood by the official Anthropic SDK, streaming included", async () => {
    const client = new Anthropic({ baseURL: `${base}/anthropic`, apiKey: "sk-ant-test", defaultHeaders: auth, maxRetries: 0 });
    const stream = client.messages.stream(msg("sdk check") as Anthropic.MessageCreateParamsNonStreaming);
    const final = await stream.finalMessage();
    expect(final.content).toHaveLength(1);
    expect(final.content[0]).toMatchObject({ type: "text", text: answerText("anthropic", "claude-haiku-4-5", "sdk check") });
    expect(final.stop_reason).toBe("end_turn");
  });

  it("answers 400 in Anthropic's shape when max_tokens is missing", async () => {
    const res = await post("/anthropic/v1/messages", { model: "m", messages: [{ role: "user", content: "x" }] }, anthropicHeaders);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      type: "error",
      error: { type: "invalid_request_error", message: expect.stringContaining("max_tokens") },
    });
  });
});

describe("OpenAI Chat Completions", () => {
  it("answers JSON with the derived text and usage", async () => {
    const j = (await (await post("/openai/chat/completions", chat("hi openai"), openaiHeaders)).json()) as OpenAI.ChatCompletion;
    expect(j.object).toBe("chat.completion");
    expect(j.choices[0]!.message.content).toBe(answerText("openai", "gpt-5.4-mini", "hi openai"));
    expect(j.choices[0]!.finish_reason).toBe("stop");
    expect(j.usage!.total_tokens).toBe(j.usage!.prompt_tokens + j.usage!.completion_tokens);
  });

  it("streams chunks ending in [DONE], with a usage chunk only when include_usage is asked", async () => {
    const plain = events(await (await post("/openai/chat/completions", chat("a b", { stream: true }), openaiHeaders)).text()).map(
      ([, d]) => d,
    );
    expect(plain.at(-1)).toBe("[DONE]");
    const chunks = plain.slice(0, -1).map((d) => JSON.parse(d) as OpenAI.ChatCompletionChunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe(answerText("openai", "gpt-5.4-mini", "a b"));
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe("stop");
    expect(chunks.every((c) => c.usage === undefined)).toBe(true);

    const withUsage = events(
      await (
        await post("/openai/chat/completions", chat("a b", { stream: true, stream_options: { include_usage: true } }), openaiHeaders)
      ).text(),
    ).map(([, d]) => d);
    const last = JSON.parse(withUsage.at(-2)!) as OpenAI.ChatCompletionChunk;
    expect(last.choices).toEqual([]);
    expect(last.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it("answers a tool call when a named function is given", async () => {
    const tools = [
      { type: "function", function: { name: "lookup", parameters: { type: "object", properties: { q: { type: "string" } } } } },
    ];
    const j = (await (
      await post("/openai/chat/completions", chat("use lookup", { tools }), openaiHeaders)
    ).json()) as OpenAI.ChatCompletion;
    expect(j.choices[0]!.finish_reason).toBe("tool_calls");
    const call = j.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.function.name).toBe("lookup");
    expect(JSON.parse(call.function.arguments)).toEqual({ q: "stand-in" });
  });

  it("is understood by the official OpenAI SDK when streaming", async () => {
    const client = new OpenAI({ baseURL: `${base}/openai`, apiKey: "sk-oai-test", defaultHeaders: auth, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      ...chat("sdk stream"),
      stream: true,
    } as OpenAI.ChatCompletionCreateParamsStreaming);
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta.content ?? "";
    expect(text).toBe(answerText("openai", "gpt-5.4-mini", "sdk stream"));
  });
});

describe("Workers AI", () => {
  const model = "@cf/meta/llama-3.1-8b-instruct-fast";
  it("answers { result: { response }, success: true }", async () => {
    const j = (await (await post(`/workers-ai/${model}`, { messages: [{ role: "user", content: "wai" }] }, auth)).json()) as {
      result: { response: string };
      success: boolean;
    };
    expect(j.success).toBe(true);
    expect(j.result.response).toBe(answerText("workers-ai", model, "wai"));
  });

  it("streams data: {response} events ending in [DONE]", async () => {
    const res = await post(`/workers-ai/${model}`, { messages: [{ role: "user", content: "x y" }], stream: true }, auth);
    const data = events(await res.text()).map(([, d]) => d);
    expect(data.at(-1)).toBe("[DONE]");
    const text = data
      .slice(0, -1)
      .map((d) => (JSON.parse(d) as { response: string }).response)
      .join("");
    expect(text).toBe(answerText("workers-ai", model, "x y"));
  });
});

describe("faults", () => {
  it.each([
    ["anthropic", "/anthropic/v1/messages", msg("f"), anthropicHeaders, { type: "error", error: { type: "overloaded_error" } }, 529],
    ["openai", "/openai/chat/completions", chat("f"), openaiHeaders, { error: { type: "server_error" } }, 503],
    ["workers-ai", "/workers-ai/@cf/m", { messages: [{ role: "user", content: "f" }] }, auth, { success: false }, 500],
  ] as const)("answers a set status with %s's error shape", async (provider, path, body, headers, shape, status) => {
    s.setFault(provider, { status });
    const res = await post(path, body, headers);
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject(shape);
  });

  it("adds latency before answering", async () => {
    s.setFault("openai", { latencyMs: 300 });
    const t0 = performance.now();
    const res = await post("/openai/chat/completions", chat("slow"), openaiHeaders);
    expect(res.status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
  });

  it("cuts a stream before the first token: head sent, no content, connection broken", async () => {
    s.setFault("anthropic", { cut: "before-first-token" });
    const res = await post("/anthropic/v1/messages", msg("cut early", { stream: true }), anthropicHeaders);
    expect(res.status).toBe(200);
    const { text, broke } = await readUntilBreak(res.body);
    expect(broke).toBe(true);
    expect(text).toContain("message_start");
    expect(text).not.toContain("content_block_delta");
  });

  it("cuts a stream after the first token: exactly one content event, connection broken", async () => {
    s.setFault("openai", { cut: "after-first-token" });
    const res = await post("/openai/chat/completions", chat("cut late please", { stream: true }), openaiHeaders);
    const { text, broke } = await readUntilBreak(res.body);
    expect(broke).toBe(true);
    expect(text).not.toContain("[DONE]");
    const contents = events(text).map(([, d]) => (JSON.parse(d) as OpenAI.ChatCompletionChunk).choices[0]!.delta.content);
    expect(contents.filter((c) => c)).toHaveLength(1);
  });

  it("sends a malformed body with status 200", async () => {
    s.setFault("anthropic", { malformed: true });
    const res = await post("/anthropic/v1/messages", msg("bad body"), anthropicHeaders);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(() => JSON.parse(text)).toThrow();
  });

  it("drops the connection without answering", async () => {
    s.setFault("workers-ai", { drop: true });
    await expect(post("/workers-ai/@cf/m", { messages: [{ role: "user", content: "drop" }] }, auth)).rejects.toThrow();
  });

  it("affects only matching requests, only the given number of times, and only its provider", async () => {
    s.setFault("anthropic", { status: 500, match: "marker-123", times: 1 });
    expect((await post("/anthropic/v1/messages", msg("other text"), anthropicHeaders)).status).toBe(200);
    expect((await post("/openai/chat/completions", chat("marker-123"), openaiHeaders)).status).toBe(200);
    expect((await post("/anthropic/v1/messages", msg("marker-123"), anthropicHeaders)).status).toBe(500);
    expect((await post("/anthropic/v1/messages", msg("marker-123"), anthropicHeaders)).status).toBe(200);
  });
});

describe("records and the HTTP control routes", () => {
  it("records path, headers and body of each gateway call", async () => {
    s.clearRecords();
    await post("/anthropic/v1/messages", msg("recorded"), { ...anthropicHeaders, "cf-aig-metadata": '{"client":"c"}' });
    const [r] = s.records();
    expect(r).toMatchObject({
      method: "POST",
      account: "acct-1",
      gateway: "gw-1",
      provider: "anthropic",
      endpoint: "/v1/messages",
      status: 200,
      cache: "MISS",
    });
    expect(r!.headers["cf-aig-metadata"]).toBe('{"client":"c"}');
    expect(JSON.parse(r!.body)).toEqual(msg("recorded"));
  });

  it("lets another process set faults, read and clear records over HTTP", async () => {
    const ctl = standinControl(s.url);
    await ctl.clearRecords();
    await ctl.setFault("openai", { status: 429, times: 1 });
    const res = await post("/openai/chat/completions", chat("over http"), openaiHeaders);
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("1");
    const recs = await ctl.records();
    expect(recs.map((r) => [r.provider, r.status, r.fault])).toEqual([["openai", 429, "status"]]);
    await ctl.clearRecords();
    expect(await ctl.records()).toEqual([]);
  });

  it("counts every gateway call and its cache outcome over HTTP, with recording off, and never resets the count", async () => {
    const quiet = await startStandin({ token: TOKEN, recordLimit: 0 });
    try {
      const ctl = standinControl(quiet.url);
      expect(await ctl.counters()).toEqual({ calls: 0, hits: 0, misses: 0 });
      const at = (path: string, body: unknown, h: Record<string, string>) =>
        fetch(`${quiet.baseUrl}/acct-1/gw-1${path}`, { method: "POST", headers: h, body: JSON.stringify(body) });
      const h = { ...auth, "content-type": "application/json", "cf-aig-cache-ttl": "60" };
      await at("/anthropic/v1/messages", msg("count me"), h);
      await at("/anthropic/v1/messages", msg("count me"), h);
      await at("/anthropic/v1/messages", msg("count me"), { "content-type": "application/json" });
      // Two answered (a miss, then a hit), one refused before the cache (no gateway token): all three reached it.
      expect(await ctl.counters()).toEqual({ calls: 3, hits: 1, misses: 1 });
      expect(quiet.records()).toEqual([]);
      const reset = await fetch(`${quiet.url}/__standin/counters`, { method: "DELETE" });
      expect(reset.status).toBe(404);
      expect(quiet.counters()).toEqual({ calls: 3, hits: 1, misses: 1 });
    } finally {
      await quiet.close();
    }
  });

  it("rejects an unknown fault field over HTTP with 400 naming it", async () => {
    const res = await fetch(`${s.url}/__standin/faults`, {
      method: "POST",
      body: JSON.stringify({ provider: "openai", fault: { stauts: 500 } }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain('"stauts"');
  });
});

type GatewayBody = { success: boolean; name: string; httpCode: number; internalCode: number; error: { code: number; message: string }[] };

describe("the gateway's own refusals, in Cloudflare's envelope", () => {
  it.each([
    ["rate-limit", 429, 2003],
    ["spend-limit", 429, 2025],
    ["prompt-blocked", 424, 2016],
    ["response-blocked", 424, 2017],
    ["guardrails-credits", 402, 2021],
    ["guardrails-unavailable", 503, 7013],
  ] as const)("%s answers %i with code %i under name AiGatewayError", async (kind, status, code) => {
    s.setGatewayFaults([{ kind }]);
    const res = await post("/openai/chat/completions", chat(`refused ${kind}`), openaiHeaders);
    expect(res.status).toBe(status);
    const body = (await res.json()) as GatewayBody;
    expect(body).toMatchObject({ success: false, name: "AiGatewayError", httpCode: status, internalCode: code });
    expect(body.error).toEqual([{ code, message: expect.any(String) }]);
    // Not the provider's shape: a client must tell the gateway's refusal from the provider's answer.
    expect(body).not.toHaveProperty("type");
    expect(s.records().at(-1)!.fault).toBe(kind);
  });

  it("tells a gateway rate limit from a spend limit by code and message, both 429", async () => {
    const bodies: GatewayBody[] = [];
    for (const kind of ["rate-limit", "spend-limit"] as GatewayFaultKind[]) {
      s.setGatewayFaults([{ kind }]);
      bodies.push((await (await post("/anthropic/v1/messages", msg(`tell apart ${kind}`), anthropicHeaders)).json()) as GatewayBody);
    }
    const [rate, spend] = bodies;
    expect(rate!.httpCode).toBe(spend!.httpCode);
    expect(rate!.internalCode).not.toBe(spend!.internalCode);
    expect(rate!.error[0]!.message).toMatch(/rate limit/i);
    expect(spend!.error[0]!.message).toMatch(/spend limit/i);
  });

  it("applies the gateway rate limit to every provider, with retry-after", async () => {
    s.setGatewayFaults([{ kind: "rate-limit" }]);
    const a = await post("/anthropic/v1/messages", msg("rl a"), anthropicHeaders);
    const w = await post("/workers-ai/@cf/meta/llama-3.1-8b-instruct-fast", { messages: [{ role: "user", content: "rl w" }] }, auth);
    expect([a.status, w.status]).toEqual([429, 429]);
    expect(a.headers.get("retry-after")).toBe("1");
  });

  it("scopes a spend limit to a provider or a model, naming the scope in its message", async () => {
    s.setGatewayFaults([{ kind: "spend-limit", provider: "openai" }]);
    expect((await post("/anthropic/v1/messages", msg("spend other provider"), anthropicHeaders)).status).toBe(200);
    const openai = await post("/openai/chat/completions", chat("spend openai"), openaiHeaders);
    expect(openai.status).toBe(429);
    expect(((await openai.json()) as GatewayBody).error[0]!.message).toContain("provider openai");

    s.setGatewayFaults([{ kind: "spend-limit", model: "gpt-5.4" }]);
    expect((await post("/openai/chat/completions", chat("spend other model"), openaiHeaders)).status).toBe(200);
    const scoped = await post("/openai/chat/completions", { ...chat("spend model"), model: "gpt-5.4" }, openaiHeaders);
    expect(scoped.status).toBe(429);
    expect(((await scoped.json()) as GatewayBody).error[0]!.message).toContain("model gpt-5.4");
  });

  it("blocks a response only once the request itself was valid, and counts down `times`", async () => {
    s.setGatewayFaults([{ kind: "response-blocked", times: 1 }]);
    // An invalid request is still the provider's 400, not a Guardrails block.
    const bad = await post(
      "/anthropic/v1/messages",
      { model: "claude-haiku-4-5", messages: [{ role: "user", content: "x" }] },
      anthropicHeaders,
    );
    expect(bad.status).toBe(400);
    expect((await post("/anthropic/v1/messages", msg("blocked answer"), anthropicHeaders)).status).toBe(424);
    expect((await post("/anthropic/v1/messages", msg("blocked answer"), anthropicHeaders)).status).toBe(200);
  });

  it("lets another process set and clear gateway faults over HTTP, and rejects an unknown kind naming the known ones", async () => {
    const ctl = standinControl(s.url);
    await ctl.setGatewayFaults([{ kind: "guardrails-unavailable", match: "over-http-marker" }]);
    expect((await post("/openai/chat/completions", chat("over-http-marker"), openaiHeaders)).status).toBe(503);
    expect((await post("/openai/chat/completions", chat("unmarked"), openaiHeaders)).status).toBe(200);
    await ctl.clearFaults();
    expect((await post("/openai/chat/completions", chat("over-http-marker"), openaiHeaders)).status).toBe(200);
    const res = await fetch(`${s.url}/__standin/gateway-faults`, { method: "POST", body: JSON.stringify([{ kind: "budget" }]) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain(Object.keys(GATEWAY_REFUSALS).join(", "));
  });
});

describe("models past their end of life", () => {
  // The day after gpt-5-mini's announced shutdown (2026-12-11, from the installed openai SDK).
  const after = new Date("2026-12-12T09:00:00Z");
  let old: Standin;
  let oldBase: string;
  beforeAll(async () => {
    old = await startStandin({ now: () => after });
    oldBase = `${old.baseUrl}/a/g`;
  });
  afterAll(() => old.close());
  const send = (path: string, body: unknown) =>
    fetch(`${oldBase}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  it("answers a retired Workers AI model with 400, code 5028 and the date it was deprecated", async () => {
    const res = await send("/workers-ai/@cf/meta/llama-3.1-8b-instruct", { messages: [{ role: "user", content: "old" }] });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      result: null,
      success: false,
      errors: [{ code: 5028, message: "This model was deprecated on 2026-05-30. Please use an alternative model." }],
      messages: [],
    });
    expect(old.records().at(-1)!.fault).toBe("retired");
  });

  it("answers a retired OpenAI model with 404 model_not_found, seen by the OpenAI SDK as NotFoundError", async () => {
    const client = new OpenAI({ baseURL: `${oldBase}/openai`, apiKey: "k", maxRetries: 0 });
    const err = await client.chat.completions
      .create({ model: "gpt-5-mini", messages: [{ role: "user", content: "old" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err).toMatchObject({ status: 404, code: "model_not_found", type: "invalid_request_error" });
    // The same model the day before its shutdown still answers.
    const before = await startStandin({ now: () => new Date("2026-12-10T09:00:00Z") });
    try {
      const res = await fetch(`${before.baseUrl}/a/g/openai/chat/completions`, {
        method: "POST",
        body: JSON.stringify({ ...chat("still here"), model: "gpt-5-mini" }),
      });
      expect(res.status).toBe(200);
    } finally {
      await before.close();
    }
  });

  it("answers a retired Anthropic model with 404 not_found_error, seen by the Anthropic SDK as NotFoundError", async () => {
    const client = new Anthropic({ baseURL: `${oldBase}/anthropic`, apiKey: "k", maxRetries: 0 });
    // The SDK itself warns about the model's end of life before sending; the answer is what is under test.
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const err = await client.messages
      .create({ ...msg("old"), model: "claude-sonnet-4-5" } as Anthropic.MessageCreateParamsNonStreaming)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect((err as { error: unknown }).error).toEqual({
      type: "error",
      error: { type: "not_found_error", message: "model: claude-sonnet-4-5" },
    });
  });

  it("answers a live model retired when told to, per provider, and not at all with retireModels off", async () => {
    s.setFault("openai", { retired: true, times: 1 });
    const forced = await post("/openai/chat/completions", chat("forced"), openaiHeaders);
    expect(forced.status).toBe(404);
    expect(((await forced.json()) as { error: { code: string } }).error.code).toBe("model_not_found");
    expect((await post("/openai/chat/completions", chat("forced"), openaiHeaders)).status).toBe(200);

    old.setMode({ retireModels: false });
    try {
      expect((await send("/workers-ai/@cf/meta/llama-3.1-8b-instruct", { messages: [{ role: "user", content: "old" }] })).status).toBe(200);
    } finally {
      old.setMode({ retireModels: true });
    }
  });
});

describe("response Guardrails on", () => {
  afterEach(() => s.setMode({ responseGuardrails: false }));

  it("answers a stream: true request with one JSON body carrying the whole answer", async () => {
    s.setMode({ responseGuardrails: true });
    const a = await post("/anthropic/v1/messages", msg("buffered please", { stream: true }), anthropicHeaders);
    expect(a.headers.get("content-type")).toBe("application/json");
    const m = (await a.json()) as Anthropic.Message;
    expect(m).toMatchObject({
      type: "message",
      stop_reason: "end_turn",
      content: [{ type: "text", text: answerText("anthropic", "claude-haiku-4-5", "buffered please") }],
    });
    const o = (await (
      await post("/openai/chat/completions", chat("buffered too", { stream: true }), openaiHeaders)
    ).json()) as OpenAI.ChatCompletion;
    expect(o.object).toBe("chat.completion");
    expect(s.records().at(-1)!.fault).toBe("response-guardrails");
  });

  it("streams again once switched off over HTTP", async () => {
    await standinControl(s.url).setMode({ responseGuardrails: true });
    expect((await post("/openai/chat/completions", chat("mode", { stream: true }), openaiHeaders)).headers.get("content-type")).toBe(
      "application/json",
    );
    await standinControl(s.url).setMode({ responseGuardrails: false });
    expect((await post("/openai/chat/completions", chat("mode", { stream: true }), openaiHeaders)).headers.get("content-type")).toMatch(
      /^text\/event-stream/,
    );
  });
});
