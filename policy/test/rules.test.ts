// The policy rules against deliberately broken stacks: each rule passes a well-formed stack and fires, with a message
// that names the resource and the fix, when its one property is broken. Real stacks: scripts/test/plan/plan.test.ts.
import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS, evaluate, type PolicyResource, RULES, type Rule, type RuleContext, stackOfUrn, TYPES } from "../rules";
import { findKeyShapedValue } from "../secrets";

const ACCOUNT = "0123456789abcdef0123456789abcdef";
const NOW = new Date("2026-11-29T12:00:00Z");

const ctx = (stack: string, over: Partial<RuleContext> = {}): RuleContext => ({
  stack,
  settings: DEFAULT_SETTINGS,
  now: NOW,
  ...over,
});

const alertsJson = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    cron: "*/5 * * * *",
    rules: {
      costPerDay: { usd: 100, window: "rolling24h" },
      errorRate: { percent: 5, windowMinutes: 15, minRequests: 20 },
      usageSpike: { factor: 2, windowMinutes: 60, baselineWindows: 24, minRequests: 100 },
    },
    destinations: { webhooks: [{ name: "ops", url: "https://hooks.example.com/alerts" }], pagerduty: false },
    ...over,
  });

type Binding = Record<string, unknown>;

const BUDGETS = {
  prices: { "workers-ai/@cf/meta/llama-3.1-8b-instruct-fast": { inputPerMTok: 0.05, outputPerMTok: 0.4 } },
  clients: { web: { dailyUsd: 10 } },
  default: { monthlyUsd: 20 },
};

function stack(
  opts: {
    protect?: boolean;
    gateway?: Record<string, unknown>;
    worker?: Record<string, unknown>;
    bindings?: (b: Binding[]) => Binding[];
    crons?: string[];
    routing?: unknown;
  } = {},
): PolicyResource[] {
  const bindings: Binding[] = [
    { name: "AI_GATEWAY_ACCOUNT_ID", type: "plain_text", text: ACCOUNT },
    { name: "AI_GATEWAY_ID", type: "plain_text", text: "ai-gateway-dev" },
    { name: "AI_GATEWAY_TOKEN", type: "secret_text", text: "cf-token-that-is-secret-1234567890ABCDEFGHIJ" },
    { name: "ANTHROPIC_API_KEY", type: "secret_text", text: "sk-ant-api03-abcdefghijklmnopqrstuvwxyz" },
    {
      name: "ROUTING",
      type: "json",
      json: JSON.stringify(
        opts.routing ?? {
          models: { "workers-ai": ["@cf/meta/llama-3.1-8b-instruct-fast"] },
          cors: { allowOrigins: ["https://app.example.com"] },
        },
      ),
    },
    { name: "STACK", type: "plain_text", text: "dev" },
    { name: "CLIENTS", type: "json", json: JSON.stringify(["web", "batch"]) },
    { name: "RATE_LIMITER", type: "ratelimit", namespaceId: "2001", simple: { limit: 100, period: 60 } },
    { name: "ALERTS", type: "json", json: alertsJson() },
    { name: "BUDGETS", type: "json", json: JSON.stringify(BUDGETS) },
    { name: "BUDGET_LEDGER", type: "durable_object_namespace", className: "BudgetLedger" },
  ];
  const protect = opts.protect ?? false;
  return [
    {
      type: TYPES.aiGateway,
      name: "gateway",
      protect,
      props: {
        accountId: ACCOUNT,
        aiGatewayId: "ai-gateway-dev",
        authentication: true,
        collectLogs: true,
        rateLimitingLimit: 100,
        rateLimitingInterval: 60,
        ...opts.gateway,
      },
    },
    {
      type: TYPES.workersScript,
      name: "worker",
      protect,
      props: {
        accountId: ACCOUNT,
        scriptName: "ai-gateway-dev",
        compatibilityDate: "2026-11-01",
        observability: { enabled: true, headSamplingRate: 1 },
        bindings: opts.bindings ? opts.bindings(bindings) : bindings,
        ...opts.worker,
      },
    },
    {
      type: "cloudflare:index/workersCronTrigger:WorkersCronTrigger",
      name: "crons",
      protect,
      props: { accountId: ACCOUNT, scriptName: "ai-gateway-dev", schedules: (opts.crons ?? ["*/5 * * * *"]).map((cron) => ({ cron })) },
    },
    { type: "pulumi:pulumi:Stack", name: "ai-gateway-stack-dev", protect: false, props: {} },
  ];
}

