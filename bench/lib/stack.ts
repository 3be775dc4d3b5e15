/**
 * The local stack both the bench (bench/run.ts) and the profiler (bench/profile.ts) measure: the gateway stand-in in
 * its own process, bench copies of the Worker's and the bare proxy's wrangler configs pointed at it, throwaway
 * secrets, and the workerd subjects that serve the built bundles. Nothing under worker/ is written.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { readJsonc } from "../../infra/wrangler-config";
import { standinControl } from "../../scripts/gateway-standin/client";
import type { Provider, StandinCounters } from "../../scripts/gateway-standin/index";
import { copyWranglerConfig, envFileText, sha256Hex } from "../../scripts/local-stack";
import { LEDGER_METHODS } from "./budget";
import { freePort, HOST, waitUntil } from "./net";
import { type Managed, spawnManaged } from "./procs";
import type { DurableObjectSpec, WorkerdSubject } from "./workerd";
import type { Surface } from "./workload";
import { toolEnv } from "./wrangler";

/** Secrets the bench gives the Worker: throwaway values that exist only for this process. */
export const GATEWAY_TOKEN = `bench-gateway-${randomBytes(8).toString("hex")}`;
export const CLIENT_KEY = `bench-key-${randomBytes(12).toString("hex")}`;
const ANTHROPIC_VERSION = "2023-06-01";

/** Worker path, upstream provider and end marker of a complete stream, per surface. */
export const SURFACES: Record<Surface, { workerPath: string; provider: Provider; endMarker: string }> = {
  messages: { workerPath: "/v1/messages", provider: "anthropic", endMarker: "message_stop" },
  chatCompletions: { workerPath: "/v1/chat/completions", provider: "openai", endMarker: "[DONE]" },
};

/** How a client calls the gateway Worker on a surface: its path and the headers the official SDK would send. */
export function workerRequest(surface: Surface): { path: string; headers: Record<string, string> } {
  return {
    path: SURFACES[surface].workerPath,
    headers:
      surface === "messages"
        ? { "x-api-key": CLIENT_KEY, "anthropic-version": ANTHROPIC_VERSION }
        : { authorization: `Bearer ${CLIENT_KEY}` },
  };
}

/**
 * Headers of the Worker's own upstream call, replayed on the direct and pass-through targets so those send what the
 * Worker sends. Connection-level headers and the Worker's custom cache key are left out: without a key the
 * stand-in hashes the body, the same work per request as looking up a given key.
 */
export function upstreamHeadersFrom(recorded: Record<string, string>): Record<string, string> {
  const drop = new Set(["host", "content-length", "connection", "keep-alive", "transfer-encoding", "cf-aig-cache-key"]);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(recorded)) {
    const name = k.toLowerCase();
    if (drop.has(name)) continue;
    if (name.startsWith("cf-") && !name.startsWith("cf-aig-")) continue;
    if (name.startsWith("x-forwarded-")) continue;
    out[name] = v;
  }
  return out;
}

export interface StandinProcess {
  readonly origin: string;
  readonly baseUrl: string;
  readonly proc: Managed;
  clearCache(): Promise<void>;
  lastRecord(provider: Provider): Promise<{ path: string; headers: Record<string, string> }>;
  counters(): Promise<StandinCounters>;
  /** Holds every call to `provider` whose body contains `match` for `latencyMs` before answering (null: release). */
  holdCalls(provider: Provider, hold: { match: string; latencyMs: number } | null): Promise<void>;
}

export async function startStandinProcess(root: string, tmp: string): Promise<StandinProcess> {
  const port = await freePort();
  const logFile = join(tmp, "standin.log");
  // Its own process, so the stand-in's work never competes with the load generator's event loop.
  const proc = spawnManaged(
    "gateway stand-in",
    join(root, "node_modules", ".bin", "tsx"),
    [
      join(root, "scripts", "gateway-standin", "cli.ts"),
      "--port",
      String(port),
      "--host",
      HOST,
      "--token",
      GATEWAY_TOKEN,
      "--record-limit",
      "8",
    ],
    { logFile, cwd: root, env: toolEnv(root) },
  );
  let exited: string | undefined;
  void proc.exited.then((c) => (exited = String(c)));
  const origin = `http://${HOST}:${port}`;
  await waitUntil(async () => (await fetch(`${origin}/__standin/healthz`)).ok, {
    timeoutMs: 30_000,
    what: `gateway stand-in (log: ${logFile})`,
    failed: () => (exited !== undefined ? `exited with ${exited}` : undefined),
  });
  const control = standinControl(origin);
  return {
    origin,
    baseUrl: `${origin}/v1`,
    proc,
    clearCache: () => control.clearCache(),
    async lastRecord(provider) {
      const rec = (await control.records()).filter((r) => r.provider === provider).pop();
      if (!rec) throw new Error(`the stand-in saw no ${provider} call from the Worker`);
      return { path: rec.path, headers: rec.headers };
    },
    counters: () => control.counters(),
    holdCalls: (provider, hold) => control.setFault(provider, hold === null ? null : { match: hold.match, latencyMs: hold.latencyMs }),
  };
}

