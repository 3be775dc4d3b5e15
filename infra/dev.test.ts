/** The dev stack as declared from Pulumi.dev.yaml (shared checks), plus what makes dev dev. */
import { expect, test } from "vitest";
import { stackSuite, stackYaml } from "./testing/stack-suite";

stackSuite("dev");

test("dev is configured unprotected, on workers.dev, with a minted gateway token", () => {
  const y = stackYaml("dev");
  expect(y.value("protect")).toBe(false);
  expect(y.value("routes").workersDev).toBe(true);
  expect(y.value("gatewayTokenSource")).toBe("mint");
});

test("dev alerts mint their analytics token and notify a webhook only: no PagerDuty, no native policies", () => {
  const alerts = stackYaml("dev").value("alerts")!;
  expect(alerts.analyticsToken).toBe("mint");
  expect(alerts.destinations.webhooks.length).toBeGreaterThan(0);
  expect(alerts.destinations.pagerduty).toBe(false);
  expect(stackYaml("dev").raw("alerts")!.native).toBeUndefined();
});
