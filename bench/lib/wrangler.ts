/**
 * Wrangler for the benchmarks: `wrangler dev --local` on 127.0.0.1 with telemetry off and secrets from a temp env
 * file, the workerd processes under it (for memory), and the deployable bundle (its size, or a build with source maps
 * for the profiler) from `wrangler deploy --dry-run`.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { WRANGLER_QUIET_ENV } from "../../scripts/local-stack";
import { freePort, HOST, waitUntil } from "./net";
import { commandName, type Managed, processTree, rssKiB, spawnManaged } from "./procs";

/**
 * Environment for the tools the bench starts: the project's own Node (node_modules/.bin first on PATH, whatever the
 * system Node is), and for wrangler no telemetry, no request.cf fetch and no interactive UI.
 */
export function toolEnv(root: string): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${join(root, "node_modules", ".bin")}${delimiter}${process.env.PATH ?? ""}` };
}

function wranglerEnv(root: string): NodeJS.ProcessEnv {
  return {
    ...toolEnv(root),
    ...WRANGLER_QUIET_ENV,
    CI: "true",
  };
}

function wranglerBin(root: string): string {
  return join(root, "node_modules", ".bin", "wrangler");
}

export interface DevServer {
  readonly name: string;
  readonly origin: string;
  /** Where wrangler serves the Worker's inspector (Chrome DevTools protocol; /json/list names the target). */
  readonly inspectorPort: number;
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
    inspectorPort,
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

export interface BuildOptions {
  readonly minify: boolean;
  /** Also write each module's source map beside it (`<module>.map`), as `upload_source_maps` would upload it. */
  readonly sourceMaps?: boolean;
}

/**
 * Builds what `wrangler deploy` would upload (no network) into `outDir`, with wrangler's own bundler and the config's
 * aliases; returns the module files it wrote (normally one).
 */
export async function buildBundle(
  root: string,
  configPath: string,
  outDir: string,
  logFile: string,
  build: BuildOptions,
): Promise<string[]> {
  const args = ["deploy", "--dry-run", "--outdir", outDir, "--config", configPath];
  if (build.minify) args.push("--minify");
  if (build.sourceMaps) args.push("--upload-source-maps");
  const proc = spawnManaged("wrangler deploy --dry-run", wranglerBin(root), args, {
    env: wranglerEnv(root),
    cwd: dirname(configPath),
    logFile,
  });
  const code = await proc.exited;
  if (code !== 0) throw new Error(`wrangler deploy --dry-run for ${configPath} exited with ${code} (log: ${logFile})`);
  return readdirSync(outDir).filter((f) => /\.(m?js|wasm)$/.test(f));
}

/** Builds what `wrangler deploy` would upload (minified, no network) and measures it: raw and gzip (level 9). */
export async function measureBundle(root: string, configPath: string, outDir: string, logFile: string): Promise<BundleSize> {
  const files = await buildBundle(root, configPath, outDir, logFile, { minify: true });
  let rawBytes = 0;
  let gzipBytes = 0;
  for (const f of files) {
    const buf = readFileSync(join(outDir, f));
    rawBytes += statSync(join(outDir, f)).size;
    gzipBytes += gzipSync(buf, { level: 9 }).length;
  }
  return { rawBytes, gzipBytes, files, wranglerSays: wranglerSizeLine(readFileSync(logFile, "utf8")) };
}
