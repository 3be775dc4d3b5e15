/**
 * The stack's Cloudflare AI Gateway: authenticated, with the stack's cache, rate limit, log retention and retries,
 * plus spend limits and guardrails when the stack has them. One gateway per stack, named after it.
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import type { GatewaySettings } from "../config";

export interface AiGatewayArgs extends GatewaySettings {
  /** Cloudflare account that owns the gateway. */
  accountId: pulumi.Input<string>;
  /** Gateway id, unique in the account (and used in every gateway URL). */
  gatewayId: string;
  /** Reject calls without a valid cf-aig-authorization token. Cloudflare rejects new unauthenticated gateways. @default true */
  authentication?: boolean;
}

/** The AiGateway inputs for the settings: the one place config names meet Cloudflare's names. */
export function gatewayInputs(args: AiGatewayArgs): cloudflare.AiGatewayArgs {
  const inputs: cloudflare.AiGatewayArgs = {
    accountId: args.accountId,
    aiGatewayId: args.gatewayId,
    authentication: args.authentication ?? true,
    cacheTtl: args.cacheTtl,
    cacheInvalidateOnUpdate: args.cacheInvalidateOnUpdate,
    rateLimitingLimit: args.rateLimit.limit,
    rateLimitingInterval: args.rateLimit.interval,
    rateLimitingTechnique: args.rateLimit.technique,
    collectLogs: args.logs.collect,
    logManagement: args.logs.maxStored,
    logManagementStrategy: args.logs.strategy,
    retryMaxAttempts: args.retries.maxAttempts,
    retryDelay: args.retries.delayMs,
    retryBackoff: args.retries.backoff,
  };
  if (args.spendLimits) {
    inputs.spendLimits = {
      enabled: args.spendLimits.enabled,
      rules: args.spendLimits.rules.map((rule) => ({
        limit: rule.limit,
        limitType: "cost",
        window: rule.window,
        technique: rule.technique,
        ...(rule.providers ? { aiGatewayProvider: { mode: "filter", values: rule.providers } } : {}),
        ...(rule.models ? { model: { mode: "filter", values: rule.models } } : {}),
      })),
    };
  }
  if (args.guardrails) inputs.guardrails = { prompt: args.guardrails.prompt, response: args.guardrails.response };
  return inputs;
}

export class AiGateway extends pulumi.ComponentResource {
  /** The gateway id, as it appears in gateway URLs. */
  public readonly gatewayId: pulumi.Output<string>;
  public readonly gateway: cloudflare.AiGateway;

  constructor(name: string, args: AiGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ai-gateway-stack:infra:AiGateway", name, {}, opts);
    this.gateway = new cloudflare.AiGateway(name, gatewayInputs(args), { parent: this });
    this.gatewayId = this.gateway.aiGatewayId;
    this.registerOutputs({ gatewayId: this.gatewayId });
  }
}
