// The bench report's wording: ratios to the bare proxy, the targets beside measured values, and the tables.
import { describe, expect, it } from "vitest";
import {
  checkTargets,
  formatBytes,
  formatDeltaMs,
  formatMs,
  formatPercent,
  formatRatio,
  headlineTable,
  renderMarkdown,
  spread,
  type BenchReport,
  type JsonCell,
  type StreamCell,
  type TargetName,
} from "../lib/report";
import { summarize } from "../lib/stats";

function jsonCell(path: "miss" | "hit", connections: number, target: TargetName, rps: number, p50: number, p99: number): JsonCell {
  return { path, connections, target, rps, p50, p99, errors: 0, non2xx: 0, requests: 1000, rounds: [{ rps, latency: summarize([p50]), errors: 0, non2xx: 0 }] };
}

function streamCell(connections: number, target: TargetName, ttfbP50: number): StreamCell {
  return { connections, target, ttfbP50, ttfbP99: ttfbP50 * 2, totalP50: ttfbP50 + 1, errors: 0, requests: 100, rounds: [] };
}

const startup = (name: string, readyMs: number, firstMs: number) => ({
  name,
  runs: [{ readyMs, firstMs, warmMs: 1 }],
  readyMs,
  firstMs,
  warmMs: 1,
  toFirstAnswerMs: readyMs + firstMs,
});

function fixture(): BenchReport {
  const json = [
    jsonCell("miss", 1, "direct", 2000, 0.4, 0.9),
    jsonCell("miss", 1, "proxy-workerd", 1000, 0.8, 1.6),
    jsonCell("miss", 1, "worker-workerd", 950, 0.85, 2.0),
    jsonCell("miss", 1, "proxy-dev", 400, 2.5, 5),
    jsonCell("miss", 1, "worker-dev", 380, 2.6, 5.5),
    jsonCell("miss", 8, "direct", 5000, 1.4, 3),
    jsonCell("miss", 8, "proxy-workerd", 3000, 2.0, 4),
    jsonCell("miss", 8, "worker-workerd", 2400, 2.6, 6),
    jsonCell("hit", 1, "proxy-workerd", 1200, 0.7, 1.2),
    jsonCell("hit", 1, "worker-workerd", 1150, 0.72, 1.3),
  ];
  const stream = [streamCell(1, "proxy-workerd", 1.0), streamCell(1, "worker-workerd", 1.5), streamCell(1, "direct", 0.5)];
  const bundle = {
    worker: { rawBytes: 200_000, gzipBytes: 50_000, wranglerSays: "195.31 KiB / gzip: 48.90 KiB" },
    passthrough: { rawBytes: 144, gzipBytes: 150 },
  };
  const partial = { json, stream, bundle };
  return {
    schema: 1,
    date: "2026-11-29T08:00:00.000Z",
    quick: false,
    machine: { cpu: "Test CPU", cores: 2, memoryGiB: 23.5, os: "Debian GNU/Linux 12 (bookworm)", kernel: "6.1.0", loadBefore: [0.1, 0.2, 0.3], loadAfter: [1.5, 0.9, 0.4] },
    versions: { node: "v24.21.0", wrangler: "4.156.2", workerd: "1.20261102.1", autocannon: "9.0.0" },
    settings: { rounds: 3, cellSeconds: 2, concurrency: [1, 8], surface: "Anthropic Messages, POST /v1/messages", workerCommit: "abc123def456", notes: ["a note for readers"] },
    json,
    stream,
    bundle,
    startup: { worker: startup("worker", 120, 9), passthrough: startup("passthrough", 100, 3), wranglerReadyMs: { worker: 2500, passthrough: 2100 } },
    cache: { calls: 600, bases: 40, rows: [{ variation: "keyOrder", calls: 120, exactMeasured: 0.1, exactExpected: 0.1, workerMeasured: 0.8, ideal: 0.85 }] },
    soak: { target: "worker-workerd", durationS: 60, rate: 2000, connections: 32, requests: 120_000, ok: 120_000, errors: 0, non2xx: 0, timeouts: 0, rps: 1999, p50: 2.5, p99: 9, memory: [{ tS: 0, workerdRssMiB: 80 }, { tS: 60, workerdRssMiB: 92.5 }] },
    targets: checkTargets(partial),
    durationS: 190,
  };
}

describe("formatting", () => {
  it("prints ratios, milliseconds, deltas, sizes and shares the way the tables quote them", () => {
    expect(formatRatio(1.0749)).toBe("1.07×");
    expect(formatRatio(Number.NaN)).toBe("n/a");
    expect(formatMs(0.41234)).toBe("0.412 ms");
    expect(formatMs(3.14159)).toBe("3.14 ms");
    expect(formatMs(42.12)).toBe("42.1 ms");
    expect(formatMs(1234.5)).toBe("1235 ms");
    expect(formatDeltaMs(0.213)).toBe("+0.213 ms");
    expect(formatDeltaMs(-1.5)).toBe("−1.50 ms");
    expect(formatBytes(150)).toBe("150 B");
    expect(formatBytes(50_000)).toBe("48.8 KiB");
    expect(formatBytes(3 * 1024 * 1024)).toBe("3.00 MiB");
    expect(formatPercent(0.8512)).toBe("85.1%");
  });
});

describe("spread", () => {
  it("shows the lowest and highest round so noise is visible beside the median", () => {
    expect(spread([1200, 980.4, 1100])).toBe("980–1,200");
    expect(spread([5])).toBe("1 round");
  });
});

