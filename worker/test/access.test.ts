// Who may call and how: client auth, the per-client rate limit, CORS, security headers, and operator config errors.
import { describe, expect, it } from "vitest";
import { TEST_CLIENT_DIGESTS, TEST_SECRETS } from "./fixtures";
import { anthropicAnswer, BATCH_KEY, denyAll, harness, json, post, WEB_KEY } from "./support";

const chat = { messages: [{ role: "user", content: "Hi" }] };
const surfaces = [
  {
    path: "/v1/messages",
    body: { model: "claude-haiku-4-5", max_tokens: 8, messages: chat.messages },
    shape: (b: any) => b.type === "error" && typeof b.error.type === "string",
  },
  {
    path: "/v1/chat/completions",
    body: { model: "gpt-4.1-mini", messages: chat.messages },
    shape: (b: any) => typeof b.error.message === "string" && "code" in b.error,
  },
  { path: "/api/chat", body: chat, shape: (b: any) => Object.keys(b).join() === "error" && Object.keys(b.error).join() === "type,message" },
];

describe("client auth", () => {
  it.each(surfaces)(
    "answers 401 in $path's error shape without a key, with a wrong key, or with a key's digest",
    async ({ path, body, shape }) => {
      const h = harness();
      const attempts: Record<string, string>[] = [
        { "x-api-key": "" },
        { "x-api-key": "wrong" },
        { "x-api-key": TEST_CLIENT_DIGESTS.web },
        { "x-api-key": "", authorization: "Basic abc" },
      ];
      for (const headers of attempts) {
        const res = await h.fetch(path, post(body, headers));
        expect(res.status).toBe(401);
        expect(shape(await res.json())).toBe(true);
      }
    },
  );

  it("refuses with 401 a key whose digest is in CLIENT_KEYS when its client is not listed in CLIENTS, and warns once", async () => {
    // A CLIENTS value of its own, so this isolate's cached key list is rebuilt (and the warning given) in this test.
    const h = harness({ env: { CLIENTS: ["web"] } });
    h.gateway.on("anthropic", () => json(anthropicAnswer("a")));
    for (const [path, body, shape] of surfaces.map((x) => [x.path, x.body, x.shape] as const)) {
      const res = await h.fetch(path, post(body, { "x-api-key": BATCH_KEY }));
      expect(res.status, path).toBe(401);
      const text = await res.text();
      expect(shape(JSON.parse(text)), path).toBe(true);
      expect(text).toContain("Invalid API key.");
    }
    expect((await h.fetch("/api/chat", post(chat, { "x-api-key": WEB_KEY }))).status).toBe(200);
    const warnings = h.logs.filter((l) => l.warning === "config");
    expect(warnings).toEqual([
      { level: "warn", warning: "config", detail: expect.stringContaining("not listed in CLIENTS, refused until listed: batch") },
    ]);
    const logged = JSON.stringify(h.logs);
    for (const secret of [BATCH_KEY, TEST_CLIENT_DIGESTS.batch, TEST_CLIENT_DIGESTS.web]) expect(logged).not.toContain(secret);
    expect(h.logs.filter((l) => l.status === 401).map((l) => l.client)).toEqual([null, null, null]);
  });

  it("accepts the key in x-api-key or as Authorization: Bearer, and knows which client it is", async () => {
    const h = harness();
    h.gateway.on(
      "anthropic",
      () => json(anthropicAnswer("a")),
      () => json(anthropicAnswer("b")),
    );
    expect((await h.fetch("/api/chat", post(chat, { "x-api-key": WEB_KEY }))).status).toBe(200);
    expect((await h.fetch("/api/chat", post(chat, { "x-api-key": "", authorization: `Bearer ${BATCH_KEY}` }))).status).toBe(200);
    expect(h.logs.map((l) => l.client)).toEqual(["web", "batch"]);
    expect(h.gateway.calls.map((c) => JSON.parse(c.headers.get("cf-aig-metadata")!).client)).toEqual(["web", "batch"]);
  });
});

describe("rate limit", () => {
  it.each(surfaces)(
    "answers 429 with Retry-After in $path's error shape when the client is over its limit",
    async ({ path, body, shape }) => {
      const keys: string[] = [];
      const h = harness({ env: { RATE_LIMITER: { limit: async ({ key }) => (keys.push(key), { success: false }) } } });
      const res = await h.fetch(path, post(body));
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("60");
      expect(shape(await res.json())).toBe(true);
      expect(keys).toEqual(["web"]);
    },
  );

  it("answers Retry-After 10 when the limiter's declared period (RATE_LIMIT_PERIOD) is 10 seconds", async () => {
    const h = harness({ env: { RATE_LIMITER: denyAll, RATE_LIMIT_PERIOD: "10" } });
    const res = await h.fetch("/api/chat", post(chat));
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("10");
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("retry after 10 seconds");
  });

  it("checks auth before spending the client's rate limit", async () => {
    const h = harness({ env: { RATE_LIMITER: denyAll } });
    expect((await h.fetch("/api/chat", post(chat, { "x-api-key": "wrong" }))).status).toBe(401);
  });
});

