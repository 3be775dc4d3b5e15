/**
 * The committed stacks and the local Worker config route only to models that still answer, measured against today:
 * none past its end of life (the policy's models-not-retired), none retiring within the policy's warning window
 * (models-not-retiring-soon), none that no lifecycle source knows. A retirement announced in an SDK upgrade, or a
 * date that arrives, turns this red before the deployed Worker starts failing.
 */
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { DEFAULT_SETTINGS } from "../../policy/rules";
import { parseRouting, type Routing } from "../../worker/src/contract";
import { describeStatus, installedCatalog, isDead, isRetiringWithin, routedModels } from "../models";
import { findProjectRoot } from "../testing/harness";
import { stackYaml } from "../testing/stack-suite";
import { readJsonc } from "../wrangler-config";

const ROOT = findProjectRoot(__dirname);
const TODAY = new Date();
const WARN_DAYS = DEFAULT_SETTINGS.modelRetirementWarningDays;
const catalog = installedCatalog(ROOT);

const sources: [string, () => Routing][] = [
  ...["dev", "prod"].map((stack): [string, () => Routing] => [`Pulumi.${stack}.yaml`, () => stackYaml(stack).value("routing")]),
  [
    "worker/wrangler.jsonc (local dev)",
    () => parseRouting((readJsonc(path.join(ROOT, "worker", "wrangler.jsonc")).vars as { ROUTING: unknown }).ROUTING),
  ],
];

describe.each(sources)("%s routes only to live models", (_file, routing) => {
  const models = () => routedModels(routing(), catalog, TODAY);
  const show = (list: ReturnType<typeof models>) => list.map((m) => `${m.provider}/${m.model}: ${describeStatus(m.status)}`);

  test("none is past its end of life", () => {
    expect(models().length).toBeGreaterThan(0);
    expect(show(models().filter((m) => isDead(m.status)))).toEqual([]);
  });

  test(`none retires within ${WARN_DAYS} days`, () => {
    expect(show(models().filter((m) => isRetiringWithin(m.status, WARN_DAYS)))).toEqual([]);
  });

  test("every one is known to an installed SDK or infra/model-lifecycle.ts", () => {
    expect(show(models().filter((m) => m.status.state === "unknown"))).toEqual([]);
  });
});
