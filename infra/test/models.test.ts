/** Model lifecycle: end-of-life dates read from the installed SDKs' own files and the repo table, and the status each gives. */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import type { Routing } from "../../worker/src/contract";
import { LIFECYCLE_TABLE } from "../model-lifecycle";
import {
  buildCatalog,
  describeStatus,
  installedCatalog,
  isoDate,
  modelStatus,
  parseAnthropicDeprecations,
  parseOpenAiDeprecations,
  routedModels,
  unionMembers,
} from "../models";

const require = createRequire(__filename);
const catalog = installedCatalog();
const DAY = new Date("2026-12-01T12:00:00Z");
const sdkFile = (pkg: string, file: string) => readFileSync(path.join(path.dirname(require.resolve(pkg)), file), "utf8");

describe("the installed SDKs' tables", () => {
  test("every model in Anthropic's DEPRECATED_MODELS gets its end-of-life date, the way the SDK itself loads it", () => {
    const { DEPRECATED_MODELS } = require(
      path.join(path.dirname(require.resolve("@anthropic-ai/sdk")), "internal/data/deprecated-models.js"),
    ) as {
      DEPRECATED_MODELS: Record<string, string>;
    };
    expect(Object.keys(DEPRECATED_MODELS).length).toBeGreaterThan(0);
    for (const [model, words] of Object.entries(DEPRECATED_MODELS)) {
      expect(catalog.lookup("anthropic", model), model).toMatchObject({ endOfLife: isoDate(words) });
    }
    expect(modelStatus(catalog, "anthropic", "claude-sonnet-4-5", DAY)).toMatchObject({ state: "retired", since: "2026-11-30" });
  });

  test("OpenAI's announced shutdowns are read from shared.d.ts, wrapped lines included", () => {
    expect(modelStatus(catalog, "openai", "gpt-5-mini", DAY)).toMatchObject({ state: "retiring", on: "2026-12-11", inDays: 10 });
    expect(modelStatus(catalog, "openai", "gpt-4.1-mini", DAY)).toMatchObject({ state: "retiring", on: "2027-01-14", inDays: 44 });
    // The last name of a bullet whose names wrap onto a second line.
    expect(modelStatus(catalog, "openai", "gpt-4o-mini-2024-07-18", DAY)).toMatchObject({ state: "retiring", on: "2027-01-14" });
    expect(modelStatus(catalog, "openai", "gpt-5.1-mini", DAY)).toMatchObject({ state: "unsupported" });
  });

  test("a model the SDK lists with no shutdown note is live; one no source names is unknown", () => {
    expect(unionMembers(sdkFile("openai", "resources/shared.d.ts"), "ChatModel")).toContain("gpt-5.4-mini");
    expect(modelStatus(catalog, "openai", "gpt-5.4-mini", DAY)).toEqual({ state: "live", source: expect.stringMatching(/^openai \d/) });
    expect(modelStatus(catalog, "anthropic", "claude-haiku-4-5", DAY).state).toBe("live");
    expect(modelStatus(catalog, "openai", "gpt-9-ultra", DAY)).toEqual({ state: "unknown" });
  });

  test("Workers AI comes from the repo table, each entry with its source", () => {
    expect(modelStatus(catalog, "workers-ai", "@cf/meta/llama-3.1-8b-instruct", DAY)).toMatchObject({
      state: "retired",
      since: "2026-05-30",
      source: expect.stringContaining("developers.cloudflare.com/changelog/"),
    });
    expect(modelStatus(catalog, "workers-ai", "@cf/meta/llama-3.1-8b-instruct-fast", DAY).state).toBe("live");
    for (const e of LIFECYCLE_TABLE) expect(e.source, e.model).toMatch(/^https:\/\//);
  });
});

describe("an SDK upgrade brings its new dates in", () => {
  const anthropic = {
    deprecations: "exports.DEPRECATED_MODELS = {\n    'claude-a': 'March 3rd, 2027',\n};",
    models: "export type Model = 'claude-a' | 'claude-b' | (string & {});",
    source: "sdk-a",
  };
  const openai = (notes: string) => ({
    shared: `/**\n * Deprecated values:\n *\n${notes}\n */\nexport type ChatModel = 'gpt-x' | 'gpt-y';`,
    source: "sdk-o",
  });

  test("a new shutdown note makes a live model retiring, then retired, with no code change", () => {
    const before = buildCatalog({ anthropic, openai: openai(' * - "gpt-z": Announced shutdown date: 2026-01-01.'), table: [] });
    expect(modelStatus(before, "openai", "gpt-y", DAY).state).toBe("live");
    const after = buildCatalog({
      anthropic,
      openai: openai(
        ' * - "gpt-x",\n *   "gpt-y": Announced shutdown date:\n *   2026-12-20. See\n *   https://developers.openai.com/api/docs/deprecations for details.',
      ),
      table: [],
    });
    expect(modelStatus(after, "openai", "gpt-y", DAY)).toMatchObject({ state: "retiring", on: "2026-12-20", inDays: 19 });
    expect(modelStatus(after, "openai", "gpt-x", new Date("2026-12-20T00:00:00Z"))).toMatchObject({
      state: "retired",
      since: "2026-12-20",
    });
    expect(modelStatus(after, "anthropic", "claude-a", DAY)).toMatchObject({ state: "retiring", on: "2027-03-03" });
    expect(modelStatus(after, "anthropic", "claude-b", DAY).state).toBe("live");
  });

  test("the repo table wins over an SDK, so a late announcement can be recorded", () => {
    const c = buildCatalog({
      anthropic,
      openai: openai(""),
      table: [{ provider: "anthropic", model: "claude-b", endOfLife: "2026-12-05", source: "https://example.org/notice" }],
    });
    expect(modelStatus(c, "anthropic", "claude-b", DAY)).toMatchObject({
      state: "retiring",
      inDays: 4,
      source: "https://example.org/notice",
    });
  });

  test("a date the parser cannot read fails loudly instead of passing as live", () => {
    expect(() => parseAnthropicDeprecations("exports.DEPRECATED_MODELS = { 'm': 'sometime soon' };")).toThrow(
      /cannot read the end-of-life date "sometime soon" of m/,
    );
    expect(() => parseAnthropicDeprecations("nothing here")).toThrow(/no DEPRECATED_MODELS/);
    expect(parseOpenAiDeprecations("/** ordinary comment */").size).toBe(0);
  });
});

test("routedModels lists every allowed model, fallback and A/B target once, with its status in words", () => {
  // Not a value parseRouting accepts (the A/B target is in no allow-list), so that the targets are seen to be listed too.
  const routing: Routing = {
    models: { anthropic: ["claude-haiku-4-5"], openai: ["gpt-5-mini"], "workers-ai": ["@cf/meta/llama-3.1-8b-instruct"] },
    chat: {
      fallback: [{ provider: "openai", model: "gpt-5-mini" }],
      experiments: [{ name: "b", weight: 1, target: { provider: "openai", model: "gpt-5.4" } }],
      maxTokens: 1024,
    },
    cacheTtl: { messages: 0, chatCompletions: 0, chat: 0 },
    limits: { maxRequestBytes: 1024 },
    timeouts: { attemptMs: 1000, totalMs: 1000 },
    cors: { allowOrigins: [] },
  };
  const got = routedModels(routing, catalog, DAY);
  expect(got.map((m) => [`${m.provider}/${m.model}`, describeStatus(m.status)])).toEqual([
    ["anthropic/claude-haiku-4-5", "live"],
    ["openai/gpt-5-mini", "retiring on 2026-12-11 (in 10 days)"],
    ["workers-ai/@cf/meta/llama-3.1-8b-instruct", "retired since 2026-05-30"],
    ["openai/gpt-5.4", "live"],
  ]);
});
