/**
 * Plan generation for every stack: finds the stacks (one Pulumi.<stack>.yaml each), runs each in its own child
 * process in parallel, renders the plans, and compares them with the committed files under plans/.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { PolicySettings } from "../../policy/rules";
import { buildPlan, type Plan, renderJson, renderMarkdown } from "./render";
import type { Snapshot } from "./snapshot";

export const SNAPSHOT_MARKER = "plan-snapshot:";
export const PLANS_DIR = "plans";

/** Stack names from Pulumi.<stack>.yaml files in `root`, sorted. */
export function listStacks(root: string): string[] {
  return readdirSync(root)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/** Runs one stack's program in a child process and returns its redacted snapshot. */
export function collectSnapshot(root: string, stack: string, overrides?: Record<string, unknown>): Promise<Snapshot> {
  const child = path.join(root, "scripts", "plan", "child.ts");
  const args = ["--import", "tsx", child, stack, ...(overrides ? [JSON.stringify(overrides)] : [])];
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("error", reject);
    p.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith(SNAPSHOT_MARKER));
      if (code !== 0 || !line) {
        reject(new Error(err.trim() || `plan for stack ${stack} exited with ${code} and no snapshot`));
        return;
      }
      resolve(JSON.parse(line.slice(SNAPSHOT_MARKER.length)) as Snapshot);
    });
  });
}

export interface RenderedPlan {
  stack: string;
  plan: Plan;
  /** File name under plans/ -> content. */
  files: Record<string, string>;
}

export interface GenerateOptions {
  /** The date the compatibility-date rule measures against. */
  now: Date;
  settings?: PolicySettings;
  /** Config overrides per stack (tests use them to show the plan follows the config). */
  overrides?: Record<string, Record<string, unknown>>;
}

export async function generatePlans(root: string, stacks: string[], opts: GenerateOptions): Promise<RenderedPlan[]> {
  const snapshots = await Promise.all(stacks.map((s) => collectSnapshot(root, s, opts.overrides?.[s])));
  return snapshots.map((snapshot) => {
    const plan = buildPlan(snapshot, opts.now, opts.settings);
    return {
      stack: snapshot.stack,
      plan,
      files: { [`${snapshot.stack}.md`]: renderMarkdown(plan), [`${snapshot.stack}.json`]: renderJson(plan) },
    };
  });
}

/** Problems with the committed plans: stale or missing files, and plans for stacks that no longer exist. */
export function stalePlans(root: string, rendered: RenderedPlan[], allStacks: string[]): string[] {
  const dir = path.join(root, PLANS_DIR);
  const problems: string[] = [];
  for (const r of rendered) {
    for (const [file, content] of Object.entries(r.files)) {
      const at = path.join(dir, file);
      if (!existsSync(at)) problems.push(`${PLANS_DIR}/${file} is missing: run npm run plan`);
      else if (readFileSync(at, "utf8") !== content) problems.push(`${PLANS_DIR}/${file} is stale: run npm run plan`);
    }
  }
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).sort()) {
      const stack = /^(.+)\.(md|json)$/.exec(f)?.[1];
      if (stack && !allStacks.includes(stack)) problems.push(`${PLANS_DIR}/${f} has no Pulumi.${stack}.yaml: delete it`);
    }
  }
  return problems;
}
