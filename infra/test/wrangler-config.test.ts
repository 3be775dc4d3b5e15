/** Reading the build settings infra shares with wrangler out of a wrangler config (JSONC). */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { BUDGET_LEDGER_CLASS, BUDGET_LEDGER_MIGRATION_TAG } from "../budget-ledger";
import { findProjectRoot } from "../testing/harness";
import { parseJsonc, readJsonc, readWorkerBuild, WRANGLER_CONFIG } from "../wrangler-config";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function project(config: string): string {
  const root = mkdtempSync(path.join(tmpdir(), "wrangler-config-"));
  dirs.push(root);
  mkdirSync(path.join(root, "worker"));
  writeFileSync(path.join(root, "worker", "wrangler.jsonc"), config);
  return root;
}

describe("parseJsonc", () => {
  test("drops comments and trailing commas but leaves // and /* inside strings alone", () => {
    const text = `// head\n{\n  "url": "http://x/y", /* block */\n  "glob": "a/*b",\n  "list": [1, 2,],\n}\n`;
    expect(parseJsonc(text)).toEqual({ url: "http://x/y", glob: "a/*b", list: [1, 2] });
  });

  test("keeps a comma before a bracket when it is inside a string", () => {
    expect(parseJsonc(`{ "s": "a, }", "t": ["b,]",], }`)).toEqual({ s: "a, }", t: ["b,]"] });
  });

  test("refuses broken JSON, saying where", () => {
    expect(() => parseJsonc(`{\n  "a": 1\n  "b": 2\n}`)).toThrow("CommaExpected at line 3, column 3");
    expect(() => parseJsonc(`{ "a": }`)).toThrow(/ValueExpected at line 1/);
  });
});

describe("readWorkerBuild", () => {
  const config = `{
    // entry and aliases are relative to this file's folder, as wrangler reads them
    "main": "src/index.ts",
    "compatibility_date": "2026-11-01",
    "compatibility_flags": ["nodejs_compat"],
    "alias": { "heavy-sdk": "./src/stand-ins/heavy-sdk.ts", "left-pad": "tiny-pad", },
  }`;

  test("gives the entry and relative aliases from the project root, package aliases as written", () => {
    expect(readWorkerBuild(project(config))).toEqual({
      entry: "worker/src/index.ts",
      alias: { "heavy-sdk": "./worker/src/stand-ins/heavy-sdk.ts", "left-pad": "tiny-pad" },
      compatibilityDate: "2026-11-01",
      compatibilityFlags: ["nodejs_compat"],
    });
  });

  test("gives the same settings wherever the checkout lives (no absolute paths)", () => {
    expect(readWorkerBuild(project(config))).toEqual(readWorkerBuild(project(config)));
  });

  test("names the file and the field when main or an alias is unusable", () => {
    expect(() => readWorkerBuild(project(`{ "compatibility_date": "2026-11-01" }`))).toThrow(
      /wrangler\.jsonc: "main" must name the entry module/,
    );
    expect(() => readWorkerBuild(project(`{ "main": "a.ts", }}`))).toThrow(/worker\/wrangler\.jsonc: .* at line 1/);
    expect(() => readWorkerBuild(project(`{ "main": "a.ts", "compatibility_date": "2026-11-01", "alias": { "x": 1 } }`))).toThrow(
      /alias "x" must map to a module path/,
    );
  });

  test("gives no aliases when the config declares none", () => {
    expect(readWorkerBuild(project(`{ "main": "src/index.ts", "compatibility_date": "2026-11-01" }`)).alias).toEqual({});
  });

  test("reads the repository's wrangler.jsonc: entry worker/src/index.ts", () => {
    expect(readWorkerBuild(process.cwd()).entry).toBe("worker/src/index.ts");
  });
});

test("the local config tells the Worker its RATE_LIMITER period (RATE_LIMIT_PERIOD), so local Retry-After is right", () => {
  const cfg = parseJsonc(readFileSync(path.join(process.cwd(), "worker", "wrangler.jsonc"), "utf8")) as {
    vars: Record<string, unknown>;
    ratelimits: { name: string; simple: { period: number } }[];
  };
  const limiter = cfg.ratelimits.find((r) => r.name === "RATE_LIMITER");
  expect(limiter).toBeDefined();
  expect(cfg.vars.RATE_LIMIT_PERIOD).toBe(String(limiter!.simple.period));
});

describe("the budget ledger", () => {
  test("local runs (wrangler.jsonc) bind and migrate the same class, with the same tag, that infra deploys", () => {
    const cfg = readJsonc(path.join(findProjectRoot(), WRANGLER_CONFIG)) as {
      durable_objects?: { bindings?: { name: string; class_name: string }[] };
      migrations?: { tag: string; new_sqlite_classes?: string[] }[];
    };
    expect(cfg.durable_objects?.bindings).toContainEqual({ name: "BUDGET_LEDGER", class_name: BUDGET_LEDGER_CLASS });
    expect(cfg.migrations).toContainEqual({ tag: BUDGET_LEDGER_MIGRATION_TAG, new_sqlite_classes: [BUDGET_LEDGER_CLASS] });
  });
});
