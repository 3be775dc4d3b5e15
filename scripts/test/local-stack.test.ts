// The local plumbing npm start, the e2e tests and the bench rely on: .dev.vars files, the development key named in a
// comment, relocated wrangler config copies that never touch the original (wrangler's JSONC:
// infra/test/wrangler-config.test.ts).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readJsonc } from "../../infra/wrangler-config";
import { copyWranglerConfig, envFileText, findDevClientKey, parseDevVars, sha256Hex } from "../local-stack";

const dir = mkdtempSync(join(tmpdir(), "local-stack-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("parseDevVars", () => {
  it("reads KEY=value lines with quotes kept verbatim inside, and collects comments apart", () => {
    const { vars, comments } = parseDevVars(`# a comment\nA=1\nB='{"x":"y"}'\nexport C="two words"\nD=plain # trailing\n\n`);
    expect(vars).toEqual({ A: "1", B: '{"x":"y"}', C: "two words", D: "plain" });
    expect(comments).toEqual(["a comment"]);
  });
});

describe("findDevClientKey", () => {
  const key = "dev-key-0123456789";
  const vars = { CLIENT_KEYS: JSON.stringify({ other: sha256Hex("nope-nope-nope"), dev: sha256Hex(key) }) };

  it("finds the comment word whose SHA-256 is a CLIENT_KEYS digest, even with trailing punctuation", () => {
    expect(findDevClientKey(vars, ["Development client key (plain text): " + key + "."])).toEqual({ clientId: "dev", key });
  });

  it("finds nothing when no comment word matches a digest, or CLIENT_KEYS is not JSON", () => {
    expect(findDevClientKey(vars, ["no key in here at all"])).toBeNull();
    expect(findDevClientKey({ CLIENT_KEYS: "{oops" }, [key])).toBeNull();
  });
});

describe("wrangler config copies and env files", () => {
  const source = join(dir, "wrangler.jsonc");
  writeFileSync(
    source,
    `// a comment
{
  "$schema": "x.json",
  "name": "orig",
  "main": "src/index.ts", // trailing comment
  "alias": { "heavy-sdk": "./src/stand-ins/heavy-sdk.ts", "node-fetch": "undici" },
  "compatibility_date": "2026-11-01",
  "vars": { "AI_GATEWAY_BASE_URL": "http://127.0.0.1:8788/v1", "STACK": "local" },
  "ratelimits": [{ "name": "RATE_LIMITER", "namespace_id": "1001", "simple": { "limit": 600, "period": 60 } }],
}
`,
  );

  it("copies a Worker's config with an absolute entry and aliases, the stand-in as gateway and an unreachable rate limit", () => {
    const out = join(dir, "bench.json");
    copyWranglerConfig(source, out, { name: "bench", vars: { AI_GATEWAY_BASE_URL: "http://127.0.0.1:1/v1" }, rateLimit: { limit: 1e9 } });
    const written = JSON.parse(readFileSync(out, "utf8")) as Record<string, unknown>;
    expect(written.main).toBe(join(dir, "src/index.ts"));
    expect(written.alias).toEqual({ "heavy-sdk": join(dir, "src/stand-ins/heavy-sdk.ts"), "node-fetch": "undici" });
    expect(written.name).toBe("bench");
    expect(written.$schema).toBeUndefined();
    expect(written.vars).toEqual({ AI_GATEWAY_BASE_URL: "http://127.0.0.1:1/v1", STACK: "local" });
    expect(written.ratelimits).toEqual([{ name: "RATE_LIMITER", namespace_id: "1001", simple: { limit: 1e9, period: 60 } }]);
    expect(readJsonc(source).name).toBe("orig");
  });

  it("writes secrets as single-quoted dotenv lines and refuses values that would break the file", () => {
    expect(envFileText({ A: "x", CLIENT_KEYS: '{"c":"ab"}' })).toBe("A='x'\nCLIENT_KEYS='{\"c\":\"ab\"}'\n");
    expect(() => envFileText({ A: "it's" })).toThrow(/A/);
  });

  it("replaces the rate-limit period too when one is given", () => {
    const out = join(dir, "period.json");
    copyWranglerConfig(source, out, { name: "e2e", rateLimit: { limit: 3, period: 10 } });
    const written = JSON.parse(readFileSync(out, "utf8")) as Record<string, unknown>;
    expect(written.ratelimits).toEqual([{ name: "RATE_LIMITER", namespace_id: "1001", simple: { limit: 3, period: 10 } }]);
  });
});
