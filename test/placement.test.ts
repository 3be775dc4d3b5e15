/**
 * Every test file sits where the placement rule puts it (docs/architecture.md, "Where tests live"): in the test/
 * folder of the part it tests, or in the root test/ for whole-system tests; vitest.config.mts runs exactly those
 * folders, so a test written anywhere else would never run.
 */
import { execFileSync } from "node:child_process";
import { expect, test } from "vitest";

const PLACES = [/^worker\/test\//, /^infra\/test\//, /^scripts\/test\//, /^policy\/test\//, /^bench\/test\//, /^test\//];

test("every *.test.ts file is in a part's test/ folder or in the root test/", () => {
  const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "*.test.ts"], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
  expect(files.length).toBeGreaterThan(20);
  expect(files.filter((f) => !PLACES.some((p) => p.test(f)))).toEqual([]);
});
