/**
 * Alerts for one stack. Cloudflare has no AI Gateway alert type, so the cost/error-rate/usage-spike rules run in the
 * Worker on a cron (worker/src/alerts); this component declares what they need — the KV namespace for their state,
 * the webhook destinations they post to, the analytics token — and the native notification policies that do exist
 * (billing_usage_alert, incident_alert) pointed at the same destinations. The Worker component takes `bindings`,
 * the schedules component takes `crons`.
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import type { BindingName } from "../../worker/src/contract/bindings";
import type { AlertsConfig, AlertsSecrets } from "../alerts-config";
import { analyticsTokenPermissions, groupName } from "../permissions";
import { permissionGroupIds, tokenPolicy } from "./gateway-token";
import type { WorkerBindingValues } from "./worker";

/** The permission groups the minted analytics token carries (infra/permissions.ts), by their Cloudflare names. */
const ANALYTICS_PERMISSION_GROUPS = analyticsTokenPermissions().map(groupName);

export interface AlertsArgs {
  /** Cloudflare account that owns the destinations, policies, KV namespace and token. */
  accountId: pulumi.Input<string>;
  /** Stack-unique prefix for resource names ("<name>-<stack>"). */
  resourceName: string;
  /** The stack's validated alerts settings (readAlertsConfig / parseAlertsConfig). */
  config: AlertsConfig;
  /** Secrets from the stack config; analyticsToken is ignored when config.analyticsToken is "mint". */
  secrets: AlertsSecrets;
  /** Whether the native policies are enabled (switch them off without deleting them). @default true */
  nativeEnabled?: boolean;
}

type AlertBinding = Extract<BindingName, `ALERTS${string}`>;

export class Alerts extends pulumi.ComponentResource {
  /** Worker binding values by name, shaped as the Worker component takes them (`extraBindings`); secrets are Pulumi secrets. */
  public readonly bindings: Pick<WorkerBindingValues, AlertBinding>;
  /** Cron expressions the Worker must be triggered on for the alerts to run. */
  public readonly crons: string[];
  public readonly stateNamespaceId: pulumi.Output<string>;
  /** Webhook destination ids by webhook name. */
  public readonly webhookIds: Record<string, pulumi.Output<string>>;
  /** Native policy ids by alert type. */
  public readonly policyIds: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: AlertsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ai-gateway-stack:infra:Alerts", name, {}, opts);
    const { config, accountId, resourceName } = args;
    const child = { parent: this };

    const state = new cloudflare.WorkersKvNamespace(`${name}-state`, { accountId, title: `${resourceName}-alerts-state` }, child);
    this.stateNamespaceId = state.id;

    this.webhookIds = {};
    for (const hook of config.webhooks) {
      const secret = args.secrets.webhookSecrets[hook.name];
      if (!secret) throw new Error(`Alerts: no secret passed for webhook "${hook.name}"`);
      const dest = new cloudflare.NotificationPolicyWebhooks(
        `${name}-webhook-${hook.name}`,
        { accountId, name: `${resourceName}-${hook.name}`, url: hook.url, secret: pulumi.secret(secret) },
        child,
      );
      this.webhookIds[hook.name] = dest.id;
    }

    const mechanisms = {
      webhooks: Object.values(this.webhookIds).map((id) => ({ id })),
      emails: config.emails.map((id) => ({ id })),
    };
    const enabled = args.nativeEnabled ?? true;
    this.policyIds = {};
    if (config.native.billingUsage) {
      const b = config.native.billingUsage;
      this.policyIds.billing_usage_alert = new cloudflare.NotificationPolicy(
        `${name}-billing-usage`,
        {
          accountId,
          name: `${resourceName} usage of ${b.product} above ${b.limit}`,
          description: "Cloudflare usage-based billing threshold (native notification)",
          alertType: "billing_usage_alert",
          enabled,
          filters: { products: [b.product], limits: [String(b.limit)] },
          mechanisms,
        },
        child,
      ).id;
    }
    if (config.native.incidents) {
      const i = config.native.incidents;
      this.policyIds.incident_alert = new cloudflare.NotificationPolicy(
        `${name}-incidents`,
        {
          accountId,
          name: `${resourceName} Cloudflare incidents: ${i.components.join(", ")}`,
          description: "Cloudflare incidents affecting the components this stack runs on (native notification)",
          alertType: "incident_alert",
          enabled,
          filters: { affectedComponents: i.components, incidentImpacts: i.impacts },
          mechanisms,
        },
        child,
      ).id;
    }

    let analyticsToken: pulumi.Output<string> | undefined;
    if (config.analyticsToken === "mint") {
      // The listing is asked for the one group by name; a second group would need its own lookup (and until it has
      // one, permissionGroupIds fails rather than mint a weaker token).
      const groups = cloudflare.getAccountApiTokenPermissionGroupsListOutput(
        { accountId, name: encodeURIComponent(ANALYTICS_PERMISSION_GROUPS[0]!) },
        child,
      );
      const policy = pulumi
        .all([accountId, groups.results])
        .apply(([id, list]) => tokenPolicy(id, permissionGroupIds(list, ANALYTICS_PERMISSION_GROUPS)));
      const token = new cloudflare.AccountToken(
        `${name}-analytics-token`,
        { accountId, name: `${resourceName}-alerts-analytics-read`, policies: [policy] },
        { ...child, additionalSecretOutputs: ["value"] },
      );
      analyticsToken = pulumi.secret(token.value);
    } else {
      if (!args.secrets.analyticsToken) throw new Error('Alerts: analyticsToken is "config" but no analytics token secret was passed');
      analyticsToken = pulumi.secret(args.secrets.analyticsToken);
    }

    if (config.binding.destinations.pagerduty && !args.secrets.pagerdutyRoutingKey) {
      throw new Error("Alerts: destinations.pagerduty is true but no PagerDuty routing key secret was passed");
    }
    const webhookSecrets = pulumi
      .all(Object.fromEntries(config.webhooks.map((h) => [h.name, args.secrets.webhookSecrets[h.name]!])))
      .apply((m) => JSON.stringify(m));
    this.bindings = {
      ALERTS: config.binding,
      ALERTS_STATE: { namespaceId: state.id },
      ALERTS_ANALYTICS_TOKEN: analyticsToken,
      ALERTS_WEBHOOK_SECRETS: pulumi.secret(webhookSecrets),
      ...(config.binding.destinations.pagerduty && args.secrets.pagerdutyRoutingKey
        ? { ALERTS_PAGERDUTY_ROUTING_KEY: pulumi.secret(args.secrets.pagerdutyRoutingKey) }
        : {}),
    };
    this.crons = [config.binding.cron];

    this.registerOutputs({
      bindings: this.bindings,
      crons: this.crons,
      stateNamespaceId: this.stateNamespaceId,
      webhookIds: this.webhookIds,
      policyIds: this.policyIds,
    });
  }
}
