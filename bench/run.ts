/**
 * `npm run bench`: measures, in one run on 127.0.0.1, what the gateway Worker costs on the request path next to the
 * same requests sent straight to the gateway stand-in and through a bare pass-through Worker in the same runtime.
 * Starts the stand-in and both Workers (wrangler dev --local) as child processes that are always cleaned up,
 * alternates targets within each round so machine noise hits all alike, and writes latest.json and latest.md:
 * JSON and SSE load, bursts of identical requests (upstream calls per burst), start-up, bundle, cache replay, soak.
 * A sixth target, the same Worker bundle on workerd with BUDGETS on and a real ledger Durable Object, runs in the same
 * load cells, after a check that it meters, for what the budget check costs.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { copyWranglerConfig } from "../scripts/local-stack";
import { budgetOf, callsBetween, LEDGER_CLASS, type MeteringProbe, probeMetering, settledLedgerRequests } from "./lib/budget";
import { runBurst, runJsonLoad, runStreamLoad, sendOnce, type Target } from "./lib/load";
import { machineInfo, versions } from "./lib/machine";
import { killAllNow } from "./lib/procs";
import {
  type BenchReport,
  BUDGET_TARGET,
  BURST_TARGETS,
  type BudgetFigures,
  type BurstFigures,
  type BurstRow,
  budgetCost,
  type CacheRow,
  checkTargets,
  type JsonCell,
  LOAD_TARGETS,
  ledgerCallsPer1000,
  type MemorySample,
  remainingLine,
  renderMarkdown,
  type SoakFigures,
  type StreamCell,
  TARGET_NAMES,
  type TargetName,
} from "./lib/report";
import { type WorkerSource, workerSource } from "./lib/source";
import {
  type BenchBudgets,
  budgetWorkerSubjectFor,
  durableObjectsOf,
  proxySubjectFor,
  type StandinProcess,
  SURFACES,
  startStandinProcess,
  upstreamHeadersFrom,
  workerRequest,
  workerSubjectFor,
  writeStackConfigs,
} from "./lib/stack";
import { measureStartup } from "./lib/startup";
import { median, share } from "./lib/stats";
import { type DurableObjectCalls, startWorkerd, type WorkerdInstance } from "./lib/workerd";
import { exactKey, expectedHits, generateReplay, idealKey, type ReplayCall, type Surface, uniqueBody, VARIATIONS } from "./lib/workload";
import { type DevServer, measureBundle, startWranglerDev } from "./lib/wrangler";

export interface BenchOptions {
  readonly root: string;
  readonly quick: boolean;
  /** Where latest.json / latest.md go. */
  readonly outDir: string;
  readonly rounds: number;
  readonly cellSeconds: number;
  readonly concurrency: readonly number[];
  readonly soakSeconds: number;
  readonly startupRuns: number;
  readonly replayCalls: number;
  /** Identical concurrent requests per burst (upstream calls per N identical requests). */
  readonly burstRequests: number;
  /** Which gateway Worker target the bounded load run drives (its workerd memory is sampled). */
  readonly soakTarget: "worker-workerd" | "worker-dev";
  /** Measure the Worker as committed at this git revision instead of the working tree. */
  readonly workerRev?: string;
  /** Keep the temp dir (configs, logs, bundles) for inspection. */
  readonly keepTmp: boolean;
  readonly log: (line: string) => void;
}

export function defaultOptions(root: string, quick: boolean): BenchOptions {
  return {
    root,
    quick,
    outDir: quick ? join(root, "bench", "results", "tmp") : join(root, "bench", "results"),
    rounds: quick ? 1 : 3,
    cellSeconds: quick ? 0.5 : 1.5,
    // The targets are at 1 and 8 connections; --concurrency 1,8,32 adds a level that is measured but not judged.
    concurrency: [1, 8],
    soakSeconds: quick ? 3 : 60,
    startupRuns: quick ? 1 : 5,
    replayCalls: quick ? 120 : 600,
    burstRequests: 100,
    soakTarget: "worker-workerd",
    keepTmp: false,
    log: (line) => console.log(line),
  };
}

