/**
 * Reading a V8 CPU profile (.cpuprofile): self and total time per function, per source file and per module (an npm
 * package such as hono or @anthropic-ai/sdk, the Worker's own worker/src, workerd's built-in modules, V8 itself),
 * and per request of the load that ran while it was taken. Pure: the caller says where each frame comes from (a
 * source-map lookup, ./sourcemap.ts), so the arithmetic is unit-tested on hand-made profiles.
 */
import type { CallFrame, CpuProfile } from "./inspector";
import { formatPercent } from "./report";
import { share } from "./stats";

/** Where a frame's code comes from, after source mapping. */
export interface FrameSource {
  /** Function name as the source names it. */
  readonly name: string;
  /** Original file, e.g. "worker/src/app.ts", "hono/dist/hono-base.js", "node:buffer"; "" for V8's own entries. */
  readonly file: string;
  /** 1-based line in `file`; 0 when unknown. */
  readonly line: number;
  /** The group the file belongs to: a package name, "worker/src", "(workerd built-ins)", "(program)"… */
  readonly module: string;
}

export type FrameResolver = (frame: CallFrame) => FrameSource;

/** V8's pseudo-frames: time outside any JavaScript function. */
export const V8_ENTRIES = ["(root)", "(program)", "(idle)", "(garbage collector)"] as const;

/** The module of frames with no script: runtime APIs in C++ (fetch, Headers, timers) and V8 builtins. */
export const NATIVE_MODULE = "(native code)";

export interface ProfileRow {
  /** Function name, file or module, depending on the table. */
  readonly label: string;
  /** For functions: "file:line"; the module for files; "" for modules. */
  readonly where: string;
  /** Microseconds with this entry as the innermost frame. */
  readonly selfUs: number;
  /** Microseconds with this entry anywhere on the stack (counted once per sample, recursion included). */
  readonly totalUs: number;
  readonly selfSamples: number;
}

export interface ProfileSummary {
  readonly samples: number;
  /** Microseconds covered by samples. */
  readonly sampledUs: number;
  /** Samples V8 marked idle (the isolate waiting for work); everything else is "busy". */
  readonly idleUs: number;
  readonly gcUs: number;
  /** Sampled time outside JavaScript and outside idle: the runtime's own C++ (I/O, HTTP, streams) and V8 internals. */
  readonly programUs: number;
  readonly busyUs: number;
  /** Requests the load completed while sampling (for per-request figures); 0 when unknown. */
  readonly requests: number;
  readonly byFunction: readonly ProfileRow[];
  readonly byFile: readonly ProfileRow[];
  readonly byModule: readonly ProfileRow[];
}

/**
 * How long each sample stands for: the gap to the next sample (what Chrome DevTools uses), the last one the mean
 * gap. V8 timestamps a sample when it is taken, so a sample's delta is the time *before* it.
 */
export function sampleDurations(profile: CpuProfile): number[] {
  const deltas = profile.timeDeltas ?? [];
  const n = profile.samples?.length ?? 0;
  const out: number[] = [];
  let sum = 0;
  for (let i = 1; i < n; i++) sum += Math.max(0, deltas[i] ?? 0);
  const mean = n > 1 ? sum / (n - 1) : Math.max(0, profile.endTime - profile.startTime);
  for (let i = 0; i < n; i++) out.push(i + 1 < n ? Math.max(0, deltas[i + 1] ?? 0) : mean);
  return out;
}

interface Acc {
  label: string;
  where: string;
  selfUs: number;
  totalUs: number;
  selfSamples: number;
}

