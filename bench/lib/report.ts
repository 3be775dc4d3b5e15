/**
 * The bench report: one JSON document (bench/results/latest.json) and its Markdown rendering (latest.md), with every
 * figure beside its ratio to the bare proxy and the issue's targets beside the measured values. Pure: the runner
 * fills a BenchReport, these functions only format it, so the wording and arithmetic are unit-tested.
 */

import { LEASE_METHODS } from "./budget";
import type { StartupResult } from "./startup";
import { ratio, type Summary } from "./stats";

/**
 * Five targets: the Worker's upstream request straight to the stand-in, and the bare proxy and the gateway Worker
 * each on a bare workerd (production-like) and under wrangler dev (the local tool, with its dev proxy in the path).
 */
export const TARGET_NAMES = ["direct", "proxy-workerd", "worker-workerd", "proxy-dev", "worker-dev"] as const;

/**
 * The sixth target, in the same load cells as the five: the same Worker bundle on a bare workerd with BUDGETS on and
 * a real ledger Durable Object. Its figures have their own section (what the budget check costs); the five targets'
 * tables and checks are of the Worker without budgets.
 */
export const BUDGET_TARGET = "worker-budget-workerd" as const;
/**
 * The load cells' order (rotated per cell): the Worker with budgets right after the one without, so each pair of
 * cells runs back to back and the machine's noise hits both alike.
 */
export const LOAD_TARGETS = ["direct", "proxy-workerd", "worker-workerd", BUDGET_TARGET, "proxy-dev", "worker-dev"] as const;
export type TargetName = (typeof LOAD_TARGETS)[number];

export const TARGET_LABELS: Record<TargetName, string> = {
  direct: "stand-in direct",
  "proxy-workerd": "bare proxy, workerd",
  "worker-workerd": "gateway Worker, workerd",
  "proxy-dev": "bare proxy, wrangler dev",
  "worker-dev": "gateway Worker, wrangler dev",
  [BUDGET_TARGET]: "gateway Worker with budgets, workerd",
};

/** Each gateway Worker target with the bare proxy in the same runtime set-up: the floor its ratios are taken to. */
export const PAIRS = [
  { runtime: "workerd", proxy: "proxy-workerd", worker: "worker-workerd" },
  { runtime: "wrangler dev", proxy: "proxy-dev", worker: "worker-dev" },
] as const satisfies ReadonlyArray<{ runtime: string; proxy: TargetName; worker: TargetName }>;

/** The target a row's ratio is taken to: its own runtime's bare proxy (direct is compared with workerd's). */
export function baseOf(t: TargetName): TargetName {
  return t === "worker-dev" || t === "proxy-dev" ? "proxy-dev" : "proxy-workerd";
}

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly kernel: string;
  /** 1, 5 and 15 minute load averages before and after the run: other work on the machine shows up here. */
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
}

export interface Versions {
  readonly node: string;
  readonly wrangler: string;
  readonly workerd: string;
  readonly autocannon: string;
}

export interface JsonCell {
  readonly path: "miss" | "hit";
  readonly connections: number;
  readonly target: TargetName;
  /** Medians across rounds. */
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly requests: number;
  readonly rounds: ReadonlyArray<{ rps: number; latency: Summary; errors: number; non2xx: number }>;
}

export interface StreamCell {
  readonly connections: number;
  readonly target: TargetName;
  readonly ttfbP50: number;
  readonly ttfbP99: number;
  readonly totalP50: number;
  /** Complete streamed responses per second (median across rounds). */
  readonly rps: number;
  readonly errors: number;
  readonly requests: number;
  readonly rounds: ReadonlyArray<{ ttfb: Summary; total: Summary; rps: number; errors: number }>;
}

/** The targets a burst of identical requests is sent to: the two gateway Workers and their bare proxies. */
export const BURST_TARGETS = ["proxy-workerd", "worker-workerd", "proxy-dev", "worker-dev"] as const satisfies readonly TargetName[];

/**
 * A burst of identical concurrent cacheable requests (same client, same body, never sent before): how many calls
 * reached the upstream (the stand-in's own counter), and how the answers were labelled.
 */
export interface BurstRow {
  readonly target: TargetName;
  readonly kind: "json" | "sse";
  readonly requests: number;
  /** 2xx answers (for SSE: complete streams). */
  readonly ok: number;
  readonly upstreamCalls: number;
  /** Answers labelled x-cache: COALESCED (waited on an identical call in flight). */
  readonly coalesced: number;
  /** Every cache label seen (x-cache for the Worker, cf-aig-cache-status through the proxy) and its count. */
  readonly labels: Readonly<Record<string, number>>;
  /** First request sent to last answer complete. */
  readonly wallMs: number;
}

export interface BurstFigures {
  readonly requests: number;
  /** How long the stand-in held each burst's upstream calls, as a provider takes time to answer. */
  readonly upstreamLatencyMs: number;
  readonly rows: readonly BurstRow[];
}

export interface BundleSize {
  readonly rawBytes: number;
  readonly gzipBytes: number;
  readonly wranglerSays?: string;
}

export interface BundleFigures {
  readonly worker: BundleSize;
  readonly passthrough: BundleSize;
}

