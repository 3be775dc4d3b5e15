/**
 * Wrangler for the benchmarks: a bench copy of a Worker's config (absolute entry, local stand-in as gateway, a rate
 * limit the load cannot reach), `wrangler dev --local` on 127.0.0.1 with telemetry off and secrets from a temp env
 * file, the workerd processes under it (for memory), and the deployable bundle's size from `wrangler deploy --dry-run`.
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import ts from "typescript";
import { freePort, HOST, waitUntil } from "./net";
import { commandName, processTree, rssKiB, spawnManaged, type Managed } from "./procs";

/**
 * Environment for the tools the bench starts: the project's own Node (node_modules/.bin first on PATH, whatever the
 * system Node is), and for wrangler no telemetry, no request.cf fetch and no interactive UI.
 */
export function toolEnv(root: string): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${join(root, "node_modules", ".bin")}${delimiter}${process.env.PATH ?? ""}` };
}

export function wranglerEnv(root: string): NodeJS.ProcessEnv {
  return {
    ...toolEnv(root),
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    CI: "true",
    NO_COLOR: "1",
  };
}

export function wranglerBin(root: string): string {
  return join(root, "node_modules", ".bin", "wrangler");
}

/** Reads a wrangler.jsonc (comments and trailing commas allowed) as plain JSON. */
export function readJsonc(path: string): Record<string, unknown> {
  const { config, error } = ts.parseConfigFileTextToJson(path, readFileSync(path, "utf8"));
  if (error) throw new Error(`${path}: ${ts.flattenDiagnosticMessageText(error.messageText, "\n")}`);
  return config as Record<string, unknown>;
}

export interface BenchConfigOptions {
  /** Replaces these plain vars (e.g. AI_GATEWAY_BASE_URL → the stand-in). */
  readonly vars?: Record<string, unknown>;
  /** Rate-limit bindings keep working but with this limit per period, so the bench measures the Worker, not 429s. */
  readonly rateLimit?: number;
  readonly name: string;
  /** Other top-level fields to set (e.g. the Worker's compatibility date and flags on the pass-through). */
  readonly set?: Record<string, unknown>;
}

const isRelative = (p: string) => p.startsWith("./") || p.startsWith("../");

/**
 * The bench's copy of a Worker's wrangler config, written to `outPath`: same entry, aliases and other paths (made
 * absolute, since the copy lives elsewhere), compatibility date, flags and bindings, with the overrides above.
 * The original file is never touched.
 */
export function writeBenchConfig(sourcePath: string, outPath: string, opts: BenchConfigOptions): Record<string, unknown> {
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
  if (opts.rateLimit !== undefined && Array.isArray(cfg.ratelimits)) {
    cfg.ratelimits = (cfg.ratelimits as Array<Record<string, unknown>>).map((r) => ({
      ...r,
      simple: { ...(r.simple as Record<string, unknown>), limit: opts.rateLimit },
    }));
  }
  writeFileSync(outPath, `${JSON.stringify(cfg, null, 2)}\n`);
  return cfg;
}

/** A dotenv file for `--env-file`: one KEY='value' per line (single quotes keep JSON values literal). */
export function envFileText(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([k, v]) => {
      if (v.includes("'") || v.includes("\n")) throw new Error(`env value for ${k} cannot hold a quote or newline`);
      return `${k}='${v}'`;
    })
    .join("\n")
    .concat("\n");
}

export interface DevServer {
  readonly name: string;
  readonly origin: string;
  readonly proc: Managed;
  /** Milliseconds from spawning `wrangler dev` to the first good answer (includes wrangler's own bundling). */
  readonly readyMs: number;
  /** workerd processes under this wrangler (the runtime itself). */
  workerdPids(): number[];
  /** Total resident memory of those workerd processes, KiB. */
  workerdRssKiB(): number;
  stop(): Promise<void>;
}

export interface DevOptions {
  readonly root: string;
  readonly name: string;
  readonly configPath: string;
  readonly envFile: string;
  readonly tmpDir: string;
  /** Path (GET) that answers 2xx once the Worker is up. */
  readonly readyPath: string;
}

export async function startWranglerDev(opts: DevOptions): Promise<DevServer> {
  const port = await freePort();
  const inspectorPort = await freePort();
  const logFile = join(opts.tmpDir, `${opts.name}.wrangler.log`);
  const args = [
    "dev",
    "--config",
    opts.configPath,
    "--local",
    "--ip",
    HOST,
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--env-file",
    opts.envFile,
    "--persist-to",
    join(opts.tmpDir, `${opts.name}.state`),
    "--show-interactive-dev-session=false",
    "--log-level",
    "warn",
  ];
  const started = performance.now();
  const proc = spawnManaged(`wrangler dev (${opts.name})`, wranglerBin(opts.root), args, {
    env: wranglerEnv(opts.root),
    cwd: opts.tmpDir,
    logFile,
  });
  let exitedWith: string | undefined;
  void proc.exited.then((c) => (exitedWith = String(c)));
  const origin = `http://${HOST}:${port}`;
  try {
    await waitUntil(async () => (await fetch(origin + opts.readyPath)).ok, {
      timeoutMs: 60_000,
      intervalMs: 50,
      what: `wrangler dev for ${opts.name} (log: ${logFile})`,
      failed: () => (exitedWith !== undefined ? `exited with ${exitedWith}` : undefined),
    });
  } catch (e) {
    await proc.stop();
    throw e;
  }
  const readyMs = performance.now() - started;
  const workerdPids = () => processTree(proc.pid).filter((p) => commandName(p) === "workerd");
  return {
    name: opts.name,
    origin,
    proc,
    readyMs,
    workerdPids,
    workerdRssKiB: () => workerdPids().reduce((s, p) => s + (rssKiB(p) ?? 0), 0),
    stop: () => proc.stop(),
  };
}

export interface BundleSize {
  readonly rawBytes: number;
  readonly gzipBytes: number;
  /** The modules wrangler wrote (normally one). */
  readonly files: readonly string[];
  /** Wrangler's own "Total Upload: … / gzip: …" line, as a cross-check. */
  readonly wranglerSays?: string;
}

/** Wrangler's size line from a dry-run's output, e.g. "209.39 KiB / gzip: 65.66 KiB". */
export function wranglerSizeLine(output: string): string | undefined {
  return /Total Upload:\s*([^\n]+)/.exec(output)?.[1]?.trim();
}

/** Builds what `wrangler deploy` would upload (minified, no network) and measures it: raw and gzip (level 9). */
export async function measureBundle(root: string, configPath: string, outDir: string, logFile: string): Promise<BundleSize> {
  const proc = spawnManaged(
    "wrangler deploy --dry-run",
    wranglerBin(root),
    ["deploy", "--dry-run", "--minify", "--outdir", outDir, "--config", configPath],
    { env: wranglerEnv(root), cwd: dirname(configPath), logFile },
  );
  const code = await proc.exited;
  if (code !== 0) throw new Error(`wrangler deploy --dry-run for ${configPath} exited with ${code} (log: ${logFile})`);
  const files = readdirSync(outDir).filter((f) => /\.(m?js|wasm)$/.test(f));
  let rawBytes = 0;
  let gzipBytes = 0;
  for (const f of files) {
    const buf = readFileSync(join(outDir, f));
    rawBytes += statSync(join(outDir, f)).size;
    gzipBytes += gzipSync(buf, { level: 9 }).length;
  }
  return { rawBytes, gzipBytes, files, wranglerSays: wranglerSizeLine(readFileSync(logFile, "utf8")) };
}
