/**
 * Runs the Worker locally with `wrangler dev` (no account, no network) and waits until it answers /healthz.
 * Shared by `npm start` (scripts/start.ts) and the end-to-end tests (test/e2e/), so both start it the same way.
 * Also the local plumbing the benchmarks share with them: a free port, a relocated copy of a wrangler config, and the
 * secrets-file reader and writer.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { readJsonc } from "../infra/wrangler-config";
import { SECRET_BINDING_NAMES } from "../worker/src/contract";

/** Secret names a developer may have exported for real deployments; never handed to a local Worker. */
const SECRET_ENV_NAMES = SECRET_BINDING_NAMES;

/** Every wrangler run outside a terminal session: no telemetry, no request.cf fetch (no network), no colour codes. */
export const WRANGLER_QUIET_ENV = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" } as const;

/** Resolves with a port nothing listens on right now (the OS picks it). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** Throws a message a person can act on when `port` is taken. */
export function assertPortFree(port: number, host: string, what: string, hint: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        new Error(
          e.code === "EADDRINUSE"
            ? `port ${port} on ${host} (${what}) is already in use; ${hint}`
            : `cannot listen on ${host}:${port} (${what}): ${e.message}`,
        ),
      ),
    );
    srv.listen(port, host, () => srv.close(() => resolve()));
  });
}

/** Parses a .dev.vars / .env file: KEY=value lines, optional quotes; comments kept separately. */
export function parseDevVars(text: string): { vars: Record<string, string>; comments: string[] } {
  const vars: Record<string, string> = {};
  const comments: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("#")) {
      comments.push(line.slice(1).trim());
      continue;
    }
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2] ?? "";
    const q = v[0];
    if ((q === "'" || q === '"') && v.endsWith(q) && v.length >= 2) v = v.slice(1, -1);
    else v = v.replace(/\s+#.*$/, "");
    vars[m[1]!] = v;
  }
  return { vars, comments };
}

export const sha256Hex = (s: string): string => createHash("sha256").update(s).digest("hex");

/**
 * Finds the plaintext development client key: the word in the file's comments whose SHA-256 is one of the
 * CLIENT_KEYS digests. Returns the client id too, or null when the file names no such key.
 */
