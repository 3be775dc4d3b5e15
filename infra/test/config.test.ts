/**
 * Broken stack config stops the real program before it declares anything, with a message naming the key and the
 * stack (and never a secret). Each case starts from dev's yaml and breaks one value, alerts and their secrets included.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { beforeEach, describe, expect, test, vi } from "vitest";
import { ALERT_SECRET_KEYS } from "../alerts-config";
import { configurableVars, routePatternProblem, validateSettings } from "../config";
import { findProjectRoot, loadStackConfig, ProgramError, runProgram } from "../testing/harness";

const PROJECT = "ai-gateway-stack";
const dev = loadStackConfig(findProjectRoot(), "dev").values;

/** dev's value for the top-level key of `path`, with the value at `path` replaced (or removed when undefined). */
function breakAt(path: string, value: unknown): Record<string, unknown> {
  const [top, ...rest] = path.split(/\.|(?=\[)/);
  const key = `${PROJECT}:${top}`;
  if (rest.length === 0) return { [key]: value };
  const root = structuredClone(dev[key]) as Record<string, unknown>;
  let at: any = root;
  const steps = rest.map((s) => (s.startsWith("[") ? Number(s.slice(1, -1)) : s));
  for (const step of steps.slice(0, -1)) at = at[step as never];
  const last = steps[steps.length - 1]!;
  if (value === undefined) delete at[last as never];
  else at[last as never] = value;
  return { [key]: root };
}

/** dev's price table, a fresh copy. */
const devPrices = () => structuredClone((dev[`${PROJECT}:budgets`] as { prices: Record<string, unknown> }).prices);

/** dev's price table without the price of `key`. */
function withoutPrice(key: string): Record<string, unknown> {
  const prices = devPrices();
  expect(prices, `dev prices ${key}`).toHaveProperty([key]);
  delete prices[key];
  return prices;
}

async function failure(overrides: Record<string, unknown>): Promise<ProgramError> {
  try {
    await runProgram("dev", { config: overrides });
  } catch (err) {
    expect(err).toBeInstanceOf(ProgramError);
    return err as ProgramError;
  }
  throw new Error("the program accepted the broken config");
}

describe("a broken config value stops the program before any resource is declared", () => {
  beforeEach(() => {
    // The program module runs once per registry; each case needs a fresh run.
    vi.resetModules();
  });

  const cases: [string, Record<string, unknown>, string][] = [
    ["missing account id", { [`${PROJECT}:accountId`]: undefined }, "accountId"],
    ["account id that is not an id", { [`${PROJECT}:accountId`]: "my-account" }, "accountId"],
    ["name prefix Cloudflare cannot use", { [`${PROJECT}:name`]: "AI_Gateway" }, "name"],
    ["protect that is not a boolean", { [`${PROJECT}:protect`]: "yes" }, "protect"],
    ["unknown gateway token source", { [`${PROJECT}:gatewayTokenSource`]: "borrow" }, "gatewayTokenSource"],
    ["token source config without the token", { [`${PROJECT}:gatewayTokenSource`]: "config" }, "gatewayToken"],
    ["missing provider key", { [`${PROJECT}:anthropicApiKey`]: undefined }, "anthropicApiKey"],
    ["gateway given as a string", { [`${PROJECT}:gateway`]: "fast" }, "gateway"],
    ["negative cache TTL", breakAt("gateway.cacheTtl", -1), "gateway.cacheTtl"],
    ["cache TTL under the gateway's 60 s minimum", breakAt("gateway.cacheTtl", 30), "gateway.cacheTtl"],
    ["ROUTING cache TTL under the gateway's 60 s minimum", breakAt("routing.cacheTtl.messages", 59), "routing.cacheTtl.messages"],
    ["rate-limit technique the gateway lacks", breakAt("gateway.rateLimit.technique", "burst"), "gateway.rateLimit.technique"],
    ["rate limit without an interval", breakAt("gateway.rateLimit.interval", 0), "gateway.rateLimit.interval"],
    ["log strategy the gateway lacks", breakAt("gateway.logs.strategy", "KEEP_ALL"), "gateway.logs.strategy"],
    ["log retention below the minimum", breakAt("gateway.logs.maxStored", 50), "gateway.logs.maxStored"],
    ["too many retries", breakAt("gateway.retries.maxAttempts", 9), "gateway.retries.maxAttempts"],
    ["misspelt gateway setting", breakAt("gateway.cacheTTL", 60), "gateway.cacheTTL"],
    [
      "guardrail category that does not exist",
      breakAt("gateway.guardrails", { prompt: { s99: "BLOCK" } }),
      "gateway.guardrails.prompt.s99",
    ],
    ["compatibility date that is not a date", breakAt("worker.compatibilityDate", "next tuesday"), "worker.compatibilityDate"],
    ["rate limiter period the binding refuses", breakAt("worker.rateLimit.period", 30), "worker.rateLimit.period"],
    ["rate limiter without a namespace", breakAt("worker.rateLimit.namespaceId", undefined), "worker.rateLimit.namespaceId"],
    ["var overriding a binding infra sets", breakAt("worker.vars", { STACK: "other" }), "worker.vars.STACK"],
    ["var the Worker never reads", breakAt("worker.vars", { DEBUG: "1" }), "worker.vars.DEBUG"],
    ["ROUTING fallback naming an unlisted model", breakAt("routing.chat.fallback[0].model", "gpt-9"), "routing.chat.fallback[0].model"],
    ["ROUTING without cache TTLs", breakAt("routing.cacheTtl", undefined), "routing.cacheTtl"],
    ["no public URL at all", breakAt("routes.workersDev", false), "routes"],
    ["workers.dev without the account subdomain", breakAt("routes.workersDevSubdomain", undefined), "routes.workersDevSubdomain"],
    [
      "custom domain outside its zone",
      breakAt("routes.customDomains", [{ hostname: "ai.example.org", zone: "example.com" }]),
      "routes.customDomains[0].hostname",
    ],
    [
      "zone route with a scheme",
      breakAt("routes.zoneRoutes", [{ pattern: "https://api.example.com/*", zone: "example.com" }]),
      "routes.zoneRoutes[0].pattern",
    ],
    [
      "zone route DNS record neither create nor exists",
      breakAt("routes.zoneRoutes", [{ pattern: "api.example.com/*", zone: "example.com", dnsRecord: "later" }]),
      "routes.zoneRoutes[0].dnsRecord",
    ],
    [
      "zone route on a wildcard host asking for a record",
      breakAt("routes.zoneRoutes", [{ pattern: "*.example.com/*", zone: "example.com" }]),
      "routes.zoneRoutes[0].dnsRecord",
    ],
    ["cron that is not a cron", { [`${PROJECT}:crons`]: ["every minute"] }, "crons[0]"],
    ["no clients list", { [`${PROJECT}:clients`]: undefined }, "clients"],
    ["an empty clients list", { [`${PROJECT}:clients`]: [] }, "clients"],
    ["clients given as one string", { [`${PROJECT}:clients`]: "web" }, "clients"],
    ["a client id with a space", { [`${PROJECT}:clients`]: ["web", "batch jobs"] }, "clients[1]"],
    ["a client listed twice", { [`${PROJECT}:clients`]: ["web", "web"] }, "clients[1]"],
    ["alerts error rate over 100%", breakAt("alerts.rules.errorRate.percent", 150), "alerts.rules.errorRate.percent"],
    ["alerts cron that is not a cron", breakAt("alerts.cron", "every 15 minutes"), "alerts.cron"],
    ["misspelt alerts rule", breakAt("alerts.rules.errorRatio", { percent: 5, windowMinutes: 15 }), "alerts.rules.errorRatio"],
    [
      "alerts webhook that is not a URL",
      breakAt("alerts.destinations.webhooks[0].url", "hooks.example.com"),
      "alerts.destinations.webhooks[0].url",
    ],
    ["alerts email that is not an address", breakAt("alerts.destinations.emails", ["oncall"]), "alerts.destinations.emails[0]"],
    ["unknown analytics token source", breakAt("alerts.analyticsToken", "borrow"), "alerts.analyticsToken"],
    [
      "incident impact Cloudflare lacks",
      breakAt("alerts.native", { incidents: { components: ["Workers"], impacts: ["SEVERE"] } }),
      "alerts.native.incidents.impacts[0]",
    ],
    ["alerts webhook without its secret", { [`${PROJECT}:alertsWebhookSecret`]: undefined }, "alertsWebhookSecret"],
    ["alerts webhook with an empty secret", { [`${PROJECT}:alertsWebhookSecret`]: " " }, "alertsWebhookSecret"],
    ["analytics token from config without the token", breakAt("alerts.analyticsToken", "config"), "alertsAnalyticsToken"],
    ["PagerDuty without its routing key", breakAt("alerts.destinations.pagerduty", true), "alertsPagerdutyRoutingKey"],
    ["budgets given as a string", { [`${PROJECT}:budgets`]: "cheap" }, "budgets"],
    ["budget for a client the stack does not list", breakAt("budgets.clients", { ghost: { dailyUsd: 1 } }), "budgets.clients.ghost"],
    ["routed model without a price", breakAt("budgets.prices", withoutPrice("openai/gpt-5.4")), "budgets.prices"],
    [
      "negative price",
      breakAt("budgets.prices", { ...devPrices(), "openai/gpt-5.4": { inputPerMTok: -1, outputPerMTok: 15 } }),
      'budgets.prices["openai/gpt-5.4"].inputPerMTok',
    ],
    [
      "price key without its provider",
      breakAt("budgets.prices", { ...devPrices(), "gpt-5.4": { inputPerMTok: 1, outputPerMTok: 1 } }),
      'budgets.prices["gpt-5.4"]',
    ],
    ["action at the limit that does not exist", breakAt("budgets.action", "block"), "budgets.action"],
    ["misspelt budgets setting", breakAt("budgets.defaults", { dailyUsd: 1 }), "budgets.defaults"],
  ];

  test.each(cases)("%s", async (_, overrides, key) => {
    const err = await failure(overrides);
    expect(err.message).toContain(`stack "dev"`);
    expect(err.message).toContain(`config ${PROJECT}:${key} `);
    expect(err.message).not.toContain("placeholder-secret");
    expect(err.resources).toEqual([]);
  });

  test.each([
    [
      breakAt("budgets.prices", withoutPrice("openai/gpt-5.4")),
      'budgets.prices has no price for "openai/gpt-5.4", which the stack can route to',
    ],
    [
      breakAt("budgets.clients", { web: { dailyUsd: 1 }, "q-a": { dailyUsd: 1 } }),
      'budgets.clients["q-a"] is a budget for a client not listed in CLIENTS (listed: web, batch, dev-smoke)',
    ],
    [
      breakAt("budgets.prices", { ...devPrices(), "openai/gpt-5.4": { inputPerMTok: -1, outputPerMTok: 15 } }),
      'budgets.prices["openai/gpt-5.4"].inputPerMTok must be >=0 (got -1)',
    ],
  ])("budgets refused with the key, the stack and what is wrong: %#", async (overrides, message) => {
    expect((await failure(overrides)).message).toBe(`stack "dev": config ${PROJECT}:${message}`);
  });

  test("a minted-token stack that also sets gatewayToken is refused without echoing the token", async () => {
    const err = await failure({ [`${PROJECT}:gatewayToken`]: "cf-token-do-not-print" });
    expect(err.message).toContain(`config ${PROJECT}:gatewayToken `);
    expect(err.message).not.toContain("cf-token-do-not-print");
  });
});

describe("validateSettings", () => {
  const raw = () => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(dev)) out[k.replace(`${PROJECT}:`, "")] = v;
    return out;
  };

  test("applies the documented defaults when the yaml leaves them out", () => {
    const r = raw();
    const gateway = structuredClone(r.gateway) as Record<string, any>;
    delete gateway.retries;
    delete gateway.cacheInvalidateOnUpdate;
    delete gateway.rateLimit.technique;
    const s = validateSettings({ ...r, gateway, protect: undefined, name: undefined }, PROJECT, "qa");
    expect(s.gateway.retries).toEqual({ maxAttempts: 1, delayMs: 0, backoff: "constant" });
    expect(s.gateway.cacheInvalidateOnUpdate).toBe(true);
    expect(s.gateway.rateLimit.technique).toBe("sliding");
    expect(s.protect).toBe(false);
    expect(s.resourceName).toBe("ai-gateway-qa");
  });

  test("takes a cache TTL of 0 (off) or 60 s to one month, for the gateway and every ROUTING surface", () => {
    for (const ttl of [0, 60, 2_592_000]) {
      const r = raw();
      const routing = structuredClone(r.routing) as { cacheTtl: Record<string, number> };
      routing.cacheTtl = { messages: ttl, chatCompletions: ttl, chat: ttl };
      const s = validateSettings({ ...r, gateway: { ...(r.gateway as object), cacheTtl: ttl }, routing }, PROJECT, "qa");
      expect([s.gateway.cacheTtl, s.routing.cacheTtl.messages, s.routing.cacheTtl.chatCompletions, s.routing.cacheTtl.chat]).toEqual([
        ttl,
        ttl,
        ttl,
        ttl,
      ]);
    }
    for (const ttl of [1, 59, 2_592_001, 90.5]) {
      expect(
        () => validateSettings({ ...raw(), gateway: { ...(raw().gateway as object), cacheTtl: ttl } }, PROJECT, "qa"),
        String(ttl),
      ).toThrow(`config ${PROJECT}:gateway.cacheTtl must be 0 (no cache) or a whole number of seconds from 60 to 2592000 (got ${ttl})`);
    }
  });

  test("names the stack it validates for", () => {
    expect(() => validateSettings({ ...raw(), accountId: "x" }, PROJECT, "staging")).toThrow(
      `stack "staging": config ${PROJECT}:accountId`,
    );
  });

  test("lets a stack set only optional plain_text/json bindings itself", () => {
    const vars = configurableVars();
    expect(vars).toContain("AI_GATEWAY_BASE_URL");
    expect(vars).not.toContain("STACK");
    expect(vars).not.toContain("ANTHROPIC_API_KEY");
    // BUDGETS comes from the budgets key, with its ledger, never alone from worker.vars.
    expect(vars).not.toContain("BUDGETS");
  });
});