export interface CacheRow {
  readonly variation: string;
  readonly calls: number;
  /** Shares 0..1 of calls answered from cache. */
  readonly exactMeasured: number;
  readonly exactExpected: number;
  readonly workerMeasured: number;
  readonly ideal: number;
}

export interface MemorySample {
  readonly tS: number;
  readonly workerdRssMiB: number;
}

export interface SoakFigures {
  readonly target: TargetName;
  readonly durationS: number;
  readonly rate: number;
  readonly connections: number;
  readonly requests: number;
  readonly ok: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly timeouts: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly memory: readonly MemorySample[];
}

/** The budget check's cost at one JSON cell: the Worker with budgets against the one without and the bare proxy. */
export interface BudgetJsonCost {
  readonly path: "miss" | "hit";
  readonly connections: number;
  /** Throughput with budgets ÷ without. */
  readonly rpsVsWorker: number;
  readonly p50VsWorker: number;
  /** p50 with budgets − without, ms. */
  readonly p50DeltaMs: number;
  readonly p99VsWorker: number;
  readonly rpsVsProxy: number;
  readonly p50VsProxy: number;
  /** Throughput with budgets ÷ without, round by round (the two cells ran back to back): the noise on the ratio. */
  readonly rpsVsWorkerByRound: readonly number[];
}

export interface BudgetStreamCost {
  readonly connections: number;
  /** First byte p50 with budgets − without, ms. */
  readonly ttfbDeltaMs: number;
  readonly rpsVsWorker: number;
  readonly rpsVsProxy: number;
  readonly rpsVsWorkerByRound: readonly number[];
}

/** What the budget subject showed: that it metered, what the ledger saw, and the cost ratios. */
export interface BudgetFigures {
  /** The client the load ran as, and the limits it was given so the load never exhausts them. */
  readonly client: string;
  readonly limits: { readonly dailyUsd: number; readonly monthlyUsd: number };
  /** Requests one at a time before the load: x-ai-budget-limit, and x-ai-budget-remaining after each (falling). */
  readonly probe: { readonly limitUsd: number; readonly remainingUsd: readonly number[] };
  /** x-ai-budget-remaining of one request after the load. */
  readonly remainingAfterUsd: number;
  /** 2xx answers (JSON) and complete streams the budget target gave in the timed cells. */
  readonly answered: number;
  /** Requests the ledger booked over the same cells (GET /v1/usage, read before and after). */
  readonly booked: number;
  /** Ledger (Durable Object) calls over the cells, by method: the lease protocol's (acquireLease, settle, returnLease). */
  readonly ledgerCalls: Readonly<Record<string, number>>;
  /** The lease protocol's calls per 1,000 answered requests. */
  readonly ledgerCallsPer1000: number;
  readonly json: readonly BudgetJsonCost[];
  readonly stream: readonly BudgetStreamCost[];
}

/** Throughput ratio of two targets' rounds, pairing round i with round i. */
function byRound(a: ReadonlyArray<{ rps: number }>, b: ReadonlyArray<{ rps: number }>): number[] {
  return a.slice(0, b.length).map((r, i) => ratio(r.rps, b[i]!.rps));
}

/** The lowest and highest of per-round figures, each formatted; "1 round" with fewer than two. */
function range(values: readonly number[], format: (v: number) => string): string {
  if (values.length < 2) return "1 round";
  return `${format(Math.min(...values))}–${format(Math.max(...values))}`;
}

/** "0.91×–1.08×", the lowest and highest of the finite per-round ratios; "1 round" with fewer than two. */
export function ratioSpread(values: readonly number[]): string {
  return range(values.filter(Number.isFinite), formatRatio);
}

/** Budget cost ratios per cell, from the measured cells of the three workerd targets. */
export function budgetCost(
  json: readonly JsonCell[],
  stream: readonly StreamCell[],
): { json: BudgetJsonCost[]; stream: BudgetStreamCost[] } {
  const out: { json: BudgetJsonCost[]; stream: BudgetStreamCost[] } = { json: [], stream: [] };
  for (const path of ["miss", "hit"] as const) {
    for (const c of levelsOf(json)) {
      const match = (x: JsonCell) => x.path === path && x.connections === c;
      const b = cellFor(json, match, BUDGET_TARGET);
      const w = cellFor(json, match, "worker-workerd");
      const p = cellFor(json, match, "proxy-workerd");
      if (!b || !w || !p) continue;
      out.json.push({
        path,
        connections: c,
        rpsVsWorker: ratio(b.rps, w.rps),
        p50VsWorker: ratio(b.p50, w.p50),
        p50DeltaMs: b.p50 - w.p50,
        p99VsWorker: ratio(b.p99, w.p99),
        rpsVsProxy: ratio(b.rps, p.rps),
        p50VsProxy: ratio(b.p50, p.p50),
        rpsVsWorkerByRound: byRound(b.rounds, w.rounds),
      });
    }
  }
  for (const c of levelsOf(stream)) {
    const match = (x: StreamCell) => x.connections === c;
    const b = cellFor(stream, match, BUDGET_TARGET);
    const w = cellFor(stream, match, "worker-workerd");
    const p = cellFor(stream, match, "proxy-workerd");
    if (!b || !w || !p) continue;
    out.stream.push({
      connections: c,
      ttfbDeltaMs: b.ttfbP50 - w.ttfbP50,
      rpsVsWorker: ratio(b.rps, w.rps),
      rpsVsProxy: ratio(b.rps, p.rps),
      rpsVsWorkerByRound: byRound(b.rounds, w.rounds),
    });
  }
  return out;
}

