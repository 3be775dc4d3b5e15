/**
 * Token permissions derived from what a stack declares: the deploy token's groups per resource kind, the gateway
 * token's Run (plus Workers AI Read when the chat chain reaches Workers AI), and the minted token following them.
 */
import { beforeAll, describe, expect, test } from "vitest";
import { deployTokenPermissions, describePermission, gatewayTokenPermissions } from "../permissions";
import { findProjectRoot, loadStackConfig, MOCK_PERMISSION_GROUPS, type ProgramResult, runProgram } from "../testing/harness";

const T = "cloudflare:index/";
const lines = (resources: { type: string; inputs?: Record<string, unknown> }[]) =>
  deployTokenPermissions(resources).map(describePermission);

describe("deployTokenPermissions", () => {
  test("maps each declared kind to its group, once, account groups first", () => {
    expect(
      lines([
        { type: `${T}workersScript:WorkersScript` },
        { type: `${T}aiGateway:AiGateway` },
        { type: `${T}workersCronTrigger:WorkersCronTrigger` },
        { type: `${T}workersKvNamespace:WorkersKvNamespace` },
        { type: `${T}notificationPolicyWebhooks:NotificationPolicyWebhooks` },
        { type: `${T}accountToken:AccountToken` },
        { type: "ai-gateway-stack:infra:Worker" },
        { type: "pulumi:pulumi:Stack" },
      ]),
    ).toEqual([
      "Account › AI Gateway: Edit",
      "Account › Account API Tokens: Edit",
      "Account › Notifications: Edit",
      "Account › Workers KV Storage: Edit",
      "Account › Workers Scripts: Edit",
    ]);
  });

  test("asks for zone permissions on the zones of the hostnames routed, and Zone Read for the zone lookups", () => {
    expect(
      lines([
        { type: `${T}workersRoute:WorkersRoute`, inputs: { pattern: "api.acme.io/v1/*" } },
        { type: `${T}dnsRecord:DnsRecord`, inputs: { name: "api.acme.io" } },
        { type: `${T}workersCustomDomain:WorkersCustomDomain`, inputs: { hostname: "ai.acme.io" } },
      ]),
    ).toEqual([
      "Account › Workers Scripts: Edit",
      "Zone › DNS: Edit (zones of api.acme.io, ai.acme.io)",
      "Zone › Workers Routes: Edit (zones of api.acme.io)",
      "Zone › Zone: Read (zones of api.acme.io, ai.acme.io)",
    ]);
  });

  test("needs nothing beyond Workers Scripts Edit for a script carrying a Durable Object migration", () => {
    const script = { type: `${T}workersScript:WorkersScript`, inputs: { migrations: { newTag: "v1", newSqliteClasses: ["Counter"] } } };
    expect(lines([script])).toEqual(["Account › Workers Scripts: Edit"]);
  });

  test("refuses a resource kind it has no permission for, naming it", () => {
    expect(() => deployTokenPermissions([{ type: `${T}r2Bucket:R2Bucket` }])).toThrow(
      "infra/permissions.ts has no permission for cloudflare:index/r2Bucket:R2Bucket",
    );
  });
});

describe("gatewayTokenPermissions", () => {
  const routing = (providers: string[], ab: string[] = []) => ({
    chat: { fallback: providers.map((provider) => ({ provider })), experiments: ab.map((provider) => ({ target: { provider } })) },
  });

  test("is AI Gateway Run alone when nothing reaches Workers AI", () => {
    expect(gatewayTokenPermissions(routing(["anthropic", "openai"])).map(describePermission)).toEqual(["Account › AI Gateway: Run"]);
  });

  test("adds Workers AI Read when the fallback chain or an A/B target reaches Workers AI", () => {
    const both = ["Account › AI Gateway: Run", "Account › Workers AI: Read"];
    expect(gatewayTokenPermissions(routing(["anthropic", "workers-ai"])).map(describePermission)).toEqual(both);
    expect(gatewayTokenPermissions(routing(["anthropic"], ["workers-ai"])).map(describePermission)).toEqual(both);
  });
});

describe("a minted gateway token for a chain that never reaches Workers AI", () => {
  let result: ProgramResult;
  beforeAll(async () => {
    const dev = loadStackConfig(findProjectRoot(), "dev").values["ai-gateway-stack:routing"] as {
      chat: { fallback: { provider: string }[] };
    };
    const routing = { ...dev, chat: { ...dev.chat, fallback: dev.chat.fallback.filter((t) => t.provider !== "workers-ai") } };
    result = await runProgram("dev", { config: { routing } });
  });

  test("carries AI Gateway Run only, not Workers AI Read", () => {
    const token = result.resources.find(
      (r) => r.type === `${T}accountToken:AccountToken` && r.options.parent?.startsWith("ai-gateway-stack:infra:GatewayToken::"),
    );
    const run = MOCK_PERMISSION_GROUPS.find((g) => g.name === "AI Gateway Run")!.id;
    expect((token!.inputs.policies as { permissionGroups: unknown }[])[0]!.permissionGroups).toEqual([{ id: run }]);
  });
});