export function findDevClientKey(vars: Record<string, string>, comments: string[]): { clientId: string; key: string } | null {
  let digests: Record<string, string>;
  try {
    digests = JSON.parse(vars.CLIENT_KEYS ?? "{}") as Record<string, string>;
  } catch {
    return null;
  }
  const byDigest = new Map(Object.entries(digests).map(([id, d]) => [String(d).toLowerCase(), id]));
  for (const c of comments) {
    for (const raw of c.split(/[\s"'`,;()<>]+/)) {
      const word = raw.replace(/[.:!?]+$/, ""); // "the key is abc." names abc
      if (word.length < 8) continue;
      const id = byDigest.get(sha256Hex(word));
      if (id) return { clientId: id, key: word };
    }
  }
  return null;
}

/** A dotenv file for `--env-file` or .dev.vars: one KEY='value' per line (single quotes keep JSON values literal). */
export function envFileText(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([k, v]) => {
      if (v.includes("'") || v.includes("\n")) throw new Error(`env value for ${k} cannot hold a quote or newline`);
      return `${k}='${v}'`;
    })
    .join("\n")
    .concat("\n");
}

export interface ConfigCopyOptions {
  readonly name: string;
  /** Merged over the config's plain vars (e.g. AI_GATEWAY_BASE_URL → a stand-in). */
  readonly vars?: Record<string, unknown>;
  /** Every rate-limit binding keeps working, with this limit (and period, when given). */
  readonly rateLimit?: { readonly limit: number; readonly period?: number };
  /** Other top-level fields to set (e.g. a prebuilt `main` with `no_bundle`). */
  readonly set?: Record<string, unknown>;
}

const isRelative = (p: string) => p.startsWith("./") || p.startsWith("../");

/**
 * Writes a copy of a wrangler config to `outPath` for a run outside the config's folder: entry, aliases, tsconfig and
 * base_dir made absolute (the copy lives elsewhere), $schema dropped, the overrides above applied. The original file
 * is never touched. Returns the written config.
 */
export function copyWranglerConfig(sourcePath: string, outPath: string, opts: ConfigCopyOptions): Record<string, unknown> {
  const cfg = readJsonc(sourcePath);
  const dir = dirname(sourcePath);
  delete cfg.$schema;
  cfg.name = opts.name;
  if (typeof cfg.main !== "string") throw new Error(`${sourcePath}: no "main" entry`);
  cfg.main = resolve(dir, cfg.main);
  for (const key of ["tsconfig", "base_dir"] as const) {
    if (typeof cfg[key] === "string") cfg[key] = resolve(dir, cfg[key]);
  }
  if (cfg.alias && typeof cfg.alias === "object") {
    cfg.alias = Object.fromEntries(
      Object.entries(cfg.alias as Record<string, string>).map(([k, v]) => [k, isRelative(v) ? resolve(dir, v) : v]),
    );
  }
  Object.assign(cfg, opts.set);
  if (opts.vars) cfg.vars = { ...(cfg.vars as Record<string, unknown> | undefined), ...opts.vars };
  const rl = opts.rateLimit;
  if (rl && Array.isArray(cfg.ratelimits)) {
    cfg.ratelimits = (cfg.ratelimits as Array<Record<string, unknown>>).map((r) => ({
      ...r,
      simple: { ...(r.simple as Record<string, unknown>), limit: rl.limit, ...(rl.period !== undefined ? { period: rl.period } : {}) },
    }));
  }
  writeFileSync(outPath, `${JSON.stringify(cfg, null, 2)}\n`);
  return cfg;
}

export interface WorkerOptions {
  /** Repository root (holds node_modules/ and worker/). */
  root: string;
  /** Wrangler config; default worker/wrangler.jsonc. */
  config?: string;
  ip?: string;
  port: number;
  /** Plain vars passed as --var (strings only). */
  vars?: Record<string, string>;
  /** Secrets file handed to wrangler with --env-file (used when the config's folder has no .dev.vars). */
  envFile?: string;
  persistTo?: string;
  /** Receives wrangler's output as it comes. */
  onOutput?: (chunk: string) => void;
  /** How long to wait for /healthz, ms. Default 90 s (first start on a busy machine bundles and boots workerd). */
  readyTimeoutMs?: number;
  /** More environment for wrangler and the workerd it starts (never secrets: those go in the env file). */
  env?: Record<string, string>;
}

export interface WorkerProcess {
  url: string;
  child: ChildProcess;
  /** Resolves with the exit code (or signal name) when wrangler ends. */
  exited: Promise<number | string>;
  /** Everything wrangler printed so far. */
  output(): string;
  /** Stops wrangler and the workerd it started; resolves once they are gone. */
  stop(): Promise<void>;
}

export async function startWorker(o: WorkerOptions): Promise<WorkerProcess> {
  const ip = o.ip ?? "127.0.0.1";
  const wrangler = join(o.root, "node_modules", "wrangler", "bin", "wrangler.js");
  if (!existsSync(wrangler)) throw new Error(`wrangler is not installed (${wrangler} missing): run npm ci first`);
  const inspector = await freePort(ip);
  const args = [
    wrangler,
    "dev",
    "--local",
    "--config",
    o.config ?? join(o.root, "worker", "wrangler.jsonc"),
    "--ip",
    ip,
    "--port",
    String(o.port),
    "--inspector-port",
    String(inspector),
    "--show-interactive-dev-session=false",
  ];
  if (o.envFile) args.push("--env-file", o.envFile);
  if (o.persistTo) args.push("--persist-to", o.persistTo);
  // --var takes the rest of the line's values, so it goes last.
  const vars = Object.entries(o.vars ?? {});
  if (vars.length) args.push("--var", ...vars.map(([k, v]) => `${k}:${v}`));

  const env: NodeJS.ProcessEnv = { ...process.env, ...o.env, ...WRANGLER_QUIET_ENV, FORCE_COLOR: "0" };
  // Wrangler also reads secrets from the process environment; a real key exported in this shell must not reach a local run.
  for (const name of SECRET_ENV_NAMES) delete env[name];

  // Own process group, so stopping it also stops the workerd it spawns, and a terminal's Ctrl-C reaches only us.
  const child = spawn(process.execPath, args, { cwd: join(o.root, "worker"), env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let out = "";
  const onData = (b: Buffer) => {
    const s = b.toString();
    out = (out + s).slice(-200_000);
    o.onOutput?.(s);
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, sig) => resolve(code ?? sig ?? "unknown")));
  let gone = false;
  void exited.then(() => (gone = true));

  const killGroup = (sig: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, sig);
    } catch {
      /* already gone */
    }
  };
  const stop = async () => {
    if (gone) return killGroup("SIGKILL"); // wrangler gone; make sure workerd is too
    killGroup("SIGTERM");
    const timer = setTimeout(() => killGroup("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
    killGroup("SIGKILL");
  };

  const url = `http://${ip}:${o.port}`;
  const deadline = Date.now() + (o.readyTimeoutMs ?? 90_000);
  for (;;) {
    if (gone) throw new Error(`wrangler dev exited before the Worker answered /healthz:\n${out.slice(-4000)}`);
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) break;
      await res.body?.cancel();
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the Worker did not answer ${url}/healthz within ${(o.readyTimeoutMs ?? 90_000) / 1000} s:\n${out.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, child, exited, output: () => out, stop };
}

/** Reads a secrets file if it exists. */
export function readDevVars(path: string): ReturnType<typeof parseDevVars> | null {
  return existsSync(path) ? parseDevVars(readFileSync(path, "utf8")) : null;
}
