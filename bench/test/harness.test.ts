// The bench's process and config plumbing: children never outlive a run, bundle sizes and workerd configs are read
// and written right, and the direct/pass-through targets replay exactly the Worker's upstream headers.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readJsonc } from "../../infra/wrangler-config";
import { sleep } from "../lib/net";
import { isAlive, processTree, rssKiB, spawnManaged } from "../lib/procs";
import { workerSource } from "../lib/source";
import { BENCH_CLIENT_LIMITS, benchBudgets, benchClientId, durableObjectsOf, upstreamHeadersFrom } from "../lib/stack";
import { countingEntry, workerdConfig } from "../lib/workerd";
import { wranglerSizeLine } from "../lib/wrangler";
import { rotation } from "../run";

describe("child processes", () => {
  it("stops a child's whole process tree, grandchildren included", async () => {
    // sh starts two sleeps in the background and waits: the sleeps are grandchildren of this test.
    const m = spawnManaged("tree", "sh", ["-c", "sleep 30 & sleep 30 & wait"]);
    let tree: number[] = [];
    for (let i = 0; i < 100 && tree.length < 3; i++) {
      await sleep(20);
      tree = processTree(m.pid);
    }
    expect(tree.length).toBe(3);
    expect(rssKiB(m.pid)).toBeGreaterThan(0);
    await m.stop(1000);
    await sleep(50);
    expect(tree.filter(isAlive)).toEqual([]);
  });

  it("reads this process's resident memory from /proc and nothing for a process that is gone", () => {
    expect(rssKiB(process.pid)).toBeGreaterThan(1000);
    expect(rssKiB(2 ** 22 + 12345)).toBeUndefined();
  });
});

describe("bench configs", () => {
  it("picks wrangler's own size line out of a dry-run's output", () => {
    const out = "⛅️ wrangler 4.156.2\n───\nTotal Upload: 209.39 KiB / gzip: 65.66 KiB\nYour Worker has access to";
    expect(wranglerSizeLine(out)).toBe("209.39 KiB / gzip: 65.66 KiB");
    expect(wranglerSizeLine("no size here")).toBeUndefined();
  });

  it("generates a workerd config that embeds the bundle and declares every binding", () => {
    const cfg = workerdConfig(
      {
        name: "w",
        bundlePath: "/tmp/x/index.js",
        compatibilityDate: "2026-11-01",
        compatibilityFlags: ["nodejs_compat"],
        text: { STACK: "local", SECRET: 'with "quotes"' },
        json: { ROUTING: { a: [1] } },
        ratelimits: ["RATE_LIMITER"],
        kv: ["STATE"],
      },
      4321,
    );
    for (const line of [
      'address = "127.0.0.1:4321"',
      '(name = "index.js", esModule = embed "index.js")',
      'compatibilityFlags = ["nodejs_compat"]',
      '(name = "SECRET", text = "with \\"quotes\\"")',
      '(name = "ROUTING", json = "{\\"a\\":[1]}")',
      '(name = "RATE_LIMITER", wrapped = (moduleName = "bench:ratelimit"))',
      '(name = "STATE", wrapped = (moduleName = "bench:kv"))',
    ]) {
      expect(cfg).toContain(line);
    }
  });
});

