/**
 * `npm run standin -- [--port 8788] [--host 127.0.0.1] [--token T] [--rate-limit 100/60000] [--cache-ttl S]
 * [--token-delay-ms N] [--response-guardrails]`: runs the gateway stand-in in the foreground until Ctrl-C. Faults,
 * gateway refusals, the mode and records are then reachable over HTTP under /__standin/ (see ./client.ts).
 */
import { parseArgs } from "node:util";
import { startStandin } from "./index";

function main(): void {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: process.env.STANDIN_PORT ?? "8788" },
      host: { type: "string", default: "127.0.0.1" },
      token: { type: "string" },
      "rate-limit": { type: "string" },
      "cache-ttl": { type: "string" },
      "token-delay-ms": { type: "string" },
      "record-limit": { type: "string" },
      "response-guardrails": { type: "boolean", default: false },
    },
  });
  const num = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number ≥ 0, got "${v}"`);
    return n;
  };
  let rateLimit;
  if (values["rate-limit"] !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(values["rate-limit"]);
    if (!m) throw new Error(`--rate-limit must look like LIMIT/WINDOW_MS, e.g. 100/60000, got "${values["rate-limit"]}"`);
    rateLimit = { limit: Number(m[1]), windowMs: Number(m[2]) };
  }
  startStandin({
    port: num("port", values.port),
    host: values.host,
    token: values.token,
    rateLimit,
    cacheTtl: num("cache-ttl", values["cache-ttl"]),
    tokenDelayMs: num("token-delay-ms", values["token-delay-ms"]),
    recordLimit: num("record-limit", values["record-limit"]),
    mode: { responseGuardrails: values["response-guardrails"] },
  }).then(
    (s) => {
      console.log(`gateway stand-in listening on ${s.url} (AI_GATEWAY_BASE_URL=${s.baseUrl})`);
      const stop = () => void s.close().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    },
    (e: unknown) => {
      const err = e as NodeJS.ErrnoException;
      console.error(
        err.code === "EADDRINUSE" ? `port ${values.port} on ${values.host} is already in use (choose another with --port)` : err.message,
      );
      process.exit(1);
    },
  );
}

try {
  main();
} catch (e) {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(2);
}
