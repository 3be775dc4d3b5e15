/**
 * The alert evaluator against a local GraphQL analytics stand-in and a local webhook receiver (real HTTP on
 * 127.0.0.1): thresholds and their boundaries, no repeats, resolution, history baselines, analytics failures.
 */
import { createHmac } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ANALYTICS_ALERT, evaluateAlerts, type RunReport } from "../../../src/alerts/evaluator";
import { MemoryStateStore, STATE_KEY } from "../../../src/alerts/state";
import { type AlertsBinding, parseAlertsBinding } from "../../../src/contract/alerts";
import { startAnalytics, startReceiver, type Traffic } from "./stand-ins";

const ACCOUNT = "acc-123";
const GATEWAY = "gw-prod";
const TOKEN = "analytics-token-value-0001";
const SECRET = "webhook-secret-value-0002";
const T0 = Date.parse("2026-11-29T12:00:30Z");
const MIN = 60_000;
// Windows end at the scheduled minute less lagMinutes (5): 11:55:00.
const END = Date.parse("2026-11-29T11:55:00Z");

let analytics: Awaited<ReturnType<typeof startAnalytics>>;
let hook: Awaited<ReturnType<typeof startReceiver>>;
let logs: string[];

beforeEach(async () => {
  analytics = await startAnalytics(ACCOUNT);
  hook = await startReceiver();
  logs = [];
});

afterEach(async () => {
  await analytics.close();
  await hook.close();
});

function config(rules: object, extra: object = {}): AlertsBinding {
  return parseAlertsBinding({
    cron: "*/5 * * * *",
    lagMinutes: 5,
    failureRuns: 3,
    rules,
    destinations: { webhooks: [{ name: "ops", url: `${hook.url}/alerts` }] },
    endpoints: { analytics: analytics.url },
    ...extra,
  });
}

/** `requests` in the minute that starts `minutesBeforeEnd` minutes before the windows' end. */
function at(minutesBeforeEnd: number, requests: number, more: Partial<Traffic> = {}): Traffic {
  return { gateway: GATEWAY, at: new Date(END - minutesBeforeEnd * MIN + 30_000).toISOString(), requests, ...more };
}

function run(cfg: AlertsBinding, store: MemoryStateStore, now = T0): Promise<RunReport> {
  return evaluateAlerts(
    { config: cfg, stack: "prod", accountId: ACCOUNT, gatewayId: GATEWAY, analyticsToken: TOKEN, secrets: { webhooks: { ops: SECRET } } },
    { now: new Date(now), fetch: (url, init) => fetch(url, init), store, log: (l) => logs.push(l) },
  );
}

const deliveries = () => hook.state.received.map((r) => ({ alert: r.json.alert, status: r.json.status }));

describe("cost per day", () => {
  const rule = { costPerDay: { usd: 100, window: "rolling24h" } };

  it("fires when the last 24 hours cost exactly the limit", async () => {
    analytics.state.data = [at(60, 10, { cost: 60 }), at(23 * 60, 5, { cost: 40 })];
    await run(config(rule), new MemoryStateStore());
    expect(deliveries()).toEqual([{ alert: "cost_per_day", status: "firing" }]);
    expect(hook.state.received[0]!.json).toMatchObject({ value: 100, threshold: 100, unit: "USD", stack: "prod", gateway: GATEWAY });
  });

  it("stays quiet a cent below the limit, ignoring cost outside the window and on other gateways", async () => {
    analytics.state.data = [
      at(60, 10, { cost: 99.99 }),
      at(24 * 60 + 1, 10, { cost: 500 }), // 24 h and a minute ago: outside the rolling window
      at(30, 10, { cost: 500, gateway: "gw-other" }),
    ];
    const report = await run(config(rule), new MemoryStateStore());
    expect(report.verdicts).toMatchObject([{ rule: "cost_per_day", status: "ok", value: 99.99 }]);
    expect(hook.state.received).toHaveLength(0);
  });

  it("with calendarDayUtc counts only since 00:00 UTC", async () => {
    analytics.state.data = [at(60, 10, { cost: 60 }), at(12 * 60, 10, { cost: 60 })]; // 10:55 and 23:55 the day before
    const report = await run(config({ costPerDay: { usd: 100, window: "calendarDayUtc" } }), new MemoryStateStore());
    expect(report.verdicts).toMatchObject([{ rule: "cost_per_day", status: "ok", value: 60 }]);
    expect(analytics.state.queries[0]!.variables).toMatchObject({ start: "2026-11-29T00:00:00Z", end: "2026-11-29T11:55:00Z" });
  });
});

