/** Merging the stack's crons with the alerts cron: one spelling per schedule, each schedule once. */
import { describe, expect, test } from "vitest";
import { parseAlertsBinding } from "../../../worker/src/contract/alerts";
import { mergeCrons } from "../../components/schedules";

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
