// Budgets through the real app: headers on every answer, the refusal at the limit (not retried by the SDK), a stream
// cut at the limit, cache hits free, a client's own ledger over GET /v1/usage, and failing closed without a ledger.

import { env as testEnv } from "cloudflare:workers";
import Anthropic from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import { anthropicAnswer, anthropicFrames, harness, json, openaiFrames, post, readSse, sse, WEB_KEY } from "./support";

const PRICE = { inputPerMTok: 1, outputPerMTok: 5, cacheReadPerMTok: 0.1, cacheWritePerMTok: 1.25 };
const MODELS = [
  "anthropic/claude-haiku-4-5",
  "anthropic/claude-sonnet-4-6",
  "openai/gpt-4.1-mini",
  "openai/gpt-5-mini",
  "workers-ai/@cf/meta/llama-3.1-8b-instruct",
];
const budgets = (dailyUsd: number) => ({
  prices: Object.fromEntries(MODELS.map((m) => [m, PRICE])),
  clients: { web: { dailyUsd } },
  action: "refuse",
});

/** The real ledger Durable Object, under names of this test's own, so tests do not share a client's spend. */
function ledgers(prefix: string) {
  return { getByName: (client: string) => testEnv.BUDGET_LEDGER.getByName(`${prefix}:${client}`) };
}

const ask = { model: "claude-haiku-4-5", max_tokens: 64, messages: [{ role: "user" as const, content: "Hi" }] };
/** 10 input and 64 output tokens: $0.00033 at PRICE. */
const answer = () => json(anthropicAnswer("ok", { input_tokens: 10, output_tokens: 64 }));
const COST = 10 * 1e-6 + 64 * 5e-6;

