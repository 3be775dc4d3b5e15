// The budget subject on a real workerd: the built bundle with BUDGETS on and a real SQLite-backed ledger Durable
// Object. Asserts that the Worker meters (budget headers on every answer, remaining falling request by request, the
// ledger booking every request GET /v1/usage reads back) and that the ledger calls are counted, never how fast
// anything was. The Worker without budgets on the same bundle carries no budget headers: the check can fail.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUDGET_HEADERS, budgetOf, callsBetween, LEDGER_CLASS, probeMetering, settledLedgerRequests } from "../lib/budget";
import { runJsonLoad, sendOnce, type Target } from "../lib/load";
import { groupMembers, spawnHistory } from "../lib/procs";
import {
  BENCH_CLIENT_LIMITS,
  budgetWorkerSubjectFor,
  type StandinProcess,
  startStandinProcess,
  workerRequest,
  workerSubjectFor,
  writeStackConfigs,
} from "../lib/stack";
import { startWorkerd, type WorkerdInstance } from "../lib/workerd";
import { uniqueBody } from "../lib/workload";
import { buildBundle } from "../lib/wrangler";

const root = resolve(__dirname, "../..");
const tmp = mkdtempSync(join(tmpdir(), "bench-budget-smoke-"));
let standin: StandinProcess | undefined;
const workerds: WorkerdInstance[] = [];
let budgeted: Target;
let plain: Target;
let budgetWd: WorkerdInstance;

beforeAll(async () => {
  standin = await startStandinProcess(root, tmp);
  const cfgs = writeStackConfigs(root, root, standin, tmp);
  const bundleDir = join(tmp, "bundle");
  const files = await buildBundle(root, cfgs.workerCfgPath, bundleDir, join(tmp, "bundle.log"), { minify: true });
  const bundle = join(bundleDir, files[0]!);
  const workerd = join(root, "node_modules", "workerd", "bin", "workerd");
  budgetWd = await startWorkerd(workerd, budgetWorkerSubjectFor(cfgs, bundle), join(tmp, "serve-budgets"));
  workerds.push(budgetWd);
  const plainWd = await startWorkerd(workerd, workerSubjectFor(cfgs, bundle), join(tmp, "serve-plain"));
  workerds.push(plainWd);
  budgeted = { name: "worker with budgets", origin: budgetWd.origin, ...workerRequest("messages") };
  plain = { name: "worker without budgets", origin: plainWd.origin, ...workerRequest("messages") };
}, 120_000);

afterAll(async () => {
  for (const w of workerds) await w.stop();
  await standin?.proc.stop();
  rmSync(tmp, { recursive: true, force: true });
  // Every child led its own process group: none may survive the run.
  expect(spawnHistory().flatMap(groupMembers)).toEqual([]);
});

describe("the budget subject on a bare workerd", () => {
  let n = 1;
  const body = () => uniqueBody("messages", n++, { tag: "Budget smoke" });

  it("meters every request: the remaining budget falls and the ledger books each one", async () => {
    const before = await budgetWd.doCalls();
    const probe = await probeMetering(budgeted, body, 4, sendOnce);
    // The bench client's raised daily budget is the window with the least left.
    expect(probe.limitUsd).toBe(BENCH_CLIENT_LIMITS.dailyUsd);
    // probeMetering itself throws unless the remaining amount fell with each request (assertFalling, unit-tested).
    expect(probe.remainingUsd).toHaveLength(4);
    expect(probe.ledgerRequests).toBeGreaterThanOrEqual(4);

    // Under load every answered request is booked in the ledger, through few ledger calls.
    const load = await runJsonLoad(budgeted, { connections: 4, durationS: 1, body });
    expect(load.ok).toBeGreaterThan(0);
    expect(load.non2xx + load.errors).toBe(0);
    const booked = await settledLedgerRequests(budgeted.origin, budgeted.headers);
    expect(booked - probe.ledgerRequests).toBeGreaterThanOrEqual(load.ok);
    const after = await budgetWd.doCalls();
    const calls = callsBetween(before, after, LEDGER_CLASS);
    // At least the first lease and one batched report; GET /v1/usage read the ledger too.
    expect(calls.acquireLease ?? 0).toBeGreaterThanOrEqual(1);
    expect(calls.usage ?? 0).toBeGreaterThanOrEqual(2);
    // The lease keeps the ledger off the common request: far fewer ledger calls than requests.
    expect(calls.acquireLease! + (calls.settle ?? 0)).toBeLessThan(load.ok);

    const last = budgetOf((await sendOnce(budgeted, body())).headers);
    if (typeof last === "string") throw new Error(last);
    expect(last.remainingUsd).toBeLessThan(probe.remainingUsd[probe.remainingUsd.length - 1]!);
  }, 60_000);

  it("is told apart from the Worker without budgets, which carries no budget headers", async () => {
    const res = await sendOnce(plain, body());
    expect(res.status).toBe(200);
    expect(res.headers.get(BUDGET_HEADERS.remaining)).toBeNull();
    await expect(probeMetering(plain, body, 2, sendOnce)).rejects.toThrow(/not metering/);
  }, 30_000);

  it("counts calls only on a subject that counts them", async () => {
    await expect(workerds[1]!.doCalls()).rejects.toThrow(/does not count/);
  });
});