/** Lease-protocol ledger calls per 1,000 answered requests. */
export function ledgerCallsPer1000(calls: Readonly<Record<string, number>>, answered: number): number {
  const n = LEASE_METHODS.reduce((s, m) => s + (calls[m] ?? 0), 0);
  return answered > 0 ? (n / answered) * 1000 : Number.NaN;
}

export interface BenchReport {
  readonly schema: 3;
  readonly date: string;
  readonly quick: boolean;
  readonly machine: MachineInfo;
  readonly versions: Versions;
  readonly settings: {
    readonly rounds: number;
    readonly cellSeconds: number;
    readonly concurrency: readonly number[];
    readonly surface: string;
    /** The Worker commit measured, e.g. "aa4bc25e1f00" or "aa4bc25e1f00 + uncommitted changes". */
    readonly workerCommit: string;
    readonly notes: readonly string[];
  };
  readonly json: readonly JsonCell[];
  readonly stream: readonly StreamCell[];
  readonly bundle: BundleFigures;
  readonly startup: {
    readonly worker: StartupResult;
    readonly passthrough: StartupResult;
    /** `wrangler dev` launch to first answer (serving the built bundle): the local-development figure. */
    readonly wranglerReadyMs: { readonly worker: number; readonly passthrough: number };
  };
  readonly cache: { readonly calls: number; readonly bases: number; readonly rows: readonly CacheRow[] };
  readonly burst: BurstFigures;
  readonly soak: SoakFigures;
  /** The budget check's cost (absent when the measured Worker's config declares no BUDGETS or no ledger). */
  readonly budget?: BudgetFigures;
  readonly targets: readonly TargetCheck[];
  readonly durationS: number;
}

export interface TargetCheck {
  readonly name: string;
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}

/** "1.07×", or "n/a" for a missing ratio. */
export function formatRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : "n/a";
}