function messages(resources: PolicyResource[], c: RuleContext, rule: Rule): string[] {
  const result = evaluate(resources, c, [rule])[0]!;
  return result.violations.map((v) => v.message);
}

const rule = (name: string): Rule => {
  const r = RULES.find((x) => x.name === name);
  if (!r) throw new Error(`no rule ${name}`);
  return r;
};

const replace = (name: string, b: Binding) => (list: Binding[]) => list.map((x) => (x.name === name ? b : x));

describe("policy rules", () => {
  it("passes every rule for a well-formed dev stack and a protected production stack", () => {
    for (const [resources, c] of [
      [stack(), ctx("dev")],
      [stack({ protect: true }), ctx("prod")],
    ] as const) {
      const failed = evaluate(resources, c).filter((r) => !r.passed);
      expect(failed).toEqual([]);
    }
  });

  it("fires gateway-authenticated when a gateway has authentication off or unset", () => {
    expect(messages(stack({ gateway: { authentication: false } }), ctx("dev"), rule("gateway-authenticated"))).toEqual([
      expect.stringMatching(/^AI Gateway "gateway" must set authentication: true \(found false\)/),
    ]);
    expect(messages(stack({ gateway: { authentication: undefined } }), ctx("dev"), rule("gateway-authenticated"))[0]).toContain(
      "found null",
    );
  });

  it("fires gateway-rate-limited when the gateway's limit or interval is 0", () => {
    expect(messages(stack({ gateway: { rateLimitingLimit: 0 } }), ctx("dev"), rule("gateway-rate-limited"))).toEqual([
      expect.stringContaining('AI Gateway "gateway" must set rateLimitingLimit above 0 (found 0; 0 turns rate limiting off)'),
    ]);
    expect(messages(stack({ gateway: { rateLimitingInterval: 0 } }), ctx("dev"), rule("gateway-rate-limited"))).toEqual([
      expect.stringContaining("rateLimitingInterval above 0"),
    ]);
  });

  it("fires worker-rate-limited when the Worker has no ratelimit binding or one with limit 0", () => {
    const none = stack({ bindings: (l) => l.filter((b) => b.type !== "ratelimit") });
    expect(messages(none, ctx("dev"), rule("worker-rate-limited"))).toEqual([
      'Worker "worker" must declare a ratelimit binding (per-client rate limit); none found',
    ]);
    const zero = stack({
      bindings: replace("RATE_LIMITER", { name: "RATE_LIMITER", type: "ratelimit", namespaceId: "1", simple: { limit: 0, period: 60 } }),
    });
    expect(messages(zero, ctx("dev"), rule("worker-rate-limited"))[0]).toContain(
      'ratelimit binding "RATE_LIMITER" must set simple.limit and simple.period above 0',
    );
  });

  it("fires worker-clients-listed when the Worker has no CLIENTS binding, an empty one, or a bad id", () => {
    const none = stack({ bindings: (l) => l.filter((b) => b.name !== "CLIENTS") });
    expect(messages(none, ctx("dev"), rule("worker-clients-listed"))).toEqual([
      'Worker "worker" must declare the CLIENTS json binding (the client ids that may call); none found',
    ]);
    const empty = stack({ bindings: replace("CLIENTS", { name: "CLIENTS", type: "json", json: "[]" }) });
    expect(messages(empty, ctx("dev"), rule("worker-clients-listed"))).toEqual([
      'Worker "worker" binding "CLIENTS" must list at least one client id (an empty list lets nobody call)',
    ]);
    const bad = stack({ bindings: replace("CLIENTS", { name: "CLIENTS", type: "json", json: JSON.stringify(["web", "two words"]) }) });
    expect(messages(bad, ctx("dev"), rule("worker-clients-listed"))[0]).toContain('binding "CLIENTS"[1] must be a client id');
    const secret = stack({ bindings: replace("CLIENTS", { name: "CLIENTS", type: "secret_text", text: "[secret]" }) });
    expect(messages(secret, ctx("dev"), rule("worker-clients-listed"))[0]).toContain(
      "must be a json binding, readable in plans and audits",
    );
  });

  it("fires production-clients-budgeted in a production stack whose Worker has no budgets, no ledger, or a client without a budget", () => {
    const r = rule("production-clients-budgeted");
    const without = stack({ protect: true, bindings: (l) => l.filter((b) => !b.name!.toString().startsWith("BUDGET")) });
    expect(messages(without, ctx("dev"), r)).toEqual([]);
    expect(messages(without, ctx("prod"), r)).toEqual([
      'Worker "worker" must declare the BUDGETS json binding in production stack "prod" (set budgets in the stack config); none found, so no client\'s spend is limited',
    ]);
    const noLedger = stack({ protect: true, bindings: (l) => l.filter((b) => b.name !== "BUDGET_LEDGER") });
    expect(messages(noLedger, ctx("prod"), r)).toEqual([expect.stringContaining("must bind the BUDGET_LEDGER Durable Object")]);
    // No default: batch has no budget of its own. An own entry without limits is metered only, not a budget.
    const noDefault = (clients: Record<string, unknown>) =>
      stack({
        protect: true,
        bindings: replace("BUDGETS", { name: "BUDGETS", type: "json", json: JSON.stringify({ ...BUDGETS, clients, default: null }) }),
      });
    expect(messages(noDefault({ web: { dailyUsd: 10 } }), ctx("prod"), r)).toEqual([
      'Worker "worker" lets "batch" spend without a limit in production stack "prod": give each a daily or monthly budget in budgets.clients, or set budgets.default',
    ]);
    expect(messages(noDefault({ web: {}, batch: { monthlyUsd: 0 } }), ctx("prod"), r)).toEqual([
      expect.stringContaining('lets "web" spend without a limit'),
    ]);
    expect(messages(noDefault({ web: { dailyUsd: 1 }, batch: { monthlyUsd: 5 } }), ctx("prod"), r)).toEqual([]);
    const broken = stack({
      protect: true,
      bindings: replace("BUDGETS", { name: "BUDGETS", type: "json", json: JSON.stringify({ ...BUDGETS, action: "block" }) }),
    });
    expect(messages(broken, ctx("prod"), r)).toEqual([expect.stringContaining('binding "BUDGETS" is unusable: BUDGETS.action must be')]);
  });

  it("fires production-logs-collected only in a production stack", () => {
    const noLogs = stack({ gateway: { collectLogs: false }, protect: true });
    expect(messages(noLogs, ctx("dev"), rule("production-logs-collected"))).toEqual([]);
    expect(messages(noLogs, ctx("prod"), rule("production-logs-collected"))).toEqual([
      expect.stringMatching(/^AI Gateway "gateway" must set collectLogs: true in production stack "prod"/),
    ]);
  });

  it("reads which stacks are production from the pack settings, not from the stack name alone", () => {
    const noLogs = stack({ gateway: { collectLogs: false } });
    const settings = { ...DEFAULT_SETTINGS, productionStacks: ["staging", "prod"] };
    expect(messages(noLogs, ctx("staging", { settings }), rule("production-logs-collected"))).toHaveLength(1);
    expect(messages(noLogs, ctx("staging"), rule("production-logs-collected"))).toEqual([]);
    expect(
      messages(noLogs, ctx("prod", { settings: { ...DEFAULT_SETTINGS, productionStacks: [] } }), rule("production-logs-collected")),
    ).toEqual([]);
  });

  it("fires production-resources-protected for each unprotected Cloudflare resource of a production stack", () => {
    const open = stack({ protect: false });
    const found = messages(open, ctx("prod"), rule("production-resources-protected"));
    expect(found).toEqual([
      'AiGateway "gateway" must be declared with protect: true in production stack "prod"',
      'WorkersScript "worker" must be declared with protect: true in production stack "prod"',
      'WorkersCronTrigger "crons" must be declared with protect: true in production stack "prod"',
    ]);
    expect(messages(open, ctx("dev"), rule("production-resources-protected"))).toEqual([]);
  });

  const token = "Zm9vYmFyYmF6cXV4UXV1eDEyMzQ1Njc4OTBhYmNkZWZn";
  it.each([
    ["an Anthropic key in plain_text", "NOTE", "plain_text", "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv", "an Anthropic API key (sk-ant-…)"],
    ["an OpenAI key in plain_text", "NOTE", "plain_text", "sk-proj-AbCdEfGhIjKlMnOpQrStUv1234", "an OpenAI-style API key (sk-…)"],
    [
      "a long hex token in plain_text",
      "NOTE",
      "plain_text",
      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
      "a long hex token",
    ],
    ["a random base64 token nested in json", "ROUTING", "json", JSON.stringify({ x: { y: [token] } }), "a long random token"],
    [
      "a bearer credential in json",
      "ROUTING",
      "json",
      JSON.stringify({ headers: { authorization: "Bearer abcdefghijklmnop12345" } }),
      "a bearer credential",
    ],
  ])("fires secrets-only-in-secret-bindings for %s", (_label, name, type, value, shape) => {
    const binding = type === "json" ? { name, type, json: value } : { name, type, text: value };
    const resources = stack({ bindings: (l) => [...l.filter((b) => b.name !== name), binding] });
    const found = messages(resources, ctx("dev"), rule("secrets-only-in-secret-bindings"));
    expect(found).toEqual([
      `Worker "worker" ${type} binding "${name}" holds a value that looks like ${shape}; move it to a secret_text binding`,
    ]);
    // The message names the shape, never the value.
    for (const part of [value, token, "AbCdEfGhIjKl", "abcdefghijklmnop"]) expect(found[0]).not.toContain(part);
  });

  it("fires secrets-only-in-secret-bindings for a plain_text binding named like a secret", () => {
    const resources = stack({ bindings: (l) => [...l, { name: "WEBHOOK_SECRET", type: "plain_text", text: "x" }] });
    expect(messages(resources, ctx("dev"), rule("secrets-only-in-secret-bindings"))).toEqual([
      'Worker "worker" binding "WEBHOOK_SECRET" is named like a secret but is plain_text; declare it as secret_text',
    ]);
  });

  it("accepts the account id, model names and origins in plain bindings, and any value in secret_text", () => {
    expect(findKeyShapedValue(ACCOUNT, [ACCOUNT])).toBeUndefined();
    expect(findKeyShapedValue(ACCOUNT)).toBe("a long hex token");
    expect(
      findKeyShapedValue(
        JSON.stringify({ m: ["@cf/meta/llama-3.1-8b-instruct", "claude-sonnet-5-20250929"], o: "https://gateway.ai.cloudflare.com/v1" }),
      ),
    ).toBeUndefined();
    expect(messages(stack(), ctx("dev"), rule("secrets-only-in-secret-bindings"))).toEqual([]);
  });

  it("fires worker-observability-on when observability is off, missing or sampling 0", () => {
    expect(messages(stack({ worker: { observability: { enabled: false } } }), ctx("dev"), rule("worker-observability-on"))[0]).toMatch(
      /^Worker "worker" must set observability.enabled: true/,
    );
    expect(messages(stack({ worker: { observability: undefined } }), ctx("dev"), rule("worker-observability-on"))[0]).toContain(
      "found null",
    );
    expect(
      messages(
        stack({ worker: { observability: { enabled: true, headSamplingRate: 0 } } }),
        ctx("dev"),
        rule("worker-observability-on"),
      )[0],
    ).toContain("headSamplingRate must be above 0");
  });

  it("fires compatibility-date-recent for a date older than the configured age, in the future, or malformed", () => {
    const r = rule("compatibility-date-recent");
    const at = (date: unknown, c = ctx("dev")) => messages(stack({ worker: { compatibilityDate: date } }), c, r);
    expect(at("2025-11-29")).toEqual([]); // exactly 365 days
    expect(at("2025-11-28")).toEqual([
      'Worker "worker" compatibilityDate 2025-11-28 is 366 days old; at most 365 allowed: move it forward and re-test',
    ]);
    expect(at("2026-11-01", ctx("dev", { settings: { ...DEFAULT_SETTINGS, maxCompatibilityDateAgeDays: 14 } }))[0]).toContain(
      "is 28 days old; at most 14 allowed",
    );
    expect(at("2026-11-30")).toEqual(['Worker "worker" compatibilityDate 2026-11-30 is in the future']);
    expect(at("2026-02-30")[0]).toContain("must set compatibilityDate as YYYY-MM-DD");
    expect(at(undefined)[0]).toContain("(found null)");
  });

  it("fires alerts-cost-error-usage for each missing alert kind", () => {
    const r = rule("alerts-cost-error-usage");
    const onlyCost = alertsJson({ rules: { costPerDay: { usd: 100 } } });
    const found = messages(stack({ bindings: replace("ALERTS", { name: "ALERTS", type: "json", json: onlyCost }) }), ctx("dev"), r);
    expect(found).toEqual([
      "the stack declares no error-rate alert; every stack needs cost, error-rate, usage-spike alerts",
      "the stack declares no usage-spike alert; every stack needs cost, error-rate, usage-spike alerts",
    ]);
    expect(messages(stack({ bindings: (l) => l.filter((b) => b.name !== "ALERTS") }), ctx("dev"), r)).toHaveLength(3);
  });

  it("fires alerts-cost-error-usage when the ALERTS binding is invalid (here: no destination) or no cron runs them", () => {
    const r = rule("alerts-cost-error-usage");
    const noDestination = JSON.parse(alertsJson()) as Record<string, unknown>;
    noDestination.destinations = { webhooks: [], pagerduty: false };
    const broken = stack({ bindings: replace("ALERTS", { name: "ALERTS", type: "json", json: JSON.stringify(noDestination) }) });
    expect(messages(broken, ctx("dev"), r)[0]).toMatch(
      /^Worker "worker" ALERTS binding is invalid: destinations must declare at least one webhook/,
    );
    expect(messages(stack({ crons: ["0 * * * *"] }), ctx("dev"), r)).toEqual([
      'Worker "worker" evaluates alerts on cron "*/5 * * * *" but no cron trigger of the script has that schedule; the alerts would never run',
    ]);
  });

  // A ROUTING value the Worker accepts (the rules read no other); the fallback defaults to the first listed model.
  const routingTo = (models: Record<string, string[]>, fallback?: { provider: string; model: string }[]) => {
    const [provider, [model] = []] = Object.entries(models)[0] ?? [];
    return stack({
      routing: {
        models,
        chat: { fallback: fallback ?? [{ provider, model }], experiments: [] },
        cacheTtl: { messages: 0, chatCompletions: 0, chat: 0 },
        limits: { maxRequestBytes: 1024 },
        timeouts: { attemptMs: 1000, totalMs: 1000 },
        cors: { allowOrigins: [] },
      },
    });
  };

  it("fires models-not-retired for each model past its end of life, naming the date, and passes live ones", () => {
    const r = rule("models-not-retired");
    const old = routingTo({ openai: ["gpt-5.4-mini", "gpt-5-mini"], "workers-ai": ["@cf/meta/llama-3.1-8b-instruct"] });
    expect(messages(old, ctx("dev", { now: new Date("2026-12-11T00:00:00Z") }), r)).toEqual([
      'Worker "worker" routes to openai model "gpt-5-mini", retired since 2026-12-11: calls to it fail; move routing to a live model',
      'Worker "worker" routes to workers-ai model "@cf/meta/llama-3.1-8b-instruct", retired since 2026-05-30: calls to it fail; move routing to a live model',
    ]);
    // The day before gpt-5-mini's shutdown it is still allowed (and the advisory rule warns instead).
    expect(messages(old, ctx("dev", { now: new Date("2026-12-10T00:00:00Z") }), r)).toHaveLength(1);
    expect(messages(routingTo({ openai: ["gpt-5.4-mini"] }), ctx("dev"), r)).toEqual([]);
    expect(rule("models-not-retired").enforcement ?? "mandatory").toBe("mandatory");
  });

  it("warns with models-not-retiring-soon within modelRetirementWarningDays of an end of life, and for an unknown model", () => {
    const r = rule("models-not-retiring-soon");
    expect(r.enforcement).toBe("advisory");
    const soon = routingTo({ openai: ["gpt-4.1-mini"] }, [{ provider: "openai", model: "gpt-4.1-mini" }]);
    // gpt-4.1-mini shuts down on 2027-01-14 (the installed openai SDK): 31 days ahead is quiet, 30 warns.
    expect(messages(soon, ctx("dev", { now: new Date("2026-12-14T00:00:00Z") }), r)).toEqual([]);
    expect(messages(soon, ctx("dev", { now: new Date("2026-12-15T00:00:00Z") }), r)).toEqual([
      'Worker "worker" routes to openai model "gpt-4.1-mini", retiring on 2027-01-14: move routing to a live model before then',
    ]);
    const settings = { ...DEFAULT_SETTINGS, modelRetirementWarningDays: 60 };
    expect(messages(soon, ctx("dev", { now: new Date("2026-11-20T00:00:00Z"), settings }), r)).toHaveLength(1);
    expect(messages(routingTo({ anthropic: ["claude-typo-9"] }), ctx("dev"), r)[0]).toContain(
      '"claude-typo-9", whose lifecycle is unknown',
    );
    // An advisory warning is reported as not passed, but as advisory: plans show it as a warning, not a failure.
    const [result] = evaluate(soon, ctx("dev", { now: new Date("2026-12-20T00:00:00Z") }), [r]);
    expect(result).toMatchObject({ passed: false, enforcement: "advisory" });
  });

  it("reads the stack name from a resource URN", () => {
    expect(stackOfUrn("urn:pulumi:prod::ai-gateway-stack::cloudflare:index/aiGateway:AiGateway::gateway")).toBe("prod");
    expect(() => stackOfUrn("gateway")).toThrow(/cannot read the stack name/);
  });
});