export function summarizeProfile(profile: CpuProfile, resolve: FrameResolver, requests: number): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const source = new Map<number, FrameSource>();
  const sourceOf = (id: number): FrameSource => {
    let s = source.get(id);
    if (!s) {
      const node = byId.get(id);
      if (!node) throw new Error(`profile sample names node ${id}, which the profile does not list`);
      s = resolve(node.callFrame);
      source.set(id, s);
    }
    return s;
  };

  const keyers = {
    fn: (s: FrameSource) => ({
      key: `${s.name}\u0000${s.file}\u0000${s.line}`,
      label: s.name,
      where: s.file === "" ? "" : `${s.file}:${s.line}`,
    }),
    file: (s: FrameSource) => ({
      key: s.file === "" ? s.module : s.file,
      label: s.file === "" ? s.module : s.file,
      where: s.file === "" ? "" : s.module,
    }),
    module: (s: FrameSource) => ({ key: s.module, label: s.module, where: "" }),
  };
  type Kind = keyof typeof keyers;
  const tables: Record<Kind, Map<string, Acc>> = { fn: new Map(), file: new Map(), module: new Map() };
  // Per leaf node and kind: the distinct keys on its stack (root excluded), leaf first. Cached: samples repeat nodes.
  const stacks = new Map<number, Record<Kind, Array<{ key: string; label: string; where: string }>>>();
  const stackOf = (leaf: number) => {
    let st = stacks.get(leaf);
    if (st) return st;
    st = { fn: [], file: [], module: [] };
    const seen: Record<Kind, Set<string>> = { fn: new Set(), file: new Set(), module: new Set() };
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
      const s = sourceOf(id);
      if (s.name === "(root)" && s.file === "") continue;
      for (const kind of Object.keys(keyers) as Kind[]) {
        const k = keyers[kind](s);
        if (seen[kind].has(k.key)) continue;
        seen[kind].add(k.key);
        st[kind].push(k);
      }
    }
    stacks.set(leaf, st);
    return st;
  };

  const durations = sampleDurations(profile);
  const samples = profile.samples ?? [];
  let sampledUs = 0;
  let idleUs = 0;
  let gcUs = 0;
  let programUs = 0;
  samples.forEach((leaf, i) => {
    const us = durations[i]!;
    sampledUs += us;
    const leafSource = sourceOf(leaf);
    if (leafSource.file === "") {
      if (leafSource.name === "(idle)") idleUs += us;
      else if (leafSource.name === "(garbage collector)") gcUs += us;
      else if (leafSource.name === "(program)") programUs += us;
    }
    const st = stackOf(leaf);
    for (const kind of Object.keys(keyers) as Kind[]) {
      st[kind].forEach((k, depth) => {
        let a = tables[kind].get(k.key);
        if (!a) {
          a = { label: k.label, where: k.where, selfUs: 0, totalUs: 0, selfSamples: 0 };
          tables[kind].set(k.key, a);
        }
        a.totalUs += us;
        if (depth === 0) {
          a.selfUs += us;
          a.selfSamples += 1;
        }
      });
    }
  });

  const rows = (kind: Kind): ProfileRow[] =>
    [...tables[kind].values()].sort((a, b) => b.selfUs - a.selfUs || b.totalUs - a.totalUs || a.label.localeCompare(b.label));
  return {
    samples: samples.length,
    sampledUs,
    idleUs,
    gcUs,
    programUs,
    busyUs: sampledUs - idleUs,
    requests,
    byFunction: rows("fn"),
    byFile: rows("file"),
    byModule: rows("module"),
  };
}

/** A fixed-width text table for the terminal: first column left-aligned, the rest right-aligned unless named. */
export function textTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, leftColumns: readonly number[] = [0]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (leftColumns.includes(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const ms = (us: number) => (us / 1000).toFixed(1);
const pct = (us: number, of: number) => formatPercent(share(us, of));
const perReq = (us: number, requests: number) => (requests > 0 ? (us / requests).toFixed(1) : "n/a");

/** The profiler's printed report: totals and per-request figures, then the three tables (top `top` rows each). */
export function renderProfile(s: ProfileSummary, opts: { top: number; title: string; notes?: readonly string[] }): string {
  const out: string[] = [];
  const req = s.requests;
  const busySamples = s.samples > 0 ? (s.samples * s.busyUs) / Math.max(s.sampledUs, 1) : 0;
  out.push(opts.title);
  for (const n of opts.notes ?? []) out.push(n);
  out.push("");
  out.push(
    `${s.samples.toLocaleString("en-US")} samples over ${ms(s.sampledUs)} ms; busy (not idle) ${ms(s.busyUs)} ms, ` +
      `of which garbage collection ${ms(s.gcUs)} ms and (program) ${ms(s.programUs)} ms (runtime C++ and V8 outside any JS function).`,
  );
  if (req > 0) {
    out.push(
      `${req.toLocaleString("en-US")} requests answered while sampling: ${(s.samples / req).toFixed(2)} samples per request, ` +
        `${busySamples > 0 ? (busySamples / req).toFixed(2) : "0"} of them busy; busy time ${perReq(s.busyUs, req)} µs per request, ` +
        `JavaScript ${perReq(s.busyUs - s.gcUs - s.programUs, req)} µs per request.`,
    );
  }
  out.push("Self = innermost frame; total = anywhere on the stack (once per sample). Percentages are of busy time.");
  const header = ["self ms", "self %", "self µs/req", "total ms", "total %", "total µs/req"];
  const figures = (r: ProfileRow) => [
    ms(r.selfUs),
    pct(r.selfUs, s.busyUs),
    perReq(r.selfUs, req),
    ms(r.totalUs),
    pct(r.totalUs, s.busyUs),
    perReq(r.totalUs, req),
  ];
  const busyOnly = (r: ProfileRow) => r.label !== "(idle)";
  out.push("");
  out.push("By module:");
  out.push(
    textTable(
      ["module", ...header],
      s.byModule.filter(busyOnly).map((r) => [r.label, ...figures(r)]),
    ),
  );
  const topTable = (title: string, firstHeader: string, lastHeader: string, rows: readonly ProfileRow[]) => {
    out.push("");
    out.push(`${title}:`);
    out.push(
      textTable(
        [firstHeader, ...header, lastHeader],
        rows.slice(0, opts.top).map((r) => [r.label, ...figures(r), r.where]),
        [0, 7],
      ),
    );
  };
  topTable(`By source file (top ${opts.top} by self time)`, "file", "module", s.byFile.filter(busyOnly));
  topTable(`By function (top ${opts.top} by self time)`, "function", "where", s.byFunction.filter(busyOnly));
  topTable(
    `By function (top ${opts.top} by total time, JavaScript only)`,
    "function",
    "where",
    s.byFunction.filter((r) => r.where !== "").sort((a, b) => b.totalUs - a.totalUs),
  );
  return out.join("\n");
}