/** Milliseconds with precision that fits loopback figures: 0.412 ms, 3.14 ms, 42.1 ms, 1234 ms. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a";
  const a = Math.abs(ms);
  const digits = a < 1 ? 3 : a < 10 ? 2 : a < 100 ? 1 : 0;
  return `${ms.toFixed(digits)} ms`;
}

/** A signed difference in milliseconds, e.g. "+0.21 ms". */
export function formatDeltaMs(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a";
  return `${ms >= 0 ? "+" : "−"}${formatMs(Math.abs(ms))}`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

export function formatPercent(share: number): string {
  return Number.isFinite(share) ? `${(share * 100).toFixed(1)}%` : "n/a";
}

export function formatRps(rps: number): string {
  return Number.isFinite(rps) ? Math.round(rps).toLocaleString("en-US") : "n/a";
}

function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function cellFor<T extends { target: TargetName }>(cells: readonly T[], match: (c: T) => boolean, target: TargetName): T | undefined {
  return cells.find((c) => c.target === target && match(c));
}

/**
 * The issue's targets, each a ratio or difference to the bare proxy in the same runtime and the same run (reported
 * only: nothing fails when one is missed). Connection counts without a target (e.g. 32) are measured, not judged.
 */
export const TARGETS = {
  jsonThroughput: { min: 0.85, connections: [1, 8] },
  jsonP50: { max: 1.2, connections: [1, 8] },
  /** First byte, p50, ms over the bare proxy's, per connection count. */
  sseFirstByte: { 1: 1, 8: 3 } as Readonly<Record<number, number>>,
  sseThroughput: { min: 0.9 },
  bundleGzipBytes: 64 * 1024,
  startupMs: 20,
  burstUpstreamCalls: 1,
} as const;

export function checkTargets(r: Pick<BenchReport, "json" | "stream" | "bundle" | "startup" | "burst">): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const judged = (levels: readonly number[], c: number) => levels.includes(c);
  for (const pair of PAIRS) {
    for (const path of ["miss", "hit"] as const) {
      const p50s: string[] = [];
      const rpss: string[] = [];
      let p50Met = true;
      let rpsMet = true;
      for (const c of levelsOf(r.json)) {
        if (!judged(TARGETS.jsonP50.connections, c)) continue;
        const w = cellFor(r.json, (x) => x.path === path && x.connections === c, pair.worker);
        const b = cellFor(r.json, (x) => x.path === path && x.connections === c, pair.proxy);
        if (!w || !b) continue;
        const p = ratio(w.p50, b.p50);
        const t = ratio(w.rps, b.rps);
        p50s.push(`c=${c}: ${formatRatio(p)}`);
        rpss.push(`c=${c}: ${formatRatio(t)}`);
        p50Met &&= p <= TARGETS.jsonP50.max;
        rpsMet &&= t >= TARGETS.jsonThroughput.min;
      }
      if (p50s.length === 0) continue;
      checks.push({
        name: `throughput, JSON cache ${path} (${pair.runtime})`,
        target: `≥ ${TARGETS.jsonThroughput.min.toFixed(2)}× bare proxy`,
        measured: rpss.join(", "),
        met: rpsMet,
      });
      checks.push({
        name: `p50 latency, JSON cache ${path} (${pair.runtime})`,
        target: `≤ ${TARGETS.jsonP50.max.toFixed(2)}× bare proxy`,
        measured: p50s.join(", "),
        met: p50Met,
      });
    }
    const deltas: string[] = [];
    const limits: string[] = [];
    const rates: string[] = [];
    let ttfbMet = true;
    let rateMet = true;
    for (const c of levelsOf(r.stream)) {
      const w = cellFor(r.stream, (x) => x.connections === c, pair.worker);
      const b = cellFor(r.stream, (x) => x.connections === c, pair.proxy);
      if (!w || !b) continue;
      const t = ratio(w.rps, b.rps);
      rates.push(`c=${c}: ${formatRatio(t)}`);
      rateMet &&= t >= TARGETS.sseThroughput.min;
      const limit = TARGETS.sseFirstByte[c];
      if (limit === undefined) continue;
      const d = w.ttfbP50 - b.ttfbP50;
      deltas.push(`c=${c}: ${formatDeltaMs(d)}`);
      limits.push(`+${limit} ms at c=${c}`);
      ttfbMet &&= d <= limit;
    }
    if (deltas.length > 0) {
      checks.push({
        name: `SSE first byte, p50 (${pair.runtime})`,
        target: `≤ bare proxy ${limits.join(", ")}`,
        measured: deltas.join(", "),
        met: ttfbMet,
      });
    }
    if (rates.length > 0) {
      checks.push({
        name: `SSE throughput, full streams/s (${pair.runtime})`,
        target: `≥ ${TARGETS.sseThroughput.min.toFixed(2)}× bare proxy`,
        measured: rates.join(", "),
        met: rateMet,
      });
    }
  }
  checks.push({
    name: "bundle size (gzip)",
    target: `≤ ${formatBytes(TARGETS.bundleGzipBytes)}`,
    measured: formatBytes(r.bundle.worker.gzipBytes),
    met: r.bundle.worker.gzipBytes <= TARGETS.bundleGzipBytes,
  });
  const s = r.startup;
  const startups: Array<[string, number]> = [
    ["workerd, launch to first answer", s.worker.toFirstAnswerMs - s.passthrough.toFirstAnswerMs],
    // One launch of each per run, and wrangler's own start varies by hundreds of milliseconds: a coarse figure.
    ["wrangler dev, launch to first answer, one launch each", s.wranglerReadyMs.worker - s.wranglerReadyMs.passthrough],
  ];
  for (const [what, d] of startups) {
    checks.push({
      name: `start-up (${what})`,
      target: `≤ bare proxy + ${TARGETS.startupMs} ms`,
      measured: formatDeltaMs(d),
      met: d <= TARGETS.startupMs,
    });
  }
  for (const pair of PAIRS) {
    const rows = r.burst.rows.filter((b) => b.target === pair.worker);
    if (rows.length === 0) continue;
    checks.push({
      name: `upstream calls per ${r.burst.requests} identical concurrent requests (${pair.runtime})`,
      target: `${TARGETS.burstUpstreamCalls}`,
      measured: rows.map((b) => `${b.kind === "json" ? "JSON" : "SSE"}: ${b.upstreamCalls} (${b.coalesced} COALESCED)`).join(", "),
      met: rows.every((b) => b.upstreamCalls === TARGETS.burstUpstreamCalls && b.ok === b.requests),
    });
  }
  return checks;
}

function levelsOf(cells: ReadonlyArray<{ connections: number }>): number[] {
  return [...new Set(cells.map((c) => c.connections))].sort((a, b) => a - b);
}

