/**
 * BUDGETS parsing and cross-checks, pricing and the budget windows: pure functions, plus the repository's own
 * wrangler.jsonc BUDGETS checked against its ROUTING and CLIENTS.
 */
import { env } from "cloudflare:workers";
import { describe, expect, test } from "vitest";
import {
  anthropicUsage,
  costNanos,
  countAttachments,
  foldUsage,
  monthDays,
  openaiUsage,
  requestedMaxTokens,
  rfc3339,
  secondsUntil,
  streamedOutputNanos,
  toNanos,
  utcDay,
  windowReset,
  worstCaseNanos,
} from "../src/budget/cost";
import { BUDGET_HEADERS, budgetHeaders, formatUsd, refusalError, refusalHeaders } from "../src/budget/http";
import { checkBudgets, limitsFor, parseBudgets } from "../src/contract/budgets";
import { PROVIDERS, parseRouting } from "../src/contract/routing";
import { ContractError } from "../src/contract/schema";
import { errorBody } from "../src/errors";

const HAIKU = { inputPerMTok: 1, outputPerMTok: 5, cacheReadPerMTok: 0.1, cacheWritePerMTok: 1.25 };

const MINIMAL = { prices: { "anthropic/claude-haiku-4-5": HAIKU } };

/** The problem as the Worker and infra word it: the path under BUDGETS, then the offending value, if one. */
function problem(input: unknown): string {
  try {
    parseBudgets(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ContractError);
    const e = err as ContractError;
    return `${e.at("BUDGETS")}${e.received === undefined ? "" : ` (got ${e.received})`}`;
  }
  throw new Error("parsed without a problem");
}

describe("parseBudgets", () => {
  test("fills every default: refuse at the limit, no default budget, 1% leases for 60 s, conservative estimates", () => {
    const b = parseBudgets(MINIMAL);
    expect(b.action).toBe("refuse");
    expect(b.default).toBeNull();
    expect(b.clients).toEqual({});
    expect(b.lease).toEqual({ share: 0.01, ttlSeconds: 60, graceSeconds: 300, renewAtShare: 0.5, flushSeconds: 1, recheckSeconds: 5 });
    expect(b.estimate).toEqual({ bytesPerToken: 1, overheadTokens: 1024, attachmentTokens: 5000, defaultMaxOutputTokens: 32_768 });
    expect(b.reconcile).toEqual({ maxShareDiff: 0.05, minUsdDiff: 0.01 });
  });

  test("prices cache tokens as plain input when a price leaves them out", () => {
    const b = parseBudgets({ prices: { "workers-ai/@cf/meta/llama-3.1-8b-instruct": { inputPerMTok: 0.282, outputPerMTok: 0.827 } } });
    expect(b.prices["workers-ai/@cf/meta/llama-3.1-8b-instruct"]).toEqual({
      inputPerMTok: 0.282,
      outputPerMTok: 0.827,
      cacheReadPerMTok: 0.282,
      cacheWritePerMTok: 0.282,
    });
  });

  test("names the bad field by its path, bracketing price keys", () => {
    expect(problem({ prices: { "anthropic/claude-haiku-4-5": { ...HAIKU, outputPerMTok: -1 } } })).toBe(
      'BUDGETS.prices["anthropic/claude-haiku-4-5"].outputPerMTok must be >=0 (got -1)',
    );
    expect(problem({ prices: { "anthropic/claude-haiku-4-5": { inputPerMTok: 1 } } })).toBe(
      'BUDGETS.prices["anthropic/claude-haiku-4-5"].outputPerMTok is required (got nothing)',
    );
    expect(problem({ ...MINIMAL, lease: { shares: 0.1 } })).toBe("BUDGETS.lease.shares is not a known field");
    expect(problem({ ...MINIMAL, action: "block" })).toBe('BUDGETS.action must be ("refuse" | "report") (got "block")');
    expect(problem({ ...MINIMAL, clients: { web: { dailyUsd: "5" } } })).toBe('BUDGETS.clients.web.dailyUsd must be number (got "5")');
    expect(problem({ prices: { "claude-haiku-4-5": HAIKU } })).toBe(
      'BUDGETS.prices["claude-haiku-4-5"] must be "<provider>/<model>" (got "claude-haiku-4-5")',
    );
    expect(problem({})).toBe("BUDGETS.prices is required (got nothing)");
    expect(problem({ ...MINIMAL, lease: { share: 0 } })).toBe("BUDGETS.lease.share must be >0 (got 0)");
  });

  test("gives each client its own limits, else the default; an entry without limits means metered only", () => {
    const b = parseBudgets({ ...MINIMAL, clients: { web: { dailyUsd: 5 }, batch: {} }, default: { monthlyUsd: 20 } });
    expect(limitsFor(b, "web")).toEqual({ dailyUsd: 5 });
    expect(limitsFor(b, "batch")).toBeNull();
    expect(limitsFor(b, "someone-else")).toEqual({ monthlyUsd: 20 });
    expect(limitsFor(parseBudgets(MINIMAL), "web")).toBeNull();
  });
});

