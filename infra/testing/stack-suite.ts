/**
 * The checks every stack must pass, run against the real program under mocks with that stack's yaml: each declared
 * input traced back to the yaml (read here, independently of the program), secrets only as Pulumi secrets, protect
 * as configured, and the Worker's bindings equal to the list the Worker reads. One stack per test file.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { beforeAll, describe, expect, test } from "vitest";
import { BINDINGS, BINDING_NAMES, SECRET_BINDING_NAMES } from "../../worker/src/bindings";
import { parseRouting } from "../../worker/src/routing";
import { routeUrl } from "../components/routes";
import { isSecretValue, MOCK_PERMISSION_GROUPS, mockId, placeholderSecret, plainText, reveal, runProgram, type DeclaredResource, type ProgramResult } from "./harness";

const ROOT = path.resolve(process.cwd());
const PROJECT = "ai-gateway-stack";

type Raw = Record<string, any>;

/** The stack's values as written in its yaml, with Pulumi.yaml's declared defaults under them. */
export function stackYaml(stack: string): { value(key: string): any; secure(key: string): string | undefined; all: Raw } {
  const project = yaml.load(readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as Raw;
  const config = (yaml.load(readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as Raw).config as Raw;
  return {
    all: config,
    value(key) {
      const v = config[`${PROJECT}:${key}`];
      return v !== undefined ? v : project.config?.[key]?.default;
    },
    secure(key) {
      const full = key.includes(":") ? key : `${PROJECT}:${key}`;
      return config[full]?.secure;
    },
  };
}

/** Strips // comments so wrangler.jsonc parses as JSON (no string in it contains //). */
function wranglerConfig(): Raw {
  const text = readFileSync(path.join(ROOT, "worker", "wrangler.jsonc"), "utf8");
  return JSON.parse(text.replace(/^\s*\/\/.*$/gm, ""));
}

const T = {
  gateway: "cloudflare:index/aiGateway:AiGateway",
  token: "cloudflare:index/accountToken:AccountToken",
  script: "cloudflare:index/workersScript:WorkersScript",
  domain: "cloudflare:index/workersCustomDomain:WorkersCustomDomain",
  route: "cloudflare:index/workersRoute:WorkersRoute",
  subdomain: "cloudflare:index/workersScriptSubdomain:WorkersScriptSubdomain",
  cron: "cloudflare:index/workersCronTrigger:WorkersCronTrigger",
};

export function stackSuite(stack: string): void {
  const y = stackYaml(stack);
  const name = `${y.value("name")}-${stack}`;
  let result: ProgramResult;
  const ofType = (type: string): DeclaredResource[] => result.resources.filter((r) => r.type === type);
  const one = (type: string): DeclaredResource => {
    const found = ofType(type);
    expect(found, type).toHaveLength(1);
    return found[0]!;
  };
  const bindings = (): Raw[] => {
    const b = one(T.script).inputs.bindings;
    expect(isSecretValue(b)).toBe(true);
    return reveal(b) as Raw[];
  };
  const binding = (n: string): Raw => {
    const b = bindings().find((x) => x.name === n);
    expect(b, n).toBeDefined();
    return b!;
  };

  beforeAll(async () => {
    result = await runProgram(stack);
  });

  describe(`stack ${stack}: AI gateway`, () => {
    test("is named after the stack and always authenticated", () => {
      const g = one(T.gateway).inputs;
      expect(g.aiGatewayId).toBe(name);
      expect(g.accountId).toBe(y.value("accountId"));
      expect(g.authentication).toBe(true);
    });

    test("takes cache, rate limit, logs and retries from the yaml", () => {
      const g = one(T.gateway).inputs;
      const want = y.value("gateway");
      expect(g.cacheTtl).toBe(want.cacheTtl);
      expect(g.cacheInvalidateOnUpdate).toBe(want.cacheInvalidateOnUpdate ?? true);
      expect([g.rateLimitingLimit, g.rateLimitingInterval, g.rateLimitingTechnique]).toEqual([
        want.rateLimit.limit,
        want.rateLimit.interval,
        want.rateLimit.technique ?? "sliding",
      ]);
      expect([g.collectLogs, g.logManagement, g.logManagementStrategy]).toEqual([
        want.logs.collect,
        want.logs.maxStored,
        want.logs.strategy ?? "DELETE_OLDEST",
      ]);
      expect([g.retryMaxAttempts, g.retryDelay, g.retryBackoff]).toEqual([
        want.retries?.maxAttempts ?? 1,
        want.retries?.delayMs ?? 0,
        want.retries?.backoff ?? "constant",
      ]);
    });

    test("declares spend limits and guardrails exactly when the yaml has them", () => {
      const g = one(T.gateway).inputs;
      const want = y.value("gateway");
      if (want.spendLimits) {
        expect(g.spendLimits).toEqual({
          enabled: want.spendLimits.enabled ?? true,
          rules: want.spendLimits.rules.map((r: Raw) => ({
            limit: r.limit,
            limitType: "cost",
            window: r.window,
            technique: r.technique ?? "fixed",
            ...(r.providers ? { aiGatewayProvider: { mode: "filter", values: r.providers } } : {}),
            ...(r.models ? { model: { mode: "filter", values: r.models } } : {}),
          })),
        });
      } else {
        expect(g.spendLimits).toBeUndefined();
      }
      if (want.guardrails) {
        expect(g.guardrails).toEqual({ prompt: want.guardrails.prompt ?? {}, response: want.guardrails.response ?? {} });
      } else {
        expect(g.guardrails).toBeUndefined();
      }
    });
  });

  describe(`stack ${stack}: gateway token`, () => {
    test("comes from the source the yaml chooses and reaches the Worker as AI_GATEWAY_TOKEN", () => {
      const source = y.value("gatewayTokenSource");
      const token = binding("AI_GATEWAY_TOKEN");
      expect(token.type).toBe("secret_text");
      if (source === "config") {
        expect(ofType(T.token)).toHaveLength(0);
        expect(token.text).toBe(placeholderSecret(`${PROJECT}:gatewayToken`, y.secure("gatewayToken")!));
      } else {
        const minted = one(T.token);
        expect(token.text).toBe(`minted-token-${mockId("token", minted.name)}`);
      }
    });

    test("is minted with AI Gateway Run and Workers AI Read, scoped to the account, when minted", () => {
      if (y.value("gatewayTokenSource") !== "mint") {
        expect(ofType(T.token)).toHaveLength(0);
        return;
      }
      const t = one(T.token).inputs;
      const id = (n: string) => MOCK_PERMISSION_GROUPS.find((g) => g.name === n)!.id;
      expect(t.accountId).toBe(y.value("accountId"));
      expect(t.policies).toEqual([
        {
          effect: "allow",
          permissionGroups: [{ id: id("AI Gateway Run") }, { id: id("Workers AI Read") }],
          resources: JSON.stringify({ [`com.cloudflare.api.account.${y.value("accountId")}`]: "*" }),
        },
      ]);
    });
  });

  describe(`stack ${stack}: Worker`, () => {
    test("uploads the bundle as an ES module with the yaml's runtime settings", () => {
      const s = one(T.script).inputs;
      const w = y.value("worker");
      expect(s.scriptName).toBe(name);
      expect(s.accountId).toBe(y.value("accountId"));
      expect(s.mainModule).toBe("index.js");
      expect(s.compatibilityDate).toBe(w.compatibilityDate);
      expect(s.compatibilityFlags).toEqual(w.compatibilityFlags ?? ["nodejs_compat"]);
      expect(s.observability).toEqual({ enabled: w.observability?.enabled ?? true, headSamplingRate: w.observability?.headSamplingRate ?? 1 });
      expect(createHash("sha256").update(String(s.content)).digest("hex")).toBe(result.outputs.bundleSha256);
      expect(String(s.content)).toMatch(/export\s*\{/);
    });

    test("runs on the same compatibility date and flags as local development (wrangler.jsonc)", () => {
      const local = wranglerConfig();
      const w = y.value("worker");
      expect(w.compatibilityDate).toBe(local.compatibility_date);
      expect([...(w.compatibilityFlags ?? ["nodejs_compat"])].sort()).toEqual([...local.compatibility_flags].sort());
    });

    test("declares every required binding the Worker reads, with the kind bindings.ts gives it, and nothing else", () => {
      const declared = bindings().map((b) => b.name);
      const configuredOptional = Object.keys(y.value("worker").vars ?? {});
      const want = BINDING_NAMES.filter((n) => BINDINGS[n].required || configuredOptional.includes(n));
      expect([...declared].sort()).toEqual([...want].sort());
      for (const b of bindings()) expect(b.type, b.name).toBe(BINDINGS[b.name as keyof typeof BINDINGS].kind);
    });

    test("binds the account, gateway id, stack, ROUTING and rate limiter from the yaml", () => {
      expect(binding("AI_GATEWAY_ACCOUNT_ID").text).toBe(y.value("accountId"));
      expect(binding("AI_GATEWAY_ID").text).toBe(name);
      expect(binding("STACK").text).toBe(stack);
      expect(JSON.parse(binding("ROUTING").json)).toEqual(parseRouting(y.value("routing")));
      const rl = y.value("worker").rateLimit;
      const limiter = binding("RATE_LIMITER");
      expect({ namespaceId: limiter.namespaceId, simple: limiter.simple }).toEqual({
        namespaceId: String(rl.namespaceId),
        simple: { limit: rl.limit, period: rl.period },
      });
    });

    test("binds each provider key and the client key digests from their own secret config", () => {
      const from = { ANTHROPIC_API_KEY: "anthropicApiKey", OPENAI_API_KEY: "openaiApiKey", CLIENT_KEYS: "clientKeys" };
      for (const [n, key] of Object.entries(from)) {
        const b = binding(n);
        expect(b.type).toBe("secret_text");
        expect(b.text, n).toBe(placeholderSecret(`${PROJECT}:${key}`, y.secure(key)!));
      }
    });
  });

  describe(`stack ${stack}: secrets`, () => {
    test("every secret_text binding is a Pulumi secret when declared, not only inside a secret list", () => {
      const s = one(T.script);
      const declared = bindings();
      const secretNames = declared.filter((b) => b.type === "secret_text").map((b) => b.name);
      expect(secretNames.length).toBeGreaterThanOrEqual(SECRET_BINDING_NAMES.filter((n) => BINDINGS[n].required).length);
      for (const n of secretNames) {
        expect(s.secretInputs, n).toContain(`bindings[${declared.findIndex((b) => b.name === n)}].text`);
      }
    });

    test("no secret value appears in plain form in any declared input or output", () => {
      const secrets = Object.entries(y.all)
        .filter(([, v]) => typeof v === "object" && v !== null && "secure" in v)
        .map(([k, v]) => placeholderSecret(k, (v as Raw).secure));
      expect(secrets.length).toBeGreaterThan(0);
      const minted = ofType(T.token).map((t) => `minted-token-${mockId("token", t.name)}`);
      const visible = plainText(result.resources.map((r) => r.inputs)) + JSON.stringify(result.outputs);
      for (const value of [...secrets, ...minted]) expect(visible).not.toContain(value);
      // The same values are there, inside the wrappers: the check above is looking at the right data.
      const everything = JSON.stringify(reveal(result.resources.map((r) => r.inputs)));
      expect(everything).toContain(secrets.find((s) => s.includes("anthropicApiKey")));
    });
  });

  describe(`stack ${stack}: routes and schedules`, () => {
    test("declares one custom domain per configured hostname, in its zone", () => {
      const want = y.value("routes").customDomains ?? [];
      const got = ofType(T.domain).map((d) => d.inputs);
      expect(got).toHaveLength(want.length);
      for (const d of want) {
        expect(got).toContainEqual({ accountId: y.value("accountId"), hostname: d.hostname, service: name, zoneId: mockId("zone", d.zone) });
      }
    });

    test("declares one zone route per configured pattern, in its zone", () => {
      const want = y.value("routes").zoneRoutes ?? [];
      const got = ofType(T.route).map((d) => d.inputs);
      expect(got).toHaveLength(want.length);
      for (const r of want) expect(got).toContainEqual({ pattern: r.pattern, script: name, zoneId: mockId("zone", r.zone) });
    });

    test("switches workers.dev on or off as configured", () => {
      expect(one(T.subdomain).inputs).toEqual({ accountId: y.value("accountId"), scriptName: name, enabled: y.value("routes").workersDev ?? false, previewsEnabled: false });
    });

    test("declares cron triggers only when the yaml lists schedules", () => {
      const crons: string[] = y.value("crons") ?? [];
      if (crons.length === 0) expect(ofType(T.cron)).toHaveLength(0);
      else expect(one(T.cron).inputs).toEqual({ accountId: y.value("accountId"), scriptName: name, schedules: crons.map((cron) => ({ cron })) });
    });
  });

  describe(`stack ${stack}: protection and outputs`, () => {
    test("every resource carries the stack's protect setting", () => {
      const protect = y.value("protect") ?? false;
      expect(result.resources.length).toBeGreaterThan(5);
      for (const r of result.resources) expect(r.options.protect, `${r.type} ${r.name}`).toBe(protect);
    });

    test("declares only the resource types this program owns", () => {
      const custom = new Set(result.resources.filter((r) => r.custom).map((r) => r.type));
      for (const t of custom) expect(Object.values(T)).toContain(t);
    });

    test("exports the gateway id, Worker name, public URLs and bundle hash", () => {
      const routes = y.value("routes");
      const urls = [
        ...(routes.customDomains ?? []).map((d: Raw) => `https://${d.hostname}`),
        ...(routes.zoneRoutes ?? []).map((r: Raw) => routeUrl(r.pattern)),
        ...(routes.workersDev ? [`https://${name}.${routes.workersDevSubdomain}.workers.dev`] : []),
      ];
      expect(result.outputs).toEqual({ gatewayId: name, workerName: name, urls, bundleSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    });
  });
}
