/** The prod stack as declared from Pulumi.prod.yaml (shared checks), plus what makes prod prod. */
import { expect, test } from "vitest";
import { stackSuite, stackYaml } from "./testing/stack-suite";

stackSuite("prod");

test("prod is configured protected, off workers.dev, stricter and longer-lived than dev", () => {
  const prod = stackYaml("prod");
  const dev = stackYaml("dev");
  expect(prod.value("protect")).toBe(true);
  expect(prod.value("routes").workersDev).toBe(false);
  expect(prod.value("gateway").rateLimit.limit).toBeLessThan(dev.value("gateway").rateLimit.limit);
  expect(prod.value("worker").rateLimit.limit).toBeLessThan(dev.value("worker").rateLimit.limit);
  expect(prod.value("gateway").cacheTtl).toBeGreaterThan(dev.value("gateway").cacheTtl);
  expect(prod.value("gateway").logs.maxStored).toBeGreaterThan(dev.value("gateway").logs.maxStored);
});
