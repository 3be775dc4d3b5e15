/**
 * End to end: the real Worker under `wrangler dev`, the gateway stand-in behind it, and the official Anthropic and
 * OpenAI SDKs (plus fetch for /api/chat) in front, as an app would use them. One file so the stack starts once and
 * the leak scan at the end covers every response of the suite.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readUntilBreak } from "../../scripts/gateway-standin/client";
import { answerText, type Fault } from "../../scripts/gateway-standin/index";
import {
  ALICE_MONTHLY_USD,
  ATTEMPT_MS,
  BOB_DAILY_USD,
  LIMIT_PERIOD,
  marker,
  ROOT,
  STREAM_DAILY_USD,
  type Stack,
  startStack,
  TINY_LIMIT,
  VARIANT,
} from "./harness";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
}, 180_000);
afterAll(async () => {
  await stack?.stop();
});

const CLAUDE = "claude-haiku-4-5";
const GPT = "gpt-5.4-mini";
const LLAMA = "@cf/meta/llama-3.1-8b-instruct-fast";

function chatFetch(body: unknown, opts: { key?: string; url?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  return stack.fetch(`${opts.url ?? stack.workerUrl}/api/chat`, {
    method: "POST",
    headers: { authorization: `Bearer ${opts.key ?? stack.keys.alice}`, "content-type": "application/json", ...opts.headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

interface ChatAnswer {
  text: string;
  provider: string;
  model: string;
  variant: string;
  cached: boolean;
  usage: { inputTokens: number; outputTokens: number };
}

/** SSE blocks as { event, data } with data parsed when it is JSON. */
function sseEvents(text: string): { event: string; data: unknown }[] {
  return text
    .split(/\n\n/)
    .filter((b) => b.trim() !== "")
    .map((b) => {
      const event = /^event: ?(.*)$/m.exec(b)?.[1] ?? "message";
      const raw = b
        .split("\n")
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.replace(/^data: ?/, ""))
        .join("\n");
      let data: unknown = raw;
      try {
        data = JSON.parse(raw);
      } catch {
        /* keep raw */
      }
      return { event, data };
    });
}

/** A streamed body's text, to its end or to where the connection broke. */
const readAll = async (res: Response) => (await readUntilBreak(res.body)).text;

const header = (rec: { headers: Record<string, string> }, name: string) => rec.headers[name];

describe("GET /healthz", () => {
  it("answers 200 without a key and without calling the gateway", async () => {
    const before = stack.standin.records().length;
    const res = await stack.fetch(`${stack.workerUrl}/healthz`);
    expect(res.status).toBe(200);
    await res.text();
    expect(stack.standin.records().length).toBe(before);
  });
});

describe("POST /v1/messages with the Anthropic SDK", () => {
  it("answers JSON through the gateway, passing the system prompt, and declares provider, model, variant, cache and request id", async () => {
    const m = marker("msg-json");
    const { data, response } = await stack
      .anthropic()
      .messages.create({ model: CLAUDE, max_tokens: 200, system: `Be terse ${m}`, messages: [{ role: "user", content: `hello ${m}` }] })
      .withResponse();
    expect(data.content).toEqual([expect.objectContaining({ type: "text", text: answerText("anthropic", CLAUDE, `hello ${m}`) })]);
    expect(data.stop_reason).toBe("end_turn");
    expect(response.headers.get("x-ai-provider")).toBe("anthropic");
    expect(response.headers.get("x-ai-model")).toBe(CLAUDE);
    expect(response.headers.get("x-ai-variant")).toBe("none");
    expect(response.headers.get("x-cache")).toBe("MISS");
    expect(response.headers.get("x-request-id")).toMatch(/\S{8,}/);

    const [rec] = stack.recordsFor(m);
    expect(rec).toMatchObject({
      provider: "anthropic",
      endpoint: "/v1/messages",
      account: stack.secrets.account,
      gateway: stack.secrets.gateway,
    });
    expect(JSON.parse(rec!.body)).toMatchObject({
      model: CLAUDE,
      system: `Be terse ${m}`,
      messages: [{ role: "user", content: `hello ${m}` }],
    });
    expect(header(rec!, "cf-aig-authorization")).toBe(`Bearer ${stack.secrets.AI_GATEWAY_TOKEN}`);
    const key = stack.secrets.ANTHROPIC_API_KEY;
    expect(header(rec!, "x-api-key") === key || header(rec!, "authorization") === `Bearer ${key}`).toBe(true);
    const meta = JSON.parse(header(rec!, "cf-aig-metadata") ?? "{}") as Record<string, unknown>;
    expect(Object.values(meta)).toEqual(expect.arrayContaining(["alice", "e2e"]));
    expect(header(rec!, "cf-aig-cache-ttl")).toBe(String(stack.routing.cacheTtl.messages));
    expect(header(rec!, "cf-aig-cache-key")).toMatch(/^[0-9a-f]{64}$/);
  });

  it("streams: the SDK assembles the Anthropic event sequence into the stand-in's answer", async () => {
    const m = marker("msg-stream");
    const stream = stack
      .anthropic()
      .messages.stream({ model: CLAUDE, max_tokens: 200, messages: [{ role: "user", content: `stream ${m} please` }] });
    const types: string[] = [];
    stream.on("streamEvent", (e) => types.push(e.type));
    const final = await stream.finalMessage();
    expect(final.content[0]).toMatchObject({ type: "text", text: answerText("anthropic", CLAUDE, `stream ${m} please`) });
    expect(types[0]).toBe("message_start");
    expect(types.at(-1)).toBe("message_stop");
    expect(types.filter((t) => t === "content_block_delta").length).toBeGreaterThan(1);
    expect(JSON.parse(stack.recordsFor(m)[0]!.body)).toMatchObject({ stream: true });
  });

  it("passes tools, tool_choice, stop sequences and anthropic-beta through and returns the tool call", async () => {
    const m = marker("msg-tools");
    const tools: Anthropic.Tool[] = [
      {
        name: "get_weather",
        description: "weather",
        input_schema: { type: "object", properties: { city: { type: "string" }, days: { type: "integer" } }, required: ["city"] },
      },
    ];
    const msg = await stack.anthropic().messages.create(
      {
        model: CLAUDE,
        max_tokens: 200,
        tools,
        tool_choice: { type: "auto" },
        stop_sequences: ["NEVER"],
        messages: [{ role: "user", content: `use get_weather ${m}` }],
      },
      { headers: { "anthropic-beta": "e2e-beta-2026-01-01" } },
    );
    expect(msg.stop_reason).toBe("tool_use");
    expect(msg.content[0]).toMatchObject({ type: "tool_use", name: "get_weather", input: { city: "stand-in", days: 1 } });
    const rec = stack.recordsFor(m)[0]!;
    expect(JSON.parse(rec.body)).toMatchObject({ tools, tool_choice: { type: "auto" }, stop_sequences: ["NEVER"] });
    expect(header(rec, "anthropic-beta")).toBe("e2e-beta-2026-01-01");
  });

  it("returns a stop-sequence answer as the provider cut it", async () => {
    const m = marker("msg-stop");
    const msg = await stack
      .anthropic()
      .messages.create({ model: CLAUDE, max_tokens: 200, stop_sequences: ["heard"], messages: [{ role: "user", content: m }] });
    expect(msg).toMatchObject({ stop_reason: "stop_sequence", stop_sequence: "heard" });
  });
});