describe("CORS", () => {
  const preflight = (origin: string) => ({
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type, x-api-key" },
  });

  it("answers a preflight from an allowed origin without auth", async () => {
    const h = harness();
    const res = await h.fetch("/api/chat", preflight("https://app.example.com"));
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    const allowed = res.headers.get("access-control-allow-headers")!.split(",");
    for (const hdr of ["x-api-key", "authorization", "anthropic-version", "anthropic-beta", "content-type", "cache-control"])
      expect(allowed).toContain(hdr);
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
  });

  it("does not allow an origin that is not in ROUTING.cors.allowOrigins", async () => {
    const h = harness();
    const res = await h.fetch("/api/chat", preflight("https://evil.example.com"));
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const real = await h.fetch("/api/chat", post(chat, { origin: "https://evil.example.com", "x-api-key": "wrong" }));
    expect(real.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("lets an allowed browser read x-request-id, x-ai-* and x-cache", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => json(anthropicAnswer("a")));
    const res = await h.fetch("/api/chat", post(chat, { origin: "https://app.example.com" }));
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    const exposed = res.headers.get("access-control-expose-headers")!.split(",");
    for (const hdr of ["x-request-id", "x-ai-provider", "x-ai-model", "x-ai-variant", "x-cache"]) expect(exposed).toContain(hdr);
  });
});

describe("security headers", () => {
  it("are on every response: success, client error, not found and health", async () => {
    const h = harness();
    h.gateway.on("anthropic", () => json(anthropicAnswer("a")));
    const responses = [
      await h.fetch("/api/chat", post(chat)),
      await h.fetch("/api/chat", post(chat, { "x-api-key": "wrong" })),
      await h.fetch("/nope"),
      await h.fetch("/healthz"),
    ];
    for (const res of responses) {
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("strict-transport-security")).toContain("max-age=");
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("x-request-id")).toMatch(/^req-\d+$/);
    }
  });
});

describe("operator mistakes", () => {
  const cases: [string, Partial<Env>, RegExp][] = [
    ["CLIENT_KEYS that is not JSON", { CLIENT_KEYS: `{"web": ${TEST_SECRETS.OPENAI_API_KEY}` }, /CLIENT_KEYS is not valid JSON/],
    [
      "CLIENT_KEYS holding a key instead of a digest",
      { CLIENT_KEYS: JSON.stringify({ web: WEB_KEY }) },
      /CLIENT_KEYS\["web"\] must be a SHA-256 hex digest/,
    ],
    ["ROUTING with a bad field", { ROUTING: { models: {} } as object }, /ROUTING\.models\.anthropic|ROUTING\.chat/],
    ["a missing gateway token", { AI_GATEWAY_TOKEN: "" }, /AI_GATEWAY_TOKEN is not set/],
    ["a missing CLIENTS allow-list", { CLIENTS: undefined }, /CLIENTS is not set/],
    ["an empty CLIENTS allow-list", { CLIENTS: [] }, /CLIENTS must list at least one client id/],
    ["CLIENTS naming an id that is not an id", { CLIENTS: ["web", "no spaces"] }, /CLIENTS\[1\] must be a client id/],
    ["a rate-limit period that is not whole seconds", { RATE_LIMIT_PERIOD: "1m" }, /RATE_LIMIT_PERIOD must be RATE_LIMITER's period/],
  ];

  it.each(cases)("answers 500 config_error for %s, with the detail in the log only", async (_name, env, logged) => {
    const h = harness({ env });
    const res = await h.fetch("/api/chat", post(chat));
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({
      error: { type: "config_error", message: "The service is misconfigured; the operator has been told." },
    });
    expect(text).not.toContain(WEB_KEY);
    expect(h.logs[0]!.error).toBe("config_error");
    expect(String(h.logs[0]!.errorDetail)).toMatch(logged);
    expect(JSON.stringify(h.logs)).not.toContain(TEST_SECRETS.OPENAI_API_KEY);
  });

  it("keeps /healthz answering even when ROUTING is broken (it needs no config)", async () => {
    const h = harness({ env: { ROUTING: {} as object } });
    expect((await h.fetch("/healthz")).status).toBe(200);
  });
});
