/**
 * `npm run plan` (every stack) or `npm run plan -- <stack>...`: writes plans/<stack>.md and plans/<stack>.json from
 * the real program under the SDK mocks. `npm run plan:check` (or `--check`) writes nothing and fails when a
 * committed plan differs from a fresh one.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { findProjectRoot } from "../infra/testing/harness";
import { generatePlans, listStacks, PLANS_DIR, stalePlans } from "./plan/generate";
import { policyCounts } from "./plan/render";

async function main(argv: string[]): Promise<number> {
  const check = argv.includes("--check");
  const root = findProjectRoot();
  const all = listStacks(root);
  const asked = argv.filter((a) => !a.startsWith("--"));
  const unknown = asked.filter((s) => !all.includes(s));
  if (unknown.length > 0) {
    process.stderr.write(`no such stack: ${unknown.join(", ")} (stacks: ${all.join(", ")}; each is a Pulumi.<stack>.yaml)\n`);
    return 2;
  }
  const stacks = asked.length > 0 ? asked : all;
  const rendered = await generatePlans(root, stacks, { now: new Date() });

  if (check) {
    const problems = stalePlans(root, rendered, all);
    for (const p of problems) process.stderr.write(`${p}\n`);
    if (problems.length === 0) process.stdout.write(`plans are current: ${stacks.map((s) => `${PLANS_DIR}/${s}.{md,json}`).join(", ")}\n`);
    return problems.length === 0 ? 0 : 1;
  }

  mkdirSync(path.join(root, PLANS_DIR), { recursive: true });
  for (const r of rendered) {
    for (const [file, content] of Object.entries(r.files)) writeFileSync(path.join(root, PLANS_DIR, file), content);
    const { failed, warned } = policyCounts(r.plan.policy);
    const verdict = [
      failed.length === 0 ? "all mandatory rules pass" : `FAILS ${failed.join(", ")}`,
      ...(warned.length > 0 ? [`warns ${warned.join(", ")}`] : []),
    ];
    process.stdout.write(
      `${PLANS_DIR}/${r.stack}.md, ${PLANS_DIR}/${r.stack}.json: ${r.plan.resources.length} resources, policy ${verdict.join("; ")}\n`,
    );
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
