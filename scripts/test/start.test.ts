// `npm start` as a user runs it: a real process with wrangler dev and the stand-in, on random free ports.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, sha256Hex } from "../local-stack";

const ROOT = join(__dirname, "../..");
const TSX = join(ROOT, "node_modules", "tsx", "dist", "cli.mjs");

interface Run {
  child: ChildProcess;
  out: () => string;
  exit: Promise<number | null>;
}
const runs: Run[] = [];
afterEach(async () => {
  for (const r of runs.splice(0)) {
    if (r.child.exitCode === null && r.child.signalCode === null) {
      r.child.kill("SIGTERM");
      await r.exit;
    }
  }
});

function start(args: string[]): Run {
  const child = spawn(process.execPath, [TSX, "scripts/start.ts", "--quiet", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const run = { child, out: () => out, exit };
  runs.push(run);
  return run;
}

async function ready(run: Run): Promise<void> {
  const deadline = Date.now() + 110_000;
  while (!run.out().includes("Ctrl-C stops both.")) {
    if (run.child.exitCode !== null) throw new Error(`npm start exited early:\n${run.out()}`);
    if (Date.now() > deadline) throw new Error(`npm start not ready:\n${run.out()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const listening = (port: number) =>
  fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2_000) }).then(
    async (r) => (await r.body?.cancel(), true),
    () => false,
  );

describe("npm start", () => {
  it("prints the Worker URL, the development key and a curl that gets an answer; SIGTERM stops both servers", async () => {
    const [wp, sp] = [await freePort(), await freePort()];
    const run = start(["--port", String(wp), "--standin-port", String(sp)]);
    await ready(run);
    const out = run.out();
    expect(out).toContain(`Worker            http://127.0.0.1:${wp}`);
    expect(out).toContain(`Gateway stand-in  http://127.0.0.1:${sp}`);
    const key = /Client key\s+(\S+)\s+\(development client/.exec(out)?.[1];
    expect(key).toBeTruthy();
    const curl = /^\s*(curl .*)$/m.exec(out)?.[1];
    expect(curl).toContain(key!);

    const answer = await new Promise<string>((resolve, reject) =>
      execFile("bash", ["-c", curl!], { timeout: 30_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    expect(JSON.parse(answer)).toMatchObject({
      text: expect.stringContaining("heard: Hello from npm start"),
      provider: expect.any(String),
    });

    run.child.kill("SIGTERM");
    expect(await run.exit).toBe(0);
    expect(await listening(wp)).toBe(false);
    expect(await listening(sp)).toBe(false);
  });

  it("exits 1 naming the port when the Worker's port is taken, and leaves nothing running", async () => {
    const dir = mkdtempSync(join(tmpdir(), "start-test-"));
    const key = "start-test-client-key-0123";
    const devVars = join(dir, "dev.vars");
    writeFileSync(
      devVars,
      `# key: ${key}\nAI_GATEWAY_TOKEN=t\nANTHROPIC_API_KEY=a\nOPENAI_API_KEY=o\nCLIENT_KEYS='{"dev":"${sha256Hex(key)}"}'\n`,
    );
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    const taken = (blocker.address() as { port: number }).port;
    const sp = await freePort();
    try {
      const run = start(["--port", String(taken), "--standin-port", String(sp), "--dev-vars", devVars]);
      expect(await run.exit).toBe(1);
      expect(run.out()).toContain(`port ${taken} on 127.0.0.1 (Worker) is already in use`);
      expect(await listening(sp)).toBe(false);
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("stops the stand-in and exits non-zero when wrangler dies", async () => {
    const [wp, sp] = [await freePort(), await freePort()];
    const run = start(["--port", String(wp), "--standin-port", String(sp)]);
    await ready(run);
    // tsx runs start.ts in a child of its own, so wrangler is a grandchild: walk the process tree down from ours.
    const ps = await new Promise<string>((resolve, reject) =>
      execFile("ps", ["-eo", "pid=,ppid=,args="], (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    const procs = ps
      .split("\n")
      .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
    const ours = new Set([run.child.pid]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const p of procs) if (ours.has(p.ppid) && !ours.has(p.pid)) ours.add(p.pid), (grew = true);
    }
    const wranglerPid = procs.find((p) => ours.has(p.pid) && p.args.includes("wrangler.js") && p.args.includes(" dev "))?.pid ?? 0;
    expect(wranglerPid).toBeGreaterThan(0);
    process.kill(wranglerPid, "SIGKILL");
    expect(await run.exit).toBe(1);
    expect(run.out()).toContain("wrangler dev stopped unexpectedly");
    expect(await listening(sp)).toBe(false);
    expect(await listening(wp)).toBe(false);
  });
});
