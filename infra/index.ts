/**
 * The composition root: read the stack's config, declare its gateway, token, Worker (with its budget ledger when the
 * stack declares budgets), routes and schedules, export what a caller needs. Every stack difference comes from Pulumi.<stack>.yaml (see infra/config.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { BUDGET_LEDGER_CLASS, BUDGET_LEDGER_MIGRATIONS } from "./budget-ledger";
import { AiGateway } from "./components/ai-gateway";
import { Alerts } from "./components/alerts";
import { GatewayToken } from "./components/gateway-token";
import { Routes } from "./components/routes";
import { mergeCrons, Schedules } from "./components/schedules";
import { Worker } from "./components/worker";
import { loadConfig } from "./config";
import { gatewayTokenPermissions, groupName } from "./permissions";
import { refusePlaceholders } from "./placeholders";

const cfg = loadConfig();
// A sample value would reach Cloudflare: stop now with every key to set, not half way through a deploy.
refusePlaceholders(cfg, pulumi.getProject(), cfg.stack);
const opts = { protect: cfg.protect };
const { accountId, resourceName } = cfg;

const gateway = new AiGateway("gateway", { accountId, gatewayId: resourceName, ...cfg.gateway }, opts);
const token = new GatewayToken(
  "gateway-token",
  cfg.secrets.gatewayToken
    ? { source: "config", value: cfg.secrets.gatewayToken }
    : {
        source: "mint",
        accountId,
        tokenName: `${resourceName} worker`,
        permissionGroups: gatewayTokenPermissions(cfg.routing).map(groupName),
      },
  opts,
);
// Spend control: the price table and budgets (BUDGETS) and the per-client ledger (BUDGET_LEDGER), or neither.
const budgetBindings = cfg.budgets ? { BUDGETS: cfg.budgets, BUDGET_LEDGER: { className: BUDGET_LEDGER_CLASS } } : {};
const alerts = cfg.alerts && new Alerts("alerts", { accountId, resourceName, ...cfg.alerts }, opts);
const worker = new Worker(
  "worker",
  {
    accountId,
    scriptName: resourceName,
    compatibilityDate: cfg.worker.compatibilityDate,
    compatibilityFlags: cfg.worker.compatibilityFlags,
    observability: cfg.worker.observability,
    bindings: {
      AI_GATEWAY_ACCOUNT_ID: accountId,
      AI_GATEWAY_ID: gateway.gatewayId,
      AI_GATEWAY_TOKEN: token.value,
      ANTHROPIC_API_KEY: cfg.secrets.anthropicApiKey,
      OPENAI_API_KEY: cfg.secrets.openaiApiKey,
      CLIENT_KEYS: cfg.secrets.clientKeys,
      CLIENTS: cfg.clients,
      ROUTING: cfg.routing,
      STACK: cfg.stack,
      RATE_LIMITER: {
        namespaceId: cfg.worker.rateLimit.namespaceId,
        simple: { limit: cfg.worker.rateLimit.limit, period: cfg.worker.rateLimit.period },
      },
    },
    extraBindings: { ...cfg.worker.vars, ...alerts?.bindings, ...budgetBindings },
    // The ledger's class is created by the upload that first binds it; a stack without budgets declares neither.
    ...(cfg.budgets ? { migrations: BUDGET_LEDGER_MIGRATIONS } : {}),
  },
  opts,
);
const routes = new Routes("routes", { accountId, scriptName: worker.scriptName, ...cfg.routes }, opts);
new Schedules("schedules", { accountId, scriptName: worker.scriptName, crons: mergeCrons(cfg.crons, alerts?.crons ?? []) }, opts);

export const gatewayId = gateway.gatewayId;
export const workerName = worker.scriptName;
export const urls = routes.urls;
/** Per public URL, the baseURL for the Anthropic SDK (no /v1) and for the OpenAI SDK (with /v1). */
export const sdkBaseUrls = routes.sdkBaseUrls;
export const bundleSha256 = worker.bundleSha256;
