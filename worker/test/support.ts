/**
 * Test support for the workerd tests: the real app (createApp) wired to a fake gateway that records every request
 * and FAILS the test on any request nobody expected, canned provider answers (JSON and SSE, including streams that
 * stall or break), and helpers to call the app and read SSE.
 */
import { env as baseEnv, createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { expect, onTestFinished } from "vitest";
import { createApp } from "../src/app";
import type { Deps } from "../src/context";
import type { Routing } from "../src/contract/routing";
import { sha256Unit } from "../src/crypto";
import { TEST_ACCOUNT_ID, TEST_CLIENTS, TEST_GATEWAY_BASE, TEST_GATEWAY_ID } from "./fixtures";

export { TEST_CLIENTS };
export const WEB_KEY = TEST_CLIENTS.web;
export const BATCH_KEY = TEST_CLIENTS.batch;

type ProviderPath = "anthropic" | "openai" | "workers-ai";

export interface Recorded {
  provider: ProviderPath;
  /** Path after /{account}/{gateway}. */
  path: string;
  headers: Headers;
  body: Record<string, unknown>;
}

type Handler = (req: Recorded, signal: AbortSignal | undefined) => Response | Promise<Response>;

/** A stand-in for the AI Gateway behind the injected fetch. Answers only what a test queued. */
export class FakeGateway {
  readonly calls: Recorded[] = [];
  readonly unexpected: string[] = [];
  private readonly queues: Record<ProviderPath, Handler[]> = { anthropic: [], openai: [], "workers-ai": [] };
  private readonly defaults: Partial<Record<ProviderPath, Handler>> = {};

  constructor(private readonly gatewayId: string = TEST_GATEWAY_ID) {}

  /** Queue the next answer for a provider (each queued answer is used once, in order). */
  on(provider: ProviderPath, ...handlers: Handler[]): this {
    this.queues[provider].push(...handlers);
    return this;
  }

  /** Answer every request to a provider this way once its queue is empty. */
  always(provider: ProviderPath, handler: Handler): this {
    this.defaults[provider] = handler;
    return this;
  }

  readonly fetch: typeof fetch = async (input, init) => {
    const req = new Request(input, init);
    const prefix = `${TEST_GATEWAY_BASE}/${TEST_ACCOUNT_ID}/${this.gatewayId}/`;
    if (!req.url.startsWith(prefix) || req.method !== "POST") {
      this.unexpected.push(`${req.method} ${req.url}`);
      throw new Error("fake gateway: unexpected request");
    }
    const path = req.url.slice(prefix.length - 1);
    const provider = path.split("/")[1] as ProviderPath;
    const handler = this.queues[provider]?.shift() ?? this.defaults[provider];
    const recorded: Recorded = { provider, path, headers: req.headers, body: (await req.json()) as Record<string, unknown> };
    this.calls.push(recorded);
    if (!handler) {
      this.unexpected.push(`POST ${path}`);
      throw new Error("fake gateway: no answer queued");
    }
    return handler(recorded, init?.signal ?? undefined);
  };

  /** Every queued answer was used and nothing unexpected arrived. */
  verify(): void {
    expect(this.unexpected, "requests the fake gateway did not expect").toEqual([]);
    const left = Object.entries(this.queues)
      .filter(([, q]) => q.length > 0)
      .map(([p, q]) => `${p}: ${q.length}`);
    expect(left, "queued gateway answers never requested").toEqual([]);
  }
}

export const TEST_ROUTING: Routing = {
  models: {
    anthropic: ["claude-sonnet-4-6", "claude-haiku-4-5"],
    openai: ["gpt-4.1-mini", "gpt-5-mini"],
    "workers-ai": ["@cf/meta/llama-3.1-8b-instruct"],
  },
  chat: {
    fallback: [
      { provider: "anthropic", model: "claude-haiku-4-5" },
      { provider: "openai", model: "gpt-4.1-mini" },
      { provider: "workers-ai", model: "@cf/meta/llama-3.1-8b-instruct" },
    ],
    experiments: [],
    maxTokens: 512,
  },
  cacheTtl: { messages: 300, chatCompletions: 120, chat: 600 },
  limits: { maxRequestBytes: 4096 },
  timeouts: { attemptMs: 300, totalMs: 2000 },
  cors: { allowOrigins: ["https://app.example.com"] },
};

/** Deep-ish copy of TEST_ROUTING with changes. */
export function routing(change: (r: Routing) => void = () => {}): Routing {
  const r = structuredClone(TEST_ROUTING);
  change(r);
  return r;
}

export interface Harness {
  gateway: FakeGateway;
  logs: Record<string, unknown>[];
  env: Env;
  /** Calls the app at a path; for non-streamed answers, waits for the log line too. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** The app as a fetch function, for the official SDKs. */
  sdkFetch: typeof fetch;
  /** Waits for the log line of a streamed request. */
  settled(): Promise<void>;
}

/** A fresh app + fake gateway per test; verifies the gateway after the test. */
export function harness(opts: { env?: Partial<Env>; routing?: Routing; deps?: Partial<Deps> } = {}): Harness {
  const gateway = new FakeGateway(opts.env?.AI_GATEWAY_ID);
  const logs: Record<string, unknown>[] = [];
  let n = 0;
  const app = createApp({
    fetch: gateway.fetch,
    now: () => Date.now(),
    requestId: () => `req-${++n}`,
    unitHash: sha256Unit,
    // A copy, as the log line is once written: later changes to the record must not show.
    log: (record) => logs.push(structuredClone(record) as Record<string, unknown>),
    ...opts.deps,
  });
  // No budgets unless a test declares them: the test routing's models have no prices in the local config.
  const env = {
    ...baseEnv,
    ROUTING: opts.routing ?? TEST_ROUTING,
    RATE_LIMITER: allowAll,
    BUDGETS: undefined,
    ...opts.env,
  } as unknown as Env;
  const pending: Promise<void>[] = [];
  onTestFinished(() => gateway.verify());
  const call = async (req: Request) => {
    const ctx = createExecutionContext();
    const res = await app.fetch(req, env, ctx);
    const done = waitOnExecutionContext(ctx);
    pending.push(done);
    if (!(res.headers.get("content-type") ?? "").includes("event-stream")) await done;
    return res;
  };
  return {
    gateway,
    logs,
    env,
    fetch: (path, init = {}) => call(new Request(`https://worker.test${path}`, init)),
    sdkFetch: (input, init) => call(new Request(input, init)),
    async settled() {
      await Promise.all(pending);
    },
  };
}

export const allowAll: RateLimit = { limit: async () => ({ success: true }) };
export const denyAll: RateLimit = { limit: async () => ({ success: false }) };

/** A JSON POST with the web client's key. */
export function post(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": WEB_KEY, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

const enc = new TextEncoder();

/**
 * An SSE response from frames. `then`: what happens after the last frame — "close" (normal), "stall" (never
 * closes), or "error" (the connection breaks).
 */
export function sse(frames: string[], then: "close" | "stall" | "error" = "close", headers: Record<string, string> = {}): Response {
  let i = 0;
  // Pull-based, so every frame is read before the stream closes, breaks or stalls (an error drops unread chunks).
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (i < frames.length) return c.enqueue(enc.encode(frames[i++]));
      if (then === "close") return c.close();
      if (then === "error") return c.error(new Error("connection reset"));
      return new Promise<void>(() => {});
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream", ...headers } });
}

/** A response that never comes (until the Worker aborts it). */
export function hang(_req: Recorded, signal: AbortSignal | undefined): Promise<Response> {
  return new Promise((_, reject) => signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
}

export const anthropicAnswer = (text: string, usage = { input_tokens: 11, output_tokens: 7 }) => ({
  id: "msg_test",
  type: "message",
  role: "assistant",
  model: "claude-haiku-4-5",
  content: [{ type: "text", text }],
  stop_reason: "end_turn",
  stop_sequence: null,
  usage,
});

export function anthropicFrames(texts: string[], opts: { input?: number; output?: number; end?: boolean } = {}): string[] {
  const ev = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  const frames = [
    ev("message_start", {
      type: "message_start",
      message: { ...anthropicAnswer(""), content: [], usage: { input_tokens: opts.input ?? 11, output_tokens: 1 } },
    }),
    ev("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
    ev("ping", { type: "ping" }),
    ...texts.map((t) => ev("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: t } })),
  ];
  if (opts.end !== false) {
    frames.push(
      ev("content_block_stop", { type: "content_block_stop", index: 0 }),
      ev("message_delta", {
        type: "message_delta",
        delta: { stop_reason: "end_turn", stop_sequence: null },
        usage: { output_tokens: opts.output ?? 7 },
      }),
      ev("message_stop", { type: "message_stop" }),
    );
  }
  return frames;
}

export const openaiAnswer = (text: string, usage = { prompt_tokens: 13, completion_tokens: 5, total_tokens: 18 }) => ({
  id: "chatcmpl-test",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "gpt-4.1-mini",
  choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, finish_reason: "stop", logprobs: null }],
  usage,
});

export function openaiFrames(texts: string[], opts: { usage?: boolean; end?: boolean } = {}): string[] {
  const chunk = (delta: unknown, finish: string | null = null, usage: unknown = null) =>
    `data: ${JSON.stringify({ id: "chatcmpl-test", object: "chat.completion.chunk", created: 1_700_000_000, model: "gpt-4.1-mini", choices: delta ? [{ index: 0, delta, finish_reason: finish }] : [], usage })}\n\n`;
  const frames = [chunk({ role: "assistant", content: "" }), ...texts.map((t) => chunk({ content: t }))];
  if (opts.end !== false) {
    frames.push(chunk({}, "stop"));
    if (opts.usage !== false) frames.push(chunk(null, null, { prompt_tokens: 13, completion_tokens: 5, total_tokens: 18 }));
    frames.push("data: [DONE]\n\n");
  }
  return frames;
}

export const workersAiAnswer = (text: string) => ({
  result: { response: text, usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 } },
  success: true,
  errors: [],
  messages: [],
});

export function workersAiFrames(texts: string[], end = true): string[] {
  const frames = texts.map((t) => `data: ${JSON.stringify({ response: t, p: "x" })}\n\n`);
  if (end)
    frames.push(`data: ${JSON.stringify({ response: "", usage: { prompt_tokens: 9, completion_tokens: 4 } })}\n\n`, "data: [DONE]\n\n");
  return frames;
}

export interface ParsedEvent {
  event: string | undefined;
  data: string;
}

/** Reads a whole SSE response into events. */
export async function readSse(res: Response): Promise<ParsedEvent[]> {
  const text = await res.text();
  const events: ParsedEvent[] = [];
  for (const block of text.split(/\n\n+/)) {
    if (block.trim() === "") continue;
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    events.push({ event, data: data.join("\n") });
  }
  return events;
}
