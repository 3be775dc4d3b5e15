/**
 * Sample values never reach Cloudflare: the committed stacks' placeholders are found, a run that does not allow them
 * (as a real preview or up) stops before declaring anything with one message naming every key, and a stack whose
 * values are its own runs. The offline runs (plan, the other tests) allow them through the harness.
 */
import { beforeEach, describe, expect, test, vi } from "vitest";
import { findPlaceholders, reservedHost } from "../placeholders";
import { findProjectRoot, loadStackConfig, ProgramError, placeholdersOf, runProgram } from "../testing/harness";

const PROJECT = "ai-gateway-stack";
const root = findProjectRoot();

describe("the committed sample stacks' placeholders", () => {
  test("dev: the sample account id, workers.dev subdomain, an example.com CORS origin and webhook host", () => {
    expect(placeholdersOf("dev").map((p) => [p.key, p.value])).toEqual([
      ["accountId", "5c1f0a9e3b7d4e2c8a6f1d0b9e8c7a64"],
      ["routes.workersDevSubdomain", "example-ai"],
      ["routing.cors.allowOrigins[1]", "https://dev.app.example.com"],
      ["alerts.destinations.webhooks[0].url", "https://hooks.example.com/ai-gateway/dev"],
    ]);
  });

  test("prod: the account id, the example.com domain, route and zone, origin, webhook and email", () => {
    const found = placeholdersOf("prod");
    expect(found.map((p) => p.key)).toEqual([
      "accountId",
      "routes.customDomains[0].hostname",
      "routes.customDomains[0].zone",
      "routes.zoneRoutes[0].pattern",
      "routes.zoneRoutes[0].zone",
      "routing.cors.allowOrigins[0]",
      "alerts.destinations.webhooks[0].url",
      "alerts.destinations.emails[0]",
    ]);
    expect(found.find((p) => p.key.includes("webhooks"))!.why).toContain("test-POSTs a webhook destination when it creates it");
  });
});

describe("findPlaceholders", () => {
  const real = {
    accountId: "9d2b41c07e5f48a3b1c6d0e7f8a9b2c3",
    routes: {
      workersDev: true,
      workersDevSubdomain: "acme-ai",
      customDomains: [{ hostname: "ai.acme.io", zone: "acme.io" }],
      zoneRoutes: [],
    },
    routing: { cors: { allowOrigins: ["https://app.acme.io", "http://localhost:5173"] } },
    alerts: { webhooks: [{ name: "ops", url: "https://alerts.acme.io/cf" }], emails: ["oncall@acme.io"] },
  };

  test("finds nothing in a stack's own values, a local dev origin included", () => {
    expect(findPlaceholders(real, real.alerts)).toEqual([]);
  });

  test.each([
    [
      "a custom domain on a real zone but a .test host",
      { routes: { ...real.routes, customDomains: [{ hostname: "ai.corp.test", zone: "acme.io" }] } },
      "routes.customDomains[0].hostname",
    ],
    ["an account id of one repeated digit", { accountId: "0".repeat(32) }, "accountId"],
    [
      "a webhook on example.org",
      { alerts: { ...real.alerts, webhooks: [{ name: "x", url: "https://ops.example.org/hook" }] } },
      "alerts.destinations.webhooks[0].url",
    ],
    ["an email at example.net", { alerts: { ...real.alerts, emails: ["a@example.net"] } }, "alerts.destinations.emails[0]"],
  ])("flags %s", (_label, change, key) => {
    const s = { ...real, ...change };
    expect(findPlaceholders(s, s.alerts).map((p) => p.key)).toEqual([key]);
  });

  test("ignores the workers.dev subdomain when workers.dev is off", () => {
    const routes = { ...real.routes, workersDev: false, workersDevSubdomain: "example-ai" };
    expect(findPlaceholders({ ...real, routes }, real.alerts)).toEqual([]);
  });

  test("knows reserved names from real ones that merely look alike", () => {
    expect(reservedHost("api.example.com")).toContain("RFC 2606");
    expect(reservedHost("*.example.com")).toContain("RFC 2606");
    expect(reservedHost("myexample.com")).toBeUndefined();
    expect(reservedHost("example.com.au")).toBeUndefined();
  });
});

describe("a run that does not allow placeholders, as a real preview or up", () => {
  beforeEach(() => {
    // The program module runs once per registry; each case needs a fresh run.
    vi.resetModules();
  });

  test("stops before declaring anything, with one message naming every key to set", async () => {
    const err = await runProgram("prod", { allowPlaceholders: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProgramError);
    const e = err as ProgramError;
    expect(e.resources).toEqual([]);
    expect(e.message.split("\n")[0]).toBe(
      'stack "prod": 8 config values are sample placeholders; set each before a preview or deploy (nothing was declared):',
    );
    for (const p of placeholdersOf("prod")) expect(e.message).toContain(`  - ${PROJECT}:${p.key} = ${JSON.stringify(p.value)}: `);
    expect(e.message).not.toContain("placeholder-secret");
  });

  test("runs a stack whose values are its own", async () => {
    const dev = loadStackConfig(root, "dev").values;
    const routes = dev[`${PROJECT}:routes`] as Record<string, unknown>;
    const routing = dev[`${PROJECT}:routing`] as { cors: { allowOrigins: string[] } };
    const alerts = dev[`${PROJECT}:alerts`] as { destinations: { webhooks: { name: string; url: string }[] } };
    const result = await runProgram("dev", {
      allowPlaceholders: false,
      config: {
        accountId: "9d2b41c07e5f48a3b1c6d0e7f8a9b2c3",
        routes: { ...routes, workersDevSubdomain: "acme-ai" },
        routing: { ...routing, cors: { allowOrigins: ["http://localhost:5173", "https://dev.app.acme.io"] } },
        alerts: {
          ...alerts,
          destinations: { ...alerts.destinations, webhooks: [{ name: "dev-alerts", url: "https://alerts.acme.io/dev" }] },
        },
      },
    });
    expect(result.resources.some((r) => r.type === "cloudflare:index/notificationPolicyWebhooks:NotificationPolicyWebhooks")).toBe(true);
    expect(result.outputs.urls).toEqual(["https://ai-gateway-dev.acme-ai.workers.dev"]);
  });
});
