/**
 * Child-process entry of plan generation: `child.ts <stack> [config-overrides-json]` runs the program for one stack
 * (a program module runs once per process) and prints its redacted snapshot on one marked line.
 */
import { ProgramError } from "../../infra/testing/harness";
import { SNAPSHOT_MARKER } from "./generate";
import { takeSnapshot } from "./snapshot";

const [stack, overrides] = process.argv.slice(2);

function finish(code: number, out: string, err = ""): void {
  if (err) process.stderr.write(err);
  // The mock runtime can leave handles open; exit once the line is flushed.
  process.stdout.write(out, () => process.exit(code));
}

if (!stack) {
  finish(2, "", "usage: child.ts <stack> [config-overrides-json]\n");
} else {
  takeSnapshot(stack, overrides ? (JSON.parse(overrides) as Record<string, unknown>) : undefined).then(
    (s) => finish(0, `${SNAPSHOT_MARKER}${JSON.stringify(s)}\n`),
    (e: unknown) => {
      // Config errors name the key and the stack; secrets are never part of them.
      const message = e instanceof ProgramError || e instanceof Error ? e.message : String(e);
      finish(1, "", `stack ${stack}: ${message}\n`);
    },
  );
}
