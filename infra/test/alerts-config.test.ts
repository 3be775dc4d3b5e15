/**
 * parseAlertsConfig: the dev and prod yaml parse into the rules, destinations and policies they declare, and every
 * broken key stops with a message naming the key and the stack.
 */

import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { parseAlertsConfig, readAlertsConfig } from "../alerts-config";
import { ConfigError } from "../config";
import { findProjectRoot, loadStackConfig } from "../testing/harness";

const root = findProjectRoot();
const yamlAlerts = (stack: string) => loadStackConfig(root, stack).values["ai-gateway-stack:alerts"];

const good = {
  cron: "*/5 * * * *",
  rules: {
    costPerDay: { usd: 100 },
    errorRate: { percent: 5, windowMinutes: 15, minRequests: 50 },
    usageSpike: { factor: 2, windowMinutes: 60, baselineWindows: 24, minRequests: 500 },
  },
  destinations: { webhooks: [{ name: "ops", url: "https://hooks.example.com/x" }], pagerduty: true, emails: ["oncall@example.com"] },
  native: { billingUsage: { product: "worker_requests", limit: 1000 }, incidents: { components: ["Workers"] } },
};

describe("parseAlertsConfig on the stack files", () => {
  it("reads prod's thresholds, windows, destinations and native policies from Pulumi.prod.yaml", () => {
    const c = parseAlertsConfig(yamlAlerts("prod"), "prod");
    expect(c.binding).toMatchObject({
      cron: "*/5 * * * *",
      lagMinutes: 7,
      failureRuns: 3,
      rules: {
        costPerDay: { usd: 100, window: "rolling24h" },
        errorRate: { percent: 5, windowMinutes: 15, minRequests: 50 },
        usageSpike: { factor: 2, windowMinutes: 60, baselineWindows: 24, minRequests: 500 },
      },
      destinations: { webhooks: [{ name: "ops", url: "https://hooks.example.com/ai-gateway/prod" }], pagerduty: true },
      endpoints: { analytics: "https://api.cloudflare.com/client/v4/graphql", pagerduty: "https://events.pagerduty.com/v2/enqueue" },
    });
    expect(c.analyticsToken).toBe("config");
    expect(c.webhooks).toEqual([{ name: "ops", url: "https://hooks.example.com/ai-gateway/prod", secretKey: "alertsWebhookSecret" }]);
    expect(c.emails).toEqual(["oncall@example.com"]);
    expect(c.native).toEqual({
      billingUsage: { product: "worker_requests", limit: 50_000_000 },
      incidents: { components: ["AI Gateway", "Workers"], impacts: ["INCIDENT_IMPACT_MAJOR", "INCIDENT_IMPACT_CRITICAL"] },
    });
  });

  it("reads dev's more lenient rules, minted token and no native policies from Pulumi.dev.yaml", () => {
    const c = parseAlertsConfig(yamlAlerts("dev"), "dev");
    expect(c.binding.cron).toBe("*/15 * * * *");
    expect(c.binding.rules.errorRate).toEqual({ percent: 20, windowMinutes: 30, minRequests: 20 });
    expect(c.binding.destinations).toEqual({
      webhooks: [{ name: "dev-alerts", url: "https://hooks.example.com/ai-gateway/dev" }],
      pagerduty: false,
    });
    expect(c.analyticsToken).toBe("mint");
    expect(c.native).toEqual({});
  });

  it("keeps infra-only keys (emails, secretKey, native, analyticsToken) out of the Worker's ALERTS binding", () => {
    const c = parseAlertsConfig(
      {
        ...good,
        analyticsToken: "mint",
        destinations: { ...good.destinations, webhooks: [{ name: "ops", url: "https://h.example.com", secretKey: "opsSecret" }] },
      },
      "prod",
    );
    expect(Object.keys(c.binding).sort()).toEqual(["cron", "destinations", "endpoints", "failureRuns", "lagMinutes", "rules"]);
    expect(Object.keys(c.binding.destinations).sort()).toEqual(["pagerduty", "webhooks"]);
    expect(c.binding.destinations.webhooks).toEqual([{ name: "ops", url: "https://h.example.com" }]);
    expect(c.webhooks[0]!.secretKey).toBe("opsSecret");
  });
});