describe("error rate", () => {
  const rule = { errorRate: { percent: 5, windowMinutes: 15, minRequests: 20 } };

  it("fires at exactly 5% over the 15-minute window", async () => {
    analytics.state.data = [at(1, 50, { errors: 3 }), at(14, 50, { errors: 2 })];
    await run(config(rule), new MemoryStateStore());
    expect(deliveries()).toEqual([{ alert: "error_rate", status: "firing" }]);
    expect(hook.state.received[0]!.json).toMatchObject({ value: 5, threshold: 5, unit: "%", detail: { requests: 100, errors: 5 } });
  });

  it("stays quiet at 4%, and ignores errors from before the window", async () => {
    analytics.state.data = [at(1, 50, { errors: 2 }), at(14, 50, { errors: 2 }), at(16, 50, { errors: 50 })];
    await run(config(rule), new MemoryStateStore());
    expect(hook.state.received).toHaveLength(0);
  });

  it("does not page for 1 error in 2 requests (below minRequests)", async () => {
    analytics.state.data = [at(3, 2, { errors: 1 })];
    const report = await run(config(rule), new MemoryStateStore());
    expect(report.verdicts).toMatchObject([{ rule: "error_rate", status: "ok", value: 50 }]);
    expect(hook.state.received).toHaveLength(0);
  });
});

describe("usage spike", () => {
  const rule = { usageSpike: { factor: 2, windowMinutes: 60, baselineWindows: 24, minRequests: 50 } };
  /** 24 hourly windows of history: mostly 100 requests, a few outliers the median must ignore. */
  const history = (perHour: number): Traffic[] =>
    Array.from({ length: 24 }, (_, k) => at(60 * (k + 1) + 30, k === 3 ? perHour * 20 : k === 7 ? 0 : perHour));

  it("fires when the last hour reaches 2x the median of the 24 hours before", async () => {
    analytics.state.data = [...history(100), at(10, 150), at(40, 50)];
    const report = await run(config(rule), new MemoryStateStore());
    expect(report.verdicts).toMatchObject([{ rule: "usage_spike", status: "firing", value: 200, threshold: 200 }]);
    expect(deliveries()).toEqual([{ alert: "usage_spike", status: "firing" }]);
    expect(hook.state.received[0]!.json).toMatchObject({ detail: { baseline: 100, factor: 2 } });
  });

  it("stays quiet one request below 2x the baseline", async () => {
    analytics.state.data = [...history(100), at(10, 199)];
    await run(config(rule), new MemoryStateStore());
    expect(hook.state.received).toHaveLength(0);
  });

  it("takes its baseline from history: the same hour is no spike when the history is busier", async () => {
    analytics.state.data = [...history(300), at(10, 400)];
    const report = await run(config(rule), new MemoryStateStore());
    expect(report.verdicts).toMatchObject([{ rule: "usage_spike", status: "ok", value: 400, threshold: 600 }]);
    expect(hook.state.received).toHaveLength(0);
  });

  it("says no_data without history instead of comparing with nothing", async () => {
    analytics.state.data = [at(10, 5000)];
    const report = await run(config(rule), new MemoryStateStore());
    expect(report.verdicts).toMatchObject([{ rule: "usage_spike", status: "no_data" }]);
    expect(hook.state.received).toHaveLength(0);
  });

  it("compares whole days with the week before, grouped by hour and ending on the hour", async () => {
    const daily = { usageSpike: { factor: 2, windowMinutes: 1440, baselineWindows: 7, minRequests: 50 } };
    const week = Array.from({ length: 7 }, (_, k) => at((k + 1) * 1440 + 120, 1000));
    analytics.state.data = [...week, at(120, 2000)];
    const report = await run(config(daily), new MemoryStateStore());
    expect(report.verdicts).toMatchObject([{ rule: "usage_spike", status: "firing", value: 2000, threshold: 2000 }]);
    expect(analytics.state.queries[0]!.query).toContain("dimensions { datetimeHour }");
    expect(analytics.state.queries[0]!.variables).toMatchObject({ start: "2026-11-21T11:00:00Z", end: "2026-11-29T11:00:00Z" });
  });

  it("reads 25 hours of history in one query grouped by minute", async () => {
    analytics.state.data = [...history(100), at(10, 100)];
    await run(config(rule), new MemoryStateStore());
    expect(analytics.state.queries).toHaveLength(1);
    expect(analytics.state.queries[0]!.query).toContain("dimensions { datetimeMinute }");
    expect(analytics.state.queries[0]!.variables).toMatchObject({ start: "2026-11-28T10:55:00Z", end: "2026-11-29T11:55:00Z" });
  });
});

