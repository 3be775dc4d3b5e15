/**
 * The local stack the end-to-end tests drive: the gateway stand-in in this process, and the real Worker under
 * `wrangler dev` three times (the main instance, one whose per-client limit is tiny, and one whose wall clock the
 * tests move, for budget windows), each from a generated config and freshly generated secrets in a temp dir, never
 * in the repo. Also a fetch that records every response the clients
 * receive, for the suite-wide leak scan.
 */

import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { readJsonc } from "../../infra/wrangler-config";
import { readUntilBreak } from "../../scripts/gateway-standin/client";
import { type Standin, type StandinRecord, startStandin } from "../../scripts/gateway-standin/index";
import { copyWranglerConfig, envFileText, freePort, sha256Hex, startWorker, type WorkerProcess } from "../../scripts/local-stack";
import { type ShiftedClock, shiftedClock } from "./clock";

export const ROOT = join(__dirname, "..", "..");

/** Per-client limit of the second Worker instance. */
export const TINY_LIMIT = 3;
/** bob's daily budget in USD (alice has the default, $5). */
export const BOB_DAILY_USD = 0.05;
/** carol's and dave's daily budgets in USD, for the streams that meet the budget. */
export const STREAM_DAILY_USD = 0.02;
/** Output tokens the e2e stack holds for a request that names no max_tokens (BUDGETS.estimate). */
export const DEFAULT_MAX_OUTPUT = 256;
/** alice's monthly budget (her only one) on the instance whose clock moves; bob keeps his daily one there. */
export const ALICE_MONTHLY_USD = 0.05;
/** RATE_LIMITER's period in both instances, and so the Retry-After a throttled client is told. */
export const LIMIT_PERIOD = 60;
/** Per-attempt timeout the e2e ROUTING sets, so a latency fault longer than this triggers a fallback quickly. */
export const ATTEMPT_MS = 1500;
export const VARIANT = "e2e";

export interface Seen {
  what: string;
  status: number;
  headers: [string, string][];
  body: string;
}

/** The parts of worker/wrangler.jsonc the stack reads. */
interface WranglerConfig {
  name: string;
  vars: { ROUTING: Routing; BUDGETS: Record<string, unknown> };
  secrets?: { required?: string[] };
}

interface Routing {
  models: Record<string, string[]>;
  chat: { fallback: { provider: string; model: string }[]; experiments: unknown[]; maxTokens: number };
  cacheTtl: { messages: number; chatCompletions: number; chat: number };
  limits: { maxRequestBytes: number };
  timeouts: { attemptMs: number; totalMs: number };
  [k: string]: unknown;
}

export interface Stack {
  workerUrl: string;
  limitedUrl: string;
  /** The instance whose wall clock `clock` moves; its ledgers are its own. */
  clockedUrl: string;
  clock: ShiftedClock;
  standin: Standin;
  routing: Routing;
  /**
   * Client id → plaintext key. alice and bob are listed in CLIENTS; mallory's digest is in CLIENT_KEYS but she is not
   * listed, so her key must be refused.
   */
  keys: { alice: string; bob: string; carol: string; dave: string; mallory: string };
  /** Values no client may ever see: provider keys, gateway token, account id, gateway id, gateway URL. */
  secrets: Record<string, string>;
  /** Every response a client received so far (bodies read to their end, or to where the connection broke). */
  seen(): Promise<Seen[]>;
  /** fetch that records what it receives; also handed to both SDKs. */
  fetch: typeof fetch;
  anthropic(key?: string, workerUrl?: string): Anthropic;
  openai(key?: string, workerUrl?: string): OpenAI;
  /** Stand-in records whose body contains `marker`. */
  recordsFor(marker: string): StandinRecord[];
  stop(): Promise<void>;
}

const rnd = (n = 12) => randomBytes(n).toString("hex");

/** A unique word per test: faults match on it and records are filtered by it, so tests never see each other's calls. */
export const marker = (label: string) => `${label}-${rnd(4)}`;

const WRANGLER_CONFIG = join(ROOT, "worker", "wrangler.jsonc");

function writeInstance(
  dir: string,
  base: WranglerConfig,
  vars: Record<string, unknown>,
  limit: number,
  secrets: Record<string, string>,
): string {
  const config = join(dir, "wrangler.json");
  copyWranglerConfig(WRANGLER_CONFIG, config, {
    name: `${base.name}-e2e`,
    vars: { ...vars, RATE_LIMIT_PERIOD: String(LIMIT_PERIOD) },
    rateLimit: { limit, period: LIMIT_PERIOD },
  });
  // wrangler dev reads .dev.vars beside its config.
  const required = base.secrets?.required ?? [];
  writeFileSync(join(dir, ".dev.vars"), envFileText(Object.fromEntries(required.map((name) => [name, secrets[name] ?? ""]))));
  return config;
}

