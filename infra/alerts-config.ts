/**
 * The stack's `alerts` config: computed rules and their cron (validated with the Worker's own ALERTS parser, so the
 * binding infra declares is one the Worker accepts), destinations, the analytics token source and the native
 * Cloudflare notification policies. Pure parsing in parseAlertsConfig; readAlertsConfig adds the secrets.
 * Errors name the key and the stack, like every other config error of the program.
 */
import * as pulumi from "@pulumi/pulumi";
import { AlertsConfigError, Fields, parseAlertsBinding, type AlertsBinding } from "../worker/src/contract/alerts";
// The program's one config error type: same message shape for every key (used at throw time only, so the import
// stays safe if config.ts imports this module).
import { ConfigError } from "./config";

export const ANALYTICS_TOKEN_SOURCES = ["mint", "config"] as const;
/** Cloudflare's incident impact levels, for the incident_alert filter. */
export const INCIDENT_IMPACTS = ["INCIDENT_IMPACT_NONE", "INCIDENT_IMPACT_MINOR", "INCIDENT_IMPACT_MAJOR", "INCIDENT_IMPACT_CRITICAL"] as const;

/** Secret config keys (all `pulumi config set --secret`). */
export const ALERT_SECRET_KEYS = {
  analyticsToken: "alertsAnalyticsToken",
  webhookSecret: "alertsWebhookSecret",
  pagerdutyRoutingKey: "alertsPagerdutyRoutingKey",
} as const;

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

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const CONFIG_KEY = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** Keys the yaml adds around the Worker's ALERTS value. */
const INFRA_KEYS = ["analyticsToken", "native"] as const;

function infraOnly(raw: unknown): { worker: Record<string, unknown>; infra: Fields; dest: Record<string, unknown> } {
  const root = new Fields(raw, "alerts", ["cron", "lagMinutes", "failureRuns", "rules", "destinations", "endpoints", ...INFRA_KEYS]);
  const dest = (root.o.destinations ?? {}) as Record<string, unknown>;
  const worker: Record<string, unknown> = Object.fromEntries(Object.entries(root.o).filter(([k]) => !(INFRA_KEYS as readonly string[]).includes(k)));
  if (typeof dest === "object" && dest !== null && !Array.isArray(dest)) {
    const { emails: _e, ...rest } = dest;
    worker.destinations = {
      ...rest,
      webhooks: Array.isArray(rest.webhooks)
        ? rest.webhooks.map((w) => (typeof w === "object" && w !== null ? Object.fromEntries(Object.entries(w).filter(([k]) => k !== "secretKey")) : w))
        : rest.webhooks,
    };
  }
  return { worker, infra: root, dest };
}