describe("queries", () => {
  it("ask aiGatewayRequestsAdaptiveGroups for the stack's account and gateway and each rule's window, with the token", async () => {
    const cfg = config({
      costPerDay: { usd: 100 },
      errorRate: { percent: 5, windowMinutes: 15 },
      usageSpike: { factor: 2, windowMinutes: 30, baselineWindows: 12 },
    });
    await run(cfg, new MemoryStateStore());
    const q = analytics.state.queries;
    expect(q).toHaveLength(3);
    for (const { query, variables, authorization } of q) {
      expect(authorization).toBe(`Bearer ${TOKEN}`);
      expect(query).toContain("aiGatewayRequestsAdaptiveGroups(");
      expect(query).toContain("accounts(filter: { accountTag: $accountTag })");
      expect(query).toContain("filter: { gateway: $gateway, datetime_geq: $start, datetime_lt: $end }");
      expect(variables).toMatchObject({ accountTag: ACCOUNT, gateway: GATEWAY, end: "2026-11-29T11:55:00Z" });
    }
    expect(q.map((x) => x.variables.start).sort()).toEqual(["2026-11-28T11:55:00Z", "2026-11-29T05:25:00Z", "2026-11-29T11:40:00Z"]);
  });
});

describe("state", () => {
  const rule = { errorRate: { percent: 5, windowMinutes: 15, minRequests: 20 } };
  const failing = [at(2, 100, { errors: 10 })];
  const healthy = [at(2, 100, { errors: 1 })];

  it("does not repeat while firing, resolves once when it clears, and stays quiet after", async () => {
    const store = new MemoryStateStore();
    const cfg = config(rule);
    analytics.state.data = failing;
    await run(cfg, store, T0);
    await run(cfg, store, T0 + 5 * MIN);
    await run(cfg, store, T0 + 10 * MIN);
    expect(deliveries()).toEqual([{ alert: "error_rate", status: "firing" }]);
    analytics.state.data = healthy.map((t) => ({ ...t, at: new Date(Date.parse(t.at) + 15 * MIN).toISOString() }));
    await run(cfg, store, T0 + 15 * MIN);
    await run(cfg, store, T0 + 20 * MIN);
    expect(deliveries()).toEqual([
      { alert: "error_rate", status: "firing" },
      { alert: "error_rate", status: "resolved" },
    ]);
    expect(JSON.parse(store.data.get(STATE_KEY)!)).toMatchObject({ rules: {} });
  });

  it("retries a transition no destination accepted instead of losing it", async () => {
    const store = new MemoryStateStore();
    analytics.state.data = failing;
    hook.state.status = 503;
    await run(config(rule), store);
    hook.state.status = 200;
    await run(config(rule), store, T0 + 60_000);
    await run(config(rule), store, T0 + 120_000);
    expect(deliveries()).toEqual([
      { alert: "error_rate", status: "firing" },
      { alert: "error_rate", status: "firing" },
    ]);
    expect(hook.state.received.map((r) => r.json.at)).toEqual(["2026-11-29T12:00:30Z", "2026-11-29T12:01:30Z"]);
  });
});