describe("budgets on the request path", () => {
  it("carries limit, remaining and reset on every answer; remaining falls by what the call cost", async () => {
    const h = harness({ env: { BUDGETS: budgets(1), BUDGET_LEDGER: ledgers("headers") } as never });
    h.gateway.on("anthropic", answer, answer);
    const first = await h.fetch("/v1/messages", post(ask));
    const second = await h.fetch("/v1/messages", post(ask));
    expect(first.status).toBe(200);
    expect(first.headers.get("x-ai-budget-limit")).toBe("1");
    expect(Number(first.headers.get("x-ai-budget-remaining"))).toBeCloseTo(1 - COST, 6);
    expect(Number(second.headers.get("x-ai-budget-remaining"))).toBeCloseTo(1 - 2 * COST, 6);
    const reset = first.headers.get("x-ai-budget-reset")!;
    expect(reset).toMatch(/^\d{4}-\d{2}-\d{2}T00:00:00(\.000)?Z$/);
    expect(Date.parse(reset)).toBeGreaterThan(Date.now());
  });

  it("refuses with 429 budget_exceeded, Retry-After until the reset and x-should-retry: false; the SDK does not retry", async () => {
    const h = harness({ env: { BUDGETS: budgets(0.004), BUDGET_LEDGER: ledgers("refuse") } as never });
    h.gateway.always("anthropic", answer);
    let served = 0;
    let refused: Response | undefined;
    for (let i = 0; i < 30 && !refused; i++) {
      const res = await h.fetch("/v1/messages", post(ask));
      if (res.status === 200) served++;
      else refused = res;
    }
    expect(served).toBeGreaterThan(2);
    expect(refused!.status).toBe(429);
    expect(refused!.headers.get("x-should-retry")).toBe("false");
    const retryAfter = Number(refused!.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    expect(((await refused!.json()) as { error: { type: string } }).error.type).toBe("budget_exceeded");
    // Never more spent than the budget.
    expect(served * COST).toBeLessThanOrEqual(0.004);

    const calls = h.gateway.calls.length;
    let workerCalls = 0;
    const sdk = new Anthropic({
      baseURL: "https://worker.test",
      apiKey: WEB_KEY,
      maxRetries: 3,
      fetch: (i, init) => (workerCalls++, h.sdkFetch(i, init)),
    });
    const err = await sdk.messages.create(ask).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect(workerCalls).toBe(1);
    expect(h.gateway.calls.length).toBe(calls);
  });

  it("never cuts a stream its hold already covers: output stops at max_tokens, however many bytes its text runs to", async () => {
    const h = harness({ env: { BUDGETS: budgets(0.004), BUDGET_LEDGER: ledgers("capped") } as never });
    // 400 deltas of 20 bytes: as bytes, 8,000 output tokens, far past $0.004; as tokens, at most max_tokens (64).
    const frames = anthropicFrames(
      Array.from({ length: 400 }, () => "twenty bytes of text"),
      { input: 10, output: 64 },
    );
    h.gateway.on("anthropic", () => sse(frames));
    const res = await h.fetch("/v1/messages", post({ ...ask, stream: true }));
    const events = await readSse(res);
    await h.settled();
    expect(events.at(-1)!.event).toBe("message_stop");
    expect(events.filter((e) => e.event === "content_block_delta")).toHaveLength(400);
    expect(h.logs.find((l) => l.surface === "messages")!.error).toBeNull();
    const usage = await h.fetch("/v1/usage", { headers: { "x-api-key": WEB_KEY } });
    expect(((await usage.json()) as { totalUsd: number }).totalUsd).toBeCloseTo(COST, 9);
  });

  it("ends a stream without an output cap once its running cost passes the budget, with an error event, and charges what was streamed", async () => {
    const b = { ...budgets(0.004), estimate: { defaultMaxOutputTokens: 100 } };
    const h = harness({ env: { BUDGETS: b, BUDGET_LEDGER: ledgers("stream") } as never });
    // No max_tokens: the hold assumes 100 output tokens; 8,000 bytes of text may be up to 8,000 tokens. The bytes
    // arrive in 7-byte pieces, so events straddle chunks, and the cut must still fall between two events.
    const raw = openaiFrames(Array.from({ length: 400 }, () => "twenty bytes of text")).join("");
    const pieces = raw.match(/[\s\S]{1,7}/g)!;
    h.gateway.on("openai", () => sse(pieces));
    const res = await h.fetch(
      "/v1/chat/completions",
      post({ model: "gpt-4.1-mini", stream: true, messages: [{ role: "user", content: "Hi" }] }),
    );
    const events = await readSse(res);
    await h.settled();
    const last = events.at(-1)!;
    expect(JSON.parse(last.data)).toMatchObject({ error: { type: "budget_exceeded" } });
    // Every event the client got is whole: the SDK reads each as JSON.
    for (const e of events) if (e.data !== "[DONE]") expect(() => JSON.parse(e.data)).not.toThrow();
    expect(events.some((e) => e.data === "[DONE]")).toBe(false);
    const deltas = events.filter((e) => e.data.includes("twenty bytes")).length;
    // Past the 100 tokens held (the hold grew from the lease and the ledger), cut well before the end.
    expect(deltas).toBeGreaterThan(5);
    expect(deltas).toBeLessThan(400);
    expect(h.logs.find((l) => l.surface === "chatCompletions")!.error).toBe("budget_exceeded");

    const usage = await h.fetch("/v1/usage", { headers: { authorization: `Bearer ${WEB_KEY}` } });
    expect(usage.status).toBe(200);
    const body = (await usage.json()) as { totalUsd: number };
    // What was streamed is charged: every delta sent (the one that crossed the budget too, as it went out first).
    expect(body.totalUsd).toBeGreaterThanOrEqual(deltas * 20 * 5e-6 - 1e-9);
    // At most the budget and the one delta that crossed it: the stream ends right after that event.
    expect(body.totalUsd).toBeLessThanOrEqual(0.004 + 20 * 5e-6 + 1e-9);
  });

  it("ends an /api/chat stream whose reported usage passes what was held and what the budget has left, with an error event", async () => {
    const h = harness({ env: { BUDGETS: budgets(0.02), BUDGET_LEDGER: ledgers("chat-cut") } as never });
    // /api/chat sends its own max_tokens, so output stays within the hold; the input the provider reports (30,000
    // tokens, $0.03 at PRICE) is past the body's estimate and the whole $0.02 budget.
    h.gateway.on("anthropic", () => sse(anthropicFrames(["one ", "two ", "three"], { input: 30_000 })));
    const res = await h.fetch("/api/chat", post({ stream: true, messages: [{ role: "user", content: "Hi" }] }));
    const events = await readSse(res);
    await h.settled();
    expect(events.at(-1)!.event).toBe("error");
    expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ type: "budget_exceeded" });
    expect(events.some((e) => e.event === "done")).toBe(false);
    expect(h.logs.find((l) => l.surface === "chat")!.error).toBe("budget_exceeded");
  });

  it("charges a stream that broke off for what it streamed, not for the usage its first event reported", async () => {
    const h = harness({ env: { BUDGETS: budgets(1), BUDGET_LEDGER: ledgers("broken-off") } as never });
    // message_start reports 10 input and 1 output token; then ten 5-byte deltas, and the stream ends without its end.
    h.gateway.on("anthropic", () =>
      sse(
        anthropicFrames(
          Array.from({ length: 10 }, () => "word "),
          { input: 10, end: false },
        ),
      ),
    );
    const res = await h.fetch("/v1/messages", post({ ...ask, stream: true }));
    const events = await readSse(res);
    await h.settled();
    expect(events.at(-1)!.event).toBe("error");
    const usage = await h.fetch("/v1/usage", { headers: { "x-api-key": WEB_KEY } });
    // 10 input tokens as reported, and 50 bytes of text as at most 50 output tokens (under the cap of 64).
    expect(((await usage.json()) as { totalUsd: number }).totalUsd).toBeCloseTo(10 * 1e-6 + 50 * 5e-6, 9);
  });

  it("asks OpenAI for the usage chunk of a metered stream, books what it counted, and passes on only what the client asked for", async () => {
    const h = harness({ env: { BUDGETS: budgets(1), BUDGET_LEDGER: ledgers("usage-chunk") } as never });
    h.gateway.always("openai", () => sse(openaiFrames(["Hello", " there"])));
    const ask = { model: "gpt-4.1-mini", stream: true, messages: [{ role: "user", content: "Hi" }] };

    const plain = await readSse(await h.fetch("/v1/chat/completions", post(ask)));
    await h.settled();
    expect(h.gateway.calls[0]!.body.stream_options).toEqual({ include_usage: true });
    expect(plain.at(-1)!.data).toBe("[DONE]");
    // The client did not ask for usage: no chunk with empty choices reaches it.
    expect(plain.filter((e) => e.data !== "[DONE]").every((e) => (JSON.parse(e.data) as { choices: unknown[] }).choices.length > 0)).toBe(
      true,
    );
    const usage = await h.fetch("/v1/usage", { headers: { authorization: `Bearer ${WEB_KEY}` } });
    // 13 prompt and 5 completion tokens, as OpenAI counted them (the bound would be 11 bytes of text and the body's estimate).
    expect(((await usage.json()) as { totalUsd: number }).totalUsd).toBeCloseTo(13 * 1e-6 + 5 * 5e-6, 9);

    const asked = await readSse(await h.fetch("/v1/chat/completions", post({ ...ask, stream_options: { include_usage: true } })));
    expect(asked.some((e) => e.data.includes('"completion_tokens":5'))).toBe(true);
  });

  it("charges nothing for a gateway cache hit", async () => {
    const h = harness({ env: { BUDGETS: budgets(1), BUDGET_LEDGER: ledgers("hit") } as never });
    h.gateway.on("anthropic", answer, () =>
      json(anthropicAnswer("ok", { input_tokens: 10, output_tokens: 64 }), 200, { "cf-aig-cache-status": "HIT" }),
    );
    const miss = await h.fetch("/v1/messages", post(ask));
    const hit = await h.fetch("/v1/messages", post(ask));
    expect(hit.headers.get("x-cache")).toBe("HIT");
    expect(hit.headers.get("x-ai-budget-remaining")).toBe(miss.headers.get("x-ai-budget-remaining"));
  });

  it("fails closed: 503 budget_unavailable when the ledger cannot be reached and no lease covers the request", async () => {
    const broken = { getByName: () => new Proxy({}, { get: () => () => Promise.reject(new Error("ledger unreachable")) }) };
    const h = harness({ env: { BUDGETS: budgets(1), BUDGET_LEDGER: broken } as never });
    const res = await h.fetch("/api/chat", post({ messages: [{ role: "user", content: "Hi" }] }));
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe("budget_unavailable");
    expect(h.gateway.calls).toHaveLength(0);
  });

  it("is an operator mistake (500 config_error, detail in the log only) when BUDGETS is unreadable or has no ledger", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ BUDGETS: "{not json", BUDGET_LEDGER: ledgers("broken") }, /BUDGETS is not valid JSON/],
      [{ BUDGETS: budgets(1), BUDGET_LEDGER: undefined }, /BUDGET_LEDGER .* is not bound/],
    ];
    for (const [env, detail] of cases) {
      const h = harness({ env: env as never });
      const res = await h.fetch("/v1/messages", post(ask));
      expect(res.status).toBe(500);
      expect(((await res.json()) as { error: { type: string } }).error.type).toBe("api_error");
      expect(h.logs[0]).toMatchObject({ error: "config_error", errorDetail: expect.stringMatching(detail) });
    }
  });

  it("frames GET /v1/usage like the API: request id and security headers, budget headers, one log line per answer", async () => {
    // The limiter lets the first two calls through: the third is refused after auth, so the frame adds the budget.
    let calls = 0;
    const limiter: RateLimit = { limit: async () => ({ success: ++calls <= 2 }) };
    const h = harness({ env: { BUDGETS: budgets(1), BUDGET_LEDGER: ledgers("usage-frame"), RATE_LIMITER: limiter } as never });
    // One call first, so the isolate holds the client's budget windows (the usage answer itself asks for no lease).
    h.gateway.on("anthropic", answer);
    expect((await h.fetch("/v1/messages", post(ask))).status).toBe(200);
    const ok = await h.fetch("/v1/usage", { headers: { "x-api-key": WEB_KEY } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-request-id")).toBe("req-2");
    expect(ok.headers.get("x-content-type-options")).toBe("nosniff");
    expect(ok.headers.get("cache-control")).toBe("no-store");
    expect(ok.headers.get("x-ai-budget-limit")).toBe("1");

    const limited = await h.fetch("/v1/usage", { headers: { "x-api-key": WEB_KEY } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("x-request-id")).toBe("req-3");
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(limited.headers.get("x-ai-budget-limit")).toBe("1");
    expect(await limited.json()).toEqual({ error: { type: "rate_limited", message: expect.stringContaining("Rate limit") } });

    const wrong = await h.fetch("/v1/usage", { method: "POST", headers: { "x-api-key": WEB_KEY } });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, OPTIONS");
    expect(wrong.headers.get("x-request-id")).toBe("req-4");
    expect(wrong.headers.get("x-content-type-options")).toBe("nosniff");
    expect(wrong.headers.get("x-ai-budget-limit")).toBeNull();

    const anonymous = await h.fetch("/v1/usage");
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("x-request-id")).toBe("req-5");
    expect(anonymous.headers.get("x-ai-budget-limit")).toBeNull();

    expect(h.logs).toHaveLength(5);
    expect(h.logs[1]).toMatchObject({ requestId: "req-2", method: "GET", path: "/v1/usage", surface: null, client: "web", status: 200 });
    expect(h.logs[1]!.error).toBeNull();
    expect(h.logs[1]!.durationMs).toEqual(expect.any(Number));
    expect(h.logs[2]).toMatchObject({ requestId: "req-3", client: "web", status: 429, error: "rate_limited" });
    expect(h.logs[3]).toMatchObject({ requestId: "req-4", method: "POST", client: null, status: 405, error: "method_not_allowed" });
    expect(h.logs[4]).toMatchObject({ requestId: "req-5", client: null, status: 401 });
  });

  it("answers 404 on GET /v1/usage for a stack that keeps no ledger", async () => {
    const h = harness();
    const res = await h.fetch("/v1/usage", { headers: { "x-api-key": WEB_KEY } });
    expect(res.status).toBe(404);
  });
});
