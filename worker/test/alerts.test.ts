/**
 * The scheduled alerts inside workerd with the real KV namespace (ALERTS_STATE) and the ALERTS config from
 * wrangler.jsonc. Outbound calls go through an injected fetch that plays the analytics API and a webhook receiver,
 * and fails the test on anything else.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type AlertsEnv, runScheduledAlerts } from "../src/alerts";
import { STATE_KEY } from "../src/alerts/state";

const TOKEN = "workerd-analytics-token-5e1d";
const SECRET = "workerd-webhook-secret-a83c";

function world(errored: number) {
  const posts: { url: string; headers: Headers; body: Record<string, unknown> }[] = [];
  const queries: Record<string, unknown>[] = [];
  const unexpected: string[] = [];
  const fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const body = JSON.parse(String(init.body)) as Record<string, unknown>;
    if (url === "http://127.0.0.1:8789/graphql") {
      queries.push(body);
      // Hourly/minute history for the spike rule is empty (no_data); totals answer the cost and error-rate rules.
      const grouped = String(body.query).includes("dimensions");
      const rows = grouped ? [] : [{ count: 100, sum: { cost: 1.5, erroredRequests: errored, cachedRequests: 0 } }];
      return Response.json({ data: { viewer: { accounts: [{ aiGatewayRequestsAdaptiveGroups: rows }] } }, errors: null });
    }
    if (url === "http://127.0.0.1:8790/alerts") {
      posts.push({ url, headers: new Headers(init.headers), body });
      return new Response("ok");
    }
    unexpected.push(url);
    return new Response("unexpected", { status: 599 });
  };
  return { posts, queries, unexpected, fetch };
}

function alertsEnv(): AlertsEnv {
  return {
    AI_GATEWAY_ACCOUNT_ID: env.AI_GATEWAY_ACCOUNT_ID,
    AI_GATEWAY_ID: env.AI_GATEWAY_ID,
    STACK: env.STACK,
    ALERTS: env.ALERTS,
    ALERTS_STATE: env.ALERTS_STATE,
    ALERTS_ANALYTICS_TOKEN: TOKEN,
    ALERTS_WEBHOOK_SECRETS: JSON.stringify({ local: SECRET }),
  };
}

describe("scheduled alerts in workerd", () => {
  it("fires the error-rate alert once, keeps the state in KV, and resolves it", async () => {
    const logs: string[] = [];
    const at = Date.parse("2026-11-29T12:00:00Z");
    const cron = "*/5 * * * *";

    const bad = world(50);
    await runScheduledAlerts({ cron, scheduledTime: at }, alertsEnv(), { fetch: bad.fetch, log: (l) => logs.push(l) });
    expect(bad.unexpected).toEqual([]);
    expect(bad.queries).toHaveLength(3);
    expect(bad.queries[0]).toMatchObject({ variables: { accountTag: env.AI_GATEWAY_ACCOUNT_ID, gateway: env.AI_GATEWAY_ID } });
    expect(bad.posts.map((p) => [p.body.alert, p.body.status])).toEqual([["error_rate", "firing"]]);
    expect(bad.posts[0]!.headers.get("cf-webhook-auth")).toBe(SECRET);
    const stored = JSON.parse((await env.ALERTS_STATE.get(STATE_KEY))!) as { rules: Record<string, { firing: boolean }> };
    expect(stored.rules.error_rate?.firing).toBe(true);

    await runScheduledAlerts({ cron, scheduledTime: at + 300_000 }, alertsEnv(), { fetch: bad.fetch, log: (l) => logs.push(l) });
    expect(bad.posts).toHaveLength(1);

    const good = world(0);
    await runScheduledAlerts({ cron, scheduledTime: at + 600_000 }, alertsEnv(), { fetch: good.fetch, log: (l) => logs.push(l) });
    expect(good.posts.map((p) => [p.body.alert, p.body.status])).toEqual([["error_rate", "resolved"]]);
    expect(JSON.parse((await env.ALERTS_STATE.get(STATE_KEY))!)).toMatchObject({ rules: {} });

    expect(logs).toHaveLength(3);
    for (const l of logs) {
      expect(JSON.parse(l)).toMatchObject({ event: "alerts.run", stack: env.STACK });
      expect(l).not.toContain(TOKEN);
      expect(l).not.toContain(SECRET);
    }
  });

  it("compares yesterday's budget ledger with the gateway's cost once a day and alerts when they disagree", async () => {
    const logs: string[] = [];
    const w = world(0);
    const at = Date.parse("2026-11-30T00:30:00Z");
    const prices = { "anthropic/claude-haiku-4-5": { inputPerMTok: 1, outputPerMTok: 5 } };
    const budgetsEnv = {
      ...alertsEnv(),
      // The gateway says $1.50 for 2026-11-29; this ledger (a fresh one) booked nothing: traffic bypassed the Worker.
      BUDGETS: { prices, clients: { web: { dailyUsd: 5 } } },
      BUDGET_LEDGER: { getByName: (c: string) => env.BUDGET_LEDGER.getByName(`reconcile:${c}`) },
      CLIENTS: ["web"],
    };
    await runScheduledAlerts({ cron: "*/5 * * * *", scheduledTime: at }, budgetsEnv, { fetch: w.fetch, log: (l) => logs.push(l) });
    const mismatch = w.posts.filter((p) => p.body.alert === "budget_ledger_mismatch");
    expect(mismatch).toHaveLength(1);
    expect(mismatch[0]!.body).toMatchObject({
      status: "firing",
      window: { start: "2026-11-29T00:00:00Z" },
      detail: { ledgerUsd: 0, gatewayUsd: 1.5 },
    });
    expect(logs.map((l) => JSON.parse(l) as { event: string }).some((l) => l.event === "budgets.reconcile")).toBe(true);

    // The next run the same day compares nothing again.
    await runScheduledAlerts({ cron: "*/5 * * * *", scheduledTime: at + 300_000 }, budgetsEnv, { fetch: w.fetch, log: () => {} });
    expect(w.posts.filter((p) => p.body.alert === "budget_ledger_mismatch")).toHaveLength(1);
    expect(w.unexpected).toEqual([]);
  });

  it("ignores a cron that is not the alerts cron", async () => {
    const w = world(50);
    const report = await runScheduledAlerts({ cron: "0 0 * * *", scheduledTime: Date.now() }, alertsEnv(), {
      fetch: w.fetch,
      log: () => {},
    });
    expect(report).toBeUndefined();
    expect(w.queries).toHaveLength(0);
  });
});
