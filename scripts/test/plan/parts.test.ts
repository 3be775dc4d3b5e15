// The plan's parts on hand-built input: redaction of declared inputs (secret wrappers, recorded secret paths,
// stand-in values, the bundle) and the audit summary's alert section from resources shaped like infra's Alerts
// component (ALERTS json binding, webhook destinations, native policies, cron trigger). Real stacks: plan.test.ts.
import { describe, expect, it } from "vitest";
import { SECRET_SIG } from "../../../infra/testing/harness";
import { auditOf } from "../../plan/audit";
import { buildPlan, renderMarkdown } from "../../plan/render";
import { parsePath, redactInputs, type Snapshot } from "../../plan/snapshot";

const wrap = (value: unknown) => ({ [SECRET_SIG]: "1b47061264138c4ac30d75fd1eb44270", value });

describe("redaction", () => {
  it("parses secret paths", () => {
    expect(parsePath("bindings[3].text")).toEqual(["bindings", 3, "text"]);
    expect(parsePath("secret")).toEqual(["secret"]);
  });

  it("hides exactly the recorded secret paths inside a secret-wrapped property and keeps the rest readable", () => {
    const inputs = {
      bindings: wrap([
        { name: "STACK", type: "plain_text", text: "dev" },
        { name: "ANTHROPIC_API_KEY", type: "secret_text", text: "sk-ant-real-looking-value" },
      ]),
      scriptName: "s",
    };
    expect(redactInputs(inputs, ["bindings[1].text"])).toEqual({
      bindings: [
        { name: "STACK", type: "plain_text", text: "dev" },
        { name: "ANTHROPIC_API_KEY", type: "secret_text", text: "[secret]" },
      ],
      scriptName: "s",
    });
    // The harness's objects are not modified.
    expect((inputs.bindings.value as { text: string }[])[1]!.text).toBe("sk-ant-real-looking-value");
  });

  it("hides a whole property that is secret with no recorded inner path, a top-level secret path, and nested wrappers", () => {
    expect(redactInputs({ a: wrap({ x: 1 }), secret: "hunter2", b: { c: wrap("v") } }, ["secret"])).toEqual({
      a: "[secret]",
      secret: "[secret]",
      b: { c: "[secret]" },
    });
  });

  it("hides secret stand-ins that reached a plain value, and summarises the bundle by size and hash", () => {
    const out = redactInputs({ text: "x placeholder-secret:ai:abc", token: "minted-token-1", content: "a".repeat(5000) }, []);
    expect(out.text).toBe("[secret]");
    expect(out.token).toBe("[secret]");
    expect(out.content).toMatch(/^\[5000 bytes, sha256 [0-9a-f]{64}\]$/);
  });
});

const ACCOUNT = "0123456789abcdef0123456789abcdef";
const alerts = {
  cron: "*/10 * * * *",
  lagMinutes: 2,
  failureRuns: 2,
  rules: {
    costPerDay: { usd: 40, window: "calendarDayUtc" },
    errorRate: { percent: 7.5, windowMinutes: 10, minRequests: 30 },
    usageSpike: { factor: 3, windowMinutes: 120, baselineWindows: 12, minRequests: 200 },
  },
  destinations: { webhooks: [{ name: "ops", url: "https://hooks.example.com/path/with-token" }], pagerduty: true },
};

/** A complete ROUTING value with the given OpenAI and Workers AI models (the first of each in the fallback chain). */
const routingWith = (openai: string[], workersAi: string[]) => ({
  models: { anthropic: ["claude-haiku-4-5"], openai, "workers-ai": workersAi },
  chat: {
    fallback: [
      { provider: "anthropic", model: "claude-haiku-4-5" },
      { provider: "openai", model: openai[0] },
      { provider: "workers-ai", model: workersAi[0] },
    ],
    experiments: [],
    maxTokens: 100,
  },
  cacheTtl: { messages: 0, chatCompletions: 0, chat: 0 },
  limits: { maxRequestBytes: 1024 },
  timeouts: { attemptMs: 1000, totalMs: 2000 },
  cors: { allowOrigins: [] },
});

