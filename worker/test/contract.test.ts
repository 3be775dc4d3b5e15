/**
 * The contract's schemas as the Worker reads its json bindings: each problem named by its path, the value's defaults
 * filled in, and the gateway's cache TTL range. (Infra runs the same schemas; infra/test/config.test.ts checks its messages.)
 */
import { describe, expect, it } from "vitest";
import { parseAlertsBinding } from "../src/contract/alerts";
import { parseClients } from "../src/contract/clients";
import { parseRouting } from "../src/contract/routing";
import { ContractError } from "../src/contract/schema";
import { TEST_ROUTING } from "./support";

function problem(parse: () => unknown): ContractError {
  try {
    parse();
  } catch (e) {
    expect(e).toBeInstanceOf(ContractError);
    return e as ContractError;
  }
  throw new Error("the value was accepted");
}

const routing = (change: (r: Record<string, any>) => void) => {
  const r = structuredClone(TEST_ROUTING) as Record<string, any>;
  change(r);
  return r;
};

describe("ROUTING", () => {
  it("fills in the defaults the schema declares: no experiments, 1024 max tokens, no CORS origins", () => {
    const r = parseRouting(
      routing((x) => {
        delete x.chat.experiments;
        delete x.chat.maxTokens;
        delete x.cors;
      }),
    );
    expect(r.chat.experiments).toEqual([]);
    expect(r.chat.maxTokens).toBe(1024);
    expect(r.cors).toEqual({ allowOrigins: [] });
  });

  it.each([0, 60, 3600, 2_592_000])("takes a cache TTL of %i", (ttl) => {
    expect(parseRouting(routing((x) => (x.cacheTtl.chat = ttl))).cacheTtl.chat).toBe(ttl);
  });

  it.each([1, 59, 2_592_001, 120.5, "300"])("refuses a cache TTL of %s: the gateway takes 0 or 60 s to one month", (ttl) => {
    const e = problem(() => parseRouting(routing((x) => (x.cacheTtl.messages = ttl))));
    expect(e.path).toBe("cacheTtl.messages");
    expect(e.at("ROUTING")).toBe("ROUTING.cacheTtl.messages must be 0 (no cache) or a whole number of seconds from 60 to 2592000");
    expect(e.received).toBe(JSON.stringify(ttl));
  });

  it("names an unlisted model by its place in the chain and says which list lacks it", () => {
    const e = problem(() => parseRouting(routing((x) => (x.chat.fallback[1] = { provider: "openai", model: "gpt-9" }))));
    expect(e.at("ROUTING")).toBe("ROUTING.chat.fallback[1].model is not listed in models.openai");
  });

  it("reports a misspelt key as unknown, not as the key it replaced", () => {
    const e = problem(() =>
      parseRouting(
        routing((x) => {
          x.timeouts.totalMS = x.timeouts.totalMs;
          delete x.timeouts.totalMs;
        }),
      ),
    );
    expect(e.path).toBe("timeouts.totalMS");
    expect(e.problem).toBe("is not a known field (expected one of: attemptMs, totalMs)");
    expect(e.received).toBeUndefined();
  });

  it("names a missing section with what it must be, and a value that is not an object at the root", () => {
    expect(problem(() => parseRouting(routing((x) => delete x.limits))).at("ROUTING")).toBe("ROUTING.limits must be an object");
    expect(problem(() => parseRouting([])).at("ROUTING")).toBe("ROUTING must be an object");
  });
});

describe("CLIENTS", () => {
  it("returns the ids in their order", () => {
    expect(parseClients(["web", "batch:1"])).toEqual(["web", "batch:1"]);
  });

  it.each([
    ["web", 'CLIENTS must be a list of client ids, e.g. ["web", "batch"]'],
    [[], "CLIENTS must list at least one client id (an empty list lets nobody call)"],
    [["web", "a b"], "CLIENTS[1] must be a client id of 1-64 letters, digits, '_', '.', ':' or '-'"],
    [["web", "batch", "web"], 'CLIENTS[2] lists client "web" twice'],
  ])("refuses %j", (input, message) => {
    expect(problem(() => parseClients(input)).at("CLIENTS")).toBe(message);
  });
});

describe("ALERTS", () => {
  const alerts = { rules: { errorRate: { percent: 5, windowMinutes: 15 } }, destinations: { pagerduty: true } };

  it("fills in cron, lag, failure runs, rule defaults and the public endpoints, and spells the cron one way", () => {
    expect(parseAlertsBinding(alerts)).toEqual({
      cron: "*/5 * * * *",
      lagMinutes: 7,
      failureRuns: 3,
      rules: { errorRate: { percent: 5, windowMinutes: 15, minRequests: 20 } },
      destinations: { webhooks: [], pagerduty: true },
      endpoints: { analytics: "https://api.cloudflare.com/client/v4/graphql", pagerduty: "https://events.pagerduty.com/v2/enqueue" },
    });
    expect(parseAlertsBinding({ ...alerts, cron: "  */15   * * * * " }).cron).toBe("*/15 * * * *");
  });

  it.each([
    [{ ...alerts, cron: "every 5 minutes" }, 'cron must be a five-field cron expression like "*/5 * * * *"'],
    [{ ...alerts, rules: {} }, "rules must declare at least one of costPerDay, errorRate, usageSpike"],
    [
      {
        ...alerts,
        destinations: {
          webhooks: [
            { name: "a", url: "https://h.example.com" },
            { name: "a", url: "https://i.example.com" },
          ],
        },
      },
      "destinations.webhooks names a webhook twice",
    ],
    [
      { ...alerts, destinations: { webhooks: [{ name: "a", url: "ftp://h.example.com" }] } },
      "destinations.webhooks[0].url must be an http(s) URL",
    ],
    [
      { ...alerts, rules: { usageSpike: { factor: 2, windowMinutes: 1440, baselineWindows: 40 } } },
      "rules.usageSpike.baselineWindows reaches back more than 31 days, past the analytics retention",
    ],
  ])("refuses %j", (input, message) => {
    expect(problem(() => parseAlertsBinding(input)).message).toBe(message);
  });
});