/**
 * The client the bench calls as: the first id the Worker's config allows (a CLIENTS allow-list var, when there is
 * one), so the bench uses the local config as committed rather than adding a client to it.
 */
export function benchClientId(vars: Record<string, unknown>): string {
  const listed = vars.CLIENTS;
  const first = Array.isArray(listed) ? listed.find((x): x is string => typeof x === "string") : undefined;
  return first ?? "bench-client";
}

/** Values for every secret the Worker's config requires: the ones the bench needs, placeholders for the rest. */
function workerSecrets(required: readonly string[], clientId: string): Record<string, string> {
  const known: Record<string, string> = {
    AI_GATEWAY_TOKEN: GATEWAY_TOKEN,
    ANTHROPIC_API_KEY: `bench-anthropic-${randomBytes(6).toString("hex")}`,
    OPENAI_API_KEY: `bench-openai-${randomBytes(6).toString("hex")}`,
    CLIENT_KEYS: JSON.stringify({ [clientId]: sha256Hex(CLIENT_KEY) }),
  };
  const out: Record<string, string> = { ...known };
  for (const name of required) out[name] ??= `bench-unused-${name.toLowerCase()}`;
  return out;
}

/**
 * The bench client's limits in the budget subject: the most BUDGETS allows per month and a tenth of it per day,
 * so no bench load comes near them (each request holds well under a cent), while both windows stay on the path.
 */
export const BENCH_CLIENT_LIMITS = { dailyUsd: 1_000_000, monthlyUsd: 10_000_000 } as const;

/** The Worker's BUDGETS as committed, with the bench client's own entry replaced by limits the load cannot reach. */
export interface BenchBudgets {
  readonly value: Record<string, unknown>;
  readonly client: string;
  readonly limits: typeof BENCH_CLIENT_LIMITS;
}

/** BUDGETS from the config's vars with `client`'s limits raised; undefined when the config declares no budgets. */
export function benchBudgets(vars: Record<string, unknown>, client: string): BenchBudgets | undefined {
  const b = vars.BUDGETS;
  if (b === undefined || b === null || typeof b !== "object") return undefined;
  const budgets = b as Record<string, unknown>;
  const clients = (budgets.clients as Record<string, unknown> | undefined) ?? {};
  return { value: { ...budgets, clients: { ...clients, [client]: { ...BENCH_CLIENT_LIMITS } } }, client, limits: BENCH_CLIENT_LIMITS };
}

/** The config's Durable Object bindings, SQLite-backed when a migration lists the class in new_sqlite_classes. */
export function durableObjectsOf(cfg: Record<string, unknown>): DurableObjectSpec[] {
  const bindings = (cfg.durable_objects as { bindings?: Array<{ name: string; class_name: string }> } | undefined)?.bindings ?? [];
  const migrations = (cfg.migrations as Array<{ new_sqlite_classes?: string[] }> | undefined) ?? [];
  const sqlite = new Set(migrations.flatMap((m) => m.new_sqlite_classes ?? []));
  return bindings.map((b) => ({ binding: b.name, className: b.class_name, sql: sqlite.has(b.class_name) }));
}

export interface StackConfigs {
  /** Bench copy of worker/wrangler.jsonc, pointed at the stand-in, with a rate limit the load cannot reach. */
  readonly workerCfgPath: string;
  readonly workerCfg: Record<string, unknown>;
  readonly secrets: Record<string, string>;
  /** The same secrets as an --env-file for wrangler dev (mode 0600, in the temp dir). */
  readonly workerEnv: string;
  readonly passCfgPath: string;
  readonly passCfg: Record<string, unknown>;
  readonly passEnv: string;
  /** The budget subject's BUDGETS (undefined when worker/wrangler.jsonc declares none). */
  readonly budgets: BenchBudgets | undefined;
  /** The bench client id (first of CLIENTS). */
  readonly clientId: string;
}

