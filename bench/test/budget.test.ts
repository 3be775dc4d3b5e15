// The metering check the budget subject must pass before it is measured: the remaining budget falls request by request.
import { describe, expect, it } from "vitest";
import { assertFalling } from "../lib/budget";

describe("assertFalling", () => {
  it("passes a strictly falling sequence", () => {
    expect(() => assertFalling("worker", [10, 9.5, 9.499999])).not.toThrow();
  });

  it("refuses a sequence that stays level or rises, naming the target and the amounts", () => {
    expect(() => assertFalling("worker", [10, 9, 9])).toThrow("worker: x-ai-budget-remaining did not fall across requests (10 → 9 → 9)");
    expect(() => assertFalling("worker", [10, 11])).toThrow(/not metering/);
  });

  it("refuses a sequence with an unreadable amount", () => {
    expect(() => assertFalling("worker", [10, Number.NaN])).toThrow(/did not fall/);
  });
});