/** Rotates the target order per round and cell so no target always runs first (warmest) or last. */
export function rotation<T>(items: readonly T[], k: number): T[] {
  const n = items.length;
  const s = ((k % n) + n) % n;
  return [...items.slice(s), ...items.slice(0, s)];
}

/** The gateway Worker reports cache status as x-cache; the stand-in (directly or through the proxy) as cf-aig-cache-status. */
function cacheHeader(target: TargetName): string {
  return target.startsWith("worker-") ? "x-cache" : "cf-aig-cache-status";
}

/** Requests one at a time on the budget target before the load: each must carry a lower x-ai-budget-remaining. */
const METERING_PROBES = 3;

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const started = performance.now();
  const loadBefore = loadavg();
  const tmp = mkdtempSync(join(tmpdir(), "ai-gateway-bench-"));
  const notes: string[] = [];
  const servers: DevServer[] = [];
  const workerds: WorkerdInstance[] = [];
  let standin: StandinProcess | undefined;
  let source: WorkerSource | undefined;
  let ok = false;
  try {
    o.log(`bench: temp dir ${tmp}`);
    standin = await startStandinProcess(o.root, tmp);
    const si = standin;
    o.log(`bench: stand-in on ${si.origin}`);

    // Bench copies of both Worker configs: nothing under worker/ is written.
    source = workerSource(o.root, o.workerRev);
    o.log(
      `bench: Worker source ${source.commit}${source.dirty ? " with uncommitted changes" : ""}${o.workerRev ? ` (exported from git)` : ""}`,
    );
    const cfgs = writeStackConfigs(o.root, source.dir, si, tmp);
    const { workerCfgPath, passCfgPath, workerEnv, passEnv } = cfgs;

    o.log("bench: measuring bundles (wrangler deploy --dry-run --minify)");
    const workerBundleDir = join(tmp, "bundle-worker");
    const passBundleDir = join(tmp, "bundle-passthrough");
    const bundle = {
      worker: await measureBundle(o.root, workerCfgPath, workerBundleDir, join(tmp, "bundle-worker.log")),
      passthrough: await measureBundle(o.root, passCfgPath, passBundleDir, join(tmp, "bundle-passthrough.log")),
    };
    if (bundle.worker.files.length !== 1 || bundle.passthrough.files.length !== 1) {
      throw new Error(`expected one module per bundle, got ${bundle.worker.files.join(", ")} and ${bundle.passthrough.files.join(", ")}`);
    }
    const workerBundle = join(workerBundleDir, bundle.worker.files[0]!);
    const passBundle = join(passBundleDir, bundle.passthrough.files[0]!);
    // wrangler dev serves the same built bundles (no_bundle): every figure is of one build, and edits made to
    // worker/src while the bench runs cannot reload the Worker halfway through.
    const workerDevCfgPath = join(tmp, "worker.dev.wrangler.json");
    copyWranglerConfig(workerCfgPath, workerDevCfgPath, { name: "bench-gateway-worker", set: { main: workerBundle, no_bundle: true } });
    const passDevCfgPath = join(tmp, "passthrough.dev.wrangler.json");
    copyWranglerConfig(passCfgPath, passDevCfgPath, { name: "bench-passthrough", set: { main: passBundle, no_bundle: true } });

    const workerdBin = join(o.root, "node_modules", "workerd", "bin", "workerd");
    const workerSubject = workerSubjectFor(cfgs, workerBundle);
    const proxySubject = proxySubjectFor(cfgs, passBundle, si);
    // The budget subject needs BUDGETS and a ledger binding in the measured config (a --at revision may have neither).
    const withBudgets = cfgs.budgets !== undefined && durableObjectsOf(cfgs.workerCfg).some((d) => d.className === LEDGER_CLASS);
    if (!withBudgets)
      notes.push("The measured Worker's config declares no BUDGETS or no BudgetLedger binding: the budget check was not measured.");
    const loadTargets: readonly TargetName[] = withBudgets ? LOAD_TARGETS : TARGET_NAMES;

    o.log(
      `bench: starting both Workers on workerd${withBudgets ? " (the gateway Worker also with budgets)" : ""} and under wrangler dev --local`,
    );
    const workerWd = await startWorkerd(workerdBin, workerSubject, join(tmp, "serve-worker"));
    workerds.push(workerWd);
    const proxyWd = await startWorkerd(workerdBin, proxySubject, join(tmp, "serve-passthrough"));
    workerds.push(proxyWd);
    let budgetWd: WorkerdInstance | undefined;
    if (withBudgets) {
      budgetWd = await startWorkerd(workerdBin, budgetWorkerSubjectFor(cfgs, workerBundle), join(tmp, "serve-worker-budgets"));
      workerds.push(budgetWd);
    }
    const proxyDev = await startWranglerDev({
      root: o.root,
      name: "passthrough",
      configPath: passDevCfgPath,
      envFile: passEnv,
      tmpDir: tmp,
      readyPath: "/__standin/healthz",
    });
    servers.push(proxyDev);
    const workerDev = await startWranglerDev({
      root: o.root,
      name: "worker",
      configPath: workerDevCfgPath,
      envFile: workerEnv,
      tmpDir: tmp,
      readyPath: "/healthz",
    });
    servers.push(workerDev);
    o.log(`bench: wrangler dev ready: worker ${Math.round(workerDev.readyMs)} ms, bare proxy ${Math.round(proxyDev.readyMs)} ms`);

    // One call through the Worker per surface shows exactly what it sends upstream; the other targets replay that.
    const upstream = {} as Record<Surface, { path: string; headers: Record<string, string> }>;
    for (const surface of ["messages", "chatCompletions"] as const) {
      for (const origin of [workerDev.origin, workerWd.origin]) {
        const probe: Target = { name: "worker", origin, ...workerRequest(surface) };
        const res = await sendOnce(probe, uniqueBody(surface, 0, { tag: "Probe" }));
        if (res.status !== 200)
          throw new Error(`the Worker (${origin}) answered ${res.status} on ${probe.path}: ${res.text.slice(0, 300)}`);
      }
      const rec = await si.lastRecord(SURFACES[surface].provider);
      upstream[surface] = { path: rec.path, headers: upstreamHeadersFrom(rec.headers) };
    }

    const targetsFor = (surface: Surface): Record<TargetName, Target> => ({
      direct: { name: "direct", origin: si.origin, ...upstream[surface] },
      "proxy-workerd": { name: "proxy-workerd", origin: proxyWd.origin, ...upstream[surface] },
      "worker-workerd": { name: "worker-workerd", origin: workerWd.origin, ...workerRequest(surface) },
      "proxy-dev": { name: "proxy-dev", origin: proxyDev.origin, ...upstream[surface] },
      "worker-dev": { name: "worker-dev", origin: workerDev.origin, ...workerRequest(surface) },
      // No origin without the budget subject (loadTargets then leaves it out): a stray request would fail, not mislead.
      [BUDGET_TARGET]: { name: BUDGET_TARGET, origin: budgetWd?.origin ?? "", ...workerRequest(surface) },
    });
    const targets = targetsFor("messages");

    o.log("bench: measuring start-up (a fresh workerd per launch)");
    const startupBody = uniqueBody("messages", 0, { tag: "Startup" });
    const startup = await measureStartup(
      workerdBin,
      [
        {
          ...workerSubject,
          request: { path: targets["worker-workerd"].path, headers: targets["worker-workerd"].headers, body: startupBody },
        },
        { ...proxySubject, request: { path: targets["proxy-workerd"].path, headers: targets["proxy-workerd"].headers, body: startupBody } },
      ],
      o.startupRuns,
      tmp,
    );

    let n = 1;
    const missBody = () => uniqueBody("messages", n++);
    const streamBody = () => uniqueBody("messages", n++, { stream: true });
    const hitBody = uniqueBody("messages", 0, { tag: "Repeated" });

    // A Worker that skipped its budget or failed closed would be measured as nothing: prove it meters first.
    let probe: MeteringProbe | undefined;
    if (budgetWd) {
      probe = await probeMetering(targets[BUDGET_TARGET], missBody, METERING_PROBES, sendOnce);
      o.log(`bench: the Worker with budgets meters: x-ai-budget-remaining ${remainingLine(probe.remainingUsd)}`);
    }

    o.log("bench: warming up");
    for (const t of loadTargets) {
      await runJsonLoad(targets[t], { connections: 8, durationS: o.quick ? 0.3 : 1, body: missBody });
    }
    let ledgerBefore: { booked: number; calls: DurableObjectCalls } | undefined;
    if (budgetWd) {
      const booked = await settledLedgerRequests(budgetWd.origin, targets[BUDGET_TARGET].headers);
      ledgerBefore = { booked, calls: await budgetWd.doCalls() };
    }

    const jsonRounds = new Map<string, JsonCell["rounds"][number][]>();
    const streamRounds = new Map<string, StreamCell["rounds"][number][]>();
    const key = (...parts: unknown[]) => parts.join("/");
    let k = 0;
    for (let round = 0; round < o.rounds; round++) {
      for (const path of ["miss", "hit"] as const) {
        for (const c of o.concurrency) {
          await si.clearCache();
          for (const t of rotation(loadTargets, k++)) {
            if (path === "hit") {
              await sendOnce(targets[t], hitBody);
              const check = await sendOnce(targets[t], hitBody);
              const status = check.headers.get(cacheHeader(t));
              if (status !== "HIT")
                notes.push(`round ${round + 1}, ${t}: the repeated body was not a cache HIT (${cacheHeader(t)}: ${status})`);
            }
            const r = await runJsonLoad(targets[t], {
              connections: c,
              durationS: o.cellSeconds,
              body: path === "hit" ? hitBody : missBody,
            });
            const id = key(path, c, t);
            jsonRounds.set(id, [
              ...(jsonRounds.get(id) ?? []),
              { rps: r.rps, latency: r.latency, errors: r.errors + r.timeouts, non2xx: r.non2xx },
            ]);
            o.log(
              `  json ${path} c=${c} ${t}: ${Math.round(r.rps)} req/s, p50 ${r.latency.p50.toFixed(3)} ms, p99 ${r.latency.p99.toFixed(3)} ms, errors ${r.errors + r.timeouts + r.non2xx}`,
            );
          }
        }
      }
      for (const c of o.concurrency) {
        await si.clearCache();
        for (const t of rotation(loadTargets, k++)) {
          const r = await runStreamLoad(targets[t], {
            connections: c,
            durationS: o.cellSeconds,
            body: streamBody,
            endMarker: SURFACES.messages.endMarker,
          });
          const id = key("stream", c, t);
          streamRounds.set(id, [...(streamRounds.get(id) ?? []), { ttfb: r.ttfb, total: r.total, rps: r.rps, errors: r.errors }]);
          o.log(
            `  stream c=${c} ${t}: first byte p50 ${r.ttfb.p50.toFixed(3)} ms, p99 ${r.ttfb.p99.toFixed(3)} ms, ${Math.round(r.rps)} streams/s, errors ${r.errors}/${r.requests}`,
          );
        }
      }
    }

    let budget: Omit<BudgetFigures, "json" | "stream"> | undefined;
    if (budgetWd && ledgerBefore && probe) {
      const mine = (id: string) => id.endsWith(`/${BUDGET_TARGET}`);
      const answered =
        [...jsonRounds].filter(([id]) => mine(id)).reduce((n, [, rs]) => n + rs.reduce((m, r) => m + r.latency.count, 0), 0) +
        [...streamRounds].filter(([id]) => mine(id)).reduce((n, [, rs]) => n + rs.reduce((m, r) => m + r.total.count, 0), 0);
      budget = await budgetFigures(cfgs.budgets!, budgetWd, targets[BUDGET_TARGET], ledgerBefore, probe, answered, missBody);
      o.log(
        `bench: budget target answered ${budget.answered} requests, the ledger booked ${budget.booked}; ledger calls ${JSON.stringify(budget.ledgerCalls)} (${budget.ledgerCallsPer1000.toFixed(1)} per 1,000 requests)`,
      );
    }

    const json: JsonCell[] = [];
    for (const path of ["miss", "hit"] as const) {
      for (const c of o.concurrency) {
        for (const t of loadTargets) {
          const rounds = jsonRounds.get(key(path, c, t)) ?? [];
          json.push({
            path,
            connections: c,
            target: t,
            rps: median(rounds.map((r) => r.rps)),
            p50: median(rounds.map((r) => r.latency.p50)),
            p99: median(rounds.map((r) => r.latency.p99)),
            errors: rounds.reduce((s, r) => s + r.errors, 0),
            non2xx: rounds.reduce((s, r) => s + r.non2xx, 0),
            requests: rounds.reduce((s, r) => s + r.latency.count + r.errors + r.non2xx, 0),
            rounds,
          });
        }
      }
    }
    const stream: StreamCell[] = [];
    for (const c of o.concurrency) {
      for (const t of loadTargets) {
        const rounds = streamRounds.get(key("stream", c, t)) ?? [];
        stream.push({
          connections: c,
          target: t,
          ttfbP50: median(rounds.map((r) => r.ttfb.p50)),
          ttfbP99: median(rounds.map((r) => r.ttfb.p99)),
          totalP50: median(rounds.map((r) => r.total.p50)),
          rps: median(rounds.map((r) => r.rps)),
          errors: rounds.reduce((s, r) => s + r.errors, 0),
          requests: rounds.reduce((s, r) => s + r.ttfb.count + r.errors, 0),
          rounds,
        });
      }
    }

    o.log(`bench: bursts of ${o.burstRequests} identical concurrent requests (upstream calls per burst)`);
    const burst = await measureBursts(o, si, targets);

    o.log("bench: replaying the varied workload (cache effectiveness)");
    const cache = await measureCache(o, si, targetsFor);

    // The bounded run: ~85% of the best closed-loop miss throughput the same target reached, so it is sustainable.
    const maxC = Math.max(...o.concurrency);
    const soakTarget = o.soakTarget;
    const maxRps = Math.max(...json.filter((c) => c.path === "miss" && c.target === soakTarget).map((c) => c.rps), 10);
    const rate = Math.max(10, Math.round(maxRps * 0.85));
    o.log(`bench: bounded load run on ${soakTarget}, ${o.soakSeconds} s at ${rate} req/s`);
    await si.clearCache();
    const rss = soakTarget === "worker-dev" ? () => workerDev.workerdRssKiB() : () => workerWd.rssKiB();
    const soak = await runSoak(o, soakTarget, targets[soakTarget], rss, rate, maxC, missBody);

    const startupFigures = {
      worker: startup.find((s) => s.name === "worker")!,
      passthrough: startup.find((s) => s.name === "passthrough")!,
      wranglerReadyMs: { worker: workerDev.readyMs, passthrough: proxyDev.readyMs },
    };
    const partial = { json, stream, bundle, startup: startupFigures, burst };
    const report: BenchReport = {
      schema: 3,
      date: new Date().toISOString(),
      quick: o.quick,
      machine: machineInfo(loadBefore),
      versions: versions(o.root),
      settings: {
        rounds: o.rounds,
        cellSeconds: o.cellSeconds,
        concurrency: o.concurrency,
        surface: "Anthropic Messages, POST /v1/messages",
        workerCommit: `${source.commit}${source.dirty ? " + uncommitted changes" : ""}`,
        notes: [
          "The Worker's per-client rate-limit binding stays on the path with a limit the load cannot reach; the gateway Worker targets run without BUDGETS (the budget check is measured on its own target, in its own section); everything else is worker/wrangler.jsonc as committed.",
          "The stand-in writes each stream in one piece (no token pacing), so first-byte figures are processing overhead, not provider pacing.",
          "Three processes (load generator, stand-in, workerd) share the machine's cores: absolute figures are loopback figures, the ratios are what carries over.",
          ...notes,
        ],
      },
      json,
      stream,
      bundle: {
        worker: { rawBytes: bundle.worker.rawBytes, gzipBytes: bundle.worker.gzipBytes, wranglerSays: bundle.worker.wranglerSays },
        passthrough: {
          rawBytes: bundle.passthrough.rawBytes,
          gzipBytes: bundle.passthrough.gzipBytes,
          wranglerSays: bundle.passthrough.wranglerSays,
        },
      },
      startup: startupFigures,
      cache,
      burst,
      soak,
      ...(budget ? { budget: { ...budget, ...budgetCost(json, stream) } } : {}),
      targets: checkTargets(partial),
      durationS: (performance.now() - started) / 1000,
    };
    mkdirSync(o.outDir, { recursive: true });
    writeFileSync(join(o.outDir, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(o.outDir, "latest.md"), renderMarkdown(report));
    o.log(`bench: wrote ${join(o.outDir, "latest.md")} and latest.json in ${Math.round(report.durationS)} s`);
    ok = true;
    return report;
  } finally {
    for (const s of servers.reverse()) await s.stop();
    for (const w of workerds) await w.stop();
    if (standin) await standin.proc.stop();
    killAllNow();
    source?.cleanup();
    if (ok && !o.keepTmp) rmSync(tmp, { recursive: true, force: true });
    else o.log(`bench: logs and configs kept in ${tmp}`);
  }
}