describe("checkTargets", () => {
  it("marks each target met only when every concurrency level meets it", () => {
    const checks = checkTargets(fixture());
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    // miss: p50 0.85/0.8 = 1.06 (ok) but 2.6/2.0 = 1.30 (not) -> not met; throughput 0.95 ok, 0.80 not.
    expect(byName["p50 latency, JSON cache miss (workerd)"]).toMatchObject({ met: false, measured: "c=1: 1.06×, c=8: 1.30×" });
    expect(byName["throughput, JSON cache miss (workerd)"]).toMatchObject({ met: false, measured: "c=1: 0.95×, c=8: 0.80×" });
    expect(byName["p50 latency, JSON cache hit (workerd)"]).toMatchObject({ met: true, measured: "c=1: 1.03×" });
    expect(byName["throughput, JSON cache hit (workerd)"]).toMatchObject({ met: true });
    expect(byName["streaming first byte, p50 (workerd)"]).toMatchObject({ met: true, measured: "c=1: +0.500 ms" });
    // Under wrangler dev only c=1 was measured: each runtime is judged against its own bare proxy.
    expect(byName["p50 latency, JSON cache miss (wrangler dev)"]).toMatchObject({ met: true, measured: "c=1: 1.04×" });
    expect(byName["p50 latency, JSON cache hit (wrangler dev)"]).toBeUndefined();
    expect(byName["bundle size (gzip)"]).toMatchObject({ met: true, measured: "48.8 KiB", target: "≤ 64 KiB" });
  });

  it("reports a bundle over 64 KiB gzip and a first byte over 1 ms later as not met", () => {
    const r = fixture();
    const checks = checkTargets({
      json: r.json,
      stream: [streamCell(1, "proxy-workerd", 1), streamCell(1, "worker-workerd", 2.2)],
      bundle: { worker: { rawBytes: 1, gzipBytes: 70 * 1024 }, passthrough: r.bundle.passthrough },
    });
    expect(checks.find((c) => c.name === "bundle size (gzip)")?.met).toBe(false);
    expect(checks.find((c) => c.name === "streaming first byte, p50 (workerd)")).toMatchObject({ met: false, measured: "c=1: +1.20 ms" });
  });
});

describe("renderMarkdown", () => {
  const md = renderMarkdown(fixture());

  it("names the machine, the versions and the load on the machine", () => {
    expect(md).toContain("Test CPU, 2 cores, 23.5 GiB RAM, Debian GNU/Linux 12 (bookworm)");
    expect(md).toContain("Node v24.21.0, wrangler 4.156.2, workerd 1.20261102.1, autocannon 9.0.0. Gateway Worker at commit abc123def456.");
    expect(md).toContain("Load average before 0.10 / 0.20 / 0.30, after 1.50 / 0.90 / 0.40");
    expect(md).toContain("- a note for readers");
  });

  it("puts each figure beside its ratio to the bare proxy", () => {
    expect(md).toContain("| 8 | gateway Worker, workerd | 2,400 | 0.80× | 2.60 ms | 1.30× | 6.00 ms | 1.50× | 1 round | 0 / 1,000 |");
    expect(md).toContain("| 1 | stand-in direct | 2,000 | 2.00× | 0.400 ms | 0.50× |");
    expect(md).toContain("| 1 | gateway Worker, wrangler dev | 380 | 0.95× | 2.60 ms | 1.04× | 5.50 ms | 1.10× |");
    expect(md).toContain("| 1 | gateway Worker, workerd | 1.50 ms | +0.500 ms | 3.00 ms | +1.00 ms | 2.50 ms | 0 / 100 |");
  });

  it("lists the issue's targets with measured values and whether each was met", () => {
    expect(md).toContain("| p50 latency, JSON cache miss (workerd) | ≤ 1.10× bare proxy | c=1: 1.06×, c=8: 1.30× | no |");
    expect(md).toContain("| bundle size (gzip) | ≤ 64 KiB | 48.8 KiB | yes |");
  });

  it("reports bundle, start-up, cache shares and the load run's memory", () => {
    for (const line of [
      "| gateway Worker | 195.3 KiB | 48.8 KiB | 195.31 KiB / gzip: 48.90 KiB |",
      "| bare proxy | 144 B | 150 B | n/a |",
      "| gateway Worker | 120 ms | 9.00 ms | 1.00 ms | 129 ms | 1.25× |",
      "`wrangler dev` took 2500 ms (gateway Worker) and 2100 ms (bare proxy)",
      "(+26.0 ms) is the Worker's",
      "| keyOrder | 120 | 10.0% | 10.0% | 80.0% | 85.0% |",
      "errors 0, non-2xx 0, timeouts 0",
      "start 80.0 MiB, end 92.5 MiB, max 92.5 MiB (2 samples)",
      "npm run bench -- --quick",
    ]) {
      expect(md).toContain(line);
    }
  });

  it("quotes a headline table the README can reuse", () => {
    const t = headlineTable(fixture());
    expect(t.split("\n")[0]).toBe("| gateway Worker (vs bare proxy) | on workerd | under wrangler dev |");
    expect(t).toContain(
      "| JSON, cache miss, 1 conn. | 950 req/s (0.95×); p50 0.850 ms (1.06×); p99 2.00 ms (1.25×) | 380 req/s (0.95×); p50 2.60 ms (1.04×); p99 5.50 ms (1.10×) |",
    );
    expect(t).toContain("| JSON, cache miss, 8 conn. | 2,400 req/s (0.80×); p50 2.60 ms (1.30×); p99 6.00 ms (1.50×) | n/a |");
    expect(t).toContain("| SSE first byte, 1 conn. | p50 1.50 ms (+0.500 ms); p99 3.00 ms (+1.00 ms) | n/a |");
    expect(t).toContain("| start-up, launch → first answer | 129 ms (+26.0 ms) | 2500 ms (+400 ms) |");
  });
});