function snapshot(crons: string[], routing?: unknown, spend?: { budgets: unknown; ledger: boolean }): Snapshot {
  return {
    stack: "prod",
    project: "ai-gateway-stack",
    bundles: { worker: { bytes: 10, sha256: "f".repeat(64) } },
    placeholders: [],
    outputs: { bundleSha256: "f".repeat(64), urls: ["https://ai.example.com"] },
    resources: [
      {
        type: "cloudflare:index/workersScript:WorkersScript",
        name: "worker",
        custom: true,
        protect: true,
        inputs: {
          accountId: ACCOUNT,
          scriptName: "ai-gateway-prod",
          compatibilityDate: "2026-11-01",
          observability: { enabled: true, headSamplingRate: 1 },
          bindings: [
            { name: "ALERTS", type: "json", json: JSON.stringify(alerts) },
            { name: "ALERTS_WEBHOOK_SECRETS", type: "secret_text", text: "[secret]" },
            { name: "CLIENTS", type: "json", json: JSON.stringify(["acme", "beta"]) },
            { name: "CLIENT_KEYS", type: "secret_text", text: "[secret]" },
            { name: "RATE_LIMITER", type: "ratelimit", namespaceId: "1", simple: { limit: 10, period: 60 } },
            ...(routing ? [{ name: "ROUTING", type: "json", json: JSON.stringify(routing) }] : []),
            ...(spend ? [{ name: "BUDGETS", type: "json", json: JSON.stringify(spend.budgets) }] : []),
            ...(spend?.ledger ? [{ name: "BUDGET_LEDGER", type: "durable_object_namespace", className: "BudgetLedger" }] : []),
          ],
          ...(spend?.ledger ? { migrations: { newTag: "budget-ledger-v1", newSqliteClasses: ["BudgetLedger"] } } : {}),
        },
      },
      {
        type: "cloudflare:index/workersCronTrigger:WorkersCronTrigger",
        name: "schedules",
        custom: true,
        protect: true,
        inputs: { scriptName: "ai-gateway-prod", schedules: crons.map((cron) => ({ cron })) },
      },
      {
        type: "cloudflare:index/notificationPolicyWebhooks:NotificationPolicyWebhooks",
        name: "alerts-webhook-ops",
        custom: true,
        protect: true,
        inputs: { accountId: ACCOUNT, name: "ai-gateway-prod-ops", url: "https://hooks.example.com/path/with-token", secret: "[secret]" },
      },
      {
        type: "cloudflare:index/notificationPolicy:NotificationPolicy",
        name: "alerts-incidents",
        custom: true,
        protect: true,
        inputs: {
          accountId: ACCOUNT,
          alertType: "incident_alert",
          enabled: true,
          mechanisms: { webhooks: [{ id: "alerts-webhook-ops-id" }], emails: [{ id: "oncall@example.com" }] },
        },
      },
    ],
  };
}