/**
 * The budget target's ledger figures over the timed cells; throws when the ledger booked fewer requests than were
 * answered or the remaining amount did not fall over the load (the Worker was not metering what was measured).
 */
async function budgetFigures(
  budgets: BenchBudgets,
  wd: WorkerdInstance,
  target: Target,
  before: { booked: number; calls: DurableObjectCalls },
  probe: MeteringProbe,
  answered: number,
  body: () => string,
): Promise<Omit<BudgetFigures, "json" | "stream">> {
  const booked = (await settledLedgerRequests(target.origin, target.headers)) - before.booked;
  const ledgerCalls = callsBetween(before.calls, await wd.doCalls(), LEDGER_CLASS);
  if (booked < answered) {
    throw new Error(`the ledger booked ${booked} requests of the ${answered} the Worker with budgets answered: it was not metering them`);
  }
  const last = await sendOnce(target, body());
  const after = budgetOf(last.headers);
  if (last.status !== 200 || typeof after === "string") {
    throw new Error(
      `the Worker with budgets answered ${last.status} after the load: ${typeof after === "string" ? after : last.text.slice(0, 300)}`,
    );
  }
  const probed = probe.remainingUsd[probe.remainingUsd.length - 1]!;
  if (!(after.remainingUsd < probed))
    throw new Error(`x-ai-budget-remaining did not fall over the load (${probed} → ${after.remainingUsd})`);
  return {
    client: budgets.client,
    limits: budgets.limits,
    probe: { limitUsd: probe.limitUsd, remainingUsd: probe.remainingUsd },
    remainingAfterUsd: after.remainingUsd,
    answered,
    booked,
    ledgerCalls,
    ledgerCallsPer1000: ledgerCallsPer1000(ledgerCalls, answered),
  };
}

