/**
 * A minimal Chrome DevTools protocol client for the V8 inspector workerd (or wrangler dev) serves on 127.0.0.1:
 * finds the Worker's target on /json/list, talks JSON-RPC over Node's global WebSocket, and records a CPU profile
 * with the Profiler domain. Only what the profiler needs; no events beyond the ones it waits for.
 */
import { HOST, sleep } from "./net";

/** A V8 CPU profile as Profiler.stop returns it (and as Chrome DevTools loads a .cpuprofile file). */
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  /** Microseconds, V8's monotonic clock. */
  readonly startTime: number;
  readonly endTime: number;
  /** Node id of the leaf frame of each sample. */
  readonly samples?: readonly number[];
  /** Microseconds since the previous sample (the first: since startTime). */
  readonly timeDeltas?: readonly number[];
}

export interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

export interface CallFrame {
  readonly functionName: string;
  readonly scriptId: string;
  readonly url: string;
  /** 0-based, the function's start in the script. */
  readonly lineNumber: number;
  readonly columnNumber: number;
}

interface InspectorTarget {
  readonly id?: string;
  readonly title?: string;
  readonly type?: string;
  readonly webSocketDebuggerUrl?: string;
}

/** The debugger WebSocket URL of the first target the inspector lists, polling until it lists one. */
export async function inspectorTargetUrl(port: number, timeoutMs = 30_000): Promise<string> {
  const started = performance.now();
  let last = "no answer";
  for (;;) {
    try {
      const res = await fetch(`http://${HOST}:${port}/json/list`);
      const list = (await res.json()) as InspectorTarget[];
      const url = list.find((t) => typeof t.webSocketDebuggerUrl === "string")?.webSocketDebuggerUrl;
      if (url) return url;
      last = `${list.length} target(s), none with a webSocketDebuggerUrl`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (performance.now() - started > timeoutMs) throw new Error(`inspector on ${HOST}:${port}: no target after ${timeoutMs} ms (${last})`);
    await sleep(50);
  }
}

export class DevtoolsSession {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; method: string }>();

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener("message", (ev) => {
      const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message?: string } };
      if (msg.id === undefined) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message ?? JSON.stringify(msg.error)}`));
      else p.resolve(msg.result);
    });
    ws.addEventListener("close", () => {
      for (const p of this.pending.values()) p.reject(new Error(`${p.method}: the inspector closed the connection`));
      this.pending.clear();
    });
  }

  static async open(url: string): Promise<DevtoolsSession> {
    // wrangler dev's inspector proxy refuses a WebSocket whose Origin is not local (or missing, from a client that
    // names itself in User-Agent, as Node's does); workerd's own inspector ignores the header.
    const ws = new WebSocket(url, { headers: { origin: `http://${HOST}` } });
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error(`could not open the inspector WebSocket ${url}`)), { once: true });
    });
    return new DevtoolsSession(ws);
  }

  send<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, method });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.ws.close();
  }
}

/**
 * Samples the target's CPU every `intervalUs` microseconds while `during` runs. The interval must be set before
 * Profiler.start (V8 ignores changes while a profile is being taken).
 */
export async function profileWhile<T>(
  session: DevtoolsSession,
  intervalUs: number,
  during: () => Promise<T>,
): Promise<{ profile: CpuProfile; result: T }> {
  await session.send("Profiler.enable");
  await session.send("Profiler.setSamplingInterval", { interval: intervalUs });
  await session.send("Profiler.start");
  let result: T;
  try {
    result = await during();
  } catch (e) {
    // Stopped even when the load fails, so the isolate is not left sampling.
    await session.send("Profiler.stop").catch(() => undefined);
    throw e;
  }
  const { profile } = await session.send<{ profile: CpuProfile }>("Profiler.stop");
  await session.send("Profiler.disable");
  return { profile, result };
}
