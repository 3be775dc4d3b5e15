// The isolate's config cache: built once from the bindings, reused while every one of them is the very value it was
// built from, and rebuilt (showing the new value) when any one of them changes.
import { env as baseEnv } from "cloudflare:test";
import { describe, expect, test } from "vitest";
import { type Isolate, isolateOf } from "../src/isolate";
import { TEST_CLIENT_DIGESTS } from "./fixtures";
import { allowAll, routing, TEST_ROUTING } from "./support";

const env = { ...baseEnv, ROUTING: TEST_ROUTING, RATE_LIMITER: allowAll, BUDGETS: undefined } as unknown as Env;
const warnings: string[] = [];
const of = (e: Env) => isolateOf(e, (d) => warnings.push(d));

const limiter: RateLimit = { limit: async () => ({ success: true }) };
const ledger = { getByName: () => ({}) };
const budgets = {
  prices: { "anthropic/claude-haiku-4-5": { inputPerMTok: 1, outputPerMTok: 5 } },
  default: { dailyUsd: 1 },
  action: "refuse",
};

/**
 * Each binding the Isolate is built from, a changed value for it, and what the rebuilt Isolate shows of it (the
 * ledger shows nothing while BUDGETS is unset: only that the Isolate is a new one).
 */
const CHANGES: Record<string, [unknown, ((iso: Isolate) => unknown)?, unknown?]> = {
  ROUTING: [routing((r) => void (r.cors.allowOrigins = ["https://changed.test"])), (i) => [...i.origins], ["https://changed.test"]],
  CLIENTS: [["web"], (i) => i.keys.map((k) => k.id), ["web"]],
  CLIENT_KEYS: [JSON.stringify({ batch: TEST_CLIENT_DIGESTS.batch }), (i) => i.keys.map((k) => k.id), ["batch"]],
  RATE_LIMIT_PERIOD: ["30", (i) => i.period, 30],
  RATE_LIMITER: [limiter, (i) => i.limiter, limiter],
  AI_GATEWAY_TOKEN: ["changed-token", (i) => i.gatewayAuth, "Bearer changed-token"],
  ANTHROPIC_API_KEY: ["sk-ant-changed", (i) => i.providerAuth.anthropic["x-api-key"], "sk-ant-changed"],
  OPENAI_API_KEY: ["sk-openai-changed", (i) => i.providerAuth.openai.authorization, "Bearer sk-openai-changed"],
  AI_GATEWAY_ACCOUNT_ID: ["acct-changed", (i) => i.gateway.split("/").at(-2), "acct-changed"],
  AI_GATEWAY_ID: ["gw-changed", (i) => i.gateway.split("/").at(-1), "gw-changed"],
  AI_GATEWAY_BASE_URL: ["https://changed.test/v1", (i) => i.gateway.startsWith("https://changed.test/v1/"), true],
  STACK: ["changed-stack", (i) => i.stack, "changed-stack"],
  BUDGETS: [budgets, (i) => i.budget?.budgets.action, "refuse"],
  BUDGET_LEDGER: [ledger],
};

describe("isolateOf", () => {
  test("reuses one Isolate while the bindings are the same values, in the same env or a copy of it", () => {
    const first = of(env);
    expect(of(env)).toBe(first);
    expect(of({ ...env } as Env)).toBe(first);
  });

  test.each(Object.keys(CHANGES))("rebuilds the Isolate when %s changes, and reuses the rebuilt one", (name) => {
    const [value, shown, expected] = CHANGES[name]!;
    const before = of(env);
    const changed = { ...env, [name]: value } as Env;
    const after = of(changed);
    expect(after).not.toBe(before);
    if (shown) {
      expect(shown(after)).toEqual(expected);
      expect(shown(before)).not.toEqual(expected);
    }
    expect(of(changed)).toBe(after);
    // Back to the original values: built from them again.
    const again = of(env);
    expect(again).not.toBe(after);
    if (shown) expect(shown(again)).toEqual(shown(before));
  });

  test("keeps the Isolate when a binding it is not built from changes", () => {
    const first = of(env);
    expect(of({ ...env, ALERTS: { changed: true }, ALERTS_STATE: {} } as unknown as Env)).toBe(first);
  });
});