describe("analytics failures", () => {
  const rule = { errorRate: { percent: 5, windowMinutes: 15, minRequests: 20 } };

  for (const mode of ["http500", "graphqlErrors", "notJson", "noAccount"] as const) {
    it(`raises nothing and resolves nothing when the API fails (${mode}), and logs one JSON line`, async () => {
      const store = new MemoryStateStore();
      analytics.state.data = [at(2, 100, { errors: 10 })];
      await run(config(rule), store);
      expect(deliveries()).toEqual([{ alert: "error_rate", status: "firing" }]);
      logs = [];
      analytics.state.mode = mode;
      const report = await run(config(rule), store, T0 + 5 * MIN);
      expect(deliveries()).toHaveLength(1);
      expect(report.verdicts).toEqual([]);
      expect(report.state.rules.error_rate?.firing).toBe(true);
      expect(logs).toHaveLength(1);
      const line = JSON.parse(logs[0]!) as { level: string; failures: { rule: string; reason: string }[] };
      expect(line.level).toBe("warn");
      expect(line.failures).toMatchObject([{ rule: "error_rate", reason: expect.stringMatching(/analytics/) }]);
    });
  }

  it("treats an empty answer as no data: no alert, no resolution, logged as no_data", async () => {
    const store = new MemoryStateStore();
    analytics.state.data = [at(2, 100, { errors: 10 })];
    await run(config(rule), store);
    analytics.state.data = [];
    logs = [];
    const report = await run(config(rule), store, T0 + 20 * MIN);
    expect(deliveries()).toEqual([{ alert: "error_rate", status: "firing" }]);
    expect(report.state.rules.error_rate?.firing).toBe(true);
    expect(JSON.parse(logs[0]!)).toMatchObject({ verdicts: [{ rule: "error_rate", status: "no_data" }], failures: [] });
  });

  it("reports a failure that lasts failureRuns runs once, then a recovery note once", async () => {
    const store = new MemoryStateStore();
    const cfg = config(rule);
    analytics.state.mode = "http500";
    for (let i = 0; i < 2; i++) await run(cfg, store, T0 + i * 5 * MIN);
    expect(hook.state.received).toHaveLength(0);
    for (let i = 2; i < 6; i++) await run(cfg, store, T0 + i * 5 * MIN);
    expect(deliveries()).toEqual([{ alert: ANALYTICS_ALERT, status: "firing" }]);
    expect(String(hook.state.received[0]!.json.summary)).toContain("HTTP 500");
    analytics.state.mode = "data";
    analytics.state.data = [at(2, 100)];
    for (let i = 6; i < 8; i++) await run(cfg, store, T0 + i * 5 * MIN);
    expect(deliveries()).toEqual([
      { alert: ANALYTICS_ALERT, status: "firing" },
      { alert: ANALYTICS_ALERT, status: "resolved" },
    ]);
  });

  it("counts a missing analytics token as a failure without calling the API", async () => {
    const report = await evaluateAlerts(
      {
        config: config(rule, { failureRuns: 1 }),
        stack: "prod",
        accountId: ACCOUNT,
        gatewayId: GATEWAY,
        analyticsToken: "",
        secrets: { webhooks: { ops: SECRET } },
      },
      { now: new Date(T0), fetch: (url, init) => fetch(url, init), store: new MemoryStateStore(), log: (l) => logs.push(l) },
    );
    expect(analytics.state.queries).toHaveLength(0);
    expect(report.failures).toEqual([{ rule: "error_rate", reason: "ALERTS_ANALYTICS_TOKEN is not set" }]);
    expect(deliveries()).toEqual([{ alert: ANALYTICS_ALERT, status: "firing" }]);
  });
});