describe("audit summary", () => {
  it("lists each computed alert with threshold, window and destinations (webhook host only), and the native policies", () => {
    const a = auditOf(snapshot(["*/10 * * * *"]), { now: new Date("2026-11-29T00:00:00Z") });
    expect(a.alerts.computed.map((x) => [x.kind, x.threshold, x.window])).toEqual([
      ["cost", "estimated spend reaches $40", "the calendar day so far (UTC)"],
      ["error-rate", "7.5% of requests errored (at least 30 requests)", "10 minutes"],
      ["usage-spike", "requests reach 3x the median of the previous 12 windows (at least 200 requests)", "120 minutes"],
    ]);
    expect(a.alerts.computed[0]!.destinations).toEqual(["webhook ops (hooks.example.com)", "PagerDuty"]);
    expect(a.alerts.native).toEqual([
      {
        resource: "alerts-incidents",
        alertType: "incident_alert",
        enabled: true,
        destinations: ["webhook ai-gateway-prod-ops (hooks.example.com)", "email oncall@example.com"],
      },
    ]);
    expect(a.alerts.problems).toEqual([]);
    expect(a.secrets).toEqual([
      "Worker binding ALERTS_WEBHOOK_SECRETS",
      "Worker binding CLIENT_KEYS",
      "NotificationPolicyWebhooks alerts-webhook-ops: secret",
    ]);
    expect(a.callers.clientIds).toEqual(["acme", "beta"]);
  });

  it("renders alerts, client ids and a failing rule in the Markdown, and never a webhook URL's path", () => {
    const plan = buildPlan(snapshot(["0 * * * *"]), new Date("2026-11-29T00:00:00Z"));
    const md = renderMarkdown(plan);
    expect(md).toContain(
      "- cost (`cost_per_day`): fires when estimated spend reaches $40, over the calendar day so far (UTC); to webhook ops (hooks.example.com), PagerDuty",
    );
    expect(md).toContain("Client ids allowed (`clients` config, the CLIENTS binding): `acme`, `beta`. Each presents a key");
    expect(md).toContain("| `alerts-cost-error-usage` | **FAIL** |");
    expect(md).toContain(
      '- Worker "worker" evaluates alerts on cron "*/10 * * * *" but no cron trigger of the script has that schedule; the alerts would never run',
    );
    expect(md.split("## Resources")[0]).not.toContain("with-token");
  });

  it("shows each routed model's lifecycle without a daily countdown, and fails or warns in the policy table", () => {
    const routing = routingWith(["gpt-5-mini", "gpt-5.4-mini"], ["@cf/meta/llama-3.1-8b-instruct"]);
    const plan = buildPlan(snapshot(["*/10 * * * *"], routing), new Date("2026-12-01T00:00:00Z"));
    expect(plan.audit.routing.lifecycle).toEqual([
      { target: "anthropic/claude-haiku-4-5", state: "live", status: "live", source: expect.stringMatching(/^@anthropic-ai\/sdk /) },
      {
        target: "openai/gpt-5-mini",
        state: "retiring",
        status: "retiring on 2026-12-11",
        source: expect.stringMatching(/^openai .* deprecation notes$/),
      },
      { target: "openai/gpt-5.4-mini", state: "live", status: "live", source: expect.stringMatching(/^openai /) },
      {
        target: "workers-ai/@cf/meta/llama-3.1-8b-instruct",
        state: "retired",
        status: "retired since 2026-05-30",
        source: expect.stringContaining("developers.cloudflare.com"),
      },
    ]);
    const md = renderMarkdown(plan);
    expect(md).toContain("  - `openai/gpt-5-mini`: retiring on 2026-12-11\n");
    expect(md).toContain("  - `workers-ai/@cf/meta/llama-3.1-8b-instruct`: retired since 2026-05-30 **(calls fail)**");
    expect(md).toContain("| `models-not-retired` | **FAIL** |");
    expect(md).toContain("| `models-not-retiring-soon` | **warn** | (advisory)");
    expect(md).toMatch(/\*\*\d+ of \d+ rules fail\.\*\* \*\*1 advisory rule warns\.\*\*/);
    // The next day the same stack gives the same bytes: nothing counts down.
    expect(renderMarkdown(buildPlan(snapshot(["*/10 * * * *"], routing), new Date("2026-12-02T00:00:00Z")))).toBe(md);
  });

  it("shows spend control: each client's limits or the default, the action, a price per routed model (a missing one flagged), and the ledger", () => {
    const routing = routingWith(["gpt-5.4-mini"], ["@cf/meta/llama-3.1-8b-instruct-fast"]);
    const budgets = {
      prices: {
        "anthropic/claude-haiku-4-5": { inputPerMTok: 1, outputPerMTok: 5, cacheReadPerMTok: 0.1, cacheWritePerMTok: 1.25 },
        "openai/gpt-5.4-mini": { inputPerMTok: 0.75, outputPerMTok: 4.5 },
        "openai/gpt-4o": { inputPerMTok: 2.5, outputPerMTok: 10 },
      },
      clients: { acme: { dailyUsd: 5 } },
      default: { monthlyUsd: 20 },
      action: "report",
      lease: { share: 0.02 },
    };
    const now = new Date("2026-12-01T00:00:00Z");
    const a = auditOf(snapshot(["*/10 * * * *"], routing, { budgets, ledger: true }), { now });
    expect(a.spend).toMatchObject({
      action: "report",
      clients: [
        { client: "acme", dailyUsd: 5, monthlyUsd: null, from: "own" },
        { client: "beta", dailyUsd: null, monthlyUsd: 20, from: "default" },
      ],
      unusedPrices: ["openai/gpt-4o"],
      overSpendPercent: [
        { isolates: 5, percent: 9.6 },
        { isolates: 10, percent: 18.3 },
      ],
      ledger: { binding: "BUDGET_LEDGER", className: "BudgetLedger", storage: "SQLite", migrationTag: "budget-ledger-v1" },
    });
    expect(a.spend!.prices.map((p) => [p.target, p.price?.cacheReadPerMTok ?? null])).toEqual([
      ["anthropic/claude-haiku-4-5", 0.1],
      ["openai/gpt-5.4-mini", 0.75],
      ["workers-ai/@cf/meta/llama-3.1-8b-instruct-fast", null],
    ]);
    const md = renderMarkdown(buildPlan(snapshot(["*/10 * * * *"], routing, { budgets, ledger: false }), now))
      .split("### Spend\n")[1]!
      .split("\n### ")[0]!;
    expect(md).toContain("- At the limit a request is let through and only reported");
    expect(md).toContain("- Client `acme`: $5 per UTC day (own budget)");
    expect(md).toContain("- Client `beta`: $20 per calendar month (the default budget)");
    expect(md).toContain("  - `workers-ai/@cf/meta/llama-3.1-8b-instruct-fast`: **no price** (cannot be metered)");
    expect(md).toContain("- Ledger: **none bound**");
    expect(auditOf(snapshot([], routing), { now }).spend).toBeNull();
  });
});
