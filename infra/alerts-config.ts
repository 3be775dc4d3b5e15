/**
 * The stack's `alerts` config: computed rules and their cron (the Worker's own ALERTS schema, extended in
 * infra/stack-schema.ts, so the binding infra declares is one the Worker accepts), destinations, the analytics token
 * source and the native Cloudflare notification policies. Pure parsing in parseAlertsConfig; readAlertsConfig adds
 * the secrets. Errors name the key and the stack, like every other config error of the program.
 */
import type * as pulumi from "@pulumi/pulumi";
import { type AlertsBinding, parseWith } from "../worker/src/contract";
import { asConfigError, ConfigError } from "./config-error";
import { ALERT_SECRET_KEYS, type ANALYTICS_TOKEN_SOURCES, type INCIDENT_IMPACTS, StackAlertsSchema } from "./stack-schema";

export { ALERT_SECRET_KEYS } from "./stack-schema";

export interface AlertsConfig {
  /** The ALERTS binding for the Worker: cron, rules, webhook names/urls, pagerduty switch. */
  binding: AlertsBinding;
  /** mint: the program mints an Account Analytics Read token; config: secret alertsAnalyticsToken. */
  analyticsToken: (typeof ANALYTICS_TOKEN_SOURCES)[number];
  /** Webhook destinations with the secret config key holding each one's secret. */
  webhooks: { name: string; url: string; secretKey: string }[];
  /** Addresses for the native notification policies (the Worker's computed alerts go to webhooks/PagerDuty). */
  emails: string[];
  native: {
    /** billing_usage_alert: usage of `product` above `limit` (units depend on the product). */
    billingUsage?: { product: string; limit: number };
    /** incident_alert: Cloudflare incidents affecting these components, at these impacts. */
    incidents?: { components: string[]; impacts: (typeof INCIDENT_IMPACTS)[number][] };
  };
}

export interface AlertsSecrets {
  /** Set when analyticsToken is "config". */
  analyticsToken?: pulumi.Output<string>;
  /** Webhook name -> its secret. */
  webhookSecrets: Record<string, pulumi.Output<string>>;
  /** Set when destinations.pagerduty is true. */
  pagerdutyRoutingKey?: pulumi.Output<string>;
}

/**
 * Validates the stack's `alerts` value (the parsed yaml object). Throws ConfigError naming
 * `<project>:alerts.<path>` and the stack. Pure: no Pulumi runtime needed.
 */
export function parseAlertsConfig(raw: unknown, stack: string, project = "ai-gateway-stack"): AlertsConfig {
  const a = asConfigError(project, stack, "alerts", () => parseWith(StackAlertsSchema, raw));
  const { emails, webhooks, pagerduty } = a.destinations;
  // The Worker's value: the same fields without the ones only infra reads (emails, secret key names, native, token source).
  const binding: AlertsBinding = {
    cron: a.cron,
    lagMinutes: a.lagMinutes,
    failureRuns: a.failureRuns,
    rules: a.rules,
    destinations: { webhooks: webhooks.map(({ name, url }) => ({ name, url })), pagerduty },
    endpoints: a.endpoints,
  };
  return { binding, analyticsToken: a.analyticsToken, webhooks, emails, native: a.native };
}

/** A structured config value as the schema reads it: its JSON, or the plain string (validation then names the shape). */
export function configValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // A plain string where a structure belongs (pulumi config set gateway x): let validation name the shape.
    return text;
  }
}

/** Whether the secret `key` holds a value, checked on the raw string (never shown). Blank counts as unset. */
export function secretIsSet(cfg: pulumi.Config, key: string): boolean {
  return (cfg.get(key) ?? "").trim() !== "";
}

/** The secret `key` as a Pulumi secret; unset or blank stops the program with `problem`, naming the key and the stack. */
export function requireSecretKey(cfg: pulumi.Config, stack: string, key: string, problem: string): pulumi.Output<string> {
  if (!secretIsSet(cfg, key)) throw new ConfigError(`${cfg.name}:${key}`, stack, problem);
  return cfg.requireSecret(key);
}

/**
 * Reads `alerts` and the secrets it needs from the current stack's config; undefined when the stack has no alerts.
 * Secrets only through requireSecret, so they stay Pulumi secrets all the way to the Worker's bindings.
 */
export function readAlertsConfig(cfg: pulumi.Config, stack: string): { config: AlertsConfig; secrets: AlertsSecrets } | undefined {
  const project = cfg.name;
  const text = cfg.get("alerts");
  if (text === undefined) return undefined;
  const config = parseAlertsConfig(configValue(text), stack, project);
  const require = (key: string, why: string) =>
    requireSecretKey(cfg, stack, key, `must be set (pulumi config set --secret ${key} ...) ${why}`);
  const byKey = new Map<string, pulumi.Output<string>>();
  const webhookSecrets: Record<string, pulumi.Output<string>> = {};
  for (const w of config.webhooks) {
    if (!byKey.has(w.secretKey)) byKey.set(w.secretKey, require(w.secretKey, `for the webhook "${w.name}"`));
    webhookSecrets[w.name] = byKey.get(w.secretKey)!;
  }
  return {
    config,
    secrets: {
      webhookSecrets,
      ...(config.analyticsToken === "config"
        ? { analyticsToken: require(ALERT_SECRET_KEYS.analyticsToken, "because alerts.analyticsToken is config") }
        : {}),
      ...(config.binding.destinations.pagerduty
        ? { pagerdutyRoutingKey: require(ALERT_SECRET_KEYS.pagerdutyRoutingKey, "because alerts.destinations.pagerduty is true") }
        : {}),
    },
  };
}