describe("POST /v1/chat/completions with the OpenAI SDK", () => {
  it("answers JSON through the gateway, passing the system message, with the declared headers", async () => {
    const m = marker("cc-json");
    const { data, response } = await stack
      .openai()
      .chat.completions.create({
        model: GPT,
        messages: [
          { role: "system", content: `sys ${m}` },
          { role: "user", content: `hi ${m}` },
        ],
      })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe(answerText("openai", GPT, `hi ${m}`));
    expect(response.headers.get("x-ai-provider")).toBe("openai");
    expect(response.headers.get("x-ai-model")).toBe(GPT);
    expect(response.headers.get("x-cache")).toBe("MISS");
    expect(response.headers.get("x-request-id")).toMatch(/\S{8,}/);
    const rec = stack.recordsFor(m)[0]!;
    expect(rec).toMatchObject({ provider: "openai", endpoint: "/chat/completions" });
    expect(JSON.parse(rec.body)).toMatchObject({
      messages: [
        { role: "system", content: `sys ${m}` },
        { role: "user", content: `hi ${m}` },
      ],
    });
    expect(header(rec, "authorization")).toBe(`Bearer ${stack.secrets.OPENAI_API_KEY}`);
    expect(header(rec, "cf-aig-cache-ttl")).toBe(String(stack.routing.cacheTtl.chatCompletions));
  });

  it("streams chunks the SDK reads to the full text, with the usage chunk when include_usage is asked", async () => {
    const m = marker("cc-stream");
    const stream = await stack.openai().chat.completions.create({
      model: GPT,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: `go ${m}` }],
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? "";
      if (c.usage) usage = c.usage;
    }
    expect(text).toBe(answerText("openai", GPT, `go ${m}`));
    expect(usage?.completion_tokens).toBeGreaterThan(0);
  });

  it("passes tools through and returns the function call", async () => {
    const m = marker("cc-tools");
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: "function", function: { name: "lookup", parameters: { type: "object", properties: { q: { type: "string" } } } } },
    ];
    const r = await stack.openai().chat.completions.create({ model: GPT, tools, messages: [{ role: "user", content: `lookup ${m}` }] });
    const call = r.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(r.choices[0]!.finish_reason).toBe("tool_calls");
    expect(call.function).toEqual({ name: "lookup", arguments: JSON.stringify({ q: "stand-in" }) });
    expect(JSON.parse(stack.recordsFor(m)[0]!.body)).toMatchObject({ tools });
  });
});