async function measureCache(
  o: BenchOptions,
  si: StandinProcess,
  targetsFor: (s: Surface) => Record<TargetName, Target>,
): Promise<BenchReport["cache"]> {
  const bases = 40;
  const calls = generateReplay({ seed: 7, calls: o.replayCalls, bases });
  const byTarget = { messages: targetsFor("messages"), chatCompletions: targetsFor("chatCompletions") };
  const replay = async (t: TargetName): Promise<boolean[]> => {
    await si.clearCache();
    const hits: boolean[] = [];
    // One at a time: two identical calls in flight together can both miss, on the real gateway as here.
    for (const call of calls) {
      const res = await sendOnce(byTarget[call.surface][t], call.body);
      hits.push(res.status === 200 && res.headers.get(cacheHeader(t)) === "HIT");
    }
    return hits;
  };
  const exact = await replay("direct");
  const viaWorker = await replay("worker-workerd");
  const row = (variation: string, filter: (c: ReplayCall) => boolean): CacheRow => {
    const idx = calls.map((c, i) => (filter(c) ? i : -1)).filter((i) => i >= 0);
    const count = (hits: boolean[]) => idx.filter((i) => hits[i]).length;
    const e = expectedHits(calls, exactKey, filter);
    const ideal = expectedHits(calls, idealKey, filter);
    return {
      variation,
      calls: idx.length,
      exactMeasured: share(count(exact), idx.length),
      exactExpected: share(e.hits, e.calls),
      workerMeasured: share(count(viaWorker), idx.length),
      ideal: share(ideal.hits, ideal.calls),
    };
  };
  const rows = VARIATIONS.map((v) => row(v, (c) => c.variation === v));
  rows.push(row("all calls", () => true));
  return { calls: calls.length, bases, rows };
}

