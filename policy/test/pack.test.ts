// The @pulumi/policy policies the pack serves (policy/pack.ts), driven the way the policy engine drives them:
// resource args with a URN, options and pack config; stack args with every resource. policy/index.ts only wraps
// these in a PolicyPack, which would start a gRPC server, so it is not imported here.
import type { ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import { policies } from "../pack";
import { RULES, type StackRule, TYPES } from "../rules";

const NOW = new Date("2026-11-29T00:00:00Z");
const urn = (stack: string, type: string, name: string) => `urn:pulumi:${stack}::ai-gateway-stack::${type}::${name}`;

function resourceArgs(stack: string, type: string, name: string, props: Record<string, unknown>, protect: boolean, config: object = {}) {
  return {
    type,
    name,
    urn: urn(stack, type, name),
    props,
    opts: {
      protect,
      ignoreChanges: [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: [],
    },
    stackTags: new Map(),
    getConfig: () => config,
    isType: () => false,
    asType: () => undefined,
    notApplicable: () => {
      throw new Error("not applicable");
    },
  } as unknown as ResourceValidationArgs;
}

function runResource(policyName: string, args: ResourceValidationArgs): string[] {
  const p = policies(() => NOW).find((x) => x.name === policyName) as ResourceValidationPolicy;
  const found: string[] = [];
  const v = p.validateResource;
  for (const fn of Array.isArray(v) ? v : [v!]) void fn(args, (m) => found.push(m));
  return found;
}

describe("policy pack", () => {
  it("serves one policy per rule at the rule's enforcement level, with config defaults for the settings it reads", () => {
    const list = policies(() => NOW);
    expect(list.map((p) => p.name)).toEqual(RULES.map((r) => r.name));
    expect(list.map((p) => p.enforcementLevel)).toEqual(RULES.map((r) => r.enforcement ?? "mandatory"));
    expect(list.filter((p) => p.enforcementLevel === "advisory").map((p) => p.name)).toEqual(["models-not-retiring-soon"]);
    expect(list.find((p) => p.name === "models-not-retiring-soon")!.configSchema?.properties.modelRetirementWarningDays).toMatchObject({
      default: 30,
    });
    const protect = list.find((p) => p.name === "production-resources-protected")!;
    expect(protect.configSchema?.properties.productionStacks).toMatchObject({ type: "array", default: ["prod"] });
  });

  it("applies production rules by the stack in the URN and the pack's productionStacks config", () => {
    const gateway = { authentication: true, collectLogs: false, rateLimitingLimit: 1, rateLimitingInterval: 60 };
    expect(runResource("production-logs-collected", resourceArgs("prod", TYPES.aiGateway, "gw", gateway, true))).toEqual([
      expect.stringContaining('must set collectLogs: true in production stack "prod"'),
    ]);
    expect(runResource("production-logs-collected", resourceArgs("dev", TYPES.aiGateway, "gw", gateway, true))).toEqual([]);
    const staging = resourceArgs("staging", TYPES.aiGateway, "gw", gateway, false, { productionStacks: ["staging"] });
    expect(runResource("production-logs-collected", staging)).toHaveLength(1);
    expect(runResource("production-resources-protected", staging)).toEqual([
      'AiGateway "gw" must be declared with protect: true in production stack "staging"',
    ]);
  });

  it("ignores resources of other types in resource policies", () => {
    expect(runResource("gateway-authenticated", resourceArgs("prod", TYPES.workersScript, "w", {}, true))).toEqual([]);
  });

  const stackArgs = (...names: string[]) =>
    ({
      resources: names.map((name) => ({
        ...resourceArgs("dev", TYPES.workersScript, name, { scriptName: "s", bindings: [] }, false),
        dependencies: [],
        propertyDependencies: {},
      })),
      stackTags: new Map(),
      getConfig: () => ({}),
      notApplicable: () => undefined,
    }) as unknown as StackValidationArgs;

  function runStack(p: StackValidationPolicy, args: StackValidationArgs): [string, string | undefined][] {
    const found: [string, string | undefined][] = [];
    void p.validateStack(args, (m, u) => found.push([m, u]));
    return found;
  }

  it("reports a stack-wide violation against the stack, with no URN", () => {
    const p = policies(() => NOW).find((x) => x.name === "alerts-cost-error-usage") as StackValidationPolicy;
    const found = runStack(p, stackArgs("worker"));
    expect(found.map(([m]) => m)).toEqual([
      expect.stringContaining("no cost alert"),
      expect.stringContaining("no error-rate alert"),
      expect.stringContaining("no usage-spike alert"),
    ]);
    expect(found.every(([, u]) => u === undefined)).toBe(true);
  });

  it("reports a stack violation that names a resource against that resource's URN", () => {
    // No shipped rule names a resource with a binding that parses (an alert without a destination cannot be
    // declared), so a rule of the test's own drives the pack's mapping.
    const rule: StackRule = {
      scope: "stack",
      name: "names-a-resource",
      description: "test rule",
      settings: [],
      check: () => [{ message: "about b", resource: "b" }, { message: "about nobody", resource: "missing" }, { message: "stack-wide" }],
    };
    const [p] = policies(() => NOW, [rule]) as StackValidationPolicy[];
    expect(runStack(p!, stackArgs("a", "b"))).toEqual([
      ["about b", urn("dev", TYPES.workersScript, "b")],
      ["about nobody", undefined],
      ["stack-wide", undefined],
    ]);
  });
});