describe("the budget subject's config", () => {
  const subject = {
    name: "worker-budgets",
    bundlePath: "/tmp/x/index.js",
    compatibilityDate: "2026-11-01",
    compatibilityFlags: [],
    text: {},
    durableObjects: [{ binding: "BUDGET_LEDGER", className: "BudgetLedger", sql: true }],
  };

  it("declares the ledger's SQLite-backed namespace, its binding and its storage on disk", () => {
    const cfg = workerdConfig(subject, 4321, { storageDir: "/tmp/x/do-storage" });
    for (const line of [
      '(name = "BUDGET_LEDGER", durableObjectNamespace = (className = "BudgetLedger"))',
      '(className = "BudgetLedger", uniqueKey = "bench-worker-budgets-BudgetLedger", enableSql = true)',
      'durableObjectStorage = (localDisk = "do-storage")',
      '(name = "do-storage", disk = (path = "/tmp/x/do-storage", writable = true))',
    ]) {
      expect(cfg).toContain(line);
    }
    // Not counting: the bundle is the main module and there is no counts socket.
    expect(cfg).toContain('modules = [\n    (name = "index.js", esModule = embed "index.js")\n  ]');
    expect(cfg).not.toContain("do-calls");
    // A Worker without Durable Objects gets no storage at all.
    expect(workerdConfig({ ...subject, durableObjects: [] }, 4321)).not.toContain("durableObject");
    expect(() => workerdConfig(subject, 4321)).toThrow(/storage directory/);
  });

  it("counts ledger calls through a bench entry module in front of the bundle, read on a second socket", () => {
    const cfg = workerdConfig({ ...subject, countDurableObjectCalls: ["acquireLease"] }, 4321, {
      countsPort: 4322,
      storageDir: "/tmp/x/do-storage",
    });
    // The entry comes first: workerd's main module is the first one listed.
    expect(cfg).toMatch(
      /modules = \[\n {4}\(name = "bench-do-count\.js", esModule = embed "bench-do-count\.js"\),\n {4}\(name = "index\.js"/,
    );
    expect(cfg).toContain('(name = "do-calls", address = "127.0.0.1:4322", http = (), service = "do-calls")');
    expect(cfg).toContain('(name = "BudgetLedger", durableObjectNamespace = (className = "BudgetLedger", serviceName = "main"))');
    expect(() => workerdConfig({ ...subject, countDurableObjectCalls: [] }, 4321, { storageDir: "/d" })).toThrow(/port for the counts/);

    const entry = countingEntry("index.js", ["BudgetLedger"], ["acquireLease", "settle"]);
    expect(entry).toContain('export * from "./index.js";');
    expect(entry).toContain("export default bundle.default;");
    expect(entry).toContain('export const BudgetLedger = counted("BudgetLedger", bundle.BudgetLedger);');
    expect(entry).toContain('["acquireLease","settle"]');
  });

  it("reads the Durable Object bindings and their SQLite migrations from the wrangler config", () => {
    const cfg = readJsonc(join(__dirname, "..", "..", "worker", "wrangler.jsonc"));
    expect(durableObjectsOf(cfg)).toEqual([{ binding: "BUDGET_LEDGER", className: "BudgetLedger", sql: true }]);
    expect(
      durableObjectsOf({
        durable_objects: { bindings: [{ name: "A", class_name: "Plain" }] },
        migrations: [{ new_classes: ["Plain"] }],
      }),
    ).toEqual([{ binding: "A", className: "Plain", sql: false }]);
    expect(durableObjectsOf({})).toEqual([]);
  });

  it("keeps BUDGETS as committed except the bench client's limits, raised out of the load's reach", () => {
    const committed = {
      prices: { "anthropic/m": { inputPerMTok: 1, outputPerMTok: 5 } },
      clients: { dev: { dailyUsd: 0.05, monthlyUsd: 1 }, web: { dailyUsd: 2 } },
      default: { dailyUsd: 1 },
      action: "refuse",
    };
    const b = benchBudgets({ BUDGETS: committed }, "dev");
    expect(b?.value).toEqual({ ...committed, clients: { dev: { ...BENCH_CLIENT_LIMITS }, web: { dailyUsd: 2 } } });
    expect(b?.client).toBe("dev");
    // A client the committed config does not list gets its own entry too (it would otherwise fall to the default).
    const other = benchBudgets({ BUDGETS: committed }, "other");
    expect((other!.value.clients as Record<string, unknown>).other).toEqual(BENCH_CLIENT_LIMITS);
    expect(benchBudgets({ STACK: "local" }, "dev")).toBeUndefined();
  });
});

describe("Worker source", () => {
  const root = join(__dirname, "..", "..");

  it("measures the working tree by default and says which commit it is based on", () => {
    const src = workerSource(root, undefined);
    expect(src.dir).toBe(root);
    expect(src.commit).toMatch(/^[0-9a-f]{12}$/);
  });

  it("exports a committed revision's worker/ into a scratch folder it removes afterwards", () => {
    const src = workerSource(root, "HEAD");
    try {
      expect(src.dirty).toBe(false);
      expect(src.dir).toContain(join("bench", "results", "tmp"));
      expect(readJsonc(join(src.dir, "worker", "wrangler.jsonc")).main).toBe("src/index.ts");
    } finally {
      src.cleanup();
    }
    expect(() => readFileSync(join(src.dir, "worker", "wrangler.jsonc"))).toThrow();
  });
});

describe("targets", () => {
  it("replays the Worker's upstream headers without connection headers, its cache key or runtime cf- headers", () => {
    const out = upstreamHeadersFrom({
      host: "127.0.0.1:1",
      "content-length": "12",
      connection: "keep-alive",
      "cf-aig-authorization": "Bearer t",
      "cf-aig-cache-ttl": "300",
      "cf-aig-cache-key": "client:abc",
      "cf-connecting-ip": "127.0.0.1",
      "x-forwarded-proto": "http",
      "x-api-key": "k",
      "anthropic-version": "2023-06-01",
    });
    expect(out).toEqual({
      "cf-aig-authorization": "Bearer t",
      "cf-aig-cache-ttl": "300",
      "x-api-key": "k",
      "anthropic-version": "2023-06-01",
    });
  });

  it("calls as the first client the Worker's CLIENTS allow-list names, or its own id when there is no list", () => {
    expect(benchClientId({ CLIENTS: ["dev", "web"] })).toBe("dev");
    expect(benchClientId({ STACK: "local" })).toBe("bench-client");
  });

  it("rotates the target order so each target takes each position", () => {
    const names = ["a", "b", "c"];
    expect([0, 1, 2, 3].map((k) => rotation(names, k).join(""))).toEqual(["abc", "bca", "cab", "abc"]);
  });
});
