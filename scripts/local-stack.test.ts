// The parsing npm start relies on: .dev.vars files and the development key named in a comment (wrangler's JSONC:
// infra/wrangler-config.test.ts).
import { describe, expect, it } from "vitest";
import { findDevClientKey, parseDevVars, sha256Hex } from "./local-stack";

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
