/**
 * A wall clock the end-to-end tests can move for one local Worker: clock-shift.c, compiled here with the machine's C
 * compiler and preloaded into that Worker's `wrangler dev` (and so its workerd), reads its offset from a file this
 * module rewrites. Only that Worker's processes see the shifted time; this process keeps the real one.
 */
import { execFileSync } from "node:child_process";
import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";

export interface ShiftedClock {
  /** Environment for the Worker whose clock moves. */
  readonly env: Record<string, string>;
  /** Moves that Worker's clock so that it reads `at` now (and runs on from there). */
  set(at: string | number): void;
}

export function shiftedClock(dir: string): ShiftedClock {
  const lib = join(dir, "clock-shift.so");
  try {
    execFileSync("cc", ["-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o", lib, join(__dirname, "clock-shift.c")], { stdio: "pipe" });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(
      `cannot build the clock shift for the budget-window tests (a C compiler, cc, is needed): ${err.stderr?.toString() || err.message}`,
    );
  }
  const file = join(dir, "clock-offset");
  const bytes = (offsetMs: number) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(Math.round(offsetMs)));
    return b;
  };
  writeFileSync(file, bytes(0));
  // Rewritten in place, never truncated: a mapped file that is shorter than the mapping faults its readers.
  const write = (offsetMs: number) => {
    const b = bytes(offsetMs);
    const fd = openSync(file, "r+");
    try {
      writeSync(fd, b, 0, 8, 0);
    } finally {
      closeSync(fd);
    }
  };
  return {
    env: { LD_PRELOAD: lib, CLOCK_SHIFT_FILE: file },
    set(at) {
      const target = typeof at === "number" ? at : Date.parse(at);
      if (!Number.isFinite(target)) throw new Error(`not a time: ${at}`);
      write(target - Date.now());
    },
  };
}
