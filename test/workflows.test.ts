// The GitHub workflows parse as YAML and do what the review flow promises: PRs install with npm ci on Node 24, test,
// check plans and preview every stack with the policy pack and a PR comment; main deploys dev, then prod behind the
// "prod" environment. Credentials come only from secrets: no file holds a key-shaped value.
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { findKeyShapedValue } from "../policy/secrets";

const ROOT = path.resolve(__dirname, "..");
const DIR = path.join(ROOT, ".github", "workflows");

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  if?: string;
  environment?: string;
  steps: Step[];
  strategy?: { matrix: Record<string, unknown> };
}
interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<string, Job>;
}

const load = (file: string) => yaml.load(readFileSync(path.join(DIR, file), "utf8")) as Workflow;

const CREDENTIALS = ["CLOUDFLARE_API_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_ACCESS_TOKEN"];

function pulumiStep(job: Job): Step {
  const step = job.steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
  if (!step) throw new Error("job has no pulumi/actions step");
  return step;
}

function expectNodeAndInstall(job: Job): void {
  const setup = job.steps.find((s) => s.uses?.startsWith("actions/setup-node@"));
  expect(setup?.with?.["node-version"]).toBe(24);
  expect(job.steps.some((s) => s.run?.startsWith("npm ci"))).toBe(true);
}

function expectCredentialsFromSecrets(step: Step): void {
  for (const name of CREDENTIALS) expect(step.env?.[name]).toBe(`\${{ secrets.${name} }}`);
  expect(step.with?.["cloud-url"]).toBe("${{ secrets.PULUMI_BACKEND_URL }}");
}

describe("GitHub workflows", () => {
  it("parse as YAML, and no workflow file holds a key-shaped value", () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith(".yml"));
    expect(files.sort()).toEqual(["deploy.yml", "pr.yml"]);
    for (const f of files) {
      const doc = load(f);
      expect(Object.keys(doc.jobs).length).toBeGreaterThan(0);
      expect(findKeyShapedValue(JSON.stringify(doc)), f).toBeUndefined();
    }
  });

  it("test pull requests with npm ci on Node 24, npm test and the plan check", () => {
    const pr = load("pr.yml");
    expect(Object.keys(pr.on)).toEqual(["pull_request"]);
    const test = pr.jobs.test!;
    expectNodeAndInstall(test);
    const runs = test.steps.map((s) => s.run ?? "");
    expect(runs.indexOf("npm test")).toBeGreaterThan(runs.findIndex((r) => r.startsWith("npm ci")));
    expect(runs).toContain("npm run plan:check");
  });

  it("preview every stack (one per Pulumi.<stack>.yaml) with the policy pack and a PR comment, after the tests", () => {
    const pr = load("pr.yml");
    const preview = pr.jobs.preview!;
    expect(preview.needs).toBe("test");
    expect(preview.strategy?.matrix.stack).toBe("${{ fromJSON(needs.test.outputs.stacks) }}");
    // The stack list is computed from the files, so a new stack is previewed without touching the workflow.
    expect(pr.jobs.test!.steps.find((s) => s.run?.includes("Pulumi.*.yaml"))).toBeDefined();
    expectNodeAndInstall(preview);
    const step = pulumiStep(preview);
    expect(step.with).toMatchObject({
      command: "preview",
      "stack-name": "${{ matrix.stack }}",
      policyPacks: "policy",
      "comment-on-pr": true,
    });
    expectCredentialsFromSecrets(step);
  });

  it("deploy dev on push to main, then prod behind the prod environment, both with the policy pack", () => {
    const deploy = load("deploy.yml");
    expect(deploy.on).toHaveProperty("push", { branches: ["main"] });
    expect(deploy.jobs.dev!.needs).toBe("test");
    expect(deploy.jobs.prod!.needs).toBe("dev");
    expect(deploy.jobs.prod!.environment).toBe("prod");
    for (const [job, stack] of [
      ["dev", "dev"],
      ["prod", "prod"],
    ] as const) {
      const step = pulumiStep(deploy.jobs[job]!);
      expect(step.with).toMatchObject({ command: "up", "stack-name": stack, policyPacks: "policy" });
      expectCredentialsFromSecrets(step);
      expectNodeAndInstall(deploy.jobs[job]!);
    }
    expect(deploy.jobs.test!.steps.map((s) => s.run)).toEqual(expect.arrayContaining(["npm test", "npm run plan:check"]));
  });

  it("run the policy pack from a directory the Pulumi CLI can load", () => {
    const pack = yaml.load(readFileSync(path.join(ROOT, "policy", "PulumiPolicy.yaml"), "utf8")) as Record<string, unknown>;
    expect(pack.runtime).toBe("nodejs");
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "policy", "package.json"), "utf8")) as Record<string, unknown>;
    // PolicyPack reads its version from the pack's package.json; without "type": "module" the pack loads with require().
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pkg.type).toBeUndefined();
  });
});
