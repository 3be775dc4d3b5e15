/**
 * The stack's configuration, read once and validated before any resource is declared. Every difference between
 * stacks lives in Pulumi.<stack>.yaml; the shapes, ranges and defaults are the stack schema's (infra/stack-schema.ts;
 * Pulumi.yaml documents them). A bad value stops the program with a message naming the key and the stack (one
 * format: infra/config-error.ts); secret values are never echoed.
 */
import * as pulumi from "@pulumi/pulumi";
import { parseWith, type Routing } from "../worker/src/contract";
import { configValue, readAlertsConfig, requireSecretKey, secretIsSet } from "./alerts-config";
import { asConfigError, ConfigError } from "./config-error";
import { type Budgets, type GatewaySettings, type RoutesSettings, stackSchema, type WorkerSettings } from "./stack-schema";

export { ConfigError } from "./config-error";
export type { GatewaySettings, RoutesSettings } from "./stack-schema";
export { configurableVars, routePatternProblem } from "./stack-schema";

/** Everything but the secrets: plain data, validated by validateSettings. */
export interface Settings {
  accountId: string;
  /** "<name>-<stack>": the gateway id and the Worker script name. */
  resourceName: string;
  protect: boolean;
  gatewayTokenSource: "mint" | "config";
  gateway: GatewaySettings;
  worker: WorkerSettings;
  routing: Routing;
  /** Client ids that may call (the CLIENTS binding); their key digests are the secret clientKeys. */
  clients: string[];
  routes: RoutesSettings;
  crons: string[];
  /** Offline runs under the SDK mocks only (plan, tests): let sample placeholders through (infra/placeholders.ts). */
  allowPlaceholders: boolean;
  /** The BUDGETS binding, checked against clients and routing; undefined: no spend control, no ledger. */
  budgets?: Budgets;
}

export interface StackConfig extends Settings {
  stack: string;
  secrets: {
    anthropicApiKey: pulumi.Output<string>;
    openaiApiKey: pulumi.Output<string>;
    clientKeys: pulumi.Output<string>;
    /** Set when gatewayTokenSource is "config". */
    gatewayToken?: pulumi.Output<string>;
  };
  /** The stack's alerts (rules, destinations, their secrets); undefined when the stack declares none. */
  alerts?: ReturnType<typeof readAlertsConfig>;
}

/**
 * Validates the non-secret settings (the stack schema, infra/stack-schema.ts). `raw` holds the stack's values by
 * unqualified key, structured ones already parsed; `alerts` is read by readAlertsConfig. Pure: no Pulumi runtime needed.
 */
export function validateSettings(raw: Record<string, unknown>, project: string, stack: string): Settings {
  // A key set to undefined is a key the stack leaves out; alerts are read by readAlertsConfig.
  const given = Object.fromEntries(Object.entries(raw).filter(([k, value]) => value !== undefined && k !== "alerts"));
  const s = asConfigError(project, stack, "", () => parseWith(stackSchema(stack), given));
  return {
    accountId: s.accountId,
    resourceName: `${s.name}-${stack}`,
    protect: s.protect,
    gatewayTokenSource: s.gatewayTokenSource,
    gateway: s.gateway,
    worker: s.worker,
    routing: s.routing,
    clients: s.clients,
    routes: s.routes,
    crons: s.crons,
    allowPlaceholders: s.allowPlaceholders,
    ...(s.budgets ? { budgets: s.budgets } : {}),
  };
}

const STRUCTURED = ["gateway", "worker", "routing", "clients", "routes", "crons", "budgets"] as const;
const SCALARS = ["accountId", "name", "gatewayTokenSource"] as const;

/** Reads and validates the current stack's config; throws ConfigError before anything is declared. */
export function loadConfig(): StackConfig {
  const project = pulumi.getProject();
  const stack = pulumi.getStack();
  const cfg = new pulumi.Config(project);
  const fail = (key: string, problem: string): never => {
    throw new ConfigError(`${project}:${key}`, stack, problem);
  };

  const raw: Record<string, unknown> = {};
  for (const key of SCALARS) raw[key] = cfg.get(key);
  for (const key of ["protect", "allowPlaceholders"]) {
    const v = cfg.get(key);
    if (v !== undefined) raw[key] = v === "true" ? true : v === "false" ? false : v;
  }
  for (const key of STRUCTURED) {
    const text = cfg.get(key);
    if (text !== undefined) raw[key] = configValue(text);
  }
  const settings = validateSettings(raw, project, stack);

  // A missing secret names its stack like every other key.
  const secret = (key: string) =>
    requireSecretKey(cfg, stack, key, `is missing or empty: set it with pulumi config set --secret ${key} <value> --stack ${stack}`);
  if (settings.gatewayTokenSource === "mint" && secretIsSet(cfg, "gatewayToken")) {
    fail("gatewayToken", 'is set but gatewayTokenSource is "mint": remove it or set gatewayTokenSource to config');
  }
  const alerts = readAlertsConfig(cfg, stack);
  return {
    ...settings,
    stack,
    alerts,
    secrets: {
      anthropicApiKey: secret("anthropicApiKey"),
      openaiApiKey: secret("openaiApiKey"),
      clientKeys: secret("clientKeys"),
      ...(settings.gatewayTokenSource === "config" ? { gatewayToken: secret("gatewayToken") } : {}),
    },
  };
}
