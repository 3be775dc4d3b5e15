/** Public URLs, SDK base URLs, the DNS records zone routes need, and resource names derived from route settings. */
import { describe, expect, test } from "vitest";
import { publicUrls, routeDnsRecords, routeUrl, sdkBaseUrl, slug } from "./routes";

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
          zoneRoutes: [{ pattern: "api.example.com/v1/*", zone: "example.com", dnsRecord: "create" }],
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

describe("sdkBaseUrl", () => {
  test.each([
    ["https://api.example.com/v1", "https://api.example.com", "https://api.example.com/v1"],
    ["https://ai.example.com", "https://ai.example.com", "https://ai.example.com/v1"],
    ["https://example.com/ai", "https://example.com/ai", "https://example.com/ai/v1"],
    ["https://gw-dev.acme.workers.dev/", "https://gw-dev.acme.workers.dev", "https://gw-dev.acme.workers.dev/v1"],
  ])("%s -> Anthropic %s, OpenAI %s", (url, anthropic, openai) => {
    expect(sdkBaseUrl(url)).toEqual({ url, anthropic, openai });
  });

  test("gives SDK paths the route serves: the Anthropic SDK's /v1/messages lands once under /v1, not at /v1/v1/messages", () => {
    const { anthropic, openai } = sdkBaseUrl(routeUrl("api.example.com/v1/*"));
    expect(`${anthropic}/v1/messages`).toBe("https://api.example.com/v1/messages");
    expect(`${openai}/chat/completions`).toBe("https://api.example.com/v1/chat/completions");
  });
});

describe("routeDnsRecords", () => {
  test("declares one record per zone route hostname that asks for one, listing its patterns", () => {
    expect(
      routeDnsRecords({
        customDomains: [],
        zoneRoutes: [
          { pattern: "api.example.com/v1/*", zone: "example.com", dnsRecord: "create" },
          { pattern: "api.example.com/healthz", zone: "example.com", dnsRecord: "create" },
          { pattern: "edge.example.org/*", zone: "example.org", dnsRecord: "create" },
        ],
      }),
    ).toEqual([
      { hostname: "api.example.com", zone: "example.com", patterns: ["api.example.com/v1/*", "api.example.com/healthz"] },
      { hostname: "edge.example.org", zone: "example.org", patterns: ["edge.example.org/*"] },
    ]);
  });

  test("declares none where the record exists already or a custom domain makes its own", () => {
    expect(
      routeDnsRecords({
        customDomains: [{ hostname: "ai.example.com", zone: "example.com" }],
        zoneRoutes: [
          { pattern: "api.example.com/v1/*", zone: "example.com", dnsRecord: "exists" },
          { pattern: "ai.example.com/v1/*", zone: "example.com", dnsRecord: "create" },
        ],
      }),
    ).toEqual([]);
  });
});