export async function startStack(): Promise<Stack> {
  const keys = {
    alice: `ck-alice-${rnd()}`,
    bob: `ck-bob-${rnd()}`,
    carol: `ck-carol-${rnd()}`,
    dave: `ck-dave-${rnd()}`,
    mallory: `ck-mallory-${rnd()}`,
  };
  const secrets: Record<string, string> = {
    AI_GATEWAY_TOKEN: `gwtok-${rnd()}`,
    ANTHROPIC_API_KEY: `sk-ant-e2e-${rnd()}`,
    OPENAI_API_KEY: `sk-oai-e2e-${rnd()}`,
    CLIENT_KEYS: JSON.stringify(Object.fromEntries(Object.entries(keys).map(([id, key]) => [id, sha256Hex(key)]))),
    ALERTS_WEBHOOK_SECRETS: "{}",
  };
  const account = `acct${rnd(8)}`;
  const gateway = `gw${rnd(6)}`;

  const standin = await startStandin({
    token: secrets.AI_GATEWAY_TOKEN,
    providerKeys: { anthropic: secrets.ANTHROPIC_API_KEY, openai: secrets.OPENAI_API_KEY },
    recordLimit: 10_000,
  });

  const base = readJsonc(WRANGLER_CONFIG) as unknown as WranglerConfig;
  // Secrets the config requires that these tests do not use (alerting) still get unique values, so the scan covers them.
  const extra: Record<string, string> = {};
  for (const name of base.secrets?.required ?? []) if (!(name in secrets)) extra[name] = `unused-${name.toLowerCase()}-${rnd(6)}`;
  Object.assign(secrets, extra);
  const r = base.vars.ROUTING;
  const routing: Routing = {
    ...r,
    // One variant whose first choice is the head of the chain: /api/chat tries Anthropic → OpenAI → Workers AI.
    chat: { ...r.chat, experiments: [{ name: VARIANT, weight: 1, target: r.chat.fallback[0] }] },
    timeouts: { attemptMs: ATTEMPT_MS, totalMs: 12_000 },
  };
  const vars = {
    AI_GATEWAY_ACCOUNT_ID: account,
    AI_GATEWAY_ID: gateway,
    AI_GATEWAY_BASE_URL: standin.baseUrl,
    STACK: "e2e",
    ROUTING: routing,
    CLIENTS: ["alice", "bob", "carol", "dave"],
    // The local prices; bob, carol and dave get budgets small enough for a test to spend them, alice the default.
    BUDGETS: {
      ...base.vars.BUDGETS,
      clients: { bob: { dailyUsd: BOB_DAILY_USD }, carol: { dailyUsd: STREAM_DAILY_USD }, dave: { dailyUsd: STREAM_DAILY_USD } },
      default: { dailyUsd: 5 },
      estimate: { defaultMaxOutputTokens: DEFAULT_MAX_OUTPUT },
    },
  };
  const clockedVars = {
    ...vars,
    BUDGETS: { ...vars.BUDGETS, clients: { bob: { dailyUsd: BOB_DAILY_USD }, alice: { monthlyUsd: ALICE_MONTHLY_USD } } },
  };

  const dirs = [
    mkdtempSync(join(tmpdir(), "e2e-worker-")),
    mkdtempSync(join(tmpdir(), "e2e-limited-")),
    mkdtempSync(join(tmpdir(), "e2e-clocked-")),
  ];
  const clock = shiftedClock(dirs[2]!);
  const workers: WorkerProcess[] = [];
  const stop = async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await standin.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };
  let mainUrl = "";
  let limitedUrl = "";
  let clockedUrl = "";
  try {
    const instances = [
      { dir: dirs[0]!, limit: 10_000, vars, env: {} },
      { dir: dirs[1]!, limit: TINY_LIMIT, vars, env: {} },
      { dir: dirs[2]!, limit: 10_000, vars: clockedVars, env: clock.env },
    ];
    const started = await Promise.allSettled(
      instances.map(async ({ dir, limit, vars, env }) => {
        const w = await startWorker({
          root: ROOT,
          config: writeInstance(dir, base, vars, limit, secrets),
          port: await freePort(),
          persistTo: join(dir, "state"),
          readyTimeoutMs: 100_000,
          env,
        });
        workers.push(w);
        return w.url;
      }),
    );
    for (const s of started) if (s.status === "rejected") throw s.reason;
    const urls = started.map((s) => (s.status === "fulfilled" ? s.value : ""));
    mainUrl = urls[0] ?? "";
    limitedUrl = urls[1] ?? "";
    clockedUrl = urls[2] ?? "";
  } catch (e) {
    await stop();
    throw e;
  }

  const pending: Promise<Seen>[] = [];
  const rec: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const what = `${init?.method ?? (input instanceof Request ? input.method : "GET")} ${input instanceof Request ? input.url : String(input)}`;
    const copy = res.clone();
    pending.push(
      readUntilBreak(copy.body).then(({ text }) => ({ what, status: res.status, headers: [...res.headers.entries()], body: text })),
    );
    return res;
  };

  return {
    workerUrl: mainUrl,
    limitedUrl,
    clockedUrl,
    clock,
    standin,
    routing,
    keys,
    secrets: {
      AI_GATEWAY_TOKEN: secrets.AI_GATEWAY_TOKEN!,
      ANTHROPIC_API_KEY: secrets.ANTHROPIC_API_KEY!,
      OPENAI_API_KEY: secrets.OPENAI_API_KEY!,
      ...extra,
      account,
      gateway,
      gatewayUrl: standin.url.replace("http://", ""),
      cloudflareGateway: "gateway.ai.cloudflare.com",
    },
    seen: async () => Promise.all(pending),
    fetch: rec,
    anthropic: (key = keys.alice, url = mainUrl) => new Anthropic({ baseURL: url, apiKey: key, fetch: rec, maxRetries: 0 }),
    openai: (key = keys.alice, url = mainUrl) => new OpenAI({ baseURL: `${url}/v1`, apiKey: key, fetch: rec, maxRetries: 0 }),
    recordsFor: (m) => standin.records().filter((x) => x.body.includes(m)),
    stop,
  };
}
