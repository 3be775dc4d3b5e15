// Nothing secret leaves the Worker: no key, account id or gateway address in any response header, body or log line,
// even when upstream errors and exceptions quote them.
import { describe, expect, it } from "vitest";
import { TEST_ACCOUNT_ID, TEST_GATEWAY_BASE, TEST_GATEWAY_ID, TEST_SECRETS } from "./fixtures";
import { anthropicAnswer, anthropicFrames, BATCH_KEY, hang, harness, json, openaiFrames, post, routing, sse, WEB_KEY } from "./support";

const gatewayUrl = `${TEST_GATEWAY_BASE}/${TEST_ACCOUNT_ID}/${TEST_GATEWAY_ID}`;
const leaky = `key ${TEST_SECRETS.ANTHROPIC_API_KEY} / ${TEST_SECRETS.OPENAI_API_KEY} / token ${TEST_SECRETS.AI_GATEWAY_TOKEN} at ${gatewayUrl}/anthropic (account ${TEST_ACCOUNT_ID}, host ${new URL(TEST_GATEWAY_BASE).host})`;
const forbidden = [...Object.values(TEST_SECRETS), TEST_ACCOUNT_ID, new URL(TEST_GATEWAY_BASE).host, WEB_KEY, BATCH_KEY];

async function dump(res: Response): Promise<string> {
  return `${res.status}\n${[...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}\n\n${await res.text()}`;
}

describe("secrets stay inside", () => {
  it("never appear in responses or logs, across successes, streams, upstream errors, exceptions and timeouts", async () => {
    const h = harness({ routing: routing((r) => (r.timeouts = { attemptMs: 120, totalMs: 1000 })) });
    const msgs = { model: "claude-haiku-4-5", max_tokens: 8, messages: [{ role: "user", content: "Hi" }] };
    const oai = { model: "gpt-4.1-mini", messages: [{ role: "user", content: "Hi" }] };
    const chat = { messages: [{ role: "user", content: "Hi" }] };
    h.gateway
      .on(
        "anthropic",
        () => json(anthropicAnswer("fine")),
        () => sse(anthropicFrames(["a", "b"])),
        () => json({ type: "error", error: { type: "invalid_request_error", message: leaky } }, 400),
        () => json({ type: "error", error: { type: "api_error", message: leaky } }, 500),
        () => Promise.reject(new TypeError(`fetch failed: ${leaky}`)),
        () => new Response(leaky, { status: 200, headers: { "content-type": "application/json" } }),
        () => json({ type: "error", error: { type: "authentication_error", message: leaky } }, 401),
        hang,
        () => json({ type: "error", error: { type: "rate_limit_error", message: leaky } }, 429),
      )
      .on(
        "openai",
        () => json({ error: { message: leaky, type: "invalid_request_error" } }, 404),
        () => sse(openaiFrames(["x"], { end: false }), "error"),
        () => Promise.reject(new Error(leaky)),
        () => json({ error: { message: leaky, type: "permission_error" } }, 403),
      )
      .on("workers-ai", () => json({ errors: [{ message: leaky }], success: false }, 500));

    const outputs: string[] = [];
    outputs.push(await dump(await h.fetch("/v1/messages", post(msgs))));
    outputs.push(await dump(await h.fetch("/v1/messages", post({ ...msgs, stream: true }))));
    for (let i = 0; i < 5; i++) outputs.push(await dump(await h.fetch("/v1/messages", post(msgs))));
    outputs.push(await dump(await h.fetch("/v1/chat/completions", post(oai))));
    outputs.push(await dump(await h.fetch("/v1/chat/completions", post({ ...oai, stream: true }))));
    // /api/chat: anthropic hangs, openai throws, workers-ai 500 → 502; a wrong key; then anthropic 429, openai 403 → 502.
    outputs.push(await dump(await h.fetch("/api/chat", post(chat))));
    outputs.push(await dump(await h.fetch("/api/chat", post(chat, { "x-api-key": `${WEB_KEY}x` }))));
    outputs.push(await dump(await h.fetch("/api/chat", post(chat, { "x-api-key": "", authorization: `Bearer ${BATCH_KEY}` }))));
    await h.settled();

    const everything = outputs.join("\n----\n") + "\n" + JSON.stringify(h.logs);
    for (const secret of forbidden) expect(everything, `leaked ${secret}`).not.toContain(secret);
    // The scan saw real failures, not only successes.
    expect(outputs.filter((o) => /^(4|5)\d\d/.test(o)).length).toBeGreaterThanOrEqual(8);
    expect(h.logs.at(-1)).toMatchObject({ client: "batch", tried: ["anthropic:429", "openai:403"], status: 502 });
  });
});
