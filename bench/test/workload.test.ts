// The replayed workload: its variations must change the bytes but never the question, and be reproducible.
import { describe, expect, it } from "vitest";
import {
  baseRequest,
  exactKey,
  expectedHits,
  formatJson,
  generateReplay,
  idealKey,
  seededRandom,
  shuffleKeys,
  uniqueBody,
  VARIATIONS,
  WHITESPACE_STYLES,
} from "../lib/workload";

const stripPerCall = (v: Record<string, unknown>) => {
  const { metadata: _m, user: _u, ...rest } = v;
  return rest;
};

describe("seededRandom", () => {
  it("repeats its sequence for the same seed and differs for another", () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const seqA = [a(), a(), a()];
    expect([b(), b(), b()]).toEqual(seqA);
    expect([c(), c(), c()]).not.toEqual(seqA);
    for (const x of seqA) expect(x >= 0 && x < 1).toBe(true);
  });
});

describe("variations", () => {
  it("shuffles object keys at every depth but keeps array order and values", () => {
    const v = { a: 1, b: { c: 2, d: 3, e: [{ x: 1, y: 2 }, 5] }, f: "g", h: null };
    const rand = seededRandom(1);
    const orders = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const s = shuffleKeys(v, rand);
      expect(s).toEqual(v);
      orders.add(JSON.stringify(s));
    }
    expect(orders.size).toBeGreaterThan(1);
  });

  it("writes the same JSON value in four different byte forms", () => {
    const v = baseRequest("messages", 3);
    const forms = WHITESPACE_STYLES.map((s) => formatJson(v, s));
    expect(new Set(forms).size).toBe(WHITESPACE_STYLES.length);
    for (const f of forms) expect(JSON.parse(f)).toEqual(v);
  });

  it("adds spaces only outside strings, even around escaped quotes, commas and colons", () => {
    const v = { "k:1": 'a, "b": c', n: [1, 2] };
    const spaced = formatJson(v, "spaced");
    expect(spaced).toBe('{"k:1": "a, \\"b\\": c", "n": [1, 2]}');
    expect(JSON.parse(spaced)).toEqual(v);
  });

  it("gives every miss-path body a question no other body asks", () => {
    const bodies = Array.from({ length: 500 }, (_, i) => uniqueBody("messages", i));
    expect(new Set(bodies).size).toBe(500);
    expect(uniqueBody("messages", 1)).not.toBe(JSON.stringify(baseRequest("messages", 1)));
    expect(JSON.parse(uniqueBody("chatCompletions", 2, { stream: true }))).toMatchObject({ stream: true, model: "gpt-5.4-mini" });
  });
});

describe("generateReplay", () => {
  const calls = generateReplay({ seed: 7, calls: 400, bases: 20 });

  it("is reproducible from its seed", () => {
    expect(generateReplay({ seed: 7, calls: 400, bases: 20 })).toEqual(calls);
    expect(generateReplay({ seed: 8, calls: 400, bases: 20 })).not.toEqual(calls);
  });

  it("varies only what does not change the answer: each body is its base question plus at most a per-call user", () => {
    expect(calls).toHaveLength(400);
    for (const c of calls) {
      const parsed = JSON.parse(c.body) as Record<string, unknown>;
      expect(stripPerCall(parsed)).toEqual(baseRequest(c.surface, c.base));
      if (c.variation === "perCallField" || c.variation === "combined") {
        if (c.surface === "messages") expect(parsed.metadata).toEqual({ user_id: expect.stringMatching(/^user-\d+$/) as string });
        else expect(parsed.user).toMatch(/^user-\d+$/);
      }
      if (c.variation === "identical") expect(c.body).toBe(JSON.stringify(baseRequest(c.surface, c.base)));
    }
  });

  it("uses every kind of variation, both surfaces, and asks popular questions more often", () => {
    expect(new Set(calls.map((c) => c.variation))).toEqual(new Set(VARIATIONS));
    expect(new Set(calls.map((c) => c.surface))).toEqual(new Set(["messages", "chatCompletions"]));
    const count = (b: number) => calls.filter((c) => c.base === b).length;
    expect(count(0)).toBeGreaterThan(count(19));
  });

  it("predicts fewer exact-match hits than ideal ones, and equal ones for byte-identical repeats", () => {
    const exact = expectedHits(calls, exactKey);
    const ideal = expectedHits(calls, idealKey);
    expect(exact.calls).toBe(400);
    expect(exact.hits).toBeLessThan(ideal.hits);
    const identicalOnly = calls.filter((c) => c.variation === "identical");
    expect(expectedHits(identicalOnly, exactKey)).toEqual(expectedHits(identicalOnly, idealKey));
  });
});

describe("expectedHits", () => {
  it("counts a call as a hit when an earlier call, counted or not, used its key", () => {
    const xs = ["a", "b", "a", "c", "b", "a"];
    expect(expectedHits(xs, (x) => x)).toEqual({ calls: 6, hits: 3 });
    // Only "b" calls are counted, but the first "a" still fills the cache for later "a" calls.
    expect(
      expectedHits(
        xs,
        (x) => x,
        (x) => x === "b",
      ),
    ).toEqual({ calls: 2, hits: 1 });
    expect(
      expectedHits(
        xs,
        () => "same",
        (x) => x === "a",
      ),
    ).toEqual({ calls: 3, hits: 2 });
    expect(
      expectedHits(
        xs,
        () => "same",
        (x) => x === "c",
      ),
    ).toEqual({ calls: 1, hits: 1 });
  });
});
