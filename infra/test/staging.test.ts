/**
 * A new stack is one yaml file and no code: a staging stack written here (beside a copy of Pulumi.yaml, with the real
 * infra/ and worker/ linked in) runs the unchanged program. It also configures what dev and prod leave out: an
 * optional binding set from yaml, a 10-second client rate limit, cron schedules, a zone route and a minted token
 * alongside a custom domain — and no alerts and no budgets at all, since `alerts`, its secrets and `budgets` are optional.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { afterAll, beforeAll, expect, test } from "vitest";
import { BINDING_NAMES, BINDINGS } from "../../worker/src/contract/bindings";
import { findProjectRoot, type ProgramResult, reveal, runProgram } from "../testing/harness";
import { stackYaml } from "../testing/stack-suite";

const repo = findProjectRoot();
const dev = stackYaml("dev");
/** dev's config without `alerts` and the alert secrets (alertsWebhookSecret, ...), and without `budgets`. */
const devWithoutAlerts = Object.fromEntries(
  Object.entries(dev.all).filter(([k]) => !k.startsWith("ai-gateway-stack:alerts") && k !== "ai-gateway-stack:budgets"),
);
const staging = {
  config: {
    ...devWithoutAlerts,
    "ai-gateway-stack:gateway": { ...dev.value("gateway"), cacheTtl: 900 },
    "ai-gateway-stack:worker": {
      ...dev.value("worker"),
      rateLimit: { ...dev.value("worker").rateLimit, period: 10 },
      vars: { AI_GATEWAY_BASE_URL: "https://gateway.staging.example.com/v1" },
    },
    "ai-gateway-stack:routes": {
      workersDev: false,
      customDomains: [{ hostname: "ai.staging.example.com", zone: "example.com" }],
      zoneRoutes: [{ pattern: "api.staging.example.com/v1/*", zone: "example.com" }],
    },
    "ai-gateway-stack:crons": ["*/10 * * * *", "0 3 * * *"],
    "ai-gateway-stack:clients": ["web", "qa-bot"],
  },
};

let dir: string;
let result: ProgramResult;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "staging-"));
  copyFileSync(path.join(repo, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  writeFileSync(path.join(dir, "Pulumi.staging.yaml"), yaml.dump(staging));
  symlinkSync(path.join(repo, "infra"), path.join(dir, "infra"));
  symlinkSync(path.join(repo, "worker"), path.join(dir, "worker"));
  result = await runProgram("staging", { root: dir });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ofType = (t: string) => result.resources.filter((r) => r.type === `cloudflare:index/${t}`);

test("names the staging gateway and Worker after the stack, apart from dev and prod", () => {
  expect(result.outputs.gatewayId).toBe("ai-gateway-staging");
  expect(result.outputs.workerName).toBe("ai-gateway-staging");
  expect(ofType("aiGateway:AiGateway")[0]!.inputs.cacheTtl).toBe(900);
});

test("declares an optional binding when the yaml sets it, and only the bindings the Worker reads", () => {
  const bindings = reveal(ofType("workersScript:WorkersScript")[0]!.inputs.bindings) as { name: string; text?: string }[];
  expect(bindings.find((b) => b.name === "AI_GATEWAY_BASE_URL")?.text).toBe("https://gateway.staging.example.com/v1");
  const want = BINDING_NAMES.filter((n) => BINDINGS[n].required || n === "AI_GATEWAY_BASE_URL");
  expect(bindings.map((b) => b.name).sort()).toEqual([...want].sort());
});

test("lets exactly the staging yaml's clients call: CLIENTS is its own list, not dev's", () => {
  const bindings = reveal(ofType("workersScript:WorkersScript")[0]!.inputs.bindings) as { name: string; json?: string }[];
  expect(JSON.parse(bindings.find((b) => b.name === "CLIENTS")!.json!)).toEqual(["web", "qa-bot"]);
  expect(dev.value("clients")).not.toEqual(["web", "qa-bot"]);
});

test("declares a 10-second client rate limit and tells the Worker that period, for Retry-After", () => {
  const bindings = reveal(ofType("workersScript:WorkersScript")[0]!.inputs.bindings) as {
    name: string;
    text?: string;
    simple?: { period: number };
  }[];
  expect(bindings.find((b) => b.name === "RATE_LIMITER")?.simple?.period).toBe(10);
  expect(bindings.find((b) => b.name === "RATE_LIMIT_PERIOD")?.text).toBe("10");
});

test("runs without alerts: no Alerts component, state namespace, destination, policy or analytics token, no ALERTS* binding", () => {
  expect(Object.keys(staging.config).filter((k) => k.includes(":alerts"))).toEqual([]);
  const alertsComponent = "ai-gateway-stack:infra:Alerts";
  expect(result.resources.filter((r) => r.type === alertsComponent || r.options.parent?.startsWith(`${alertsComponent}::`))).toEqual([]);
  // The check above looks for the type the component really registers.
  expect(readFileSync(path.join(repo, "infra", "components", "alerts.ts"), "utf8")).toContain(`"${alertsComponent}"`);
  for (const t of [
    "workersKvNamespace:WorkersKvNamespace",
    "notificationPolicyWebhooks:NotificationPolicyWebhooks",
    "notificationPolicy:NotificationPolicy",
  ]) {
    expect(ofType(t), t).toEqual([]);
  }
  // The one account token is the gateway token the yaml asks to mint.
  expect(ofType("accountToken:AccountToken").map((r) => r.options.parent)).toEqual(["ai-gateway-stack:infra:GatewayToken::gateway-token"]);
  const bindings = reveal(ofType("workersScript:WorkersScript")[0]!.inputs.bindings) as { name: string }[];
  expect(bindings.filter((b) => b.name.startsWith("ALERTS"))).toEqual([]);
});

test("declares one cron trigger resource carrying every schedule", () => {
  const triggers = ofType("workersCronTrigger:WorkersCronTrigger");
  expect(triggers).toHaveLength(1);
  expect(triggers[0]!.inputs.schedules).toEqual([{ cron: "*/10 * * * *" }, { cron: "0 3 * * *" }]);
});

test("routes the custom domain and the zone route, with workers.dev switched off", () => {
  expect(ofType("workersCustomDomain:WorkersCustomDomain").map((r) => r.inputs.hostname)).toEqual(["ai.staging.example.com"]);
  expect(ofType("workersRoute:WorkersRoute").map((r) => r.inputs.pattern)).toEqual(["api.staging.example.com/v1/*"]);
  expect(ofType("workersScriptSubdomain:WorkersScriptSubdomain")[0]!.inputs.enabled).toBe(false);
  expect(result.outputs.urls).toEqual(["https://ai.staging.example.com", "https://api.staging.example.com/v1"]);
});

test("leaves resources unprotected when the yaml does not ask for protection", () => {
  expect(result.resources.every((r) => !r.options.protect)).toBe(true);
});

test("runs without budgets: no BUDGETS or BUDGET_LEDGER binding and no Durable Object migration", () => {
  expect(Object.keys(staging.config)).not.toContain("ai-gateway-stack:budgets");
  expect(dev.raw("budgets"), "dev, which staging is made from, has budgets: the filter above is what removes them").toBeDefined();
  const script = ofType("workersScript:WorkersScript")[0]!;
  const bindings = reveal(script.inputs.bindings) as { name: string; type: string }[];
  expect(bindings.filter((b) => b.name.startsWith("BUDGET") || b.type === "durable_object_namespace")).toEqual([]);
  expect(script.inputs.migrations).toBeUndefined();
});