/** The "latest figures" table the README quotes: the gateway Worker per runtime, each beside its bare proxy. */
export function headlineTable(r: BenchReport): string {
  const rows: string[][] = [];
  for (const path of ["miss", "hit"] as const) {
    for (const c of levelsOf(r.json)) {
      const row = [`JSON, cache ${path}, ${c} conn.`];
      for (const pair of PAIRS) {
        const w = cellFor(r.json, (x) => x.path === path && x.connections === c, pair.worker);
        const b = cellFor(r.json, (x) => x.path === path && x.connections === c, pair.proxy);
        row.push(
          w && b
            ? `${formatRps(w.rps)} req/s (${formatRatio(ratio(w.rps, b.rps))}); p50 ${formatMs(w.p50)} (${formatRatio(ratio(w.p50, b.p50))}); p99 ${formatMs(w.p99)} (${formatRatio(ratio(w.p99, b.p99))})`
            : "n/a",
        );
      }
      rows.push(row);
    }
  }
  for (const c of levelsOf(r.stream)) {
    const row = [`SSE first byte, ${c} conn.`];
    for (const pair of PAIRS) {
      const w = cellFor(r.stream, (x) => x.connections === c, pair.worker);
      const b = cellFor(r.stream, (x) => x.connections === c, pair.proxy);
      row.push(
        w && b
          ? `p50 ${formatMs(w.ttfbP50)} (${formatDeltaMs(w.ttfbP50 - b.ttfbP50)}); p99 ${formatMs(w.ttfbP99)} (${formatDeltaMs(w.ttfbP99 - b.ttfbP99)})`
          : "n/a",
      );
    }
    rows.push(row);
  }
  for (const c of levelsOf(r.stream)) {
    const row = [`SSE throughput, ${c} conn.`];
    for (const pair of PAIRS) {
      const w = cellFor(r.stream, (x) => x.connections === c, pair.worker);
      const b = cellFor(r.stream, (x) => x.connections === c, pair.proxy);
      row.push(w && b ? `${formatRps(w.rps)} streams/s (${formatRatio(ratio(w.rps, b.rps))})` : "n/a");
    }
    rows.push(row);
  }
  for (const kind of ["json", "sse"] as const) {
    const row = [`upstream calls per ${r.burst.requests} identical concurrent ${kind === "json" ? "JSON" : "SSE"} requests`];
    for (const pair of PAIRS) {
      const w = r.burst.rows.find((b) => b.target === pair.worker && b.kind === kind);
      const b = r.burst.rows.find((x) => x.target === pair.proxy && x.kind === kind);
      row.push(w ? `${w.upstreamCalls} (${w.coalesced} COALESCED)${b ? `; bare proxy ${b.upstreamCalls}` : ""}` : "n/a");
    }
    rows.push(row);
  }
  rows.push([
    "bundle (minified)",
    `${formatBytes(r.bundle.worker.gzipBytes)} gzip, ${formatBytes(r.bundle.worker.rawBytes)} raw`,
    "same bundle",
  ]);
  const s = r.startup;
  rows.push([
    "start-up, launch → first answer",
    `${formatMs(s.worker.toFirstAnswerMs)} (${formatDeltaMs(s.worker.toFirstAnswerMs - s.passthrough.toFirstAnswerMs)})`,
    `${formatMs(s.wranglerReadyMs.worker)} (${formatDeltaMs(s.wranglerReadyMs.worker - s.wranglerReadyMs.passthrough)})`,
  ]);
  return table(["gateway Worker (vs bare proxy)", "on workerd", "under wrangler dev"], rows);
}

/** The lowest and highest of the per-round figures: how much the machine's noise moved them. */
export function spread(values: readonly number[]): string {
  return range(values, formatRps);
}

function jsonTable(r: BenchReport, path: "miss" | "hit"): string {
  const rows: string[][] = [];
  for (const c of levelsOf(r.json)) {
    for (const t of TARGET_NAMES) {
      const cell = cellFor(r.json, (x) => x.path === path && x.connections === c, t);
      if (!cell) continue;
      const base = cellFor(r.json, (x) => x.path === path && x.connections === c, baseOf(t));
      rows.push([
        String(c),
        TARGET_LABELS[t],
        formatRps(cell.rps),
        formatRatio(ratio(cell.rps, base?.rps ?? Number.NaN)),
        formatMs(cell.p50),
        formatRatio(ratio(cell.p50, base?.p50 ?? Number.NaN)),
        formatMs(cell.p99),
        formatRatio(ratio(cell.p99, base?.p99 ?? Number.NaN)),
        spread(cell.rounds.map((x) => x.rps)),
        `${cell.errors + cell.non2xx} / ${cell.requests.toLocaleString("en-US")}`,
      ]);
    }
  }
  return table(["conn.", "target", "req/s", "× proxy", "p50", "× proxy", "p99", "× proxy", "req/s by round", "errors / requests"], rows);
}

function streamTable(r: BenchReport): string {
  const rows: string[][] = [];
  for (const c of levelsOf(r.stream)) {
    for (const t of TARGET_NAMES) {
      const cell = cellFor(r.stream, (x) => x.connections === c, t);
      if (!cell) continue;
      const base = cellFor(r.stream, (x) => x.connections === c, baseOf(t));
      rows.push([
        String(c),
        TARGET_LABELS[t],
        formatMs(cell.ttfbP50),
        formatDeltaMs(cell.ttfbP50 - (base?.ttfbP50 ?? Number.NaN)),
        formatMs(cell.ttfbP99),
        formatDeltaMs(cell.ttfbP99 - (base?.ttfbP99 ?? Number.NaN)),
        formatMs(cell.totalP50),
        formatRps(cell.rps),
        formatRatio(ratio(cell.rps, base?.rps ?? Number.NaN)),
        `${cell.errors} / ${cell.requests.toLocaleString("en-US")}`,
      ]);
    }
  }
  return table(
    [
      "conn.",
      "target",
      "first byte p50",
      "vs proxy",
      "first byte p99",
      "vs proxy",
      "whole stream p50",
      "streams/s",
      "× proxy",
      "errors / requests",
    ],
    rows,
  );
}

/** Cache labels as "MISS 1, COALESCED 99", most frequent first; "none" when no answer carried one. */
export function formatLabels(labels: Readonly<Record<string, number>>): string {
  const entries = Object.entries(labels).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return entries.length === 0 ? "none" : entries.map(([k, v]) => `${k} ${v}`).join(", ");
}

