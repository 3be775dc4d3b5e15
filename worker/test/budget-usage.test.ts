/**
 * GET /v1/usage's handler against the real ledger Durable Object: a client's own spend per day and model, the
 * default range, bad queries named, and an unreachable ledger as a 503.
 */
import { env } from "cloudflare:workers";
import { describe, expect, test } from "vitest";
import { toNanos } from "../src/budget/cost";
import type { SpendLine } from "../src/budget/ledger";
import { usageResponse } from "../src/budget/usage";
import { ApiError } from "../src/errors";

const NOW = Date.parse("2026-11-05T12:00:00Z");
const TERMS = { share: 0.1, ttlMs: 60_000, graceMs: 300_000 };

function line(day: string, model: string, usd: number, requests = 1, cached = 0): SpendLine {
  return {
    day,
    model,
    nanos: toNanos(usd),
    usage: { input: 10 * requests, output: 5 * requests, cacheRead: 0, cacheWrite: 0 },
    requests,
    cached,
  };
}

async function seeded() {
  const prefix = crypto.randomUUID();
  const ledgerOf = (client: string) => env.BUDGET_LEDGER.getByName(`${prefix}:${client}`);
  await ledgerOf("web").settle({
    isolateId: "iso",
    at: NOW,
    limits: { dailyNanos: toNanos(5) },
    terms: TERMS,
    spend: [
      line("2026-10-31", "anthropic/claude-haiku-4-5", 1),
      line("2026-11-02", "anthropic/claude-haiku-4-5", 0.1, 2),
      line("2026-11-02", "openai/gpt-4.1-mini", 0.2, 3, 1),
      line("2026-11-05", "anthropic/claude-haiku-4-5", 0.05),
    ],
  });
  await ledgerOf("batch").settle({
    isolateId: "iso",
    at: NOW,
    limits: {},
    terms: TERMS,
    spend: [line("2026-11-05", "openai/gpt-4.1-mini", 7)],
  });
  return ledgerOf;
}

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error("expected an ApiError");
}

describe("GET /v1/usage", () => {
  test("answers the client's own spend this month by day and model, with totals and the budget headers", async () => {
    const ledgerOf = await seeded();
    const status = { window: "day" as const, limitUsd: 5, remainingUsd: 4.95, reset: "2026-11-06T00:00:00Z" };
    const res = await usageResponse("web", ledgerOf("web"), new URLSearchParams(), NOW, status);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-ai-budget-remaining")).toBe("4.95");
    expect(await res.json()).toEqual({
      object: "usage",
      client: "web",
      currency: "USD",
      from: "2026-11-01",
      to: "2026-11-05",
      totalUsd: 0.35,
      days: [
        {
          day: "2026-11-02",
          usd: 0.3,
          models: [
            {
              model: "anthropic/claude-haiku-4-5",
              usd: 0.1,
              requests: 2,
              cachedRequests: 0,
              tokens: { input: 20, output: 10, cacheRead: 0, cacheWrite: 0 },
            },
            {
              model: "openai/gpt-4.1-mini",
              usd: 0.2,
              requests: 3,
              cachedRequests: 1,
              tokens: { input: 30, output: 15, cacheRead: 0, cacheWrite: 0 },
            },
          ],
        },
        {
          day: "2026-11-05",
          usd: 0.05,
          models: [
            {
              model: "anthropic/claude-haiku-4-5",
              usd: 0.05,
              requests: 1,
              cachedRequests: 0,
              tokens: { input: 10, output: 5, cacheRead: 0, cacheWrite: 0 },
            },
          ],
        },
      ],
      budget: status,
    });
  });

  test("takes an explicit range across a month end", async () => {
    const ledgerOf = await seeded();
    const res = await usageResponse("web", ledgerOf("web"), new URLSearchParams({ from: "2026-10-30", to: "2026-11-02" }), NOW, null);
    const body = (await res.json()) as { days: { day: string }[]; totalUsd: number };
    expect(body.days.map((d) => d.day)).toEqual(["2026-10-31", "2026-11-02"]);
    expect(body.totalUsd).toBe(1.3);
    expect(res.headers.get("x-ai-budget-limit")).toBeNull();
  });

  test("names the bad query parameter with a 400", async () => {
    const ledgerOf = await seeded();
    const ask = (q: Record<string, string>) => apiError(usageResponse("web", ledgerOf("web"), new URLSearchParams(q), NOW, null));
    expect(await ask({ from: "2026-02-30" })).toMatchObject({
      status: 400,
      type: "invalid_request",
      message: 'query parameter from must be a UTC day like 2026-11-05 (got "2026-02-30")',
    });
    expect((await ask({ to: "yesterday" })).message).toContain("query parameter to must be a UTC day");
    expect((await ask({ from: "2026-11-05", to: "2026-11-01" })).message).toBe(
      "query parameter from (2026-11-05) must not be after to (2026-11-01)",
    );
    expect((await ask({ from: "2026-01-01", to: "2026-11-01" })).message).toContain("ask for at most 92");
  });

  test("answers 503 budget_unavailable when the ledger cannot be reached", async () => {
    const down = {
      usage: async () => {
        throw new Error("Durable Object is unreachable (test)");
      },
    };
    expect(await apiError(usageResponse("web", down, new URLSearchParams(), NOW, null))).toMatchObject({
      status: 503,
      type: "budget_unavailable",
    });
  });
});
