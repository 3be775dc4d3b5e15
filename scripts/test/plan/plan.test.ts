// Offline plans: the committed plans/<stack>.{md,json} equal a fresh run (so CI fails on a stale plan), two runs
// give the same bytes, no secret stand-in ever reaches a plan, the audit summary says what each stack's yaml says
// (and changes when the yaml does), and both stacks pass every policy rule. Each stack runs in its own child process.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findProjectRoot, loadStackConfig } from "../../../infra/testing/harness";
import { generatePlans, listStacks, type RenderedPlan, stalePlans } from "../../plan/generate";

const ROOT = findProjectRoot(__dirname);
const STACKS = listStacks(ROOT);
const NOW = new Date();

let fresh: RenderedPlan[];
let again: RenderedPlan;
let changed: RenderedPlan;
let temp: string;

type Yaml = Record<string, any>;
const stackYaml = (stack: string): Yaml => {
  const doc = yaml.load(readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Yaml };
  return Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k.replace(/^ai-gateway-stack:/, ""), v]));
};
const planOf = (stack: string) => fresh.find((p) => p.stack === stack)!;

// The override the "plan follows the yaml" test applies to dev: the dev yaml with a different gateway limit and split.
const devOverride = () => {
  const y = stackYaml("dev");
  return {
    gateway: { ...y.gateway, rateLimit: { ...y.gateway.rateLimit, limit: y.gateway.rateLimit.limit + 1 } },
    routing: {
      ...y.routing,
      chat: { ...y.routing.chat, experiments: y.routing.chat.experiments.map((e: Yaml, i: number) => ({ ...e, weight: i === 0 ? 3 : 1 })) },
    },
  };
};

beforeAll(async () => {
  // Every child process at once: the machine's cores, not the test's order, bound the time.
  const [all, [dev], [overridden]] = await Promise.all([
    generatePlans(ROOT, STACKS, { now: NOW }),
    generatePlans(ROOT, ["dev"], { now: NOW }),
    generatePlans(ROOT, ["dev"], { now: NOW, overrides: { dev: devOverride() } }),
  ]);
  fresh = all;
  again = dev!;
  changed = overridden!;
  temp = mkdtempSync(path.join(tmpdir(), "plans-"));
});

afterAll(() => {
  if (temp) rmSync(temp, { recursive: true, force: true });
});

