/**
 * A Worker bundle on a bare workerd process (the binary wrangler dev runs), from a generated config: no dev proxy,
 * no inspector, no Node in the request path, so the runtime serves requests the way a deployed Worker's isolate
 * does. Used for the start-up measurement and as the production-like pair of targets next to wrangler dev.
 * The profiler (bench/profile.ts) starts the same process with the V8 inspector on a loopback port.
 * Rate-limit and KV bindings are in-memory stubs (always allow, always empty): the bench measures the Worker's
 * code, and those bindings are services outside the isolate in production. Durable Object classes the bundle exports
 * are real namespaces (SQLite-backed when the config's migration says so) stored on disk in the run's temp dir;
 * optionally a bench-side entry module counts calls to their methods, read on a second socket (WorkerdInstance.doCalls).
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { basename, join, resolve } from "node:path";
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
  /** Durable Object namespaces of classes the bundle exports, each bound by name; stored in the subject's dir. */
  readonly durableObjects?: readonly DurableObjectSpec[];
  /**
   * Count calls to these methods of every Durable Object class (the RPC methods the Worker calls): the main module
   * becomes a bench entry that re-exports the bundle unchanged except for each class, subclassed to count. The
   * counts are served on a second socket. Nothing in the bundle changes.
   */
  readonly countDurableObjectCalls?: readonly string[];
}

export interface DurableObjectSpec {
  /** Binding name the Worker reads (wrangler's durable_objects.bindings[].name). */
  readonly binding: string;
  /** Exported class (class_name). */
  readonly className: string;
  /** A SQLite-backed class (a new_sqlite_classes migration): the storage.sql API is enabled. */
  readonly sql: boolean;
}

/** Calls per class and method, as the counting entry module saw them. */
export type DurableObjectCalls = Record<string, Record<string, number>>;

/** Module names of the counting entry and of the service that reads its counts. */
const COUNT_ENTRY = "bench-do-count.js";
const COUNT_READER = "bench-do-calls.js";
/** The object the counts are read from (any name: the counts are the isolate's, not one object's). */
const COUNT_OBJECT = "bench-do-calls";

/** The main module that re-exports the bundle with each Durable Object class subclassed to count method calls. */
export function countingEntry(bundleModule: string, classNames: readonly string[], methods: readonly string[]): string {
  return `import * as bundle from ${str(`./${bundleModule}`)};
export * from ${str(`./${bundleModule}`)};
export default bundle.default;
const calls = {};
function counted(className, Base) {
  const C = class extends Base {
    benchDurableObjectCalls() { return calls; }
  };
  for (const method of ${JSON.stringify(methods)}) {
    const original = Base.prototype[method];
    if (typeof original !== "function") continue;
    Object.defineProperty(C.prototype, method, {
      configurable: true,
      writable: true,
      value: function (...args) {
        const c = (calls[className] ??= {});
        c[method] = (c[method] ?? 0) + 1;
        return original.apply(this, args);
      },
    });
  }
  return C;
}
${classNames.map((c) => `export const ${c} = counted(${str(c)}, bundle.${c});`).join("\n")}
`;
}

