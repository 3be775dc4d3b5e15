/**
 * `npm run bench [-- --quick] [--at REV] [--out DIR] [--soak-seconds N] [--soak-on workerd|dev] [--rounds N]
 * [--seconds N] [--concurrency 1,8,32] [--keep-tmp]`: what the gateway Worker costs on the request path
 * (bench/run.ts), written to bench/results/latest.{md,json} (a --quick run writes to bench/results/tmp/ unless --out
 * is given). `--at REV` measures the Worker as committed at REV instead of the working tree.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { defaultOptions, runBench, type BenchOptions } from "../bench/run";

function positiveNumber(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a number > 0, got "${v}"`);
  return n;
}

function soakTarget(v: string | undefined): BenchOptions["soakTarget"] | undefined {
  if (v === undefined) return undefined;
  if (v === "workerd") return "worker-workerd";
  if (v === "dev") return "worker-dev";
  throw new Error(`--soak-on must be "workerd" or "dev", got "${v}"`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      out: { type: "string" },
      "soak-seconds": { type: "string" },
      rounds: { type: "string" },
      seconds: { type: "string" },
      concurrency: { type: "string" },
      "soak-on": { type: "string" },
      at: { type: "string" },
      "keep-tmp": { type: "boolean", default: false },
    },
  });

  const root = process.cwd();
  if (!existsSync(join(root, "bench", "run.ts"))) throw new Error("run from the repository root (npm run bench)");
  const d = defaultOptions(root, values.quick);
  const o: BenchOptions = {
    ...d,
    outDir: values.out ?? d.outDir,
    soakSeconds: values["soak-seconds"] ? positiveNumber("soak-seconds", values["soak-seconds"]) : d.soakSeconds,
    rounds: values.rounds ? Math.round(positiveNumber("rounds", values.rounds)) : d.rounds,
    cellSeconds: values.seconds ? positiveNumber("seconds", values.seconds) : d.cellSeconds,
    concurrency: values.concurrency
      ? values.concurrency.split(",").map((c) => Math.round(positiveNumber("concurrency", c)))
      : d.concurrency,
    soakTarget: soakTarget(values["soak-on"]) ?? d.soakTarget,
    workerRev: values.at,
    keepTmp: values["keep-tmp"],
  };
  await runBench(o);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`bench failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