/** Writes the bench configs into `tmp` for the Worker source in `sourceDir` and the bare proxy in the repository. */
export function writeStackConfigs(root: string, sourceDir: string, si: StandinProcess, tmp: string): StackConfigs {
  const workerCfgPath = join(tmp, "worker.wrangler.json");
  const workerCfg = copyWranglerConfig(join(sourceDir, "worker", "wrangler.jsonc"), workerCfgPath, {
    name: "bench-gateway-worker",
    // The Worker targets run without budgets; the budget subject (budgetWorkerSubjectFor) puts the committed
    // BUDGETS back, with a ledger Durable Object, to measure what the budget check costs.
    vars: { AI_GATEWAY_BASE_URL: si.baseUrl, BUDGETS: undefined },
    rateLimit: { limit: 1_000_000_000 },
  });
  const required = ((workerCfg.secrets as { required?: string[] } | undefined)?.required ?? []).slice();
  const clientId = benchClientId((workerCfg.vars as Record<string, unknown> | undefined) ?? {});
  const secrets = workerSecrets(required, clientId);
  const committedVars = (readJsonc(join(sourceDir, "worker", "wrangler.jsonc")).vars as Record<string, unknown> | undefined) ?? {};
  const budgets = benchBudgets(committedVars, clientId);
  const workerEnv = join(tmp, "worker.env");
  writeFileSync(workerEnv, envFileText(secrets), { mode: 0o600 });
  const passCfgPath = join(tmp, "passthrough.wrangler.json");
  const passCfg = copyWranglerConfig(join(root, "bench", "passthrough", "wrangler.jsonc"), passCfgPath, {
    name: "bench-passthrough",
    set: { compatibility_date: workerCfg.compatibility_date, compatibility_flags: workerCfg.compatibility_flags ?? [] },
    vars: { UPSTREAM: si.origin },
  });
  const passEnv = join(tmp, "passthrough.env");
  writeFileSync(passEnv, envFileText({ UPSTREAM: si.origin }));
  return { workerCfgPath, workerCfg, secrets, workerEnv, passCfgPath, passCfg, passEnv, budgets, clientId };
}

/** The gateway Worker's built bundle as a workerd subject, with the config's vars and the bench's secrets. */
export function workerSubjectFor(c: StackConfigs, bundlePath: string): WorkerdSubject {
  const vars = (c.workerCfg.vars as Record<string, unknown> | undefined) ?? {};
  return {
    name: "worker",
    bundlePath,
    compatibilityDate: String(c.workerCfg.compatibility_date),
    compatibilityFlags: (c.workerCfg.compatibility_flags as string[] | undefined) ?? [],
    text: {
      ...(Object.fromEntries(Object.entries(vars).filter(([, v]) => typeof v === "string")) as Record<string, string>),
      ...c.secrets,
    },
    json: Object.fromEntries(Object.entries(vars).filter(([, v]) => typeof v !== "string" && v !== undefined)),
    ratelimits: ((c.workerCfg.ratelimits as Array<{ name: string }> | undefined) ?? []).map((r) => r.name),
    kv: ((c.workerCfg.kv_namespaces as Array<{ binding: string }> | undefined) ?? []).map((k) => k.binding),
  };
}

/**
 * The same bundle with budgets on: BUDGETS as committed (the bench client's limits raised, benchBudgets) and the
 * config's Durable Object namespaces real, in memory, their calls counted (LEDGER_METHODS).
 */
export function budgetWorkerSubjectFor(c: StackConfigs, bundlePath: string): WorkerdSubject {
  if (!c.budgets) throw new Error("worker/wrangler.jsonc declares no BUDGETS: there is no budget check to measure");
  const durableObjects = durableObjectsOf(c.workerCfg);
  if (durableObjects.length === 0) throw new Error("worker/wrangler.jsonc binds no Durable Object: the budget ledger has nowhere to run");
  const base = workerSubjectFor(c, bundlePath);
  return {
    ...base,
    name: "worker-budgets",
    json: { ...base.json, BUDGETS: c.budgets.value },
    durableObjects,
    countDurableObjectCalls: LEDGER_METHODS,
  };
}

/** The bare proxy's built bundle as a workerd subject. */
export function proxySubjectFor(c: StackConfigs, bundlePath: string, si: StandinProcess): WorkerdSubject {
  return {
    name: "passthrough",
    bundlePath,
    compatibilityDate: String(c.passCfg.compatibility_date),
    compatibilityFlags: (c.passCfg.compatibility_flags as string[] | undefined) ?? [],
    text: { UPSTREAM: si.origin },
  };
}
