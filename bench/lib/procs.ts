/**
 * Child processes for the benchmarks (stand-in, wrangler dev, workerd) with guaranteed cleanup: each child leads its
 * own process group, and the whole group is killed when the bench stops, fails, or receives SIGINT/SIGTERM/SIGHUP, so
 * no workerd is left listening after a run. Also reads a process tree's memory from /proc.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";

export interface Managed {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves once the leader has exited. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<Managed>();
const history: number[] = [];

/** Every child pid this process started (each leads its own process group), for checks that none survived. */
export function spawnHistory(): readonly number[] {
  return history;
}
let handlersInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Kills every live child group right now (synchronous: safe inside an `exit` handler). */
export function killAllNow(): void {
  for (const m of live) killGroup(m.pid, "SIGKILL");
  live.clear();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", killAllNow);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      killAllNow();
      process.exit(128 + (sig === "SIGINT" ? 2 : sig === "SIGTERM" ? 15 : 1));
    });
  }
}

export interface SpawnOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** stdout and stderr go to this file (a pipe nobody reads would block a chatty child). */
  readonly logFile?: string;
  /** Keep stdout as a pipe the caller reads (stderr still goes to `logFile` or is ignored). */
  readonly pipeStdout?: boolean;
}

/** Starts `cmd` in its own process group and registers it for cleanup. */
export function spawnManaged(name: string, cmd: string, args: readonly string[], opts: SpawnOptions = {}): Managed {
  installHandlers();
  const fd = opts.logFile ? openSync(opts.logFile, "a") : undefined;
  const out = fd ?? "ignore";
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true,
    stdio: ["ignore", opts.pipeStdout ? "pipe" : out, out],
  });
  if (fd !== undefined) closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${cmd})`);
  const pid = child.pid;
  history.push(pid);
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
    child.once("error", () => resolve("spawn-error"));
  });
  const managed: Managed = {
    name,
    pid,
    child,
    exited,
    async stop(graceMs = 3000) {
      killGroup(pid, "SIGTERM");
      const timer = setTimeout(() => killGroup(pid, "SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
      // The leader may exit before its children (wrangler before workerd): finish the group off.
      killGroup(pid, "SIGKILL");
      live.delete(managed);
    },
  };
  live.add(managed);
  void exited.then(() => {
    if (!live.has(managed)) return;
    killGroup(pid, "SIGKILL");
    live.delete(managed);
  });
  return managed;
}

/** Parent pid of `pid` from /proc, or undefined when it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses: fields after the last ")" are fixed.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(rest[1]);
  } catch {
    return undefined;
  }
}

/** Processes (not zombies) in process group `pgid` right now: a stopped child's group must be empty. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // Fields after the command: state, ppid, pgrp.
      if (Number(rest[2]) === pgid && rest[0] !== "Z") out.push(Number(entry));
    } catch {
      // Exited while we looked.
    }
  }
  return out;
}

/** `pid` and all its descendants (a snapshot). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = parentOf(Number(entry));
    if (ppid === undefined) continue;
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/** The command name of `pid` (/proc/<pid>/comm), or undefined. */
export function commandName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Resident set size in KiB (VmRSS from /proc/<pid>/status), or undefined when the process is gone. */
export function rssKiB(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** True while `pid` runs: a zombie (exited, waiting for its new parent to reap it) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
