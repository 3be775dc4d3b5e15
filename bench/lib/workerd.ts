/**
 * A Worker bundle on a bare workerd process (the binary wrangler dev runs), from a generated config: no dev proxy,
 * no inspector, no Node in the request path, so the runtime serves requests the way a deployed Worker's isolate
 * does. Used for the start-up measurement and as the production-like pair of targets next to wrangler dev.
 * The profiler (bench/profile.ts) starts the same process with the V8 inspector on a loopback port.
 * Rate-limit and KV bindings are in-memory stubs (always allow, always empty): the bench measures the Worker's
 * code, and those bindings are services outside the isolate in production.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { basename, join } from "node:path";
import { freePort, HOST, sleep } from "./net";
import { commandName, type Managed, processTree, rssKiB, spawnManaged } from "./procs";

export interface WorkerdSubject {
  readonly name: string;
  /** The single ES module `wrangler deploy --dry-run --outdir` wrote. */
  readonly bundlePath: string;
  readonly compatibilityDate: string;
  readonly compatibilityFlags: readonly string[];
  /** Plain-text bindings (vars and secrets). */
  readonly text: Readonly<Record<string, string>>;
  /** JSON bindings (object-valued vars). */
  readonly json?: Readonly<Record<string, unknown>>;
  /** Rate-limit binding names: stubbed, always allowing. */
  readonly ratelimits?: readonly string[];
  /** KV binding names: stubbed, always empty. */
  readonly kv?: readonly string[];
}

const RATELIMIT_STUB = `export default function () { return { async limit() { return { success: true }; } }; }\n`;
const KV_STUB = `export default function () {
  return {
    async get() { return null; },
    async getWithMetadata() { return { value: null, metadata: null }; },
    async put() {},
    async delete() {},
    async list() { return { keys: [], list_complete: true, cacheStatus: null }; },
  };
}
`;

/** A capnp string literal (JSON's escapes are valid capnp escapes for the ASCII values used here). */
const str = (s: string) => JSON.stringify(s);

/** The workerd config for one subject listening on `port`; bundle and stubs are embedded from the config's dir. */
export function workerdConfig(s: WorkerdSubject, port: number): string {
  const bindings: string[] = [];
  for (const [k, v] of Object.entries(s.text)) bindings.push(`(name = ${str(k)}, text = ${str(v)})`);
  for (const [k, v] of Object.entries(s.json ?? {})) bindings.push(`(name = ${str(k)}, json = ${str(JSON.stringify(v))})`);
  for (const k of s.ratelimits ?? []) bindings.push(`(name = ${str(k)}, wrapped = (moduleName = "bench:ratelimit"))`);
  for (const k of s.kv ?? []) bindings.push(`(name = ${str(k)}, wrapped = (moduleName = "bench:kv"))`);
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "net", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = ${str(`${HOST}:${port}`)}, http = (), service = "main")],
  extensions = [(modules = [
    (name = "bench:ratelimit", esModule = embed "bench-ratelimit-stub.js", internal = true),
    (name = "bench:kv", esModule = embed "bench-kv-stub.js", internal = true),
  ])],
);
const worker :Workerd.Worker = (
  modules = [(name = ${str(basename(s.bundlePath))}, esModule = embed ${str(basename(s.bundlePath))})],
  compatibilityDate = ${str(s.compatibilityDate)},
  compatibilityFlags = [${s.compatibilityFlags.map(str).join(", ")}],
  globalOutbound = "net",
  bindings = [
    ${bindings.join(",\n    ")}
  ],
);
`;
}

/** Copies the bundle and the binding stubs into `dir` (the config embeds files relative to itself). */
export function prepareWorkerdDir(s: WorkerdSubject, dir: string): WorkerdSubject {
  mkdirSync(dir, { recursive: true });
  const bundlePath = join(dir, basename(s.bundlePath));
  if (bundlePath !== s.bundlePath) copyFileSync(s.bundlePath, bundlePath);
  writeFileSync(join(dir, "bench-ratelimit-stub.js"), RATELIMIT_STUB);
  writeFileSync(join(dir, "bench-kv-stub.js"), KV_STUB);
  return { ...s, bundlePath };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, HOST);
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

export interface WorkerdInstance {
  readonly origin: string;
  readonly port: number;
  readonly proc: Managed;
  /** Milliseconds from launch until it accepted a connection (runtime start + bundle compile and evaluation). */
  readonly readyMs: number;
  /** Resident memory of the workerd process, KiB. */
  rssKiB(): number;
  stop(): Promise<void>;
}

export interface WorkerdLaunchOptions {
  /** Serve the V8 inspector (Chrome DevTools protocol) on 127.0.0.1:<port>: for profiling, never for timed figures. */
  readonly inspectorPort?: number;
}

/** Launches workerd for a subject from `dir` and waits, polling every millisecond, until it listens. */
export async function startWorkerd(
  workerd: string,
  subject: WorkerdSubject,
  dir: string,
  launch: WorkerdLaunchOptions = {},
): Promise<WorkerdInstance> {
  const s = prepareWorkerdDir(subject, dir);
  const port = await freePort();
  const configPath = join(dir, `${s.name}.capnp`);
  writeFileSync(configPath, workerdConfig(s, port), { mode: 0o600 });
  const logFile = join(dir, `${s.name}.workerd.log`);
  const t0 = performance.now();
  const args = ["serve", configPath, "--experimental"];
  if (launch.inspectorPort !== undefined) args.push(`--inspector-addr=${HOST}:${launch.inspectorPort}`);
  const proc = spawnManaged(`workerd (${s.name})`, workerd, args, { cwd: dir, logFile });
  let exited: string | undefined;
  void proc.exited.then((c) => (exited = String(c)));
  try {
    while (!(await canConnect(port))) {
      if (exited !== undefined) throw new Error(`workerd for ${s.name} exited with ${exited} (log: ${logFile})`);
      if (performance.now() - t0 > 30_000) throw new Error(`workerd for ${s.name} did not listen within 30 s (log: ${logFile})`);
      await sleep(1);
    }
  } catch (e) {
    await proc.stop();
    throw e;
  }
  const readyMs = performance.now() - t0;
  return {
    origin: `http://${HOST}:${port}`,
    port,
    proc,
    readyMs,
    rssKiB: () => processTree(proc.pid).reduce((sum, p) => sum + (commandName(p) === "workerd" ? (rssKiB(p) ?? 0) : 0), 0),
    stop: () => proc.stop(),
  };
}