describe("checkBudgets", () => {
  const routed = [
    { provider: "anthropic", model: "claude-haiku-4-5" },
    { provider: "openai", model: "gpt-4.1-mini" },
  ];

  test("reports a routed model without a price and a budget for a client the stack does not list", () => {
    const b = parseBudgets({ ...MINIMAL, clients: { web: { dailyUsd: 1 }, ghost: { dailyUsd: 1 } } });
    expect(checkBudgets(b, { clients: ["web", "batch"], routedModels: routed })).toEqual([
      'BUDGETS.prices has no price for "openai/gpt-4.1-mini", which the stack can route to',
      'BUDGETS.clients["ghost"] is a budget for a client not listed in CLIENTS (listed: web, batch)',
    ]);
  });

  test("finds nothing wrong when every routed model is priced and every budget names a listed client", () => {
    const b = parseBudgets({
      prices: { "anthropic/claude-haiku-4-5": HAIKU, "openai/gpt-4.1-mini": { inputPerMTok: 0.4, outputPerMTok: 1.6 } },
      clients: { web: { dailyUsd: 1 } },
    });
    expect(checkBudgets(b, { clients: ["web"], routedModels: routed })).toEqual([]);
  });

  test("the local wrangler.jsonc prices every model its ROUTING can route to and budgets only listed clients", () => {
    const routing = parseRouting(env.ROUTING);
    const routedModels = PROVIDERS.flatMap((provider) => routing.models[provider].map((model) => ({ provider, model })));
    const budgets = parseBudgets(env.BUDGETS);
    // The tests bind their own CLIENTS; the file's own list is ["dev"].
    expect(checkBudgets(budgets, { clients: ["dev"], routedModels })).toEqual([]);
    expect(routedModels.length).toBeGreaterThanOrEqual(5);
  });
});

describe("pricing", () => {
  test("costs each kind of token at its own rate, in whole nano-dollars", () => {
    // 1000 x $1 + 500 x $5 + 2000 x $0.10 + 100 x $1.25 per million = $0.003825
    expect(costNanos(HAIKU, { input: 1000, output: 500, cacheRead: 2000, cacheWrite: 100 })).toBe(3_825_000);
    // 3 tokens at $0.1/M = 3e-7 USD: float noise must not add a nano-dollar.
    expect(costNanos({ ...HAIKU, inputPerMTok: 0.1 }, { input: 3, output: 0, cacheRead: 0, cacheWrite: 0 })).toBe(300);
    // A fraction of a nano-dollar rounds up: a charge is never short.
    expect(costNanos({ ...HAIKU, inputPerMTok: 0.0001 }, { input: 1, output: 0, cacheRead: 0, cacheWrite: 0 })).toBe(1);
    expect(toNanos(0.003825)).toBe(3_825_000);
  });

  test("the worst case takes every body byte as a token at the dearest input rate, plus overhead and the whole output cap", () => {
    const estimate = parseBudgets(MINIMAL).estimate;
    // (4000 + 1024) input tokens at $1.25 (cache write) + 1000 output at $5 = $0.01128
    expect(worstCaseNanos(HAIKU, { bodyBytes: 4000, maxTokens: 1000 }, estimate)).toBe(11_280_000);
    // No max_tokens: the default cap, 32768 x $5 = $0.16384 on top of the input side.
    expect(worstCaseNanos(HAIKU, { bodyBytes: 4000 }, estimate)).toBe(6_280_000 + 163_840_000);
    // Two images: 2 x 5000 tokens more at $1.25.
    expect(worstCaseNanos(HAIKU, { bodyBytes: 4000, maxTokens: 1000, attachments: 2 }, estimate)).toBe(11_280_000 + 12_500_000);
  });

  test("the worst case of a real answer's request is above what that answer cost", () => {
    const estimate = parseBudgets(MINIMAL).estimate;
    const body = {
      model: "claude-haiku-4-5",
      max_tokens: 64,
      messages: [{ role: "user", content: "Write a haiku about budgets that hold." }],
    };
    const bytes = new TextEncoder().encode(JSON.stringify(body)).length;
    // A plausible answer: 20 input tokens (the prompt is 38 characters), all 64 output tokens used.
    const actual = costNanos(HAIKU, { input: 20, output: 64, cacheRead: 0, cacheWrite: 0 });
    expect(worstCaseNanos(HAIKU, { bodyBytes: bytes, maxTokens: requestedMaxTokens(body) }, estimate)).toBeGreaterThan(actual);
  });

  test("counts image and document parts on both surfaces, not the data inside them", () => {
    const anthropic = {
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "see" },
            { type: "image", source: { type: "base64", data: "iVBOR" } },
            { type: "document", source: { type: "base64" } },
          ],
        },
      ],
    };
    const openai = {
      messages: [
        {
          role: "user",
          content: [
            { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
            { type: "text", text: "image" },
          ],
        },
      ],
    };
    expect(countAttachments(anthropic)).toBe(2);
    expect(countAttachments(openai)).toBe(1);
    expect(countAttachments({ messages: [{ role: "user", content: "an image, please" }] })).toBe(0);
  });

  test("reads the output cap from max_tokens or max_completion_tokens", () => {
    expect(requestedMaxTokens({ max_tokens: 256 })).toBe(256);
    expect(requestedMaxTokens({ max_completion_tokens: 99 })).toBe(99);
    // OpenAI's n answers, each up to the cap.
    expect(requestedMaxTokens({ max_completion_tokens: 99, n: 3 })).toBe(297);
    expect(requestedMaxTokens({ max_tokens: 10, n: 0 })).toBe(10);
    expect(requestedMaxTokens({ max_tokens: "256" })).toBeUndefined();
    expect(requestedMaxTokens(null)).toBeUndefined();
  });

  test("reads each provider's usage into one shape, cache tokens included", () => {
    expect(
      anthropicUsage({ input_tokens: 12, output_tokens: 30, cache_read_input_tokens: 1000, cache_creation_input_tokens: 200 }),
    ).toEqual({
      input: 12,
      output: 30,
      cacheRead: 1000,
      cacheWrite: 200,
    });
    // OpenAI counts cached tokens inside prompt_tokens.
    expect(openaiUsage({ prompt_tokens: 1200, completion_tokens: 40, prompt_tokens_details: { cached_tokens: 1024 } })).toEqual({
      input: 176,
      output: 40,
      cacheRead: 1024,
      cacheWrite: 0,
    });
    expect(openaiUsage(undefined)).toEqual({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0 });
    // A stream: message_start's input side, then message_delta's cumulative output.
    const start = anthropicUsage({ input_tokens: 12, output_tokens: 1, cache_read_input_tokens: 1000 });
    const delta = anthropicUsage({ output_tokens: 30 });
    expect(foldUsage(start, delta)).toEqual({ input: 12, output: 30, cacheRead: 1000, cacheWrite: 0 });
  });

  test("bounds a stream's output so far by its bytes", () => {
    expect(streamedOutputNanos(HAIKU, 200)).toBe(1_000_000);
  });
});