describe("POST /api/chat", () => {
  it("answers { text, provider, model, variant, cached, usage } from the first provider, system prompt passed on", async () => {
    const m = marker("chat-json");
    const res = await chatFetch({
      messages: [
        { role: "system", content: `sys ${m}` },
        { role: "user", content: `hey ${m}` },
      ],
      feature: "e2e-feature",
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as ChatAnswer;
    expect(body).toMatchObject({
      text: answerText("anthropic", CLAUDE, `hey ${m}`),
      provider: "anthropic",
      model: CLAUDE,
      variant: VARIANT,
      cached: false,
    });
    expect(body.usage.outputTokens).toBeGreaterThan(0);
    expect(res.headers.get("x-ai-variant")).toBe(VARIANT);
    expect(res.headers.get("x-ai-provider")).toBe("anthropic");
    const rec = stack.recordsFor(m)[0]!;
    expect(JSON.parse(rec.body)).toMatchObject({ system: `sys ${m}` });
    const meta = JSON.parse(header(rec, "cf-aig-metadata") ?? "{}") as Record<string, unknown>;
    expect(Object.values(meta)).toEqual(expect.arrayContaining(["alice", "e2e-feature", VARIANT, "e2e"]));
  });

  it("streams delta events that add up to the text, ending with a done event carrying provider, model, variant, cached", async () => {
    const m = marker("chat-stream");
    const res = await chatFetch({ stream: true, messages: [{ role: "user", content: `stream ${m}` }] });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const evs = sseEvents(await readAll(res));
    const text = evs
      .filter((e) => e.event === "delta")
      .map((e) => (e.data as { text: string }).text)
      .join("");
    expect(text).toBe(answerText("anthropic", CLAUDE, `stream ${m}`));
    expect(evs.at(-1)).toMatchObject({ event: "done", data: { provider: "anthropic", model: CLAUDE, variant: VARIANT, cached: false } });
  });
});

describe("gateway cache, seen from outside", () => {
  it("answers a repeated identical /v1/messages call from the cache (x-cache HIT, same content)", async () => {
    const m = marker("cache-msg");
    const params = { model: CLAUDE, max_tokens: 100, messages: [{ role: "user" as const, content: m }] };
    const a = await stack.anthropic().messages.create(params).withResponse();
    const b = await stack.anthropic().messages.create(params).withResponse();
    expect(a.response.headers.get("x-cache")).toBe("MISS");
    expect(b.response.headers.get("x-cache")).toBe("HIT");
    expect(b.data.content).toEqual(a.data.content);
  });

  it("treats a reordered, re-spaced but identical request as the same entry", async () => {
    const m = marker("cache-canon");
    const send = (raw: string) =>
      stack.fetch(`${stack.workerUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${stack.keys.alice}`, "content-type": "application/json" },
        body: raw,
      });
    const first = await send(JSON.stringify({ model: GPT, messages: [{ role: "user", content: m }] }));
    const second = await send(`{ "messages": [ { "content": "${m}", "role": "user" } ],\n  "model": "${GPT}" }`);
    expect(first.headers.get("x-cache")).toBe("MISS");
    expect(second.headers.get("x-cache")).toBe("HIT");
    expect(await second.json()).toEqual(await first.json());
  });

  it("skips the cache when the client sends Cache-Control: no-cache", async () => {
    const m = marker("cache-skip");
    const params = { model: GPT, messages: [{ role: "user" as const, content: m }] };
    await stack.openai().chat.completions.create(params);
    const again = await stack
      .openai()
      .chat.completions.create(params, { headers: { "cache-control": "no-cache" } })
      .withResponse();
    expect(again.response.headers.get("x-cache")).not.toBe("HIT");
    const recs = stack.recordsFor(m);
    expect(recs).toHaveLength(2);
    expect(header(recs[1]!, "cf-aig-skip-cache")).toBe("true");
  });

  it("does not share entries between two clients sending the same request", async () => {
    const m = marker("cache-clients");
    const params = { model: CLAUDE, max_tokens: 100, messages: [{ role: "user" as const, content: m }] };
    await stack.anthropic(stack.keys.alice).messages.create(params);
    const bob = await stack.anthropic(stack.keys.bob).messages.create(params).withResponse();
    expect(bob.response.headers.get("x-cache")).toBe("MISS");
    const [a, b] = stack.recordsFor(m);
    expect(header(a!, "cf-aig-cache-key")).not.toBe(header(b!, "cf-aig-cache-key"));
  });

  it("marks a repeated /api/chat answer cached: true", async () => {
    const m = marker("cache-chat");
    const body = { messages: [{ role: "user", content: m }] };
    await (await chatFetch(body)).json();
    const res = await chatFetch(body);
    expect(res.headers.get("x-cache")).toBe("HIT");
    expect(await res.json()).toMatchObject({ cached: true, text: answerText("anthropic", CLAUDE, m) });
  });
});

describe("identical requests in flight, seen from outside", () => {
  it("makes one gateway call for 20 identical concurrent requests, JSON and streamed; the others answer x-cache COALESCED", async () => {
    for (const stream of [false, true]) {
      const m = marker(`coalesce-${stream}`);
      // The first call is held at the gateway long enough for the others to arrive while it is in flight.
      stack.standin.setFault("anthropic", { latencyMs: 400, match: m, times: 1 });
      const body = JSON.stringify({ model: CLAUDE, max_tokens: 50, stream, messages: [{ role: "user", content: m }] });
      const send = () =>
        stack.fetch(`${stack.workerUrl}/v1/messages`, {
          method: "POST",
          headers: { "x-api-key": stack.keys.alice, "content-type": "application/json", "anthropic-version": "2023-06-01" },
          body,
        });
      const responses = await Promise.all(Array.from({ length: 20 }, send));
      const texts = await Promise.all(responses.map(readAll));
      expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
      const caches = responses.map((r) => r.headers.get("x-cache"));
      expect(caches.filter((c) => c === "MISS")).toHaveLength(1);
      expect(caches.filter((c) => c === "COALESCED")).toHaveLength(19);
      expect(new Set(texts).size).toBe(1);
      expect(stack.standin.records().filter((r) => JSON.stringify(r).includes(m))).toHaveLength(1);
    }
  });
});

