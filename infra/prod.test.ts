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

test("prod alerts are stricter than dev's, run more often, page on-call and add the native policies", () => {
  const prod = stackYaml("prod").value("alerts")!;
  const dev = stackYaml("dev").value("alerts")!;
  expect(prod.rules.errorRate!.percent).toBeLessThan(dev.rules.errorRate!.percent);
  expect(prod.rules.usageSpike!.factor).toBeLessThan(dev.rules.usageSpike!.factor);
  expect(prod.analyticsToken).toBe("config");
  expect(prod.destinations.pagerduty).toBe(true);
  expect(prod.destinations.emails.length).toBeGreaterThan(0);
  expect(Object.keys(prod.native).sort()).toEqual(["billingUsage", "incidents"]);
  const everyMinutes = (cron: string) => Number(/^\*\/(\d+) /.exec(cron)?.[1]);
  expect(everyMinutes(prod.cron)).toBeLessThan(everyMinutes(dev.cron));
});