function burstTable(r: BenchReport): string {
  return table(
    ["target", "kind", "upstream calls", "COALESCED answers", "cache labels", "answered", "wall time"],
    r.burst.rows.map((b) => [
      TARGET_LABELS[b.target],
      b.kind === "json" ? "JSON" : "SSE",
      String(b.upstreamCalls),
      String(b.coalesced),
      formatLabels(b.labels),
      `${b.ok} / ${b.requests}`,
      formatMs(b.wallMs),
    ]),
  );
}

/** "$1,000,000" for whole amounts; fractions to the micro-dollar the headers carry. */
export function formatUsd(usd: number): string {
  if (!Number.isFinite(usd)) return "n/a";
  return Number.isInteger(usd) ? `$${usd.toLocaleString("en-US")}` : `$${usd.toFixed(6)}`;
}

/** The remaining amounts as a falling sequence: "999999.999919 → 999999.999838 → …". */
export function remainingLine(values: readonly number[]): string {
  return values.map((v) => v.toFixed(6)).join(" → ");
}

/** The budget section: the Worker with budgets beside the one without and the bare proxy, all three on workerd. */
export function budgetSection(r: BenchReport): string[] {
  const b = r.budget;
  if (!b) return [];
  const out: string[] = [];
  out.push("## What the budget check costs (workerd)");
  out.push("");
  out.push(
    `**${TARGET_LABELS[BUDGET_TARGET]}**: the same bundle as the gateway Worker on workerd, with BUDGETS on (worker/wrangler.jsonc's, ` +
      `as committed except the bench client \`${b.client}\`'s limits, raised to ${formatUsd(b.limits.dailyUsd)} a day and ` +
      `${formatUsd(b.limits.monthlyUsd)} a month so the load never exhausts them) and a real ledger: the BudgetLedger ` +
      `Durable Object, SQLite-backed, on local disk in the same workerd process. Every request holds its worst case on ` +
      `the isolate's lease and settles its cost; the lease is renewed and spend reported to the ledger in the ` +
      `background. Measured in the same cells as the other targets, rotating with them, each cell right after the gateway ` +
      `Worker's without budgets. "× without" is to the gateway Worker without budgets (medians across rounds; ` +
      `"by round" the lowest and highest of the round-by-round ratios, the noise on it), "× proxy" to the bare ` +
      `proxy, both on workerd.`,
  );
  out.push("");
  const jsonRows = b.json.map((c) => {
    const match = (x: JsonCell) => x.path === c.path && x.connections === c.connections;
    const w = cellFor(r.json, match, "worker-workerd");
    const bw = cellFor(r.json, match, BUDGET_TARGET);
    return [
      `JSON, cache ${c.path}, ${c.connections} conn.`,
      w ? `${formatRps(w.rps)} req/s, p50 ${formatMs(w.p50)}` : "n/a",
      bw ? `${formatRps(bw.rps)} req/s, p50 ${formatMs(bw.p50)}` : "n/a",
      formatRatio(c.rpsVsWorker),
      ratioSpread(c.rpsVsWorkerByRound),
      `${formatRatio(c.p50VsWorker)} (${formatDeltaMs(c.p50DeltaMs)})`,
      formatRatio(c.p99VsWorker),
      `${formatRatio(c.rpsVsProxy)} / ${formatRatio(c.p50VsProxy)}`,
    ];
  });
  out.push(
    table(
      ["cell", "without budgets", "with budgets", "req/s × without", "by round", "p50 × without", "p99 × without", "req/s / p50 × proxy"],
      jsonRows,
    ),
  );
  out.push("");
  if (b.stream.length > 0) {
    out.push(
      table(
        ["SSE", "first byte p50, without", "with budgets", "vs without", "streams/s × without", "by round", "streams/s × proxy"],
        b.stream.map((c) => {
          const match = (x: StreamCell) => x.connections === c.connections;
          const w = cellFor(r.stream, match, "worker-workerd");
          const bw = cellFor(r.stream, match, BUDGET_TARGET);
          return [
            `${c.connections} conn.`,
            w ? formatMs(w.ttfbP50) : "n/a",
            bw ? formatMs(bw.ttfbP50) : "n/a",
            formatDeltaMs(c.ttfbDeltaMs),
            formatRatio(c.rpsVsWorker),
            ratioSpread(c.rpsVsWorkerByRound),
            formatRatio(c.rpsVsProxy),
          ];
        }),
      ),
    );
    out.push("");
  }
  const calls = Object.entries(b.ledgerCalls)
    .filter(([m]) => (LEASE_METHODS as readonly string[]).includes(m))
    .map(([m, n]) => `${m} ${n}`)
    .join(", ");
  out.push(
    `Metering, checked before the figures count: ${b.probe.remainingUsd.length} requests one at a time answered ` +
      `x-ai-budget-limit ${formatUsd(b.probe.limitUsd)} and x-ai-budget-remaining ${remainingLine(b.probe.remainingUsd)} ` +
      `(falling: each was booked), ${b.remainingAfterUsd.toFixed(6)} after the load. Over the timed cells the budget ` +
      `target answered ${b.answered.toLocaleString("en-US")} requests and the ledger booked ` +
      `${b.booked.toLocaleString("en-US")} (GET /v1/usage before and after; the load generator does not count requests ` +
      `cut off at a cell's end, nor the two that prime each cache-hit cell). Ledger calls the load caused: ${calls || "none"}, ` +
      `**${Number.isFinite(b.ledgerCallsPer1000) ? b.ledgerCallsPer1000.toFixed(1) : "n/a"} per 1,000 requests** ` +
      `(counted by the Durable Object, a bench-side subclass of BudgetLedger; GET /v1/usage reads left out). With a ` +
      `budget this large one lease covers the whole run, so these are the batched spend reports (one per ` +
      `lease.flushSeconds while requests settle) and renewals as the lease ages; a budget near its end renews more often. ` +
      `Here the ledger is an in-process call to a local SQLite file; on Cloudflare it is a network round trip, made in ` +
      `the background (waitUntil) except when a lease cannot cover a request.`,
  );
  out.push("");
  return out;
}

