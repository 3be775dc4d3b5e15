// The whole bench, end to end at smoke size: stand-in, both Workers on workerd and under wrangler dev, the Worker
// with budgets on workerd, every section written. Asserts what the run must get right (no failed requests, the
// exact-match cache measured as the bytes predict, the budget metering what was measured, a report naming the
// machine), never how fast anything was.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { groupMembers, spawnHistory } from "../lib/procs";
import { type BenchReport, BURST_TARGETS, LOAD_TARGETS } from "../lib/report";
import { defaultOptions, runBench } from "../run";

const out = mkdtempSync(join(tmpdir(), "bench-smoke-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("npm run bench at smoke size", () => {
  it("measures every target without a failed request, writes both reports and leaves no process behind", async () => {
    const root = resolve(__dirname, "../..");
    const lines: string[] = [];
    const report: BenchReport = await runBench({
      ...defaultOptions(root, true),
      outDir: out,
      rounds: 1,
      cellSeconds: 0.25,
      concurrency: [2],
      soakSeconds: 1,
      startupRuns: 1,
      replayCalls: 40,
      burstRequests: 20,
      log: (l) => lines.push(l),
    });

    for (const t of LOAD_TARGETS) {
      for (const path of ["miss", "hit"] as const) {
        const cell = report.json.find((c) => c.target === t && c.path === path);
        expect(cell, `${t} ${path}`).toBeDefined();
        expect(cell!.requests, `${t} ${path} requests`).toBeGreaterThan(0);
        expect(cell!.errors + cell!.non2xx, `${t} ${path} failures`).toBe(0);
      }
      const stream = report.stream.find((c) => c.target === t);
      expect(stream!.requests, `${t} stream requests`).toBeGreaterThan(0);
      expect(stream!.errors, `${t} stream failures`).toBe(0);
    }
    // Every burst answered in full; through the bare proxy every request is an upstream call, which shows the
    // stand-in's counter sees each one. The gateway Worker makes between one call and one per request.
    expect(report.burst.rows.map((b) => `${b.target} ${b.kind}`)).toEqual(BURST_TARGETS.flatMap((t) => [`${t} json`, `${t} sse`]));
    for (const b of report.burst.rows) {
      expect(b.ok, `${b.target} ${b.kind} answered`).toBe(b.requests);
      if (b.target.startsWith("proxy")) expect(b.upstreamCalls, `${b.target} ${b.kind}`).toBe(b.requests);
      else expect(b.upstreamCalls, `${b.target} ${b.kind}`).toBeGreaterThanOrEqual(1);
      expect(b.upstreamCalls, `${b.target} ${b.kind}`).toBeLessThanOrEqual(b.requests);
    }
    for (const c of report.stream) expect(c.rps, `${c.target} streams/s`).toBeGreaterThan(0);
    // The Worker with budgets metered what was measured (runBench throws unless remaining fell and the ledger
    // booked every answered request): enough probes for "fell" to mean something, far fewer ledger calls than
    // requests, and its cells have ratios to the Worker without budgets.
    const b = report.budget!;
    expect(b, "budget figures").toBeDefined();
    expect(b.probe.remainingUsd.length).toBeGreaterThanOrEqual(2);
    expect(b.answered).toBeGreaterThan(0);
    expect(b.ledgerCalls.acquireLease ?? 0).toBeGreaterThanOrEqual(1);
    expect(b.ledgerCallsPer1000).toBeLessThan(1000);
    expect(b.json.map((c) => `${c.path} ${c.connections}`)).toEqual(["miss 2", "hit 2"]);
    expect(b.json.every((c) => c.rpsVsWorker > 0 && c.rpsVsProxy > 0)).toBe(true);
    expect(b.stream).toHaveLength(1);
    // The exact-match column is the stand-in's own cache: measuring it must agree with predicting it from the bytes.
    for (const row of report.cache.rows) expect(row.exactMeasured, row.variation).toBe(row.exactExpected);
    expect(report.soak.errors + report.soak.non2xx + report.soak.timeouts).toBe(0);
    expect(report.soak.memory.length).toBeGreaterThanOrEqual(2);
    expect(report.soak.memory.every((m) => m.workerdRssMiB > 0)).toBe(true);
    expect(report.bundle.worker.gzipBytes).toBeGreaterThan(report.bundle.passthrough.gzipBytes);
    expect(report.startup.worker.runs).toHaveLength(1);
    expect(lines.join("\n")).not.toContain("was not a cache HIT");

    const json = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as BenchReport;
    expect(json.machine.cores).toBeGreaterThan(0);
    expect(json.versions.wrangler).toMatch(/^\d+\.\d+\.\d+/);
    const md = readFileSync(join(out, "latest.md"), "utf8");
    for (const heading of [
      "## Targets from the issue",
      "## What the budget check costs",
      "## Identical concurrent requests",
      "## Start-up",
      "## Cache effectiveness",
      "## Bounded load run",
    ]) {
      expect(md).toContain(heading);
    }

    // Every child led its own process group: wrangler's workerd grandchildren included, none may survive the run.
    const started = spawnHistory();
    expect(started.length).toBeGreaterThanOrEqual(8);
    expect(started.flatMap(groupMembers)).toEqual([]);
  }, 300_000);
});
