/// <reference path="./autocannon.d.ts" />
/**
 * Load on 127.0.0.1: closed-loop JSON load with autocannon (each response's latency taken at full precision from
 * its `response` event: autocannon's own histogram rounds to whole milliseconds, too coarse on loopback), a
 * steady-rate run (autocannon `overallRate`), a streaming client that times the first body byte of SSE answers and
 * counts complete streams per second, and a burst of identical requests sent all at once.
 */

import { Agent, request as httpRequest } from "node:http";
import autocannon from "autocannon";
import { Samples, type Summary, summarize } from "./stats";

export interface Target {
  readonly name: string;
  /** Origin, e.g. http://127.0.0.1:8787 */
  readonly origin: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface LoadResult {
  readonly requests: number;
  readonly ok: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly timeouts: number;
  readonly durationS: number;
  /** 2xx responses per second over the whole run. */
  readonly rps: number;
  /** Milliseconds, 2xx responses only. */
  readonly latency: Summary;
  readonly statusCodes: Record<string, number>;
}

export interface JsonLoadOptions {
  readonly connections: number;
  readonly durationS: number;
  /** A fixed body (cache-hit path) or a fresh body per request (cache-miss path). */
  readonly body: string | (() => string);
  /** Steady rate over all connections (req/s); closed loop when absent. */
  readonly overallRate?: number;
  /** Called about once a second while the load runs (memory sampling). */
  readonly onTick?: (elapsedMs: number) => void;
}

export async function runJsonLoad(target: Target, opts: JsonLoadOptions): Promise<LoadResult> {
  const headers = { ...target.headers, "content-type": "application/json" };
  const body = opts.body;
  const request =
    typeof body === "string"
      ? { method: "POST", path: target.path, headers, body }
      : {
          method: "POST",
          path: target.path,
          headers,
          body: body(),
          setupRequest: (req: autocannon.RequestSpec) => ({ ...req, body: body() }),
        };
  const latencies = new Samples();
  const instance = autocannon({
    url: target.origin,
    connections: opts.connections,
    duration: opts.durationS,
    pipelining: 1,
    timeout: 10,
    ...(opts.overallRate ? { overallRate: opts.overallRate } : {}),
    requests: [request],
  });
  instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const start = performance.now();
  const tick = opts.onTick ? setInterval(() => opts.onTick!(performance.now() - start), 1000) : undefined;
  try {
    const r = await instance;
    const statusCodes: Record<string, number> = {};
    for (const [code, { count }] of Object.entries(r.statusCodeStats)) statusCodes[code] = count;
    return {
      requests: r.requests.total,
      ok: r["2xx"],
      errors: r.errors,
      non2xx: r.non2xx,
      timeouts: r.timeouts,
      durationS: r.duration,
      rps: r["2xx"] / r.duration,
      latency: summarize(latencies.values()),
      statusCodes,
    };
  } finally {
    if (tick) clearInterval(tick);
  }
}

export interface StreamResult {
  readonly requests: number;
  readonly ok: number;
  /** Failed, non-200, or ended without the stream's final event. */
  readonly errors: number;
  /** Milliseconds from sending the request to the first byte of the body (the first SSE event). */
  readonly ttfb: Summary;
  /** Milliseconds from sending the request to the end of the stream. */
  readonly total: Summary;
  /** Seconds from the first request to the last stream's end (the loops finish the stream they are in). */
  readonly durationS: number;
  /** Complete streams per second over the run. */
  readonly rps: number;
}

export interface StreamOptions {
  readonly connections: number;
  readonly durationS: number;
  readonly body: () => string;
  /** Text the complete stream contains (its final event), to count truncated streams as errors. */
  readonly endMarker: string;
}

/**
 * `connections` loops, each sending one streaming request after another on a keep-alive socket for `durationS`.
 * A small node:http client rather than fetch: fetch resolves on headers and buffers differently across versions,
 * and here we need the moment the first body byte arrives.
 */
export async function runStreamLoad(target: Target, opts: StreamOptions): Promise<StreamResult> {
  const url = new URL(target.path, target.origin);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections });
  const ttfb = new Samples();
  const total = new Samples();
  let requests = 0;
  let ok = 0;
  let errors = 0;
  const deadline = performance.now() + opts.durationS * 1000;

  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const body = opts.body();
      requests++;
      let first = -1;
      let text = "";
      const t0 = performance.now();
      const fail = () => {
        errors++;
        resolve();
      };
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method: "POST",
          agent,
          headers: { ...target.headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            if (first < 0) first = performance.now() - t0;
            text += chunk;
          });
          res.on("end", () => {
            if (res.statusCode !== 200 || first < 0 || !text.includes(opts.endMarker)) return fail();
            ok++;
            ttfb.push(first);
            total.push(performance.now() - t0);
            resolve();
          });
          res.on("error", fail);
        },
      );
      req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
      req.on("error", fail);
      req.end(body);
    });

  const loop = async () => {
    while (performance.now() < deadline) await one();
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: opts.connections }, loop));
  const durationS = (performance.now() - started) / 1000;
  agent.destroy();
  return { requests, ok, errors, ttfb: summarize(ttfb.values()), total: summarize(total.values()), durationS, rps: ok / durationS };
}

export interface BurstOptions {
  readonly count: number;
  readonly body: string;
  /** Response header whose value labels the answer (x-cache, cf-aig-cache-status); counted per value. */
  readonly labelHeader: string;
  /** For streams: text the complete stream contains; an answer without it is not counted as answered. */
  readonly endMarker?: string;
}

export interface BurstResult {
  readonly requests: number;
  /** 2xx answers read to the end (streams: with their final event). */
  readonly ok: number;
  readonly labels: Record<string, number>;
  /** Status codes of the answers, 0 for a request that failed without one. */
  readonly statuses: Record<string, number>;
  readonly wallMs: number;
}

/**
 * `count` copies of one request, each on its own connection, all written before any answer is awaited, so they are
 * in flight together the way a page of clients asking the same thing at once would be.
 */
export async function runBurst(target: Target, opts: BurstOptions): Promise<BurstResult> {
  const url = new URL(target.path, target.origin);
  const labels: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  let ok = 0;
  const count = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method: "POST",
          agent: false,
          headers: { ...target.headers, "content-type": "application/json", "content-length": Buffer.byteLength(opts.body) },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (text += chunk));
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            count(statuses, String(status));
            const label = res.headers[opts.labelHeader.toLowerCase()];
            if (typeof label === "string") count(labels, label);
            if (status >= 200 && status < 300 && (opts.endMarker === undefined || text.includes(opts.endMarker))) ok++;
            resolve();
          });
          res.on("error", () => resolve());
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error("timeout")));
      req.on("error", () => {
        count(statuses, "0");
        resolve();
      });
      req.end(opts.body);
    });
  const started = performance.now();
  await Promise.all(Array.from({ length: opts.count }, one));
  return { requests: opts.count, ok, labels, statuses, wallMs: performance.now() - started };
}

/** One request with fetch, for priming caches and checking a target answers as expected before it is timed. */
export async function sendOnce(target: Target, body: string): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(new URL(target.path, target.origin), {
    method: "POST",
    headers: { ...target.headers, "content-type": "application/json" },
    body,
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}
