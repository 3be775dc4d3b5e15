import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("GET /healthz", () => {
  it("answers 200 without auth", async () => {
    const res = await exports.default.fetch("http://worker.test/healthz");
    expect(res.status).toBe(200);
  });

  it("answers HEAD too, for load balancer probes", async () => {
    const res = await exports.default.fetch("http://worker.test/healthz", { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
  });
});