describe("windows", () => {
  test("the UTC day ends at midnight UTC and the month on the first of the next, across a year end", () => {
    const last = Date.parse("2026-12-31T23:59:59.999Z");
    expect(utcDay(last)).toBe("2026-12-31");
    expect(rfc3339(windowReset("day", last))).toBe("2027-01-01T00:00:00Z");
    expect(rfc3339(windowReset("month", last))).toBe("2027-01-01T00:00:00Z");
    expect(rfc3339(windowReset("month", Date.parse("2026-11-05T10:00:00Z")))).toBe("2026-12-01T00:00:00Z");
    expect(monthDays(Date.parse("2028-02-10T00:00:00Z"))).toEqual({ first: "2028-02-01", last: "2028-02-29" });
  });

  test("Retry-After is whole seconds up to the reset, never 0", () => {
    const now = Date.parse("2026-11-05T23:59:58.200Z");
    expect(secondsUntil(windowReset("day", now), now)).toBe(2);
    expect(secondsUntil(now, now)).toBe(1);
  });
});

describe("budget on the wire", () => {
  const refusal = {
    ok: false as const,
    status: 429 as const,
    type: "budget_exceeded" as const,
    message: "This client's daily budget does not cover this request.",
    retryAfter: 3600,
    budget: { window: "day" as const, limitUsd: 5, remainingUsd: 0.000125, reset: "2026-11-06T00:00:00Z" },
  };

  test("reports limit, remaining and reset in USD and RFC 3339", () => {
    expect(budgetHeaders(refusal.budget)).toEqual({
      "x-ai-budget-limit": "5",
      "x-ai-budget-remaining": "0.000125",
      "x-ai-budget-reset": "2026-11-06T00:00:00Z",
    });
    expect(budgetHeaders(null)).toEqual({});
    expect(formatUsd(-0.5)).toBe("0");
    expect(formatUsd(4.99875)).toBe("4.99875");
  });

  test("a refusal says not to retry before the reset", () => {
    const h = refusalHeaders(refusal);
    expect(h[BUDGET_HEADERS.retryAfter]).toBe("3600");
    expect(h[BUDGET_HEADERS.shouldRetry]).toBe("false");
    expect(h[BUDGET_HEADERS.remaining]).toBe("0.000125");
  });

  test("a refusal is a 429 of type budget_exceeded in every surface's error shape", () => {
    const err = refusalError(refusal);
    expect(err.status).toBe(429);
    expect(errorBody("messages", err, "req-1")).toEqual({
      type: "error",
      error: { type: "budget_exceeded", message: refusal.message },
      request_id: "req-1",
    });
    expect(errorBody("chatCompletions", err, "req-1")).toEqual({
      error: { message: refusal.message, type: "budget_exceeded", param: null, code: "budget_exceeded" },
    });
    expect(errorBody("chat", err, "req-1")).toEqual({ error: { type: "budget_exceeded", message: refusal.message } });
  });
});
