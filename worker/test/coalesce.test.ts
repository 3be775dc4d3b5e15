// Identical cacheable requests in flight share one upstream call (x-cache: COALESCED), JSON and streams alike.
import { describe, expect, it } from "vitest";
import { anthropicAnswer, anthropicFrames, BATCH_KEY, harness, json, post, type Recorded } from "./support";

const ask = { model: "claude-haiku-4-5", max_tokens: 64, messages: [{ role: "user", content: "Same question" }] };

/** A gateway answer held back until the test releases it. */
function held(answer: () => Response) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let arrived!: () => void;
  const called = new Promise<void>((r) => (arrived = r));
  const handler = async (_req: Recorded) => {
    arrived();
    await gate;
    return answer();
  };
  return { handler, release, called };
}

describe("collapsing identical requests in flight", () => {
  it("makes one upstream call for a burst of identical JSON requests; the others answer COALESCED with the same body", async () => {
    const h = harness();
    const upstream = JSON.stringify(anthropicAnswer("shared"));
    const answer = held(() => new Response(upstream, { headers: { "content-type": "application/json", "cf-aig-cache-status": "MISS" } }));
    h.gateway.on("anthropic", answer.handler);
    const burst = Array.from({ length: 10 }, () => h.fetch("/v1/messages", post(ask)));
    await answer.called;
    answer.release();
    const responses = await Promise.all(burst);
    expect(h.gateway.calls).toHaveLength(1);
    const caches = responses.map((r) => r.headers.get("x-cache"));
    expect(caches.filter((c) => c === "MISS")).toHaveLength(1);
    expect(caches.filter((c) => c === "COALESCED")).toHaveLength(9);
    for (const r of responses) {
      expect(r.status).toBe(200);
      expect(await r.text()).toBe(upstream);
    }
    const logged = h.logs.map((l) => l.cache).sort();
    expect(logged).toEqual([
      "COALESCED",
      "COALESCED",
      "COALESCED",
      "COALESCED",
      "COALESCED",
      "COALESCED",
      "COALESCED",
      "COALESCED",
      "COALESCED",
      "MISS",
    ]);
  });

  it("gives a request that joins a stream late the whole stream from its first event", async () => {
    const h = harness();
    const frames = anthropicFrames(["one ", "two ", "three"]);
    let more!: () => void;
    const rest = new Promise<void>((r) => (more = r));
    let i = 0;
    // Four events, then a pause the test ends once the late request has joined.
    h.gateway.on(
      "anthropic",
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            async pull(c) {
              if (i === 4) await rest;
              if (i < frames.length) c.enqueue(new TextEncoder().encode(frames[i++]!));
              else c.close();
            },
          }),
          { headers: { "content-type": "text/event-stream" } },
        ),
    );
    const first = await h.fetch("/v1/messages", post({ ...ask, stream: true }));
    const reader = first.body!.getReader();
    const head = await reader.read();
    expect(new TextDecoder().decode(head.value)).toContain("message_start");
    // The first request has seen events already; the second arrives now and must still get all of them.
    const late = h.fetch("/v1/messages", post({ ...ask, stream: true }));
    const lateRes = await late;
    more();
    let firstText = new TextDecoder().decode(head.value);
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      firstText += new TextDecoder().decode(r.value);
    }
    expect(firstText).toBe(frames.join(""));
    expect(lateRes.headers.get("x-cache")).toBe("COALESCED");
    expect(await lateRes.text()).toBe(frames.join(""));
    expect(h.gateway.calls).toHaveLength(1);
    await h.settled();
  });

  it("never shares between clients, nor for a request that skips the cache", async () => {
    const h = harness();
    const gates = [held(() => json(anthropicAnswer("a"))), held(() => json(anthropicAnswer("b"))), held(() => json(anthropicAnswer("c")))];
    for (const g of gates) h.gateway.on("anthropic", g.handler);
    const web = h.fetch("/v1/messages", post(ask));
    await gates[0]!.called;
    const batch = h.fetch("/v1/messages", post(ask, { "x-api-key": BATCH_KEY }));
    await gates[1]!.called;
    const noCache = h.fetch("/v1/messages", post(ask, { "cache-control": "no-cache" }));
    await gates[2]!.called;
    for (const g of gates) g.release();
    const caches = await Promise.all([web, batch, noCache].map(async (p) => (await p).headers.get("x-cache")));
    expect(caches).toEqual(["MISS", "MISS", "BYPASS"]);
    expect(h.gateway.calls).toHaveLength(3);
  });

  it("starts a new call once the first has finished (the gateway cache answers repeats from then on)", async () => {
    const h = harness();
    h.gateway.on(
      "anthropic",
      () => json(anthropicAnswer("1")),
      () => json(anthropicAnswer("2"), 200, { "cf-aig-cache-status": "HIT" }),
    );
    expect((await h.fetch("/v1/messages", post(ask))).headers.get("x-cache")).toBe("MISS");
    expect((await h.fetch("/v1/messages", post(ask))).headers.get("x-cache")).toBe("HIT");
    expect(h.gateway.calls).toHaveLength(2);
  });
});
