/**
 * Drives a stand-in that runs in another process (npm start, a test's global setup) over its /__standin/ HTTP
 * routes: the same switches `startStandin` returns, but async.
 */
import type { Fault, GatewayFault, GatewayMode, Provider, RateLimit, StandinCounters, StandinRecord } from "./index";

export interface StandinControl {
  setFault(provider: Provider, fault: Fault | null): Promise<void>;
  /** Replaces the gateway's own refusals (rate limit, spend limit, Guardrails); [] clears them. */
  setGatewayFaults(faults: GatewayFault[]): Promise<void>;
  /** Clears provider faults and gateway faults. */
  clearFaults(): Promise<void>;
  setMode(mode: GatewayMode): Promise<void>;
  setRateLimit(rateLimit: RateLimit | null): Promise<void>;
  records(): Promise<StandinRecord[]>;
  clearRecords(): Promise<void>;
  clearCache(): Promise<void>;
  counters(): Promise<StandinCounters>;
}

export function standinControl(url: string): StandinControl {
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${url}/__standin/${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const out: unknown = await res.json();
    if (!res.ok) throw new Error(`stand-in ${method} ${path}: ${res.status} ${JSON.stringify(out)}`);
    return out;
  };
  return {
    setFault: async (provider, fault) => void (await call("POST", "faults", { provider, fault })),
    setGatewayFaults: async (faults) => void (await call("POST", "gateway-faults", faults)),
    clearFaults: async () => void (await call("DELETE", "faults")),
    setMode: async (mode) => void (await call("POST", "mode", mode)),
    setRateLimit: async (rateLimit) => void (await call("POST", "rate-limit", rateLimit)),
    records: async () => (await call("GET", "records")) as StandinRecord[],
    clearRecords: async () => void (await call("DELETE", "records")),
    clearCache: async () => void (await call("DELETE", "cache")),
    counters: async () => (await call("GET", "counters")) as StandinCounters,
  };
}

/**
 * Reads a response body to its end, or to where the connection broke (a stream the stand-in cut), and says which.
 * Tests need the partial text of a cut stream, which `res.text()` throws away.
 */
export async function readUntilBreak(body: ReadableStream<Uint8Array> | null): Promise<{ text: string; broke: boolean }> {
  if (!body) return { text: "", broke: false };
  const reader = body.getReader();
  const dec = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, broke: false };
      text += dec.decode(value, { stream: true });
    }
  } catch {
    return { text, broke: true };
  }
}