describe("stack plans", () => {
  it("covers every Pulumi.<stack>.yaml", () => {
    expect(STACKS).toEqual(expect.arrayContaining(["dev", "prod"]));
    expect(fresh.map((p) => p.stack)).toEqual(STACKS);
  });

  it("committed plans equal a fresh run (run `npm run plan` when this fails)", () => {
    expect(stalePlans(ROOT, fresh, STACKS)).toEqual([]);
  });

  it("reports a committed plan that differs from a fresh one as stale, and a plan without a stack", () => {
    cpSync(path.join(ROOT, "plans"), path.join(temp, "plans"), { recursive: true });
    const md = path.join(temp, "plans", "dev.md");
    writeFileSync(md, readFileSync(md, "utf8").replace("protect: false", "protect: true"));
    writeFileSync(path.join(temp, "plans", "staging.json"), "{}");
    expect(stalePlans(temp, fresh, STACKS)).toEqual([
      "plans/dev.md is stale: run npm run plan",
      "plans/staging.json has no Pulumi.staging.yaml: delete it",
    ]);
  });

  it("gives the same bytes on a second run", () => {
    expect(again.files).toEqual(planOf("dev").files);
  });

  it("never holds a secret stand-in: every secure: value shows as [secret]", () => {
    for (const stack of STACKS) {
      const { secretKeys, values } = loadStackConfig(ROOT, stack);
      expect(secretKeys.length).toBeGreaterThan(0);
      const files = [
        ...Object.values(planOf(stack).files),
        ...["md", "json"].map((ext) => readFileSync(path.join(ROOT, "plans", `${stack}.${ext}`), "utf8")),
      ];
      for (const text of files) {
        for (const key of secretKeys) expect(text).not.toContain(String(values[key]));
        expect(text).not.toMatch(/placeholder-secret:|minted-token-/);
        expect(text).not.toContain(ROOT);
      }
      const secretBindings = planOf(stack).plan.bindings.filter((b) => b.kind === "secret_text");
      expect(secretBindings.length).toBeGreaterThan(0);
      expect(secretBindings.every((b) => b.value === "[secret]")).toBe(true);
      expect(planOf(stack).plan.audit.secrets).toEqual(expect.arrayContaining(secretBindings.map((b) => `Worker binding ${b.name}`)));
    }
  });

  it.each(["dev", "prod"])("audit summary of %s says what its yaml says", (stack) => {
    const y = stackYaml(stack);
    const a = planOf(stack).plan.audit;
    expect(a.rateLimits.gateway).toEqual({
      limit: y.gateway.rateLimit.limit,
      intervalSeconds: y.gateway.rateLimit.interval,
      technique: y.gateway.rateLimit.technique,
    });
    expect(a.rateLimits.perClient).toEqual({ limit: y.worker.rateLimit.limit, periodSeconds: y.worker.rateLimit.period });
    expect(a.rateLimits.maxRequestBytes).toBe(y.routing.limits.maxRequestBytes);
    expect(a.cache.gatewayDefaultTtlSeconds).toBe(y.gateway.cacheTtl);
    expect(a.cache.perSurfaceTtlSeconds).toEqual(y.routing.cacheTtl);
    expect(a.logging).toMatchObject({
      gatewayCollectsLogs: y.gateway.logs.collect,
      gatewayMaxStoredLogs: y.gateway.logs.maxStored,
      gatewayWhenFull: y.gateway.logs.strategy,
    });
    expect(a.logging.workerObservability).toEqual(y.worker.observability);
    expect(a.routing.fallback).toEqual(y.routing.chat.fallback.map((t: Yaml) => `${t.provider}/${t.model}`));
    expect(a.routing.experiments.map((e) => [e.name, e.weight])).toEqual(y.routing.chat.experiments.map((e: Yaml) => [e.name, e.weight]));
    expect(a.callers.corsOrigins).toEqual(y.routing.cors.allowOrigins);
    expect(a.callers.clientIds).toEqual(y.clients);
    expect(planOf(stack).files[`${stack}.md`]).toContain(
      `Client ids allowed (\`clients\` config, the CLIENTS binding): ${y.clients.map((c: string) => `\`${c}\``).join(", ")}.`,
    );
    expect(a.rateLimits.spendLimits.map((s) => s.limitUsd)).toEqual((y.gateway.spendLimits?.rules ?? []).map((r: Yaml) => r.limit));
    if (y.alerts) {
      const r = y.alerts.rules;
      const byKind = Object.fromEntries(a.alerts.computed.map((x) => [x.kind, x]));
      expect(byKind.cost?.threshold).toContain(`$${r.costPerDay.usd}`);
      expect(byKind["error-rate"]?.threshold).toContain(`${r.errorRate.percent}%`);
      expect(byKind["error-rate"]?.window).toBe(`${r.errorRate.windowMinutes} minutes`);
      expect(byKind["usage-spike"]?.threshold).toContain(`${r.usageSpike.factor}x`);
      for (const hook of y.alerts.destinations.webhooks) {
        expect(byKind.cost?.destinations).toContain(`webhook ${hook.name} (${new URL(hook.url).host})`);
      }
      expect(a.alerts.schedules.map((s) => s.cron)).toEqual([y.alerts.cron]);
    }
  });

  it.each(["dev", "prod"])("audit of %s shows who may spend what, on which models, at which prices, and the ledger", (stack) => {
    const y = stackYaml(stack);
    const spend = planOf(stack).plan.audit.spend!;
    expect(spend, "the yaml declares budgets").not.toBeNull();
    expect(spend.action).toBe(y.budgets.action ?? "refuse");
    for (const c of spend.clients) {
      const own = y.budgets.clients?.[c.client];
      const want = own ?? y.budgets.default;
      expect([c.dailyUsd, c.monthlyUsd, c.from], c.client).toEqual([
        want?.dailyUsd ?? null,
        want?.monthlyUsd ?? null,
        own ? "own" : "default",
      ]);
    }
    expect(spend.clients.map((c) => c.client)).toEqual(y.clients);
    const routed = Object.entries(y.routing.models as Record<string, string[]>).flatMap(([p, ms]) => ms.map((m) => `${p}/${m}`));
    expect(spend.prices.map((p) => p.target).sort()).toEqual([...new Set(routed)].sort());
    for (const p of spend.prices) expect(p.price?.outputPerMTok, p.target).toBe(y.budgets.prices[p.target].outputPerMTok);
    expect(spend.ledger).toEqual({
      binding: "BUDGET_LEDGER",
      className: "BudgetLedger",
      storage: "SQLite",
      migrationTag: "budget-ledger-v1",
    });
    const md = planOf(stack).files[`${stack}.md`]!.split("### Spend\n")[1]!.split("\n### ")[0]!;
    expect(md).toContain(
      "Durable Object `BudgetLedger` (one per client, SQLite storage, binding `BUDGET_LEDGER`), created by the script's migration `budget-ledger-v1`",
    );
    for (const c of y.clients as string[]) expect(md).toContain(`- Client \`${c}\`: `);
    // The migration travels with the script upload: no permission beyond Workers Scripts Edit.
    const deploy = planOf(stack).plan.audit.permissions.deployToken.map((p) => p.permission);
    expect(deploy).toContain("Account › Workers Scripts: Edit");
    expect(deploy.filter((p) => /Durable Objects/.test(p))).toEqual([]);
  });

  it.each(["dev", "prod"])("%s lists, under a heading reviewers see, every placeholder a real preview would refuse", (stack) => {
    const { plan, files } = planOf(stack);
    expect(plan.placeholders.length).toBeGreaterThan(0);
    const section = files[`${stack}.md`]!.split("## Placeholders to replace before deploying\n")[1]!.split("\n## ")[0]!;
    for (const p of plan.placeholders) expect(section).toContain(`| \`${p.key}\` | \`${p.value}\` |`);
  });

  it("lists the token permissions each stack's declared resources need: minting needs API Tokens Edit, routes need zone permissions", () => {
    const dev = planOf("dev").plan.audit.permissions;
    const prod = planOf("prod").plan.audit.permissions;
    const names = (p: typeof dev) => p.deployToken.map((x) => x.permission.replace(/ \(zones of .*\)$/, ""));
    expect(names(dev)).toContain("Account › Account API Tokens: Edit");
    expect(names(dev).some((n) => n.startsWith("Zone"))).toBe(false);
    expect(names(prod)).not.toContain("Account › Account API Tokens: Edit");
    expect(names(prod)).toEqual(expect.arrayContaining(["Zone › DNS: Edit", "Zone › Workers Routes: Edit", "Zone › Zone: Read"]));
    expect(dev.gatewayToken).toEqual({ source: "mint", permissions: ["Account › AI Gateway: Run", "Account › Workers AI: Read"] });
    expect(prod.gatewayToken.source).toBe("config");
    expect(planOf("prod").files["prod.md"]).toContain(
      "The gateway token is supplied (secret `gatewayToken`); create it with: Account › AI Gateway: Run, Account › Workers AI: Read.",
    );
  });

  it("changes with the config: another gateway limit and A/B split show in the summary and the Markdown", () => {
    const y = devOverride();
    const a = changed.plan.audit;
    expect(a.rateLimits.gateway?.limit).toBe(y.gateway.rateLimit.limit);
    expect(a.routing.experiments.map((e) => e.percent)).toEqual([75, 25]);
    const md = changed.files["dev.md"]!;
    expect(md).toContain(`- Whole gateway: ${y.gateway.rateLimit.limit} requests per 1 min`);
    expect(md).toMatch(/A\/B variant `control`: 75% of clients \(weight 3\)/);
    expect(md).not.toEqual(planOf("dev").files["dev.md"]);
  });

  it.each(["dev", "prod"])("%s passes every policy rule, and its plan says so", (stack) => {
    const { plan, files } = planOf(stack);
    const failed = plan.policy.filter((r) => !r.passed);
    expect(failed.flatMap((r) => r.violations.map((v) => `${r.rule}: ${v.message}`))).toEqual([]);
    expect(files[`${stack}.md`]).toContain(`All ${plan.policy.length} rules of the policy pack pass.`);
  });

  it("shows the bundle hash the stack exports, every binding by name and kind, and each resource's protect option", () => {
    for (const stack of STACKS) {
      const { plan, files } = planOf(stack);
      expect(plan.bundle?.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(plan.outputs.bundleSha256).toBe(plan.bundle?.sha256);
      const md = files[`${stack}.md`]!;
      for (const b of plan.bindings) expect(md).toContain(`| ${b.name} | ${b.kind} |`);
      const json = JSON.parse(files[`${stack}.json`]!) as {
        resources: { type: string; name: string; custom: boolean; protect: boolean }[];
      };
      expect(json.resources.length).toBe(plan.resources.length);
      for (const r of json.resources)
        expect(md).toContain(`### \`${r.type}\` ${r.name}\n\n${r.custom ? "custom resource" : "component"} · protect: ${r.protect}`);
    }
    expect(
      planOf("prod")
        .plan.resources.filter((r) => r.custom)
        .every((r) => r.protect),
    ).toBe(true);
  });
});
