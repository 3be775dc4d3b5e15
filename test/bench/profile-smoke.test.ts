// `npm run profile` end to end at smoke size: the real bundle on a real workerd with its inspector, real load, a
// real CPU profile. Asserts that the profile covers the load and maps the Worker's own frames to worker/src, never
// how fast anything was.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseProfileArgs } from "../../bench/lib/args";
import type { CpuProfile } from "../../bench/lib/inspector";
import { groupMembers, spawnHistory } from "../../bench/lib/procs";
import { runProfile } from "../../bench/profile";

const out = mkdtempSync(join(tmpdir(), "profile-smoke-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("npm run profile at smoke size", () => {
  it("samples the Worker under load, maps its frames to their sources and leaves no process behind", async () => {
    const root = resolve(__dirname, "../..");
    const lines: string[] = [];
    const args = parseProfileArgs(["--seconds", "1", "--connections", "2", "--warmup-seconds", "0", "--interval-us", "200", "--out", out]);
    const run = await runProfile(root, args, (l) => lines.push(l));

    expect(run.summary.requests).toBeGreaterThan(0);
    expect(run.summary.samples).toBeGreaterThan(100);
    const modules = new Map(run.summary.byModule.map((r) => [r.label, r]));
    expect(modules.get("worker/src")?.totalUs).toBeGreaterThan(0);
    expect(modules.get("hono")?.totalUs).toBeGreaterThan(0);
    // Every API request runs through the pipeline, so its file is on the stack of the samples.
    expect(run.summary.byFile.some((r) => r.label === "worker/src/pipeline/index.ts")).toBe(true);
    expect(run.text).toContain("POST /v1/messages, cache misses, 2 connections");
    expect(run.text).toContain("frames mapped to sources by its source map");

    const profile = JSON.parse(readFileSync(run.profilePath, "utf8")) as CpuProfile;
    expect(profile.samples?.length).toBe(run.summary.samples);
    expect(readFileSync(run.reportPath, "utf8")).toBe(run.text);
    expect(lines.join("\n")).not.toContain("kept in");

    expect(spawnHistory().flatMap(groupMembers)).toEqual([]);
  }, 180_000);
});
