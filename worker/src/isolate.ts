/**
 * Everything the Worker derives from its bindings alone, computed once per isolate and reused by every request:
 * the parsed ROUTING, the usable client keys, the limiter and its period, the gateway's address and the header
 * values each provider call carries. A request compares the raw binding values with the ones the cached entry was
 * built from (a dozen identity checks) instead of re-reading and re-validating them.
 */

import { LeaseClient } from "./budget/lease";
import type { BudgetRuntime } from "./budget/meter";
import { type ClientKey, clientKeysOf, configError, jsonBinding, rateLimitPeriodOf, requireBindings, routingOf } from "./config";
import { parseBudgets } from "./contract/budgets";
import type { ProviderName, Routing } from "./contract/routing";
import { gatewayUrl } from "./gateway";

export interface Isolate {
  readonly routing: Routing;
  readonly keys: readonly ClientKey[];
  readonly limiter: RateLimit;
  /** RATE_LIMITER's period in seconds, for Retry-After. */
  readonly period: number;
  readonly stack: string;
  /** `{base}/{account}/{gateway}`: never logged or returned. */
  readonly gateway: string;
  /** cf-aig-authorization's value. */
  readonly gatewayAuth: string;
  /** The provider's own auth header(s), sent beside the gateway's. */
  readonly providerAuth: Readonly<Record<ProviderName, Readonly<Record<string, string>>>>;
  /** ROUTING.cors.allowOrigins as a set; `anyOrigin` when it lists "*". */
  readonly origins: ReadonlySet<string>;
  readonly anyOrigin: boolean;
  /** Spend control, when the stack declares BUDGETS: prices, limits and this isolate's leases on each client's ledger. */
  readonly budget: BudgetRuntime | undefined;
}

/** Names this isolate's leases at the ledgers: one id per isolate, made on first use (not at start-up, where workerd allows no randomness). */
let isolateId: string | undefined;

function budgetRuntime(env: Env, now: () => number, warn: (detail: string) => void): BudgetRuntime | undefined {
  const raw: unknown = env.BUDGETS;
  if (raw === undefined || raw === null || raw === "") return undefined;
  const value = jsonBinding("BUDGETS", raw);
  let budgets;
  try {
    budgets = parseBudgets(value);
  } catch (e) {
    throw configError(e instanceof Error ? `BUDGETS ${e.message}` : "BUDGETS could not be read");
  }
  const ns = env.BUDGET_LEDGER;
  // Fail closed: limits that no ledger can hold would be limits nobody enforces.
  if (typeof ns?.getByName !== "function") throw configError("BUDGETS is set but BUDGET_LEDGER (the ledger Durable Object) is not bound");
  const leases = new LeaseClient({
    budgets,
    ledger: (client) => ns.getByName(client),
    now,
    isolateId: (isolateId ??= crypto.randomUUID()),
    log: warn,
  });
  return { budgets, leases };
}

/** The bindings an Isolate is built from; a change to any of them (a new deploy, a test's env) rebuilds it. */
const SOURCES = [
  "ROUTING",
  "CLIENTS",
  "CLIENT_KEYS",
  "RATE_LIMIT_PERIOD",
  "RATE_LIMITER",
  "AI_GATEWAY_TOKEN",
  "ANTHROPIC_API_KEY",
  "OPENAI_API_KEY",
  "AI_GATEWAY_ACCOUNT_ID",
  "AI_GATEWAY_ID",
  "AI_GATEWAY_BASE_URL",
  "STACK",
  "BUDGETS",
  "BUDGET_LEDGER",
] as const satisfies readonly (keyof Env)[];

/** The cached Isolate and the raw values of SOURCES (in that order) it was built from. */
let cached: { raws: readonly unknown[]; value: Isolate } | undefined;

/** Whether env holds the very values the cached Isolate was built from: identity checks only, nothing allocated. */
function unchanged(env: Env, raws: readonly unknown[]): boolean {
  for (let i = 0; i < SOURCES.length; i++) if (env[SOURCES[i]!] !== raws[i]) return false;
  return true;
}

/** The isolate's view of its bindings; throws config_error (naming the binding, never a value) when one is broken. */
export function isolateOf(env: Env, warn: (detail: string) => void, now: () => number = Date.now): Isolate {
  if (cached && unchanged(env, cached.raws)) return cached.value;
  const raws = SOURCES.map((name) => env[name]);
  requireBindings(env);
  const routing = routingOf(env);
  const keys = clientKeysOf(env, warn);
  const limiter: RateLimit | undefined = env.RATE_LIMITER;
  if (typeof limiter?.limit !== "function") throw configError("RATE_LIMITER is not bound");
  const period = rateLimitPeriodOf(env);
  const gatewayToken = `Bearer ${env.AI_GATEWAY_TOKEN}`;
  const value: Isolate = {
    routing,
    keys,
    limiter,
    period,
    stack: env.STACK,
    gateway: gatewayUrl(env),
    gatewayAuth: gatewayToken,
    providerAuth: {
      anthropic: { "x-api-key": env.ANTHROPIC_API_KEY },
      openai: { authorization: `Bearer ${env.OPENAI_API_KEY}` },
      // Workers AI through the gateway is authorised by the gateway token (minted with Workers AI permission too).
      "workers-ai": { authorization: gatewayToken },
    },
    origins: new Set(routing.cors.allowOrigins),
    anyOrigin: routing.cors.allowOrigins.includes("*"),
    budget: budgetRuntime(env, now, warn),
  };
  cached = { raws, value };
  return value;
}