describe("webhook delivery", () => {
  it("authenticates with cf-webhook-auth and signs the body; no secret reaches the log", async () => {
    const store = new MemoryStateStore();
    analytics.state.data = [at(2, 100, { errors: 10 })];
    await run(config({ errorRate: { percent: 5, windowMinutes: 15 } }), store);
    analytics.state.mode = "http500";
    await run(config({ errorRate: { percent: 5, windowMinutes: 15 } }), store, T0 + 5 * MIN);
    const [r] = hook.state.received;
    expect(r!.path).toBe("/alerts");
    expect(r!.headers["cf-webhook-auth"]).toBe(SECRET);
    expect(r!.headers["content-type"]).toBe("application/json");
    const ts = r!.headers["x-alert-timestamp"] as string;
    expect(ts).toBe(String(Math.floor(T0 / 1000)));
    const expected = createHmac("sha256", SECRET).update(`${ts}.${r!.body}`).digest("hex");
    expect(r!.headers["x-alert-signature"]).toBe(`sha256=${expected}`);
    expect(r!.json).toMatchObject({ source: "ai-gateway-stack", alert: "error_rate", status: "firing", severity: "error" });
    expect(r!.body).not.toContain(TOKEN);
    expect(logs.length).toBe(2);
    for (const l of logs) {
      expect(l).not.toContain(SECRET);
      expect(l).not.toContain(TOKEN);
    }
  });

  it("refuses to post to a webhook whose secret is missing", async () => {
    analytics.state.data = [at(2, 100, { errors: 10 })];
    const report = await evaluateAlerts(
      {
        config: config({ errorRate: { percent: 5, windowMinutes: 15 } }),
        stack: "prod",
        accountId: ACCOUNT,
        gatewayId: GATEWAY,
        analyticsToken: TOKEN,
        secrets: { webhooks: {} },
      },
      { now: new Date(T0), fetch: (url, init) => fetch(url, init), store: new MemoryStateStore(), log: (l) => logs.push(l) },
    );
    expect(hook.state.received).toHaveLength(0);
    expect(report.sent[0]!.deliveries).toEqual([{ destination: "webhook:ops", ok: false, reason: expect.stringContaining("no secret") }]);
    expect(report.state.rules.error_rate).toBeUndefined();
  });
});

describe("PagerDuty", () => {
  it("triggers and resolves one incident per stack and alert with the routing key", async () => {
    const pd = await startReceiver();
    try {
      const cfg = config(
        { errorRate: { percent: 5, windowMinutes: 15 } },
        { destinations: { pagerduty: true }, endpoints: { analytics: analytics.url, pagerduty: `${pd.url}/v2/enqueue` } },
      );
      const store = new MemoryStateStore();
      const go = (now: number) =>
        evaluateAlerts(
          {
            config: cfg,
            stack: "prod",
            accountId: ACCOUNT,
            gatewayId: GATEWAY,
            analyticsToken: TOKEN,
            secrets: { webhooks: {}, pagerdutyRoutingKey: "pd-routing-key-0003" },
          },
          { now: new Date(now), fetch: (url, init) => fetch(url, init), store, log: (l) => logs.push(l) },
        );
      analytics.state.data = [at(2, 100, { errors: 10 })];
      await go(T0);
      analytics.state.data = [at(2, 100, { errors: 0 })];
      await go(T0 + 60_000);
      expect(pd.state.received.map((r) => r.json)).toMatchObject([
        {
          routing_key: "pd-routing-key-0003",
          event_action: "trigger",
          dedup_key: "ai-gateway-stack/prod/error_rate",
          payload: { severity: "error", source: `ai-gateway/${GATEWAY}` },
        },
        { routing_key: "pd-routing-key-0003", event_action: "resolve", dedup_key: "ai-gateway-stack/prod/error_rate" },
      ]);
      for (const l of logs) expect(l).not.toContain("pd-routing-key-0003");
    } finally {
      await pd.close();
    }
  });
});
