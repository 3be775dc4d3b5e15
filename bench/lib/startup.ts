/**
 * Start-up cost of a Worker bundle: a fresh workerd process (the binary wrangler dev runs) per launch, loading the
 * deployable bundle, timed from launch to accepting connections (runtime start plus compiling and evaluating the
 * bundle's top level) and then to its first answered request (whatever the Worker initialises lazily). The gateway
 * Worker and the bare proxy pay the same runtime start, so their difference is what the Worker's code costs.
 * workerd runs from a generated config rather than through Miniflare so nothing but the runtime is on the clock;
 * rate-limit and KV bindings are in-memory stubs (no I/O happens at start-up either way).
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { basename, join } from "node:path";
import { freePort, HOST, sleep } from "./net";
import { spawnManaged } from "./procs";
import { median } from "./stats";

export interface StartupSubject {
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
  /** The first request; it must be answered 2xx. */
  readonly request: { readonly path: string; readonly headers: Readonly<Record<string, string>>; readonly body: string };
}

export interface StartupRun {
  /** Launch until workerd accepts connections: runtime start + bundle compile and top-level evaluation. */
  readonly readyMs: number;
  /** The first request on the fresh instance, sent to answered. */
  readonly firstMs: number;
  /** Median of the next few requests: what the first one is compared with. */
  readonly warmMs: number;
}

export interface StartupResult {
  readonly name: string;
  readonly runs: StartupRun[];
  /** Medians over runs. */
  readonly readyMs: number;
  readonly firstMs: number;
  readonly warmMs: number;
  /** Launch to first answer (median of readyMs + firstMs per run). */
  readonly toFirstAnswerMs: number;
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
export function workerdConfig(s: StartupSubject, port: number): string {
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

async function timeRequest(port: number, s: StartupSubject): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`http://${HOST}:${port}${s.request.path}`, {
    method: "POST",
    headers: { ...s.request.headers, "content-type": "application/json" },
    body: s.request.body,
  });
  const text = await res.text();
  const ms = performance.now() - t0;
  if (!res.ok) throw new Error(`${s.name}: request on a fresh workerd answered ${res.status}: ${text.slice(0, 200)}`);
  return ms;
}

async function once(workerd: string, s: StartupSubject, dir: string): Promise<StartupRun> {
  const port = await freePort();
  const configPath = join(dir, `${s.name}.capnp`);
  writeFileSync(configPath, workerdConfig(s, port), { mode: 0o600 });
  const t0 = performance.now();
  const proc = spawnManaged(`workerd (${s.name})`, workerd, ["serve", configPath, "--experimental"], {
    cwd: dir,
    logFile: join(dir, `${s.name}.workerd.log`),
  });
  let exited: string | undefined;
  void proc.exited.then((c) => (exited = String(c)));
  try {
    while (!(await canConnect(port))) {
      if (exited !== undefined) throw new Error(`workerd for ${s.name} exited with ${exited} (log: ${join(dir, `${s.name}.workerd.log`)})`);
      if (performance.now() - t0 > 30_000) throw new Error(`workerd for ${s.name} did not listen within 30 s`);
      await sleep(1);
    }
    const readyMs = performance.now() - t0;
    const firstMs = await timeRequest(port, s);
    const warm: number[] = [];
    for (let i = 0; i < 5; i++) warm.push(await timeRequest(port, s));
    return { readyMs, firstMs, warmMs: median(warm) };
  } finally {
    await proc.stop();
  }
}

/**
 * `runs` fresh launches of each subject, alternating, after one untimed launch that warms the page cache
 * (the 150 MB workerd binary) so the first timed launch is not the only one reading it from disk. Each subject gets
 * a directory under `workDir` with a copy of its bundle, the stubs and the generated config.
 */
export async function measureStartup(
  workerd: string,
  subjects: readonly StartupSubject[],
  runs: number,
  workDir: string,
): Promise<StartupResult[]> {
  const dirs = new Map<string, string>();
  const prepared = subjects.map((s) => {
    const dir = join(workDir, `startup-${s.name}`);
    mkdirSync(dir, { recursive: true });
    const bundlePath = join(dir, basename(s.bundlePath));
    copyFileSync(s.bundlePath, bundlePath);
    writeFileSync(join(dir, "bench-ratelimit-stub.js"), RATELIMIT_STUB);
    writeFileSync(join(dir, "bench-kv-stub.js"), KV_STUB);
    dirs.set(s.name, dir);
    return { ...s, bundlePath };
  });
  if (prepared[0]) await once(workerd, prepared[0], dirs.get(prepared[0].name)!);
  const all = new Map<string, StartupRun[]>(prepared.map((s) => [s.name, []]));
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? prepared : [...prepared].reverse();
    for (const s of order) all.get(s.name)!.push(await once(workerd, s, dirs.get(s.name)!));
  }
  return prepared.map((s) => {
    const r = all.get(s.name)!;
    return {
      name: s.name,
      runs: r,
      readyMs: median(r.map((x) => x.readyMs)),
      firstMs: median(r.map((x) => x.firstMs)),
      warmMs: median(r.map((x) => x.warmMs)),
      toFirstAnswerMs: median(r.map((x) => x.readyMs + x.firstMs)),
    };
  });
}
