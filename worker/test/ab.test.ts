// A/B bucketing: deterministic and sticky per client, weights honoured, and the attempt order built from it.
import { describe, expect, it } from "vitest";
import { attemptOrder, chooseVariant } from "../src/ab";
import type { Experiment } from "../src/contract/routing";
import { sha256Unit } from "../src/crypto";

const exp = (name: string, weight: number, provider: Experiment["target"]["provider"] = "anthropic", model = name): Experiment => ({
  name,
  weight,
  target: { provider, model },
});

async function shares(experiments: Experiment[], clients: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < clients; i++) {
    const v = await chooseVariant(`client-${i}`, experiments, sha256Unit);
    counts[v!.name] = (counts[v!.name] ?? 0) + 1;
  }
  for (const k of Object.keys(counts)) counts[k] = counts[k]! / clients;
  return counts;
}

describe("chooseVariant", () => {
  it("splits 10,000 synthetic clients 90/10 within one percentage point", async () => {
    const s = await shares([exp("control", 90), exp("gpt", 10)], 10_000);
    expect(s.control).toBeGreaterThan(0.89);
    expect(s.control).toBeLessThan(0.91);
    expect(s.gpt).toBeGreaterThan(0.09);
    expect(s.gpt).toBeLessThan(0.11);
  });

  it("honours three-way weights 50/30/20 and never picks a zero-weight variant", async () => {
    const s = await shares([exp("a", 5), exp("off", 0), exp("b", 3), exp("c", 2)], 10_000);
    expect(s.off).toBeUndefined();
    expect(Math.abs(s.a! - 0.5)).toBeLessThan(0.015);
    expect(Math.abs(s.b! - 0.3)).toBeLessThan(0.015);
    expect(Math.abs(s.c! - 0.2)).toBeLessThan(0.015);
  });

  it("gives a client the same variant every time (sticky, no state)", async () => {
    const experiments = [exp("a", 1), exp("b", 1), exp("c", 1)];
    for (let i = 0; i < 50; i++) {
      const first = await chooseVariant(`sticky-${i}`, experiments, sha256Unit);
      const again = await chooseVariant(`sticky-${i}`, experiments, sha256Unit);
      expect(again).toBe(first);
    }
  });

  it("maps the hash to consecutive slices in declaration order (injected hash)", async () => {
    const experiments = [exp("control", 90), exp("gpt", 10)];
    const at = (u: number) => chooseVariant("anyone", experiments, async () => u);
    expect((await at(0))!.name).toBe("control");
    expect((await at(0.8999))!.name).toBe("control");
    expect((await at(0.9))!.name).toBe("gpt");
    expect((await at(0.99999))!.name).toBe("gpt");
  });

  it("salts the hash with the variant names, so a new experiment reshuffles clients", async () => {
    const seen: string[] = [];
    await chooseVariant("c1", [exp("a", 1), exp("b", 1)], async (s) => (seen.push(s), 0.5));
    await chooseVariant("c1", [exp("x", 1), exp("y", 1)], async (s) => (seen.push(s), 0.5));
    expect(seen).toEqual(["a,b\nc1", "x,y\nc1"]);
  });

  it("answers undefined (variant 'default') when there is no experiment", async () => {
    expect(await chooseVariant("c1", [], sha256Unit)).toBeUndefined();
  });
});

describe("attemptOrder", () => {
  const chain = [
    { provider: "anthropic", model: "claude-haiku-4-5" },
    { provider: "openai", model: "gpt-4.1-mini" },
    { provider: "workers-ai", model: "@cf/meta/llama-3.1-8b-instruct" },
  ] as const;

  it("puts the variant's target first and does not repeat it", () => {
    expect(attemptOrder({ provider: "openai", model: "gpt-4.1-mini" }, [...chain]).map((t) => t.provider)).toEqual([
      "openai",
      "anthropic",
      "workers-ai",
    ]);
  });

  it("keeps a same-provider target with another model as a separate step", () => {
    expect(attemptOrder({ provider: "openai", model: "gpt-5-mini" }, [...chain]).map((t) => t.model)).toEqual([
      "gpt-5-mini",
      "claude-haiku-4-5",
      "gpt-4.1-mini",
      "@cf/meta/llama-3.1-8b-instruct",
    ]);
  });

  it("is the declared chain without a variant", () => {
    expect(attemptOrder(undefined, [...chain])).toEqual(chain);
  });
});