function parse(raw: unknown): AlertsConfig {
  const { worker, infra, dest } = infraOnly(raw);
  let binding: AlertsBinding;
  try {
    binding = parseAlertsBinding(worker);
  } catch (err) {
    // The Worker's parser names paths from its root; the stack key is `alerts`.
    if (err instanceof AlertsConfigError) throw new AlertsConfigError(err.path ? `alerts.${err.path}` : "alerts", err.problem);
    throw err;
  }

  const d = new Fields(dest, "alerts.destinations", ["webhooks", "pagerduty", "emails"]);
  const webhooks = binding.destinations.webhooks.map((w, i) => {
    const f = new Fields(d.list("webhooks")[i], `alerts.destinations.webhooks[${i}]`, ["name", "url", "secretKey"]);
    const secretKey = f.str("secretKey", ALERT_SECRET_KEYS.webhookSecret);
    if (!CONFIG_KEY.test(secretKey)) throw new AlertsConfigError(f.at("secretKey"), "must be a config key name (letters, digits, '_' or '-')");
    return { ...w, secretKey };
  });
  const emails = d.list("emails").map((e, i) => {
    if (typeof e !== "string" || !EMAIL.test(e)) throw new AlertsConfigError(`alerts.destinations.emails[${i}]`, "must be an email address");
    return e;
  });

  const native: AlertsConfig["native"] = {};
  const n = new Fields(infra.o.native ?? {}, "alerts.native", ["billingUsage", "incidents"]);
  if (n.has("billingUsage")) {
    const b = new Fields(n.o.billingUsage, "alerts.native.billingUsage", ["product", "limit"]);
    native.billingUsage = { product: b.str("product"), limit: b.num("limit", 1, 1e15) };
  }
  if (n.has("incidents")) {
    const f = new Fields(n.o.incidents, "alerts.native.incidents", ["components", "impacts"]);
    const components = f.list("components").map((c, i) => {
      if (typeof c !== "string" || c.trim() === "") throw new AlertsConfigError(`alerts.native.incidents.components[${i}]`, "must be a non-empty string");
      return c;
    });
    if (components.length === 0) throw new AlertsConfigError("alerts.native.incidents.components", "must name at least one component");
    const impacts = f.list("impacts").map((x, i) => {
      if (!INCIDENT_IMPACTS.includes(x as (typeof INCIDENT_IMPACTS)[number])) {
        throw new AlertsConfigError(`alerts.native.incidents.impacts[${i}]`, `must be one of: ${INCIDENT_IMPACTS.join(", ")}`);
      }
      return x as (typeof INCIDENT_IMPACTS)[number];
    });
    native.incidents = { components, impacts: impacts.length > 0 ? impacts : ["INCIDENT_IMPACT_MAJOR", "INCIDENT_IMPACT_CRITICAL"] };
  }
  if ((native.billingUsage || native.incidents) && webhooks.length === 0 && emails.length === 0) {
    throw new AlertsConfigError("alerts.native", "needs a webhook or an email in alerts.destinations to notify");
  }

  return { binding, analyticsToken: infra.oneOf("analyticsToken", ANALYTICS_TOKEN_SOURCES, "mint"), webhooks, emails, native };
}

/**
 * Validates the stack's `alerts` value (the parsed yaml object). Throws ConfigError naming
 * `<project>:alerts.<path>` and the stack. Pure: no Pulumi runtime needed.
 */
export function parseAlertsConfig(raw: unknown, stack: string, project = "ai-gateway-stack"): AlertsConfig {
  try {
    return parse(raw);
  } catch (err) {
    if (err instanceof AlertsConfigError) throw new ConfigError(`${project}:${err.path}`, stack, err.problem);
    throw err;
  }
}

/**
 * Reads `alerts` and the secrets it needs from the current stack's config; undefined when the stack has no alerts.
 * Secrets only through requireSecret, so they stay Pulumi secrets all the way to the Worker's bindings.
 */
export function readAlertsConfig(cfg: pulumi.Config, stack: string): { config: AlertsConfig; secrets: AlertsSecrets } | undefined {
  const project = cfg.name;
  const text = cfg.get("alerts");
  if (text === undefined) return undefined;
  let raw: unknown = text;
  try {
    raw = JSON.parse(text);
  } catch {
    // A plain string where the object belongs: validation names the shape.
  }
  const config = parseAlertsConfig(raw, stack, project);
  const require = (key: string, why: string) => {
    // Blank counts as unset, as for every other secret of the program: a blank webhook secret would sign nothing.
    if ((cfg.get(key) ?? "").trim() === "") throw new ConfigError(`${project}:${key}`, stack, `must be set (pulumi config set --secret ${key} ...) ${why}`);
    return cfg.requireSecret(key);
  };
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
      ...(config.analyticsToken === "config" ? { analyticsToken: require(ALERT_SECRET_KEYS.analyticsToken, "because alerts.analyticsToken is config") } : {}),
      ...(config.binding.destinations.pagerduty
        ? { pagerdutyRoutingKey: require(ALERT_SECRET_KEYS.pagerdutyRoutingKey, "because alerts.destinations.pagerduty is true") }
        : {}),
    },
  };
}
