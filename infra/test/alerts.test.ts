/**
 * The Alerts component alone under the Pulumi SDK's mocks, fed each stack's yaml: the KV namespace, webhook
 * destinations, native policies, the minted or supplied analytics token, the Worker bindings and the cron, and that
 * every secret stays a Pulumi secret.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAlertsBinding } from "../../worker/src/contract/alerts";
import { BINDINGS } from "../../worker/src/contract/bindings";
import { type AlertsConfig, parseAlertsConfig } from "../alerts-config";
import { Alerts } from "../components/alerts";
import { findProjectRoot, isSecretValue, loadStackConfig, MOCK_PERMISSION_GROUPS, plainText } from "../testing/harness";

const ACCOUNT = "5c1f0a9e3b7d4e2c8a6f1d0b9e8c7a64";
const WEBHOOK_SECRET = "whsec-plain-value-7f3a";
const ANALYTICS_TOKEN = "analytics-plain-value-91c2";
const PD_KEY = "pagerduty-plain-value-44d1";
const MINTED = "minted-analytics-token-value";

const root = findProjectRoot();
const stackAlerts = (stack: string): AlertsConfig =>
  parseAlertsConfig(loadStackConfig(root, stack).values["ai-gateway-stack:alerts"], stack);

interface Declared {
  type: string;
  name: string;
  inputs: Record<string, any>;
  parent?: string;
}

const declared: Declared[] = [];
let prod: Alerts;
let dev: Alerts;
const prodConfig = stackAlerts("prod");
const devConfig = stackAlerts("dev");

type InternalOutput<T> = pulumi.OutputInstance<T> & { promise(): Promise<T> };
const resolve = <T>(o: pulumi.OutputInstance<T>) => (o as InternalOutput<T>).promise();

beforeAll(async () => {
  pulumi.runtime.setAllConfig({}, []);
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        declared.push({ type: args.type, name: args.name, inputs: args.inputs });
        const computed = args.type === "cloudflare:index/accountToken:AccountToken" ? { value: MINTED } : {};
        return { id: `${args.name}-id`, state: { ...args.inputs, ...computed } };
      },
      call(args) {
        if (args.token !== "cloudflare:index/getAccountApiTokenPermissionGroupsList:getAccountApiTokenPermissionGroupsList")
          throw new Error(`unexpected invoke ${args.token}`);
        const name = decodeURIComponent(String(args.inputs.name));
        return { ...args.inputs, results: MOCK_PERMISSION_GROUPS.filter((g) => g.name === name) };
      },
    },
    "ai-gateway-stack",
    "alerts-test",
    false,
  );
  const parents = new Map<string, string>();
  await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((t) => {
      const p = t.opts.parent as unknown as { __name?: string } | undefined;
      if (p?.__name) parents.set(`${t.type}::${t.name}`, p.__name);
      return undefined;
    });
    const secret = (v: string) => pulumi.secret(pulumi.output(v));
    prod = new Alerts("alerts-prod", {
      accountId: ACCOUNT,
      resourceName: "ai-gateway-prod",
      config: prodConfig,
      secrets: {
        webhookSecrets: { ops: secret(WEBHOOK_SECRET) },
        analyticsToken: secret(ANALYTICS_TOKEN),
        pagerdutyRoutingKey: secret(PD_KEY),
      },
    });
    dev = new Alerts("alerts-dev", {
      accountId: ACCOUNT,
      resourceName: "ai-gateway-dev",
      config: devConfig,
      secrets: { webhookSecrets: { "dev-alerts": secret(WEBHOOK_SECRET) } },
    });
    return {};
  });
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs().catch(() => undefined);
  for (const d of declared) d.parent = parents.get(`${d.type}::${d.name}`);
});

const of = (type: string, prefix: string) => declared.filter((d) => d.type === `cloudflare:index/${type}` && d.name.startsWith(prefix));

describe("Alerts for prod (Pulumi.prod.yaml)", () => {
  it("declares the state KV namespace and the ops webhook destination with its secret as a Pulumi secret", () => {
    expect(of("workersKvNamespace:WorkersKvNamespace", "alerts-prod").map((d) => d.inputs)).toEqual([
      { accountId: ACCOUNT, title: "ai-gateway-prod-alerts-state" },
    ]);
    const hooks = of("notificationPolicyWebhooks:NotificationPolicyWebhooks", "alerts-prod");
    expect(hooks).toHaveLength(1);
    expect(hooks[0]!.inputs).toMatchObject({
      accountId: ACCOUNT,
      name: "ai-gateway-prod-ops",
      url: "https://hooks.example.com/ai-gateway/prod",
    });
    expect(isSecretValue(hooks[0]!.inputs.secret)).toBe(true);
    expect((hooks[0]!.inputs.secret as { value: unknown }).value).toBe(WEBHOOK_SECRET);
  });

  it("declares billing_usage_alert and incident_alert policies to the same webhook and the on-call email", () => {
    const policies = of("notificationPolicy:NotificationPolicy", "alerts-prod").map((d) => d.inputs);
    const mechanisms = { webhooks: [{ id: "alerts-prod-webhook-ops-id" }], emails: [{ id: "oncall@example.com" }] };
    expect(policies.find((p) => p.alertType === "billing_usage_alert")).toMatchObject({
      accountId: ACCOUNT,
      enabled: true,
      filters: { products: ["worker_requests"], limits: ["50000000"] },
      mechanisms,
    });
    expect(policies.find((p) => p.alertType === "incident_alert")).toMatchObject({
      enabled: true,
      filters: { affectedComponents: ["AI Gateway", "Workers"], incidentImpacts: ["INCIDENT_IMPACT_MAJOR", "INCIDENT_IMPACT_CRITICAL"] },
      mechanisms,
    });
    expect(policies).toHaveLength(2);
  });

  it("uses the supplied analytics token (no token minted) and exposes every alert binding, secrets as Pulumi secrets", async () => {
    expect(of("accountToken:AccountToken", "alerts-prod")).toHaveLength(0);
    expect(Object.keys(prod.bindings).sort()).toEqual([
      "ALERTS",
      "ALERTS_ANALYTICS_TOKEN",
      "ALERTS_PAGERDUTY_ROUTING_KEY",
      "ALERTS_STATE",
      "ALERTS_WEBHOOK_SECRETS",
    ]);
    for (const name of Object.keys(BINDINGS).filter(
      (n) => n.startsWith("ALERTS_") && BINDINGS[n as keyof typeof BINDINGS].kind === "secret_text",
    )) {
      const out = prod.bindings[name as "ALERTS_ANALYTICS_TOKEN"];
      expect(pulumi.Output.isInstance(out) && (await pulumi.isSecret(out as pulumi.Output<string>)), name).toBe(true);
    }
    const tokenOut = prod.bindings.ALERTS_ANALYTICS_TOKEN as pulumi.Output<string>;
    expect(await resolve(tokenOut)).toBe(ANALYTICS_TOKEN);
    expect(JSON.parse(await resolve(prod.bindings.ALERTS_WEBHOOK_SECRETS as pulumi.Output<string>))).toEqual({ ops: WEBHOOK_SECRET });
    expect(await resolve(prod.bindings.ALERTS_PAGERDUTY_ROUTING_KEY as pulumi.Output<string>)).toBe(PD_KEY);
    expect(await resolve(pulumi.output(prod.bindings.ALERTS_STATE!.namespaceId))).toBe("alerts-prod-state-id");
  });

  it("hands the Worker an ALERTS value its own parser accepts, equal to the yaml's rules", async () => {
    // The Worker component serializes json bindings with JSON.stringify; the Worker parses them back.
    const alerts = JSON.parse(JSON.stringify(await resolve(pulumi.output(prod.bindings.ALERTS))));
    expect(parseAlertsBinding(alerts)).toEqual(prodConfig.binding);
    expect(alerts.rules.errorRate).toEqual({ percent: 5, windowMinutes: 15, minRequests: 50 });
    expect(JSON.stringify(alerts)).not.toMatch(/secret|oncall@/i);
  });

  it("asks for the alerts cron", () => {
    expect(prod.crons).toEqual(["*/5 * * * *"]);
  });
});