describe("answers the live gateway gives, through the stand-in", () => {
  it("ends /api/chat at once on the gateway-wide rate limit, without trying the other providers", async () => {
    const m = marker("gw-limit");
    stack.standin.setGatewayFaults([{ kind: "rate-limit", match: m }]);
    try {
      const res = await chatFetch({ messages: [{ role: "user", content: m }] });
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("1");
      expect(((await res.json()) as { error: { type: string } }).error.type).toBe("gateway_limited");
      expect(stack.standin.records().filter((r) => JSON.stringify(r).includes(m))).toHaveLength(1);
    } finally {
      stack.standin.setGatewayFaults([]);
    }
  });

  it("moves past a spend limit scoped to Anthropic to OpenAI", async () => {
    const m = marker("gw-spend");
    stack.standin.setGatewayFaults([{ kind: "spend-limit", provider: "anthropic", match: m }]);
    try {
      const res = await chatFetch({ messages: [{ role: "user", content: m }] });
      expect(res.status).toBe(200);
      expect(((await res.json()) as ChatAnswer).provider).toBe("openai");
    } finally {
      stack.standin.setGatewayFaults([]);
    }
  });

  it("gives the Anthropic SDK a BadRequestError it does not retry when Guardrails block the prompt", async () => {
    const m = marker("gw-block");
    stack.standin.setGatewayFaults([{ kind: "prompt-blocked", match: m }]);
    try {
      const err = await stack
        .anthropic()
        .messages.create({ model: CLAUDE, max_tokens: 50, messages: [{ role: "user", content: m }] })
        .catch((e: unknown) => e);
      expect((err as { status?: number }).status).toBe(400);
      expect(String((err as Error).message)).toContain("content policy");
      expect(stack.standin.records().filter((r) => JSON.stringify(r).includes(m))).toHaveLength(1);
    } finally {
      stack.standin.setGatewayFaults([]);
    }
  });

  it("streams to the SDKs when response Guardrails buffer the answer into one JSON body", async () => {
    stack.standin.setMode({ responseGuardrails: true });
    try {
      const m = marker("gw-buffered");
      const stream = stack.anthropic().messages.stream({ model: CLAUDE, max_tokens: 50, messages: [{ role: "user", content: m }] });
      const final = await stream.finalMessage();
      expect(final.content[0]).toMatchObject({ type: "text", text: answerText("anthropic", CLAUDE, m) });
      const chat = await chatFetch({ messages: [{ role: "user", content: `${m}-chat` }], stream: true });
      const events = sseEvents(await readAll(chat));
      expect(events.map((e) => e.event)).toEqual(["delta", "done"]);
    } finally {
      stack.standin.setMode({ responseGuardrails: false });
    }
  });
});

describe("fallback when the primary provider fails", () => {
  const kinds: [string, Fault, boolean][] = [
    ["answers 529", { status: 529 }, false],
    ["answers 429", { status: 429 }, false],
    ["answers 500", { status: 500 }, false],
    ["is slower than the attempt timeout", { latencyMs: ATTEMPT_MS + 1500 }, false],
    ["sends a malformed body", { malformed: true }, false],
    ["drops the connection", { drop: true }, false],
    ["cuts the stream before the first token (streaming)", { cut: "before-first-token" }, true],
    ["drops the connection (streaming)", { drop: true }, true],
    ["answers 503 (streaming)", { status: 503 }, true],
  ];
  it.each(kinds)("OpenAI answers /api/chat when Anthropic %s", async (_name, fault, stream) => {
    const m = marker("fb");
    stack.standin.setFault("anthropic", { ...fault, match: m });
    try {
      const res = await chatFetch({ stream, messages: [{ role: "user", content: `fallback ${m}` }] });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-ai-provider")).toBe("openai");
      const want = answerText("openai", GPT, `fallback ${m}`);
      if (stream) {
        const evs = sseEvents(await readAll(res));
        expect(
          evs
            .filter((e) => e.event === "delta")
            .map((e) => (e.data as { text: string }).text)
            .join(""),
        ).toBe(want);
        expect(evs.at(-1)).toMatchObject({ event: "done", data: { provider: "openai", model: GPT } });
      } else {
        expect(await res.json()).toMatchObject({ text: want, provider: "openai", model: GPT });
      }
      expect(stack.recordsFor(m).map((r) => r.provider)).toEqual(["anthropic", "openai"]);
    } finally {
      stack.standin.setFault("anthropic", null);
    }
  });

  it("reaches Workers AI when Anthropic and OpenAI both fail", async () => {
    const m = marker("fb-two");
    stack.standin.setFault("anthropic", { status: 500, match: m });
    stack.standin.setFault("openai", { status: 503, match: m });
    try {
      const res = await chatFetch({ messages: [{ role: "user", content: `last ${m}` }] });
      expect(await res.json()).toMatchObject({ provider: "workers-ai", model: LLAMA, text: answerText("workers-ai", LLAMA, `last ${m}`) });
      expect(stack.recordsFor(m).map((r) => r.provider)).toEqual(["anthropic", "openai", "workers-ai"]);
    } finally {
      stack.standin.clearFaults();
    }
  });

  it("answers 502 with a clear message when every provider fails", async () => {
    const m = marker("fb-all");
    for (const p of ["anthropic", "openai", "workers-ai"] as const) stack.standin.setFault(p, { status: 500, match: m });
    try {
      const res = await chatFetch({ messages: [{ role: "user", content: `doom ${m}` }] });
      expect(res.status).toBe(502);
      const body = (await res.json()) as { error: { message: string } };
      expect(body.error.message).toMatch(/provider/i);
    } finally {
      stack.standin.clearFaults();
    }
  });

  it("ends an /api/chat stream cut after its first token with an error event, never a done event", async () => {
    const m = marker("cut-late-chat");
    stack.standin.setFault("anthropic", { cut: "after-first-token", match: m });
    try {
      const res = await chatFetch({ stream: true, messages: [{ role: "user", content: `several words here ${m}` }] });
      const evs = sseEvents(await readAll(res));
      expect(evs.some((e) => e.event === "delta")).toBe(true);
      expect(evs.at(-1)!.event).toBe("error");
      expect(evs.some((e) => e.event === "done")).toBe(false);
      expect(stack.recordsFor(m).map((r) => r.provider)).toEqual(["anthropic"]);
    } finally {
      stack.standin.setFault("anthropic", null);
    }
  });

  it("makes the Anthropic SDK throw when a /v1/messages stream is cut after its first token", async () => {
    const m = marker("cut-late-msg");
    stack.standin.setFault("anthropic", { cut: "after-first-token", match: m });
    try {
      const stream = stack
        .anthropic()
        .messages.stream({ model: CLAUDE, max_tokens: 200, messages: [{ role: "user", content: `many words to stream ${m}` }] });
      let text = "";
      stream.on("text", (t) => (text += t));
      await expect(stream.finalMessage()).rejects.toThrow();
      expect(text.length).toBeGreaterThan(0);
    } finally {
      stack.standin.setFault("anthropic", null);
    }
  });

  it("makes the OpenAI SDK throw when a /v1/chat/completions stream is cut after its first token", async () => {
    const m = marker("cut-late-cc");
    stack.standin.setFault("openai", { cut: "after-first-token", match: m });
    try {
      const stream = await stack
        .openai()
        .chat.completions.create({ model: GPT, stream: true, messages: [{ role: "user", content: `many words to stream ${m}` }] });
      const read = async () => {
        let n = 0;
        for await (const c of stream) n += (c.choices[0]?.delta.content ?? "").length;
        return n;
      };
      await expect(read()).rejects.toThrow();
    } finally {
      stack.standin.setFault("openai", null);
    }
  });
});

