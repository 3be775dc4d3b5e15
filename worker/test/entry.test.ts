// The real entry point (worker/src/index.ts) with the bindings from vitest.config.mts: real fetch, clock, ids, log.
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TEST_CLIENTS, TEST_GATEWAY_BASE, TEST_SECRETS } from "./fixtures";
import { anthropicAnswer, FakeGateway, json } from "./support";

afterEach(() => vi.restoreAllMocks());

const chat = (key: string) => ({
  method: "POST",
  headers: { "content-type": "application/json", "x-api-key": key },
  body: JSON.stringify({ messages: [{ role: "user", content: "Hi" }] }),
});

describe("the deployed entry point", () => {
  it("answers GET /healthz 200 without auth and without any upstream call", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    const res = await exports.default.fetch("http://worker.test/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it("serves /api/chat through the configured gateway with the bound secrets, and logs one JSON line", async () => {
    const gateway = new FakeGateway().on("anthropic", () => json(anthropicAnswer("hello from the entry point")));
    vi.spyOn(globalThis, "fetch").mockImplementation(gateway.fetch);
    const lines: unknown[] = [];
    vi.spyOn(console, "log").mockImplementation((record: unknown) => void lines.push(record));

    const res = await exports.default.fetch("http://worker.test/api/chat", chat(TEST_CLIENTS.web));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ text: "hello from the entry point", provider: "anthropic", variant: expect.any(String) });
    gateway.verify();
    expect(gateway.calls[0]!.headers.get("cf-aig-authorization")).toBe(`Bearer ${TEST_SECRETS.AI_GATEWAY_TOKEN}`);
    const requestId = res.headers.get("x-request-id")!;
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);

    await vi.waitFor(() => expect(lines).toHaveLength(1));
    // One JSON line, which Workers Logs indexes field by field.
    const log = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(Object.keys(log)).toEqual(
      expect.arrayContaining([
        "requestId",
        "client",
        "surface",
        "provider",
        "model",
        "variant",
        "attempts",
        "status",
        "cache",
        "usage",
        "durationMs",
      ]),
    );
    expect(log).toMatchObject({
      requestId,
      client: "web",
      surface: "chat",
      provider: "anthropic",
      attempts: 1,
      status: 200,
      cache: "MISS",
      usage: { input: 11, output: 7 },
    });
  });

  it("answers 502 without naming the gateway when the gateway is unreachable", async () => {
    // No fetch spy: the call reaches the test outbound service, which refuses everything (599).
    const res = await exports.default.fetch("http://worker.test/api/chat", chat(TEST_CLIENTS.web));
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { type: "upstream_error", message: "No model provider could answer." } });
    expect(text).not.toContain(new URL(TEST_GATEWAY_BASE).host);
  });
});