describe("Alerts for dev (Pulumi.dev.yaml)", () => {
  it("mints an Account Analytics Read token scoped to the account and binds its value as a secret", async () => {
    const tokens = of("accountToken:AccountToken", "alerts-dev");
    expect(tokens).toHaveLength(1);
    const analyticsRead = MOCK_PERMISSION_GROUPS.find((g) => g.name === "Account Analytics Read")!.id;
    expect(tokens[0]!.inputs).toEqual({
      accountId: ACCOUNT,
      name: "ai-gateway-dev-alerts-analytics-read",
      policies: [
        {
          effect: "allow",
          permissionGroups: [{ id: analyticsRead }],
          resources: JSON.stringify({ [`com.cloudflare.api.account.${ACCOUNT}`]: "*" }),
        },
      ],
    });
    const tokenOut = dev.bindings.ALERTS_ANALYTICS_TOKEN as pulumi.Output<string>;
    expect(await pulumi.isSecret(tokenOut)).toBe(true);
    expect(await resolve(tokenOut)).toBe(MINTED);
  });

  it("declares no native policies and no PagerDuty binding, and runs every 15 minutes", () => {
    expect(of("notificationPolicy:NotificationPolicy", "alerts-dev")).toHaveLength(0);
    expect(dev.bindings.ALERTS_PAGERDUTY_ROUTING_KEY).toBeUndefined();
    expect(dev.crons).toEqual(["*/15 * * * *"]);
  });
});

describe("both stacks", () => {
  it("parent every resource to its Alerts component", () => {
    const children = declared.filter((d) => d.type.startsWith("cloudflare:"));
    expect(children.length).toBeGreaterThanOrEqual(7);
    for (const d of children) expect(d.parent, d.name).toBe(d.name.startsWith("alerts-prod") ? "alerts-prod" : "alerts-dev");
  });

  it("never declare a secret value in plain form", () => {
    const text = plainText(declared.map((d) => d.inputs));
    for (const s of [WEBHOOK_SECRET, ANALYTICS_TOKEN, PD_KEY, MINTED]) expect(text).not.toContain(s);
  });
});