/** How long the stand-in holds each burst's upstream calls: a provider's answer takes at least this long. */
const BURST_UPSTREAM_MS = 250;

/**
 * For each gateway Worker and bare proxy, JSON then SSE: a burst of identical cacheable requests with a body no
 * earlier call sent, counting the calls that reached the stand-in (its counter, read before and after).
 */
async function measureBursts(o: BenchOptions, si: StandinProcess, targets: Record<TargetName, Target>): Promise<BurstFigures> {
  const rows: BurstRow[] = [];
  const provider = SURFACES.messages.provider;
  for (const t of BURST_TARGETS) {
    for (const kind of ["json", "sse"] as const) {
      const tag = `Burst ${t} ${kind} ${Date.now()}`;
      const body = uniqueBody("messages", 0, { tag, stream: kind === "sse" });
      await si.holdCalls(provider, { match: tag, latencyMs: BURST_UPSTREAM_MS });
      try {
        const before = await si.counters();
        const r = await runBurst(targets[t], {
          count: o.burstRequests,
          body,
          labelHeader: cacheHeader(t),
          endMarker: kind === "sse" ? SURFACES.messages.endMarker : undefined,
        });
        const after = await si.counters();
        const row: BurstRow = {
          target: t,
          kind,
          requests: r.requests,
          ok: r.ok,
          upstreamCalls: after.calls - before.calls,
          coalesced: r.labels.COALESCED ?? 0,
          labels: r.labels,
          wallMs: r.wallMs,
        };
        rows.push(row);
        o.log(
          `  burst ${kind} ${t}: ${row.upstreamCalls} upstream calls for ${row.requests} requests, ${row.coalesced} COALESCED, ${row.ok} answered (statuses ${JSON.stringify(r.statuses)})`,
        );
      } finally {
        await si.holdCalls(provider, null);
      }
    }
  }
  return { requests: o.burstRequests, upstreamLatencyMs: BURST_UPSTREAM_MS, rows };
}

async function runSoak(
  o: BenchOptions,
  name: TargetName,
  target: Target,
  rssKiB: () => number,
  rate: number,
  connections: number,
  body: () => string,
): Promise<SoakFigures> {
  const memory: MemorySample[] = [{ tS: 0, workerdRssMiB: rssKiB() / 1024 }];
  const r = await runJsonLoad(target, {
    connections,
    durationS: o.soakSeconds,
    body,
    overallRate: rate,
    onTick: (ms) => memory.push({ tS: ms / 1000, workerdRssMiB: rssKiB() / 1024 }),
  });
  memory.push({ tS: r.durationS, workerdRssMiB: rssKiB() / 1024 });
  return {
    target: name,
    durationS: r.durationS,
    rate,
    connections,
    requests: r.requests,
    ok: r.ok,
    errors: r.errors,
    non2xx: r.non2xx,
    timeouts: r.timeouts,
    rps: r.rps,
    p50: r.latency.p50,
    p99: r.latency.p99,
    memory,
  };
}
