// Client mistakes: each answered with a clear 4xx in the surface's error shape, and nothing sent upstream.
import { describe, expect, it } from "vitest";
import { harness, post, WEB_KEY } from "./support";

type Shape = "anthropic" | "openai" | "simple";
const shapeOf: Record<string, Shape> = { "/v1/messages": "anthropic", "/v1/chat/completions": "openai", "/api/chat": "simple" };

function messageOf(shape: Shape, body: any): string {
  if (shape === "anthropic") {
    expect(body.type).toBe("error");
    return body.error.message;
  }
  if (shape === "openai") {
    expect(body.error).toHaveProperty("type");
    expect(body.error).toHaveProperty("code");
    return body.error.message;
  }
  expect(Object.keys(body.error)).toEqual(["type", "message"]);
  return body.error.message;
}

const msg = [{ role: "user", content: "Hi" }];
// ROUTING.limits.maxRequestBytes is 4096 in the test routing.
const big = "x".repeat(5000);

const cases: [string, string, string | object, number, RegExp][] = [
  ["malformed JSON", "/v1/messages", '{"model": "claude-haiku-4-5",', 400, /not valid JSON/],
  ["malformed JSON", "/v1/chat/completions", "{oops", 400, /not valid JSON/],
  ["malformed JSON", "/api/chat", "nope", 400, /not valid JSON/],
  ["an empty body", "/api/chat", "", 400, /empty/],
  ["a JSON array", "/v1/messages", "[1,2]", 400, /must be a JSON object/],
  ["a missing model", "/v1/messages", { max_tokens: 8, messages: msg }, 400, /`model` is required/],
  ["a missing max_tokens", "/v1/messages", { model: "claude-haiku-4-5", messages: msg }, 400, /`max_tokens` is required/],
  ["a missing messages", "/v1/messages", { model: "claude-haiku-4-5", max_tokens: 8 }, 400, /`messages` is required/],
  [
    "max_tokens of the wrong type",
    "/v1/messages",
    { model: "claude-haiku-4-5", max_tokens: "8", messages: msg },
    400,
    /`max_tokens` must be a whole number/,
  ],
  [
    "stream of the wrong type",
    "/v1/messages",
    { model: "claude-haiku-4-5", max_tokens: 8, messages: msg, stream: "yes" },
    400,
    /`stream` must be true or false/,
  ],
  [
    "a model not in ROUTING",
    "/v1/messages",
    { model: "claude-opus-9", max_tokens: 8, messages: msg },
    400,
    /"claude-opus-9" is not available/,
  ],
  [
    "another provider's model",
    "/v1/chat/completions",
    { model: "claude-haiku-4-5", messages: msg },
    400,
    /not available here\. Available: gpt-4\.1-mini, gpt-5-mini/,
  ],
  ["a model of the wrong type", "/v1/chat/completions", { model: 4, messages: msg }, 400, /`model` must be a non-empty string/],
  ["messages that is not an array", "/v1/chat/completions", { model: "gpt-4.1-mini", messages: "Hi" }, 400, /`messages` must be an array/],
  ["an empty messages list", "/api/chat", { messages: [] }, 400, /must not be empty/],
  ["a bad role", "/api/chat", { messages: [{ role: "robot", content: "Hi" }] }, 400, /messages\[0\]\.role/],
  ["content that is not a string", "/api/chat", { messages: [{ role: "user", content: 5 }] }, 400, /messages\[0\]\.content/],
  ["only system messages", "/api/chat", { messages: [{ role: "system", content: "x" }] }, 400, /at least one user or assistant/],
  ["an unknown field", "/api/chat", { messages: msg, model: "gpt-4.1-mini" }, 400, /Unknown field `model`/],
  ["a bad feature", "/api/chat", { messages: msg, feature: "" }, 400, /`feature` must be/],
  [
    "a body over the size limit",
    "/v1/messages",
    { model: "claude-haiku-4-5", max_tokens: 8, messages: [{ role: "user", content: big }] },
    413,
    /larger than the limit of 4096 bytes/,
  ],
  ["a body over the size limit", "/api/chat", { messages: [{ role: "user", content: big }] }, 413, /larger than the limit/],
];

describe("bad input", () => {
  it.each(cases)("rejects %s on %s with %i", async (_what, path, body, status, message) => {
    const h = harness();
    const res = await h.fetch(path, post(body));
    expect(res.status).toBe(status);
    expect(messageOf(shapeOf[path]!, await res.json())).toMatch(message);
    expect(h.gateway.calls).toHaveLength(0);
  });

  it("rejects an oversized body from its Content-Length before reading it", async () => {
    const h = harness();
    const res = await h.fetch("/api/chat", { method: "POST", headers: { "x-api-key": WEB_KEY, "content-length": "999999" }, body: "{}" });
    expect(res.status).toBe(413);
  });

  it("counts the bytes actually received when Content-Length is absent (chunked upload)", async () => {
    const h = harness();
    const chunk = new TextEncoder().encode(`{"messages":[{"role":"user","content":"${"y".repeat(3000)}`);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(chunk);
        c.enqueue(chunk);
        c.close();
      },
    });
    const res = await h.fetch("/api/chat", { method: "POST", headers: { "x-api-key": WEB_KEY }, body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
  });

  it.each([
    ["/v1/messages", "anthropic"],
    ["/v1/chat/completions", "openai"],
    ["/api/chat", "simple"],
  ] as const)("answers 405 with Allow for GET %s", async (path, shape) => {
    const h = harness();
    const res = await h.fetch(path, { headers: { "x-api-key": WEB_KEY } });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST, OPTIONS");
    expect(messageOf(shape, await res.json())).toMatch(/GET is not allowed/);
  });

  it("answers 405 for POST /healthz and 404 in the matching shape for unknown routes", async () => {
    const h = harness();
    expect((await h.fetch("/healthz", { method: "POST" })).status).toBe(405);
    const unknownV1 = await h.fetch("/v1/models", { headers: { "x-api-key": WEB_KEY } });
    expect(unknownV1.status).toBe(404);
    expect(messageOf("openai", await unknownV1.json())).toMatch(/No route for GET \/v1\/models/);
    const unknown = await h.fetch("/admin", { method: "POST" });
    expect(unknown.status).toBe(404);
    expect(messageOf("simple", await unknown.json())).toMatch(/No route/);
  });
});
