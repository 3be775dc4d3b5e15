/** Public URLs and resource names derived from route settings. */
import { describe, expect, test } from "vitest";
import { publicUrls, routeUrl, slug } from "../../components/routes";

describe("routeUrl", () => {
  test.each([
    ["api.example.com/v1/*", "https://api.example.com/v1"],
    ["api.example.com/*", "https://api.example.com"],
    ["*.example.com/ai/*", "https://example.com/ai"],
    ["example.com/", "https://example.com"],
  ])("%s -> %s", (pattern, url) => {
    expect(routeUrl(pattern)).toBe(url);
  });
});

describe("publicUrls", () => {
  test("lists custom domains, then zone routes, then workers.dev", () => {
    expect(
      publicUrls(
        {
          workersDev: true,
          workersDevSubdomain: "acme",
          customDomains: [{ hostname: "ai.example.com", zone: "example.com" }],
          zoneRoutes: [{ pattern: "api.example.com/v1/*", zone: "example.com" }],
        },
        "gw-dev",
      ),
    ).toEqual(["https://ai.example.com", "https://api.example.com/v1", "https://gw-dev.acme.workers.dev"]);
  });

  test("has no workers.dev URL when workers.dev is off", () => {
    expect(publicUrls({ workersDev: false, workersDevSubdomain: "acme", customDomains: [], zoneRoutes: [] }, "gw")).toEqual([]);
  });
});

test("slug turns hostnames and patterns into stable resource names", () => {
  expect(slug("api.example.com/v1/*")).toBe("api-example-com-v1");
  expect(slug("*.Example.com/*")).toBe("example-com");
});
