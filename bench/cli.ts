/**
 * `npm run bench [-- --quick] [--at REV] [--out DIR] [--soak-seconds N] [--soak-on workerd|dev] [--rounds N]
 * [--seconds N] [--concurrency 1,8] [--keep-tmp]`: what the gateway Worker costs on the request path
 * (./run.ts), written to bench/results/latest.{md,json} (a --quick run writes to bench/results/tmp/ unless --out
 * is given). `--at REV` measures the Worker as committed at REV instead of the working tree.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseBenchArgs } from "./lib/args";
import { type BenchOptions, defaultOptions, runBench } from "./run";

async function main(): Promise<void> {
  const a = parseBenchArgs(process.argv.slice(2));
  const root = process.cwd();
  if (!existsSync(join(root, "bench", "run.ts"))) throw new Error("run from the repository root (npm run bench)");
  const d = defaultOptions(root, a.quick);
  const o: BenchOptions = {
    ...d,
    outDir: a.out ?? d.outDir,
    soakSeconds: a.soakSeconds ?? d.soakSeconds,
    rounds: a.rounds ?? d.rounds,
    cellSeconds: a.cellSeconds ?? d.cellSeconds,
    concurrency: a.concurrency ?? d.concurrency,
    soakTarget: a.soakTarget ?? d.soakTarget,
    workerRev: a.at,
    keepTmp: a.keepTmp,
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