describe("client auth", () => {
  it("refuses a missing or wrong key on every surface with 401 in that surface's shape", async () => {
    const m = marker("auth");
    await expect(
      stack.anthropic("wrong-key").messages.create({ model: CLAUDE, max_tokens: 10, messages: [{ role: "user", content: m }] }),
    ).rejects.toMatchObject({
      status: 401,
      error: { type: "error", error: { type: "authentication_error" } },
    });
    await expect(
      stack.openai("wrong-key").chat.completions.create({ model: GPT, messages: [{ role: "user", content: m }] }),
    ).rejects.toMatchObject({
      status: 401,
      error: { message: expect.any(String) },
    });
    const none = await stack.fetch(`${stack.workerUrl}/api/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: m }] }),
    });
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: { message: expect.any(String) } });
    expect(stack.recordsFor(m)).toEqual([]);
  });

  it("refuses with 401 a client whose key digest is in CLIENT_KEYS but who is not listed in CLIENTS", async () => {
    const m = marker("unlisted");
    await expect(
      stack.anthropic(stack.keys.mallory).messages.create({ model: CLAUDE, max_tokens: 10, messages: [{ role: "user", content: m }] }),
    ).rejects.toMatchObject({
      status: 401,
      error: { type: "error", error: { type: "authentication_error" } },
    });
    const res = await chatFetch({ messages: [{ role: "user", content: m }] }, { key: stack.keys.mallory });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { message: "Invalid API key." } });
    expect(stack.recordsFor(m)).toEqual([]);
  });

  it("accepts the key as x-api-key as well as Authorization: Bearer", async () => {
    const m = marker("xapikey");
    const res = await stack.fetch(`${stack.workerUrl}/api/chat`, {
      method: "POST",
      headers: { "x-api-key": stack.keys.bob, "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: m }] }),
    });
    expect(res.status).toBe(200);
    await res.json();
    expect(Object.values(JSON.parse(header(stack.recordsFor(m)[0]!, "cf-aig-metadata") ?? "{}") as object)).toContain("bob");
  });
});

describe("per-client rate limit", () => {
  it(`answers 429 with Retry-After once a client passes its limit of ${TINY_LIMIT}, without slowing other clients`, async () => {
    const statuses: number[] = [];
    let limited: Response | undefined;
    // Windows are aligned to the clock, so one may roll over mid-test: at most 2×limit calls pass before a 429.
    for (let i = 0; i < 2 * TINY_LIMIT + 1 && !limited; i++) {
      const res = await chatFetch({ messages: [{ role: "user", content: marker("rl") }] }, { url: stack.limitedUrl });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
      else await res.text();
    }
    expect(statuses).toContain(429);
    expect(limited!.headers.get("retry-after")).toBe(String(LIMIT_PERIOD));
    expect(((await limited!.json()) as { error: { message: string } }).error.message).toMatch(/rate|limit|too many/i);
    const other = await chatFetch(
      { messages: [{ role: "user", content: marker("rl-bob") }] },
      { url: stack.limitedUrl, key: stack.keys.bob },
    );
    expect(other.status).toBe(200);
    await other.text();
  });
});

describe("bad input", () => {
  const big = "x".repeat(300 * 1024);
  const table: [string, string, string, number, RegExp, string | null][] = [
    ["malformed JSON", "POST", "/v1/messages", 400, /json/i, "{not json"],
    [
      "max_tokens of the wrong type",
      "POST",
      "/v1/messages",
      400,
      /max_tokens/,
      JSON.stringify({ model: CLAUDE, max_tokens: "ten", messages: [{ role: "user", content: "x" }] }),
    ],
    ["missing messages", "POST", "/v1/messages", 400, /messages/, JSON.stringify({ model: CLAUDE, max_tokens: 10 })],
    [
      "a model ROUTING does not allow",
      "POST",
      "/v1/messages",
      400,
      /model/i,
      JSON.stringify({ model: "claude-unlisted", max_tokens: 10, messages: [{ role: "user", content: "x" }] }),
    ],
    ["malformed JSON", "POST", "/v1/chat/completions", 400, /json/i, "{"],
    ["messages that are not a list", "POST", "/v1/chat/completions", 400, /messages/, JSON.stringify({ model: GPT, messages: "hi" })],
    [
      "a model ROUTING does not allow",
      "POST",
      "/v1/chat/completions",
      400,
      /model/i,
      JSON.stringify({ model: "gpt-unlisted", messages: [{ role: "user", content: "x" }] }),
    ],
    ["missing messages", "POST", "/api/chat", 400, /messages/, JSON.stringify({})],
    ["an unknown role", "POST", "/api/chat", 400, /role/, JSON.stringify({ messages: [{ role: "robot", content: "x" }] })],
    [
      "stream that is not a boolean",
      "POST",
      "/api/chat",
      400,
      /stream/,
      JSON.stringify({ stream: "yes", messages: [{ role: "user", content: "x" }] }),
    ],
    [
      "a body over the size limit",
      "POST",
      "/api/chat",
      413,
      /larger|limit|size/i,
      JSON.stringify({ messages: [{ role: "user", content: big }] }),
    ],
    [
      "a body over the size limit",
      "POST",
      "/v1/messages",
      413,
      /larger|limit|size/i,
      JSON.stringify({ model: CLAUDE, max_tokens: 10, messages: [{ role: "user", content: big }] }),
    ],
    ["an unknown route", "POST", "/v1/nothing-here", 404, /no route|not found/i, "{}"],
    ["the wrong method", "GET", "/api/chat", 405, /method/i, null],
    ["the wrong method", "PUT", "/v1/messages", 405, /method/i, "{}"],
  ];
  it.each(table)("%s on %s %s → %s", async (_name, method, path, status, message, body) => {
    const before = stack.standin.records().length;
    const res = await stack.fetch(`${stack.workerUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${stack.keys.alice}`, "content-type": "application/json" },
      body: body ?? undefined,
    });
    expect(res.status).toBe(status);
    const j = (await res.json()) as { type?: string; error: { message: string; type?: string } };
    expect(j.error.message).toMatch(message);
    if (path === "/v1/messages") expect(j.type).toBe("error"); // Anthropic's shape
    expect(stack.standin.records().length).toBe(before);
  });
});

describe("npm run smoke against the local stack", () => {
  const smoke = (args: string[]) =>
    new Promise<{ code: number; out: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(ROOT, "node_modules/tsx/dist/cli.mjs"), join(ROOT, "scripts/smoke.ts"), ...args],
        { cwd: ROOT, timeout: 60_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      );
    });

  it("passes every check with a valid client key", async () => {
    const r = await smoke(["--url", stack.workerUrl, "--key", stack.keys.bob]);
    expect(r.out).not.toMatch(/FAIL/);
    expect(r.out).toMatch(/PASS.*cache HIT/i);
    expect(r.code).toBe(0);
  });

  it("fails, naming the failed check, when the key is wrong", async () => {
    const r = await smoke(["--url", stack.workerUrl, "--key", "not-a-client-key"]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAIL/);
  });
});

/** A question of 1,500 words: about a cent a call at the local prices, so a small budget runs out in a few calls. */
const LONG = Array.from({ length: 1500 }, (_, i) => `w${i}`).join(" ");

/** Spends a client's budget with uncached /v1/messages calls until it is refused; every body is read to its end. */
async function spendUntilRefused(url: string, key: string, m: string): Promise<{ served: number; refused: Response | undefined }> {
  let refused: Response | undefined;
  let served = 0;
  for (let i = 0; i < 40 && !refused; i++) {
    const res = await stack.fetch(`${url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01", "cache-control": "no-cache" },
      body: JSON.stringify({ model: CLAUDE, max_tokens: 64, messages: [{ role: "user", content: `${m} ${i} ${LONG}` }] }),
    });
    if (res.status === 200) {
      await res.text();
      served++;
    } else refused = res;
  }
  return { served, refused };
}

type UsageBody = { client: string; totalUsd: number; days: { day: string; usd: number; models: { model: string }[] }[] };

/** GET /v1/usage until `done` says the settled spend has reached the ledger (it is reported in batches). */
async function usageUntil(url: string, key: string, done: (u: UsageBody) => boolean, query = ""): Promise<UsageBody> {
  let body: UsageBody | undefined;
  for (let i = 0; i < 30; i++) {
    const res = await stack.fetch(`${url}/v1/usage${query}`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    body = (await res.json()) as UsageBody;
    if (done(body)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return body!;
}

describe("spend control per client", () => {
  const budgetOf = (h: Headers) => ({
    limit: Number(h.get("x-ai-budget-limit")),
    remaining: Number(h.get("x-ai-budget-remaining")),
    reset: h.get("x-ai-budget-reset"),
  });

  it("reports a falling remaining budget to both SDKs, and the client's own ledger over GET /v1/usage", async () => {
    const m = marker("budget-falls");
    const a1 = await stack
      .anthropic()
      .messages.create({ model: CLAUDE, max_tokens: 50, messages: [{ role: "user", content: `${m} one` }] })
      .withResponse();
    const a2 = await stack
      .openai()
      .chat.completions.create({ model: GPT, messages: [{ role: "user", content: `${m} two` }] })
      .withResponse();
    const b1 = budgetOf(a1.response.headers);
    const b2 = budgetOf(a2.response.headers);
    expect(b1.limit).toBe(5);
    expect(b1.remaining).toBeLessThan(5);
    expect(b2.remaining).toBeLessThan(b1.remaining);
    expect(Date.parse(b1.reset!)).toBeGreaterThan(Date.now());
    // Settled spend reaches the ledger in a batch within a second (lease.flushSeconds).
    const body = await usageUntil(stack.workerUrl, stack.keys.alice, (u) => u.days.flatMap((d) => d.models).length >= 2);
    expect(body.client).toBe("alice");
    expect(body.totalUsd).toBeGreaterThan(0);
    expect(body.days.flatMap((d) => d.models.map((x) => x.model))).toEqual(
      expect.arrayContaining([`anthropic/${CLAUDE}`, `openai/${GPT}`]),
    );
  });

  it("refuses a client past its budget with 429 budget_exceeded, which neither SDK retries", async () => {
    const m = marker("budget-spent");
    const { served, refused } = await spendUntilRefused(stack.workerUrl, stack.keys.bob, m);
    expect(served).toBeGreaterThan(0);
    expect(refused?.status).toBe(429);
    expect(refused!.headers.get("x-should-retry")).toBe("false");
    expect(Number(refused!.headers.get("retry-after"))).toBeGreaterThan(0);

    let calls = 0;
    const counting: typeof fetch = (input, init) => (calls++, fetch(input, init));
    const anthropic = new Anthropic({ baseURL: stack.workerUrl, apiKey: stack.keys.bob, maxRetries: 3, fetch: counting });
    // The same long question: what is left of the budget cannot cover its worst case (a short one might still fit).
    const a = await anthropic.messages
      .create({ model: CLAUDE, max_tokens: 64, messages: [{ role: "user", content: `${m} sdk ${LONG}` }] })
      .catch((e: unknown) => e);
    expect(a).toBeInstanceOf(Anthropic.RateLimitError);
    expect((a as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({ error: { type: "budget_exceeded" } });
    const openai = new OpenAI({ baseURL: `${stack.workerUrl}/v1`, apiKey: stack.keys.bob, maxRetries: 3, fetch: counting });
    // gpt-5.4's input costs what Claude Haiku's does at the local prices, and twice the question keeps its worst case past what is left.
    const o = await openai.chat.completions
      .create({ model: "gpt-5.4", max_completion_tokens: 64, messages: [{ role: "user", content: `${m} sdk ${LONG} ${LONG}` }] })
      .catch((e: unknown) => e);
    expect(o).toBeInstanceOf(OpenAI.RateLimitError);
    expect((o as InstanceType<typeof OpenAI.RateLimitError>).type).toBe("budget_exceeded");
    expect(calls).toBe(2);
  });
});

describe("streams that meet the budget", () => {
  it("ends an OpenAI stream that names no max_tokens at the client's budget, with an error the SDK raises; what was streamed is charged", async () => {
    const m = marker("stream-cut");
    const question = `${m} ${Array.from({ length: 800 }, (_, i) => `w${i}`).join(" ")}`;
    // No output cap: the hold assumes the stack's default (BUDGETS.estimate), and the answer (the question, echoed)
    // is worth more than carol's whole budget at gpt-5.4's output price.
    const stream = await stack.openai(stack.keys.carol).chat.completions.create({
      model: "gpt-5.4",
      stream: true,
      messages: [{ role: "user", content: question }],
    });
    let text = "";
    const read = async () => {
      for await (const c of stream) text += c.choices[0]?.delta.content ?? "";
    };
    const err = await read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).type).toBe("budget_exceeded");
    const full = answerText("openai", "gpt-5.4", question);
    expect(text.length).toBeGreaterThan(0);
    expect(text.length).toBeLessThan(full.length);
    expect(full.startsWith(text)).toBe(true);

    // The streamed text is booked, and the budget is spent: carol's next call is refused before it goes upstream.
    const usage = await usageUntil(stack.workerUrl, stack.keys.carol, (u) => u.totalUsd > 0);
    expect(usage.totalUsd).toBeGreaterThanOrEqual(new TextEncoder().encode(text).byteLength * 10e-6 - 1e-9);
    expect(usage.totalUsd).toBeLessThanOrEqual(STREAM_DAILY_USD + 1e-3);
    const before = stack.recordsFor(m).length;
    const again = await stack
      .openai(stack.keys.carol)
      .chat.completions.create({ model: "gpt-5.4", stream: true, messages: [{ role: "user", content: `${m} again` }] })
      .catch((e: unknown) => e);
    expect(again).toBeInstanceOf(OpenAI.RateLimitError);
    expect(stack.recordsFor(m).length).toBe(before);
  });

  it("runs an Anthropic stream to its end when max_tokens bounds it, though its text is more bytes than the budget buys as tokens", async () => {
    const m = marker("stream-held");
    const question = `${m} ${Array.from({ length: 400 }, (_, i) => `word${1000 + i}xxxxxx`).join(" ")}`;
    // Held before the call: about 7,000 input tokens (bytes and overhead) and 400 output tokens, within dave's budget.
    // The answer is 400 words, about 5,600 bytes: as many output tokens, it would be worth more than the whole budget.
    const stream = stack
      .anthropic(stack.keys.dave)
      .messages.stream({ model: CLAUDE, max_tokens: 400, messages: [{ role: "user", content: question }] });
    let text = "";
    stream.on("text", (t) => (text += t));
    const msg = await stream.finalMessage();
    expect(msg.stop_reason).toBe("max_tokens");
    expect(msg.usage.output_tokens).toBe(400);
    expect(new TextEncoder().encode(text).byteLength * 5e-6).toBeGreaterThan(STREAM_DAILY_USD);
    const usage = await usageUntil(stack.workerUrl, stack.keys.dave, (u) => u.totalUsd > 0);
    // Charged what the stream reported (its input and 400 output tokens), not its bytes.
    expect(usage.totalUsd).toBeCloseTo(msg.usage.input_tokens * 1e-6 + 400 * 5e-6, 9);
  });
});

describe("budget windows, on a Worker whose clock the test moves", () => {
  const ask = (key: string, m: string) =>
    stack
      .anthropic(key, stack.clockedUrl)
      .messages.create({ model: CLAUDE, max_tokens: 64, messages: [{ role: "user", content: `${m} ${LONG}` }] })
      .withResponse();

  it("refuses a spent daily budget until midnight UTC and a spent monthly one until the month turns, then serves both SDKs again", async () => {
    const m = marker("windows");
    // The last day of January, a minute before midnight, on the clocked Worker only.
    stack.clock.set("2027-01-30T23:59:00Z");
    const bob = await spendUntilRefused(stack.clockedUrl, stack.keys.bob, `${m} bob`);
    const alice = await spendUntilRefused(stack.clockedUrl, stack.keys.alice, `${m} alice`);
    expect(bob.served).toBeGreaterThan(0);
    expect(alice.served).toBeGreaterThan(0);
    expect(bob.refused?.status).toBe(429);
    expect(alice.refused?.status).toBe(429);
    expect(bob.refused!.headers.get("x-ai-budget-reset")).toBe("2027-01-31T00:00:00Z");
    expect(alice.refused!.headers.get("x-ai-budget-reset")).toBe("2027-02-01T00:00:00Z");
    expect(Number(bob.refused!.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    expect(Number(alice.refused!.headers.get("retry-after"))).toBeGreaterThan(86_400);

    // Past midnight: bob's day starts again; alice's month has not.
    stack.clock.set("2027-01-31T00:00:05Z");
    const b = await ask(stack.keys.bob, `${m} bob next day`);
    expect(b.response.status).toBe(200);
    expect(b.response.headers.get("x-ai-budget-limit")).toBe(String(BOB_DAILY_USD));
    expect(Number(b.response.headers.get("x-ai-budget-remaining"))).toBeGreaterThan(BOB_DAILY_USD * 0.7);
    expect(b.response.headers.get("x-ai-budget-reset")).toBe("2027-02-01T00:00:00Z");
    // The same long question alice was refused: what is left of her month cannot cover its worst case.
    const stillSpent = await ask(stack.keys.alice, `${m} alice next day`).catch((e: unknown) => e);
    expect(stillSpent).toBeInstanceOf(Anthropic.RateLimitError);
    expect((stillSpent as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({ error: { type: "budget_exceeded" } });

    // The first of February: alice's month starts again.
    stack.clock.set("2027-02-01T00:00:05Z");
    const a = await stack
      .openai(stack.keys.alice, stack.clockedUrl)
      .chat.completions.create({ model: GPT, messages: [{ role: "user", content: `${m} alice next month ${LONG}` }] })
      .withResponse();
    expect(a.response.status).toBe(200);
    expect(a.response.headers.get("x-ai-budget-limit")).toBe(String(ALICE_MONTHLY_USD));
    expect(Number(a.response.headers.get("x-ai-budget-remaining"))).toBeGreaterThan(ALICE_MONTHLY_USD * 0.9);
    expect(a.response.headers.get("x-ai-budget-reset")).toBe("2027-03-01T00:00:00Z");

    // The ledger keeps each day apart: alice's spend is on January 30th and February 1st.
    const usage = await usageUntil(
      stack.clockedUrl,
      stack.keys.alice,
      (u) => u.days.some((d) => d.day === "2027-02-01"),
      "?from=2027-01-30&to=2027-02-01",
    );
    expect(usage.days.map((d) => d.day)).toEqual(expect.arrayContaining(["2027-01-30", "2027-02-01"]));
  });
});

describe("leak scan over the whole suite", () => {
  it("never showed a client a provider key, the gateway token, the account id or the gateway URL", async () => {
    const seen = await stack.seen();
    expect(seen.length).toBeGreaterThan(40);
    const leaks: string[] = [];
    for (const s of seen) {
      const text = `${s.headers.map(([k, v]) => `${k}: ${v}`).join("\n")}\n${s.body}`;
      for (const [name, value] of Object.entries(stack.secrets))
        if (text.includes(value)) leaks.push(`${name} in the response to ${s.what} (${s.status})`);
    }
    expect(leaks).toEqual([]);
  });

  it("never forwarded a client's key to the gateway", () => {
    const records = stack.standin.records();
    expect(records.length).toBeGreaterThan(20);
    const forwarded = records.filter((r) =>
      Object.values(stack.keys).some((k) => JSON.stringify(r.headers).includes(k) || r.body.includes(k)),
    );
    expect(forwarded.map((r) => r.seq)).toEqual([]);
  });
});
