/**
 * Where a profiled frame's code comes from: the bundle's source map (written by `wrangler deploy --dry-run
 * --upload-source-maps`, read with Node's own node:module SourceMap) turns a bundle position into the original file,
 * and the file's path names its module: the npm package under node_modules, the Worker's worker/src, or one of
 * workerd's built-in modules. Frames with no script are V8's own entries ((program), (garbage collector), natives).
 */
import { readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { basename, dirname, relative, resolve } from "node:path";
import { type FrameResolver, type FrameSource, NATIVE_MODULE, V8_ENTRIES } from "./cpuprofile";
import type { CallFrame } from "./inspector";

/** The module a source path belongs to, and the path to show for it (shorter than the absolute one). */
export function classifySource(path: string, root: string): { module: string; file: string } {
  const norm = path.replace(/\\/g, "/");
  const nm = norm.lastIndexOf("/node_modules/");
  if (nm >= 0 || norm.startsWith("node_modules/")) {
    const rest = nm >= 0 ? norm.slice(nm + "/node_modules/".length) : norm.slice("node_modules/".length);
    const parts = rest.split("/");
    const pkg = parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1] ?? ""}` : parts[0]!;
    return { module: pkg, file: rest };
  }
  const rel = relative(root, resolve(root, norm)).replace(/\\/g, "/");
  // An exported revision (--at) lives under bench/results/tmp/src-<commit>/worker/…: show it as worker/…
  const w = rel.search(/(^|\/)worker\/src\//);
  if (w >= 0) return { module: "worker/src", file: rel.slice(rel.indexOf("worker/src/", w)) };
  return { module: rel.startsWith("..") ? "(other)" : rel.split("/")[0]!, file: rel };
}

/** The module of a script that is not the bundle: workerd's built-ins (node:*, cloudflare:*), the bench's stubs. */
export function scriptModule(url: string): string {
  if (url.startsWith("bench:")) return "(bench binding stubs)";
  if (/^(node|node-internal|cloudflare|cloudflare-internal|workerd):/.test(url)) return "(workerd built-ins)";
  return "(other scripts)";
}

/**
 * A resolver for frames of one bundle. `bundlePath` is the module workerd loaded (its scripts' urls end in the
 * module's file name); its `.map` beside it is used when present, else frames keep their bundle positions.
 */
export function bundleResolver(bundlePath: string, root: string): { resolve: FrameResolver; mapped: boolean } {
  const name = basename(bundlePath);
  let map: SourceMap | undefined;
  try {
    map = new SourceMap(JSON.parse(readFileSync(`${bundlePath}.map`, "utf8")) as ConstructorParameters<typeof SourceMap>[0]);
  } catch {
    map = undefined;
  }
  const mapDir = dirname(bundlePath);
  const lines = map ? readFileSync(bundlePath, "utf8").split("\n") : [];
  type Entry = { originalSource?: string; originalLine?: number; name?: string };
  /**
   * The source's own name for a function a minifier renamed: V8 places a function at its parameter list, so the
   * name V8 reports is the identifier just before it (`function dn(`, a method `dn(`), and the source map maps
   * that identifier to the original one.
   */
  const originalName = (f: CallFrame): string | undefined => {
    const before = (lines[f.lineNumber] ?? "").slice(Math.max(0, f.columnNumber - 200), f.columnNumber);
    const m = /([A-Za-z_$][\w$]*)\s*$/.exec(before);
    if (!m || m[1] !== f.functionName) return undefined;
    const col = f.columnNumber - (before.length - m.index);
    return (map?.findEntry(f.lineNumber, col) as Entry | undefined)?.name;
  };
  const resolveFrame = (f: CallFrame): FrameSource => {
    if (f.url === "") {
      // V8's pseudo-frames keep their own name as module; any other frame without a script is native code: a
      // runtime API implemented in C++ (fetch, Response, Headers, setTimeout) or a V8 builtin.
      if ((V8_ENTRIES as readonly string[]).includes(f.functionName))
        return { name: f.functionName, file: "", line: 0, module: f.functionName };
      return { name: f.functionName || "(anonymous native)", file: "", line: 0, module: NATIVE_MODULE };
    }
    const fnName = f.functionName || "(anonymous)";
    const isBundle = f.url === name || f.url.endsWith(`/${name}`);
    if (!isBundle) return { name: fnName, file: f.url, line: f.lineNumber + 1, module: scriptModule(f.url) };
    const entry = map?.findEntry(f.lineNumber, f.columnNumber) as Entry | undefined;
    if (!entry?.originalSource) {
      return { name: fnName, file: name, line: f.lineNumber + 1, module: map ? "(bundle glue)" : "(bundle, no source map)" };
    }
    const c = classifySource(resolve(mapDir, entry.originalSource), root);
    // Not entry.name: at an arrow function's position the map names its first parameter, not the function.
    const label = (f.functionName && originalName(f)) || f.functionName || "(anonymous)";
    return { name: label, file: c.file, line: (entry.originalLine ?? 0) + 1, module: c.module };
  };
  return { resolve: resolveFrame, mapped: map !== undefined };
}