/** The reader service: GET / answers the counts of every class as JSON. */
function countReader(classNames: readonly string[]): string {
  return `const CLASSES = ${JSON.stringify(classNames)};
export default {
  async fetch(_req, env) {
    const out = {};
    for (const c of CLASSES) out[c] = (await env[c].getByName(${str(COUNT_OBJECT)}).benchDurableObjectCalls())[c] ?? {};
    return Response.json(out);
  },
};
`;
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

/** Whether the subject's Durable Object calls are counted: it asks for counts and has Durable Objects to count. */
function countsCalls(s: WorkerdSubject): s is WorkerdSubject & { readonly countDurableObjectCalls: readonly string[] } {
  return s.countDurableObjectCalls !== undefined && (s.durableObjects ?? []).length > 0;
}

/** The subject's Durable Object classes, each once. */
const doClassNames = (s: WorkerdSubject): string[] => [...new Set((s.durableObjects ?? []).map((d) => d.className))];

/** A capnp string literal (JSON's escapes are valid capnp escapes for the ASCII values used here). */
const str = (s: string) => JSON.stringify(s);

export interface WorkerdConfigOptions {
  /** Where Durable Object counts are served, when the subject counts calls. */
  readonly countsPort?: number;
  /** Absolute directory for Durable Object storage (SQLite files), when the subject has Durable Objects. */
  readonly storageDir?: string;
}

/**
 * The workerd config for one subject listening on `port`; bundle and stubs are embedded from the config's dir.
 * Durable Objects are stored on local disk (workerd's in-memory storage has no SQL API) in a throwaway directory.
 */
export function workerdConfig(s: WorkerdSubject, port: number, o: WorkerdConfigOptions = {}): string {
  const bindings: string[] = [];
  const dos = s.durableObjects ?? [];
  const counting = countsCalls(s);
  const countsPort = o.countsPort;
  if (counting && countsPort === undefined) throw new Error(`${s.name}: counting Durable Object calls needs a port for the counts`);
  const storageDir = dos.length > 0 ? o.storageDir : undefined;
  if (dos.length > 0 && storageDir === undefined) throw new Error(`${s.name}: Durable Objects need a storage directory`);
  for (const [k, v] of Object.entries(s.text)) bindings.push(`(name = ${str(k)}, text = ${str(v)})`);
  for (const [k, v] of Object.entries(s.json ?? {})) bindings.push(`(name = ${str(k)}, json = ${str(JSON.stringify(v))})`);
  for (const k of s.ratelimits ?? []) bindings.push(`(name = ${str(k)}, wrapped = (moduleName = "bench:ratelimit"))`);
  for (const k of s.kv ?? []) bindings.push(`(name = ${str(k)}, wrapped = (moduleName = "bench:kv"))`);
  for (const d of dos) bindings.push(`(name = ${str(d.binding)}, durableObjectNamespace = (className = ${str(d.className)}))`);
  const bundle = basename(s.bundlePath);
  const modules = [`(name = ${str(bundle)}, esModule = embed ${str(bundle)})`];
  if (counting) modules.unshift(`(name = ${str(COUNT_ENTRY)}, esModule = embed ${str(COUNT_ENTRY)})`);
  const classNames = doClassNames(s);
  const storage =
    dos.length === 0
      ? ""
      : `
  durableObjectNamespaces = [
    ${dos.map((d) => `(className = ${str(d.className)}, uniqueKey = ${str(`bench-${s.name}-${d.className}`)}, enableSql = ${d.sql})`).join(",\n    ")}
  ],
  durableObjectStorage = (localDisk = "do-storage"),`;
  const countService = counting
    ? `
    (name = "do-calls", worker = .doCalls),`
    : "";
  const storageService =
    storageDir !== undefined
      ? `
    (name = "do-storage", disk = (path = ${str(storageDir)}, writable = true)),`
      : "";
  const countSocket = counting
    ? `,
    (name = "do-calls", address = ${str(`${HOST}:${countsPort}`)}, http = (), service = "do-calls")`
    : "";
  const countWorker = counting
    ? `
const doCalls :Workerd.Worker = (
  modules = [(name = ${str(COUNT_READER)}, esModule = embed ${str(COUNT_READER)})],
  compatibilityDate = ${str(s.compatibilityDate)},
  bindings = [
    ${classNames.map((c) => `(name = ${str(c)}, durableObjectNamespace = (className = ${str(c)}, serviceName = "main"))`).join(",\n    ")}
  ],
);
`
    : "";
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "net", network = (allow = ["public", "private", "local"])),${storageService}${countService}
  ],
  sockets = [
    (name = "http", address = ${str(`${HOST}:${port}`)}, http = (), service = "main")${countSocket}
  ],
  extensions = [(modules = [
    (name = "bench:ratelimit", esModule = embed "bench-ratelimit-stub.js", internal = true),
    (name = "bench:kv", esModule = embed "bench-kv-stub.js", internal = true),
  ])],
);
const worker :Workerd.Worker = (
  modules = [
    ${modules.join(",\n    ")}
  ],
  compatibilityDate = ${str(s.compatibilityDate)},
  compatibilityFlags = [${s.compatibilityFlags.map(str).join(", ")}],
  globalOutbound = "net",
  bindings = [
    ${bindings.join(",\n    ")}
  ],${storage}
);
${countWorker}`;
}

/** Copies the bundle and the binding stubs into `dir` (the config embeds files relative to itself). */
export function prepareWorkerdDir(s: WorkerdSubject, dir: string): WorkerdSubject {
  mkdirSync(dir, { recursive: true });
  const bundlePath = join(dir, basename(s.bundlePath));
  if (bundlePath !== s.bundlePath) copyFileSync(s.bundlePath, bundlePath);
  writeFileSync(join(dir, "bench-ratelimit-stub.js"), RATELIMIT_STUB);
  writeFileSync(join(dir, "bench-kv-stub.js"), KV_STUB);
  if (countsCalls(s)) {
    const classNames = doClassNames(s);
    writeFileSync(join(dir, COUNT_ENTRY), countingEntry(basename(bundlePath), classNames, s.countDurableObjectCalls));
    writeFileSync(join(dir, COUNT_READER), countReader(classNames));
  }
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
  /** Durable Object method calls so far (subjects with countDurableObjectCalls; throws for others). */
  doCalls(): Promise<DurableObjectCalls>;
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
  const countsPort = countsCalls(s) ? await freePort() : undefined;
  const configPath = join(dir, `${s.name}.capnp`);
  let storageDir: string | undefined;
  if ((s.durableObjects ?? []).length > 0) {
    storageDir = resolve(dir, "do-storage");
    mkdirSync(storageDir, { recursive: true });
  }
  writeFileSync(configPath, workerdConfig(s, port, { countsPort, storageDir }), { mode: 0o600 });
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
    async doCalls() {
      if (countsPort === undefined) throw new Error(`workerd for ${s.name} does not count Durable Object calls`);
      const res = await fetch(`http://${HOST}:${countsPort}/`);
      if (!res.ok) throw new Error(`workerd for ${s.name}: Durable Object call counts answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as DurableObjectCalls;
    },
    stop: () => proc.stop(),
  };
}