describe("parseAlertsConfig rejects", () => {
  type Case = [string, (c: Record<string, any>) => void, string];
  const cases: Case[] = [
    ["an unknown top-level key", (c) => (c.thresholds = {}), "alerts.thresholds"],
    ["a malformed cron", (c) => (c.cron = "every 5 minutes"), "alerts.cron"],
    ["no rules", (c) => (c.rules = {}), "alerts.rules"],
    ["a negative cost limit", (c) => (c.rules.costPerDay.usd = -1), "alerts.rules.costPerDay.usd"],
    ["an unknown cost window", (c) => (c.rules.costPerDay.window = "week"), "alerts.rules.costPerDay.window"],
    ["an error rate over 100%", (c) => (c.rules.errorRate.percent = 150), "alerts.rules.errorRate.percent"],
    ["a fractional window", (c) => (c.rules.errorRate.windowMinutes = 7.5), "alerts.rules.errorRate.windowMinutes"],
    ["a zero minRequests", (c) => (c.rules.errorRate.minRequests = 0), "alerts.rules.errorRate.minRequests"],
    ["a spike factor of 1", (c) => (c.rules.usageSpike.factor = 1), "alerts.rules.usageSpike.factor"],
    ["a baseline past the retention", (c) => (c.rules.usageSpike.baselineWindows = 1000), "alerts.rules.usageSpike.baselineWindows"],
    [
      "a history that does not fit one answer by minute",
      (c) => Object.assign(c.rules.usageSpike, { windowMinutes: 45, baselineWindows: 300 }),
      "alerts.rules.usageSpike.baselineWindows",
    ],
    ["a webhook URL that is not http(s)", (c) => (c.destinations.webhooks[0].url = "ftp://x"), "alerts.destinations.webhooks[0].url"],
    ["a webhook name with spaces", (c) => (c.destinations.webhooks[0].name = "on call"), "alerts.destinations.webhooks[0].name"],
    [
      "a webhook secretKey that is no config key",
      (c) => (c.destinations.webhooks[0].secretKey = "a b"),
      "alerts.destinations.webhooks[0].secretKey",
    ],
    ["no destination at all", (c) => (c.destinations = { webhooks: [], pagerduty: false }), "alerts.destinations"],
    ["pagerduty that is not a boolean", (c) => (c.destinations.pagerduty = "yes"), "alerts.destinations.pagerduty"],
    ["an email that is not an address", (c) => (c.destinations.emails = ["oncall"]), "alerts.destinations.emails[0]"],
    ["an unknown token source", (c) => (c.analyticsToken = "vault"), "alerts.analyticsToken"],
    ["a billing limit of 0", (c) => (c.native.billingUsage.limit = 0), "alerts.native.billingUsage.limit"],
    ["an unknown incident impact", (c) => (c.native.incidents.impacts = ["BAD"]), "alerts.native.incidents.impacts[0]"],
    ["incidents without components", (c) => (c.native.incidents.components = []), "alerts.native.incidents.components"],
    ["native policies with nowhere to send", (c) => ((c.destinations = { pagerduty: true }), true), "alerts.native"],
    ["an empty alerts object", (c) => Object.keys(c).forEach((k) => delete c[k]), "alerts.rules"],
  ];

  for (const [what, mutate, key] of cases) {
    it(`${what}, naming ai-gateway-stack:${key} and the stack`, () => {
      const c = structuredClone(good) as Record<string, any>;
      mutate(c);
      let err: unknown;
      try {
        parseAlertsConfig(c, "prod");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(new RegExp(`^stack "prod": config ai-gateway-stack:${key.replace(/[.[\]]/g, "\\$&")} `));
      expect((err as ConfigError).key).toBe(`ai-gateway-stack:${key}`);
    });
  }

  it("a plain string instead of an object, naming alerts", () => {
    expect(() => parseAlertsConfig("on", "dev")).toThrow('stack "dev": config ai-gateway-stack:alerts must be an object');
  });
});

describe("readAlertsConfig", () => {
  const project = "ai-gateway-stack";
  const set = (values: Record<string, unknown>, secretKeys: string[]) =>
    pulumi.runtime.setAllConfig(
      Object.fromEntries(Object.entries(values).map(([k, v]) => [`${project}:${k}`, typeof v === "string" ? v : JSON.stringify(v)])),
      secretKeys.map((k) => `${project}:${k}`),
    );

  it("is undefined for a stack without alerts", () => {
    set({}, []);
    expect(readAlertsConfig(new pulumi.Config(project), "dev")).toBeUndefined();
  });

  it("reads every secret the stack's alerts need as a Pulumi secret", async () => {
    set(
      {
        alerts: { ...good, analyticsToken: "config" },
        alertsWebhookSecret: "s1",
        alertsAnalyticsToken: "s2",
        alertsPagerdutyRoutingKey: "s3",
      },
      ["alertsWebhookSecret", "alertsAnalyticsToken", "alertsPagerdutyRoutingKey"],
    );
    const read = readAlertsConfig(new pulumi.Config(project), "prod")!;
    expect(read.config.binding.rules.costPerDay).toEqual({ usd: 100, window: "rolling24h" });
    const outs = [read.secrets.webhookSecrets.ops!, read.secrets.analyticsToken!, read.secrets.pagerdutyRoutingKey!];
    for (const o of outs) expect(await pulumi.isSecret(o)).toBe(true);
  });

  it("names the missing secret key and the stack", () => {
    set({ alerts: good }, []);
    expect(() => readAlertsConfig(new pulumi.Config(project), "prod")).toThrow(
      /^stack "prod": config ai-gateway-stack:alertsWebhookSecret must be set \(pulumi config set --secret alertsWebhookSecret \.\.\.\) for the webhook "ops"$/,
    );
  });
});
