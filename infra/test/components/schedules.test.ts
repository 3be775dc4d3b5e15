/**
 * Merging the stack's crons with the alerts cron (one spelling per schedule, each schedule once), and the trigger a
 * stack with nothing to schedule still declares.
 */
import { beforeAll, describe, expect, test } from "vitest";
import { parseAlertsBinding } from "../../../worker/src/contract/alerts";
import { mergeCrons } from "../../components/schedules";
import { type ProgramResult, runProgram } from "../../testing/harness";

describe("mergeCrons", () => {
  test("declares one schedule written two ways (extra or tab spacing) once, spelt with single spaces", () => {
    expect(mergeCrons(["*/5 * * * *", "0 3 * * *"], ["  */5  *\t* * * "])).toEqual(["*/5 * * * *", "0 3 * * *"]);
  });

  test("keeps distinct schedules in first-seen order", () => {
    expect(mergeCrons(["0 3 * * *"], ["*/15 * * * *", "0 3  * * *"], [])).toEqual(["0 3 * * *", "*/15 * * * *"]);
  });

  test("spells the alerts cron in the ALERTS binding the way the trigger declares it, so the handler recognises it", () => {
    const binding = parseAlertsBinding({
      cron: " */15   * * * * ",
      rules: { errorRate: { percent: 5, windowMinutes: 15 } },
      destinations: { webhooks: [{ name: "ops", url: "https://hooks.example.com/x" }] },
    });
    expect(mergeCrons(["*/15 * * * *"], [binding.cron])).toEqual([binding.cron]);
    expect(binding.cron).toBe("*/15 * * * *");
  });
});

describe("a stack that declares no crons and no alerts", () => {
  // dev's yaml with its crons and its alerts (and their secret) taken out: nothing left to schedule.
  let result: ProgramResult;
  beforeAll(async () => {
    result = await runProgram("dev", { config: { crons: [], alerts: undefined, alertsWebhookSecret: undefined } });
  });

  test("keeps the cron trigger with an empty schedule list, since deleting the resource would not stop the old schedules", () => {
    const triggers = result.resources.filter((r) => r.type === "cloudflare:index/workersCronTrigger:WorkersCronTrigger");
    expect(triggers).toHaveLength(1);
    expect(triggers[0]!.inputs).toEqual({ accountId: expect.any(String), scriptName: result.outputs.workerName, schedules: [] });
    expect(result.resources.some((r) => r.type === "ai-gateway-stack:infra:Alerts")).toBe(false);
  });
});
