/**
 * `npm run smoke -- --url <worker url> --key <client key>`: the post-deploy check. Against a deployed Worker (or the
 * local stack) it checks what can be seen from outside: the Worker answers, auth is enforced, a request reaches the
 * gateway and a provider, a repeat is a gateway cache HIT, the declared headers are there and agree with the body,
 * and nothing that names the gateway or a provider key comes back. Prints PASS/FAIL per check; exit 0 only if all pass.
 * Costs two small model calls (the second is served from the cache).
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";

interface Check {
  name: string;
  run(): Promise<void>;
}

class CheckFailed extends Error {}
function ensure(ok: unknown, why: string): asserts ok {
  if (!ok) throw new CheckFailed(why);
}

const USAGE = "usage: npm run smoke -- --url <worker url> --key <client key> [--timeout-ms 30000]";

/** What a response may never contain: the gateway's host, or anything shaped like a provider key. */
const LEAK_PATTERNS: [string, RegExp][] = [
  ["the AI Gateway URL", /gateway\.ai\.cloudflare\.com/i],
  ["an Anthropic key", /sk-ant-[A-Za-z0-9_-]{16,}/],
  ["an OpenAI key", /\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}/],
  ["a gateway authorization header", /cf-aig-authorization/i],
];

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: { url: { type: "string" }, key: { type: "string" }, "timeout-ms": { type: "string", default: "30000" } },
    }));
  } catch (e) {
    console.error(`${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  if (!values.url || !values.key) {
    console.error(USAGE);
    return 2;
  }
  let base: string;
  try {
    base = new URL(values.url).toString().replace(/\/+$/, "");
  } catch {
    console.error(`--url "${values.url}" is not a URL\n${USAGE}`);
    return 2;
  }
  const key = values.key;
  const timeoutMs = Number(values["timeout-ms"]);
  const received: { what: string; text: string }[] = [];

  const call = async (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    received.push({ what: `${method} ${path}`, text: `${[...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}\n${text}` });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { res, text, json };
  };

  // A fresh prompt each run, so the first call is a real MISS that reaches a provider and the second can only be a HIT.
  const prompt = {
    feature: "smoke",
    messages: [{ role: "user", content: `Reply with one word. smoke check ${randomBytes(6).toString("hex")}` }],
  };
  const auth = { authorization: `Bearer ${key}` };
  let first: { provider: string; model: string; variant: string; text: string } | undefined;

  const checks: Check[] = [
    {
      name: "GET /healthz answers 200 without a key",
      async run() {
        const { res } = await call("GET", "/healthz");
        ensure(res.status === 200, `status ${res.status}`);
      },
    },
    {
      name: "POST /api/chat without a key is refused with 401",
      async run() {
        const { res } = await call("POST", "/api/chat", {}, prompt);
        ensure(res.status === 401, `status ${res.status}, expected 401`);
      },
    },
    {
      name: "POST /api/chat with a wrong key is refused with 401",
      async run() {
        const { res } = await call("POST", "/api/chat", { authorization: `Bearer smoke-wrong-${randomBytes(8).toString("hex")}` }, prompt);
        ensure(res.status === 401, `status ${res.status}, expected 401`);
      },
    },
    {
      name: "POST /api/chat with the key reaches the gateway and a provider (x-cache MISS, an answer)",
      async run() {
        const { res, json, text } = await call("POST", "/api/chat", auth, prompt);
        ensure(res.status === 200, `status ${res.status}: ${text.slice(0, 300)}`);
        const b = json as Record<string, unknown> | undefined;
        ensure(b && typeof b.text === "string" && b.text !== "", "no text in the answer");
        ensure(
          typeof b.provider === "string" && typeof b.model === "string" && typeof b.variant === "string",
          "answer lacks provider, model or variant",
        );
        ensure(res.headers.get("x-cache") === "MISS", `x-cache is ${res.headers.get("x-cache")}, expected MISS for a new prompt`);
        first = { provider: b.provider, model: b.model, variant: b.variant, text: b.text };
        const missing = ["x-request-id", "x-ai-provider", "x-ai-model", "x-ai-variant", "x-cache"].filter((h) => !res.headers.get(h));
        ensure(missing.length === 0, `missing headers: ${missing.join(", ")}`);
        ensure(res.headers.get("x-ai-provider") === b.provider, "x-ai-provider disagrees with the body");
        ensure(res.headers.get("x-ai-model") === b.model, "x-ai-model disagrees with the body");
        ensure(res.headers.get("x-ai-variant") === b.variant, "x-ai-variant disagrees with the body");
        ensure(res.headers.get("x-content-type-options") === "nosniff", "security header x-content-type-options: nosniff missing");
      },
    },
    {
      name: "the same request again is a gateway cache HIT with the same answer",
      async run() {
        ensure(first, "needs the previous check to pass");
        const { res, json } = await call("POST", "/api/chat", auth, prompt);
        ensure(res.status === 200, `status ${res.status}`);
        ensure(res.headers.get("x-cache") === "HIT", `x-cache is ${res.headers.get("x-cache")}, expected HIT`);
        const b = json as Record<string, unknown>;
        ensure(b.cached === true, "body says cached is not true");
        ensure(b.text === first.text && b.provider === first.provider, "the cached answer differs from the first");
      },
    },
    {
      name: "no response named the gateway or carried a provider key",
      async run() {
        const found = received.flatMap(({ what, text }) =>
          LEAK_PATTERNS.filter(([, re]) => re.test(text)).map(([label]) => `${label} in ${what}`),
        );
        ensure(found.length === 0, found.join("; "));
      },
    },
  ];

  console.log(`smoke: ${base}`);
  let failed = 0;
  for (const c of checks) {
    try {
      await c.run();
      console.log(`  PASS  ${c.name}`);
    } catch (e) {
      failed++;
      const why = e instanceof CheckFailed ? e.message : `request failed: ${e instanceof Error ? e.message : String(e)}`;
      console.log(`  FAIL  ${c.name}: ${why}`);
    }
  }
  console.log(failed === 0 ? `all ${checks.length} checks passed` : `${failed} of ${checks.length} checks failed`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  },
);
