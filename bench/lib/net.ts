/** Loopback helpers: a free port for each server the bench starts, and polling until a server answers. */
export const HOST = "127.0.0.1";

/** A port the OS reports free on 127.0.0.1 right now (for tools that take `--port` rather than port 0). */
export { freePort } from "../../scripts/local-stack";

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` until it returns true; returns the elapsed milliseconds. Throws after `timeoutMs`, or as soon as
 * `failed()` reports why (e.g. the process being waited for has exited).
 */
export async function waitUntil(
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; what: string; failed?: () => string | undefined },
): Promise<number> {
  const start = performance.now();
  for (;;) {
    const why = opts.failed?.();
    if (why) throw new Error(`${opts.what}: ${why}`);
    if (await probe().catch(() => false)) return performance.now() - start;
    if (performance.now() - start > opts.timeoutMs) throw new Error(`${opts.what}: not ready after ${opts.timeoutMs} ms`);
    await sleep(opts.intervalMs ?? 25);
  }
}