describe("routePatternProblem", () => {
  test.each([
    ["api.example.com/v1/*", "example.com"],
    ["*.example.com/*", "example.com"],
    ["*example.com/ai/*", "example.com"],
    ["example.com/", "example.com"],
  ])("accepts %s in %s", (pattern, zone) => {
    expect(routePatternProblem(pattern, zone)).toBeUndefined();
  });

  test.each([
    ["https://api.example.com/*", "example.com", "scheme"],
    ["api.example.com", "example.com", "needs a path"],
    ["api.example.org/*", "example.com", "not in zone"],
    ["api.example.com/*/v1", "example.com", "only use *"],
    ["bad_host!/x", "example.com", "invalid host"],
  ])("rejects %s in %s (%s)", (pattern, zone, why) => {
    expect(routePatternProblem(pattern, zone)).toContain(why);
  });
});

describe("Pulumi.yaml", () => {
  const root = findProjectRoot();
  const text = readFileSync(path.join(root, "Pulumi.yaml"), "utf8");
  const declared = (yaml.load(text) as { config: Record<string, Record<string, unknown>> }).config;
  const stacks = readdirSync(root).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f));

  test("declares no key without a default that a stack file leaves unset (Pulumi would refuse to run that stack)", () => {
    expect(stacks.length).toBeGreaterThanOrEqual(2);
    const required = Object.entries(declared)
      .filter(([, d]) => !("default" in d))
      .map(([k]) => k);
    expect(required).toContain("accountId");
    for (const file of stacks) {
      const config = (yaml.load(readFileSync(path.join(root, file), "utf8")) as { config: Record<string, unknown> }).config;
      for (const key of required) expect(config, `${file} sets ${key}`).toHaveProperty([`${PROJECT}:${key}`]);
    }
  });

  test("documents every optional secret the program reads, the alert secrets included, and the alerts key", () => {
    for (const key of ["gatewayToken", ...Object.values(ALERT_SECRET_KEYS)]) {
      expect(declared[key], `${key} is optional, so not declared`).toBeUndefined();
      expect(text, key).toMatch(new RegExp(`^\\s*# ${key}[ :(]`, "m"));
    }
    expect(text).toMatch(/^#\s+alerts:/m);
  });
});