function memoryLine(samples: readonly MemorySample[]): string {
  if (samples.length === 0) return "no samples";
  const mib = samples.map((s) => s.workerdRssMiB);
  const first = mib[0]!;
  const last = mib[mib.length - 1]!;
  return `start ${first.toFixed(1)} MiB, end ${last.toFixed(1)} MiB, max ${Math.max(...mib).toFixed(1)} MiB (${samples.length} samples)`;
}

/** About a dozen memory samples as a table, enough to see growth without a row per second. */
function memoryTable(samples: readonly MemorySample[]): string {
  const step = Math.max(1, Math.ceil(samples.length / 12));
  const picked = samples.filter((_, i) => i % step === 0 || i === samples.length - 1);
  return table(
    ["t", "workerd RSS"],
    picked.map((s) => [`${s.tS.toFixed(0)} s`, `${s.workerdRssMiB.toFixed(1)} MiB`]),
  );
}

export function renderMarkdown(r: BenchReport): string {
  const m = r.machine;
  const v = r.versions;
  const s = r.startup;
  const out: string[] = [];
  out.push(`# Benchmark: what the gateway Worker costs on the request path${r.quick ? " (quick smoke run)" : ""}`);
  out.push("");
  out.push(
    `Run ${r.date} in ${Math.round(r.durationS)} s on ${m.cpu}, ${m.cores} cores, ${m.memoryGiB.toFixed(1)} GiB RAM, ${m.os} (Linux ${m.kernel}).`,
  );
  out.push(
    `Node ${v.node}, wrangler ${v.wrangler}, workerd ${v.workerd}, autocannon ${v.autocannon}. Gateway Worker at commit ${r.settings.workerCommit}.`,
  );
  out.push(
    `Load average before ${m.loadBefore.map((x) => x.toFixed(2)).join(" / ")}, after ${m.loadAfter.map((x) => x.toFixed(2)).join(" / ")} (1 / 5 / 15 min).`,
  );
  out.push("");
  out.push(
    `All traffic on 127.0.0.1; upstream is the gateway stand-in (scripts/gateway-standin) in its own process. ` +
      `Targets: **${TARGET_LABELS.direct}** (the Worker's own upstream request, replayed straight to the stand-in); ` +
      `the **bare proxy** (bench/passthrough: a fetch proxy with no logic, the floor) and the **gateway Worker** ` +
      `(worker/, ${r.settings.surface}), each both on a bare **workerd** process (production-like: nothing but the ` +
      `runtime in the path) and under **wrangler dev** (the local tool, whose dev proxy adds a constant cost to both). ` +
      `Ratios are to the bare proxy in the same set-up. Each cell ran ${r.settings.rounds} round(s) of ` +
      `${r.settings.cellSeconds} s per target, target order rotating between cells; figures are medians across rounds.`,
  );
  for (const n of r.settings.notes) out.push(`- ${n}`);
  out.push("");
  out.push("## Targets from the issue (measured, not asserted)");
  out.push("");
  out.push(
    table(
      ["figure", "target", "measured", "met"],
      r.targets.map((t) => [t.name, t.target, t.measured, t.met ? "yes" : "no"]),
    ),
  );
  out.push("");
  out.push("## Latest figures");
  out.push("");
  out.push(headlineTable(r));
  out.push("");
  out.push("## JSON calls, cache miss (every body new)");
  out.push("");
  out.push(jsonTable(r, "miss"));
  out.push("");
  out.push("## JSON calls, cache hit (one body repeated)");
  out.push("");
  out.push(jsonTable(r, "hit"));
  out.push("");
  out.push("## Streaming (SSE): time to first body byte, and complete streams per second");
  out.push("");
  out.push(streamTable(r));
  out.push("");
  out.push(...budgetSection(r));
  out.push(`## Identical concurrent requests: upstream calls per ${r.burst.requests}`);
  out.push("");
  out.push(
    `${r.burst.requests} identical cacheable requests (same client, same body, a question not asked before), sent ` +
      `at once on ${r.burst.requests} connections; the stand-in holds each upstream call ${formatMs(r.burst.upstreamLatencyMs)} ` +
      `before answering, as a provider takes time to answer, and counts every call that reaches it. A Worker that ` +
      `collapses identical requests makes one upstream call and answers the others \`x-cache: COALESCED\`; the bare ` +
      `proxy forwards every request.`,
  );
  out.push("");
  out.push(burstTable(r));
  out.push("");
  out.push("## Bundle");
  out.push("");
  out.push(
    table(
      ["Worker", "raw (minified)", "gzip -9", "wrangler reports"],
      [
        [
          "gateway Worker",
          formatBytes(r.bundle.worker.rawBytes),
          formatBytes(r.bundle.worker.gzipBytes),
          r.bundle.worker.wranglerSays ?? "n/a",
        ],
        [
          "bare proxy",
          formatBytes(r.bundle.passthrough.rawBytes),
          formatBytes(r.bundle.passthrough.gzipBytes),
          r.bundle.passthrough.wranglerSays ?? "n/a",
        ],
      ],
    ),
  );
  out.push("");
  out.push("`wrangler deploy --dry-run --minify --outdir`: the bundle a deploy would upload.");
  out.push("");
  out.push("## Start-up");
  out.push("");
  out.push(
    table(
      ["Worker", "launch → ready", "first request", "warm request", "launch → first answer", "× proxy"],
      [
        ["gateway Worker", s.worker],
        ["bare proxy", s.passthrough],
      ].map(([label, x]) => {
        const res = x as StartupResult;
        return [
          label as string,
          formatMs(res.readyMs),
          formatMs(res.firstMs),
          formatMs(res.warmMs),
          formatMs(res.toFirstAnswerMs),
          formatRatio(ratio(res.toFirstAnswerMs, s.passthrough.toFirstAnswerMs)),
        ];
      }),
    ),
  );
  out.push("");
  out.push(
    `A fresh workerd ${v.workerd} process per launch (the binary wrangler dev runs), loading the deployable bundle ` +
      `with rate-limit and KV bindings stubbed in memory; "ready" is launch until it accepts connections (runtime start, ` +
      `bundle compile and top-level evaluation); medians of ${s.worker.runs.length} launches each, alternating. ` +
      `Both pay the same runtime start, so the difference ` +
      `(${formatDeltaMs(s.worker.toFirstAnswerMs - s.passthrough.toFirstAnswerMs)}) is the Worker's ` +
      `bundle compile, top-level evaluation and first-request initialisation. "first request" minus "warm request" ` +
      `(${formatDeltaMs(s.worker.firstMs - s.worker.warmMs)} for the Worker) is what its first request initialises lazily.`,
  );
  out.push(
    `For local development: \`wrangler dev\` took ${formatMs(s.wranglerReadyMs.worker)} (gateway Worker) and ` +
      `${formatMs(s.wranglerReadyMs.passthrough)} (bare proxy) from launch to first answer, serving the built bundle.`,
  );
  out.push("");
  out.push("## Cache effectiveness on a replayed workload");
  out.push("");
  out.push(
    `${r.cache.calls} calls over ${r.cache.bases} questions per surface (Anthropic Messages and OpenAI Chat ` +
      `Completions, Zipf-like popularity), replayed one at a time, each call a variation of its question that does ` +
      `not change the answer. Share served from cache: **exact-match** = straight to the stand-in with no ` +
      `cache key (its default key hashes the body, as AI Gateway's does), measured and as predicted from the bytes; ` +
      `**Worker** = through the gateway Worker with its canonical cache keys; **ideal** = every repeat of a question.`,
  );
  out.push("");
  out.push(
    table(
      ["variation", "calls", "exact-match (measured)", "exact-match (predicted)", "Worker keys (measured)", "ideal"],
      r.cache.rows.map((c) => [
        c.variation,
        String(c.calls),
        formatPercent(c.exactMeasured),
        formatPercent(c.exactExpected),
        formatPercent(c.workerMeasured),
        formatPercent(c.ideal),
      ]),
    ),
  );
  out.push("");
  out.push("## Bounded load run");
  out.push("");
  const k = r.soak;
  out.push(
    `${TARGET_LABELS[k.target]}, JSON cache-miss calls at a steady ${formatRps(k.rate)} req/s (near the measured ` +
      `maximum) over ${k.connections} connections for ${k.durationS.toFixed(0)} s: ${k.requests.toLocaleString("en-US")} ` +
      `requests, ${formatRps(k.rps)} req/s answered, errors ${k.errors}, non-2xx ${k.non2xx}, timeouts ${k.timeouts}; ` +
      `p50 ${formatMs(k.p50)}, p99 ${formatMs(k.p99)}.`,
  );
  out.push("");
  out.push(
    `workerd memory (resident set of the workerd process${k.target === "worker-dev" ? "es under wrangler dev" : ""}): ${memoryLine(k.memory)}.`,
  );
  out.push("");
  out.push(memoryTable(k.memory));
  out.push("");
  out.push("## Reproduce");
  out.push("");
  out.push("```sh");
  out.push("npm run bench              # full run, a few minutes; writes bench/results/latest.{md,json}");
  out.push("npm run bench -- --quick   # seconds-long smoke run, same sections, noisy figures");
  out.push("```");
  out.push("");
  return out.join("\n");
}
