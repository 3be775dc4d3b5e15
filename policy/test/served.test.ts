// The pack as the Pulumi CLI runs it: started with the SDK's own policy-pack runner (ts-node, type-checked) from
// the policy/ directory, then asked over gRPC — as the engine does during `pulumi preview --policy-pack policy` —
// to analyze resources. Proves policy/index.ts loads, serves every rule, and reports violations with their policy.
import { type ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as analyzerGrpc from "@pulumi/pulumi/proto/analyzer_grpc_pb.js";
import * as analyzer from "@pulumi/pulumi/proto/analyzer_pb.js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb.js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RULES, TYPES } from "../rules";

const ROOT = path.resolve(__dirname, "../..");
const RUNNER = require.resolve("@pulumi/pulumi/cmd/run-policy-pack");

let pack: ChildProcess;
let client: analyzerGrpc.AnalyzerClient;

beforeAll(async () => {
  // The first argument stands for the engine's address; the runner only uses it to report load failures.
  pack = spawn(process.execPath, [RUNNER, "127.0.0.1:1", "."], { cwd: path.join(ROOT, "policy"), stdio: ["ignore", "pipe", "pipe"] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    let err = "";
    pack.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^(\d+)\s*$/m.exec(out);
      if (m) resolve(Number(m[1]));
    });
    pack.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    pack.on("exit", (code) => reject(new Error(`policy pack exited with ${code}: ${err}${out}`)));
  });
  client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(() => {
  client?.close();
  if (pack?.pid !== undefined && pack.exitCode === null) process.kill(pack.pid);
});

function analyze(stack: string, type: string, name: string, props: Record<string, unknown>, protect: boolean) {
  const req = new analyzer.AnalyzeRequest();
  req.setType(type);
  req.setName(name);
  req.setUrn(`urn:pulumi:${stack}::ai-gateway-stack::${type}::${name}`);
  req.setProperties(Struct.fromJavaScript(props as Parameters<typeof Struct.fromJavaScript>[0]));
  req.setOptions(new analyzer.AnalyzerResourceOptions().setProtect(protect));
  return new Promise<{ policy: string; message: string; level: number }[]>((resolve, reject) =>
    client.analyze(req, (e, res) =>
      e
        ? reject(e)
        : resolve(
            res.getDiagnosticsList().map((d) => ({ policy: d.getPolicyname(), message: d.getMessage(), level: d.getEnforcementlevel() })),
          ),
    ),
  );
}

const gateway = {
  accountId: "0123456789abcdef0123456789abcdef",
  aiGatewayId: "ai-gateway-prod",
  authentication: true,
  collectLogs: true,
  cacheTtl: 60,
  cacheInvalidateOnUpdate: true,
  rateLimitingLimit: 100,
  rateLimitingInterval: 60,
};

describe("policy pack served to the engine", () => {
  it("lists every rule as a policy", async () => {
    const info = await new Promise<analyzer.AnalyzerInfo>((resolve, reject) =>
      client.getAnalyzerInfo(new Empty(), (e, res) => (e ? reject(e) : resolve(res))),
    );
    expect(info.getName()).toBe("ai-gateway-stack");
    expect(info.getPoliciesList().map((p) => p.getName())).toEqual(RULES.map((r) => r.name));
  });

  it("passes a well-formed, protected production gateway", async () => {
    expect(await analyze("prod", TYPES.aiGateway, "gateway", gateway, true)).toEqual([]);
  });

  it("reports an unauthenticated, unprotected production gateway without logs under each broken rule", async () => {
    const found = await analyze("prod", TYPES.aiGateway, "gateway", { ...gateway, authentication: false, collectLogs: false }, false);
    expect(found.map((d) => d.policy).sort()).toEqual([
      "gateway-authenticated",
      "production-logs-collected",
      "production-resources-protected",
    ]);
    expect(found.every((d) => d.level === analyzer.EnforcementLevel.MANDATORY)).toBe(true);
    expect(found.find((d) => d.policy === "gateway-authenticated")?.message).toContain(
      'AI Gateway "gateway" must set authentication: true',
    );
  });

  it("reads model lifecycles from the SDKs installed beside the pack: a retired model fails, a retiring one warns", async () => {
    // gpt-5-mini's shutdown date comes from the installed openai SDK; the pack runs from policy/, as under the CLI.
    const routing = {
      models: { openai: ["gpt-5-mini"], "workers-ai": ["@cf/meta/llama-3.1-8b-instruct"] },
      chat: { fallback: [{ provider: "openai", model: "gpt-5-mini" }], experiments: [] },
      cacheTtl: { messages: 0, chatCompletions: 0, chat: 0 },
      limits: { maxRequestBytes: 1024 },
      timeouts: { attemptMs: 1000, totalMs: 1000 },
    };
    const worker = { scriptName: "w", bindings: [{ name: "ROUTING", type: "json", json: JSON.stringify(routing) }] };
    const found = (await analyze("dev", TYPES.workersScript, "worker", worker, false)).filter((d) => d.policy.startsWith("models-"));
    const today = new Date();
    const gpt5MiniGone = today >= new Date("2026-12-11T00:00:00Z");
    expect(found.find((d) => d.message.includes("llama-3.1-8b-instruct"))).toMatchObject({
      policy: "models-not-retired",
      level: analyzer.EnforcementLevel.MANDATORY,
    });
    expect(found.find((d) => d.message.includes("gpt-5-mini"))).toMatchObject(
      gpt5MiniGone ? { policy: "models-not-retired" } : { policy: "models-not-retiring-soon", level: analyzer.EnforcementLevel.ADVISORY },
    );
  });

  it("holds a dev stack to the rules for every stack but not to the production ones", async () => {
    const found = await analyze("dev", TYPES.aiGateway, "gateway", { ...gateway, collectLogs: false, rateLimitingLimit: 0 }, false);
    expect(found.map((d) => d.policy)).toEqual(["gateway-rate-limited"]);
  });
});
