/**
 * Start-up cost of a Worker bundle: a fresh workerd process per launch (./workerd.ts), timed from launch to
 * accepting connections (runtime start plus compiling and evaluating the bundle's top level) and then to its first
 * answered request (whatever the Worker initialises lazily). The gateway Worker and the bare proxy pay the same
 * runtime start, so their difference is what the Worker's code costs at start-up.
 */
import { join } from "node:path";
import { median } from "./stats";
import { startWorkerd, type WorkerdSubject } from "./workerd";

export interface StartupSubject extends WorkerdSubject {
  /** The first request; it must be answered 2xx. */
  readonly request: { readonly path: string; readonly headers: Readonly<Record<string, string>>; readonly body: string };
}

export interface StartupRun {
  /** Launch until workerd accepts connections: runtime start + bundle compile and top-level evaluation. */
  readonly readyMs: number;
  /** The first request on the fresh instance, sent to answered. */
  readonly firstMs: number;
  /** Median of the next few requests: what the first one is compared with. */
  readonly warmMs: number;
}

export interface StartupResult {
  readonly name: string;
  readonly runs: StartupRun[];
  /** Medians over runs. */
  readonly readyMs: number;
  readonly firstMs: number;
  readonly warmMs: number;
  /** Launch to first answer (median of readyMs + firstMs per run). */
  readonly toFirstAnswerMs: number;
}

async function timeRequest(origin: string, s: StartupSubject): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(origin + s.request.path, {
    method: "POST",
    headers: { ...s.request.headers, "content-type": "application/json" },
    body: s.request.body,
  });
  const text = await res.text();
  const ms = performance.now() - t0;
  if (!res.ok) throw new Error(`${s.name}: request on a fresh workerd answered ${res.status}: ${text.slice(0, 200)}`);
  return ms;
}

async function once(workerd: string, s: StartupSubject, dir: string): Promise<StartupRun> {
  const w = await startWorkerd(workerd, s, dir);
  try {
    const firstMs = await timeRequest(w.origin, s);
    const warm: number[] = [];
    for (let i = 0; i < 5; i++) warm.push(await timeRequest(w.origin, s));
    return { readyMs: w.readyMs, firstMs, warmMs: median(warm) };
  } finally {
    await w.stop();
  }
}

/**
 * `runs` fresh launches of each subject, alternating, after one untimed launch that warms the page cache
 * (the 150 MB workerd binary) so the first timed launch is not the only one reading it from disk.
 */
export async function measureStartup(
  workerd: string,
  subjects: readonly StartupSubject[],
  runs: number,
  workDir: string,
): Promise<StartupResult[]> {
  const prepared = subjects.map((s) => ({ s, dir: join(workDir, `startup-${s.name}`) }));
  if (prepared[0]) await once(workerd, prepared[0].s, prepared[0].dir);
  const all = new Map<string, StartupRun[]>(prepared.map((p) => [p.s.name, []]));
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? prepared : [...prepared].reverse();
    for (const p of order) all.get(p.s.name)!.push(await once(workerd, p.s, p.dir));
  }
  return prepared.map(({ s }) => {
    const r = all.get(s.name)!;
    return {
      name: s.name,
      runs: r,
      readyMs: median(r.map((x) => x.readyMs)),
      firstMs: median(r.map((x) => x.firstMs)),
      warmMs: median(r.map((x) => x.warmMs)),
      toFirstAnswerMs: median(r.map((x) => x.readyMs + x.firstMs)),
    };
  });
}
