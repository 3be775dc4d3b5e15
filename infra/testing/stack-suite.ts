/**
 * The checks every stack must pass, run against the real program under mocks with that stack's yaml: each declared
 * input traced back to the yaml (read here, independently of the program), secrets only as Pulumi secrets, protect
 * as configured, the Worker's bindings equal to the list the Worker reads, the budgets and their ledger exactly when
 * the yaml has `budgets`, and — when the yaml has `alerts` — the alert rules, destinations, cron, native policies and
 * analytics token. One stack per test file. Where the yaml
 * leaves a key out, the expected value is the stack schema's default (infra/stack-schema.ts), the one place defaults live.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import type * as v from "valibot";
import { beforeAll, describe, expect, test } from "vitest";
import {
  BINDING_NAMES,
  BINDINGS,
  type BindingName,
  parseAlertsBinding,
  parseBudgets,
  parseRouting,
  parseWith,
  SECRET_BINDING_NAMES,
} from "../../worker/src/contract";
import { routeUrl } from "../components/routes";
import { stackEntries } from "../stack-schema";
import { readWorkerBuild } from "../wrangler-config";
import {
  type DeclaredResource,
  isSecretValue,
  MOCK_PERMISSION_GROUPS,
  mockId,
  type ProgramResult,
  placeholderSecret,
  plainText,
  reveal,
  runProgram,
} from "./harness";

const ROOT = path.resolve(process.cwd());
const PROJECT = "ai-gateway-stack";

type Entries = typeof stackEntries;
type Key = keyof Entries;
/** A key's value as the yaml writes it (the schema's input type). */
export type YamlValue<K extends Key> = v.InferInput<Entries[K]>;
/** A key's value with the schema's defaults filled in (what the program works with). */
export type SettledValue<K extends Key> = v.InferOutput<Entries[K]>;

export interface StackYaml {
  /** The key as written in the yaml; undefined when the yaml leaves it out. */
  raw<K extends Key>(key: K): YamlValue<K> | undefined;
  /** The key with the stack schema's defaults filled in, where the yaml leaves a field (or the key) out. */
  value<K extends Key>(key: K): SettledValue<K>;
  /** The `secure:` ciphertext of a secret key. */
  secure(key: string): string | undefined;
  /** Every key of the yaml's config block, as written. */
  all: Record<string, unknown>;
}

/** The stack's values as written in its yaml; defaults come from the stack schema, never from a second copy. */
export function stackYaml(stack: string): StackYaml {
  const doc = yaml.load(readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
  const config = doc.config;
  const raw = <K extends Key>(key: K) => config[`${PROJECT}:${key}`] as YamlValue<K> | undefined;
  return {
    all: config,
    raw,
    value: (key) => parseWith(stackEntries[key], raw(key)),
    secure(key) {
      const full = key.includes(":") ? key : `${PROJECT}:${key}`;
      const value = config[full];
      return typeof value === "object" && value !== null && "secure" in value ? String(value.secure) : undefined;
    },
  };
}

/** A binding as the WorkersScript declares it. */
interface DeclaredBinding {
  name: string;
  type: string;
  text?: string;
  json?: string;
  namespaceId?: string;
  simple?: { limit: number; period: number };
}

/** A token policy as AccountToken declares it. */
interface TokenPolicy {
  effect: string;
  permissionGroups: { id: string }[];
  resources: string;
}

const T = {
  gateway: "cloudflare:index/aiGateway:AiGateway",
  token: "cloudflare:index/accountToken:AccountToken",
  script: "cloudflare:index/workersScript:WorkersScript",
  domain: "cloudflare:index/workersCustomDomain:WorkersCustomDomain",
  route: "cloudflare:index/workersRoute:WorkersRoute",
  dns: "cloudflare:index/dnsRecord:DnsRecord",
  subdomain: "cloudflare:index/workersScriptSubdomain:WorkersScriptSubdomain",
  cron: "cloudflare:index/workersCronTrigger:WorkersCronTrigger",
  kv: "cloudflare:index/workersKvNamespace:WorkersKvNamespace",
  webhook: "cloudflare:index/notificationPolicyWebhooks:NotificationPolicyWebhooks",
  policy: "cloudflare:index/notificationPolicy:NotificationPolicy",
};

/** Component types: a resource's purpose is told by the component it belongs to, not by its type alone. */
const C = {
  gatewayToken: "ai-gateway-stack:infra:GatewayToken",
  alerts: "ai-gateway-stack:infra:Alerts",
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
  const bindings = (): DeclaredBinding[] => {
    const b = one(T.script).inputs.bindings;
    expect(isSecretValue(b)).toBe(true);
    return reveal(b) as DeclaredBinding[];
  };
  const binding = (n: string): DeclaredBinding => {
    const b = bindings().find((x) => x.name === n);
    expect(b, n).toBeDefined();
    return b!;
  };
  /** True when binding `n` was a Pulumi secret when declared (its own value, not only the list around it). */
  const declaredSecret = (n: string) => one(T.script).secretInputs.includes(`bindings[${bindings().findIndex((b) => b.name === n)}].text`);
  /** Resources declared as children of a component of type `component`. */
  const childrenOf = (component: string): DeclaredResource[] =>
    result.resources.filter((r) => r.options.parent?.startsWith(`${component}::`));
  const gatewayTokens = () => childrenOf(C.gatewayToken).filter((r) => r.type === T.token);
  const analyticsTokens = () => childrenOf(C.alerts).filter((r) => r.type === T.token);
  const secretPlaceholder = (key: string) => {
    const ciphertext = y.secure(key);
    expect(ciphertext, `${key} is set as a secure value in Pulumi.${stack}.yaml`).toBeDefined();
    return placeholderSecret(`${PROJECT}:${key}`, ciphertext!);
  };
  /** The yaml's alerts value as written, and with its defaults (undefined: the stack runs without alerts). */
  const alertsYaml = y.raw("alerts");
  const alerts = y.value("alerts");
  const yamlWebhooks = () => alerts?.destinations.webhooks ?? [];
  /** The yaml's budgets with their defaults (undefined: the stack runs unmetered). */
  const budgets = y.value("budgets");
  /** The NotificationPolicyWebhooks declared for one yaml webhook (found by its URL and name). */
  const webhookResource = (hook: { name: string; url: string }): DeclaredResource => {
    const found = ofType(T.webhook).filter((r) => r.inputs.url === hook.url && String(r.inputs.name).endsWith(`-${hook.name}`));
    expect(found, `webhook destination ${hook.name}`).toHaveLength(1);
    return found[0]!;
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
      expect(g.cacheInvalidateOnUpdate).toBe(want.cacheInvalidateOnUpdate);
      expect([g.rateLimitingLimit, g.rateLimitingInterval, g.rateLimitingTechnique]).toEqual([
        want.rateLimit.limit,
        want.rateLimit.interval,
        want.rateLimit.technique,
      ]);
      expect([g.collectLogs, g.logManagement, g.logManagementStrategy]).toEqual([
        want.logs.collect,
        want.logs.maxStored,
        want.logs.strategy,
      ]);
      expect([g.retryMaxAttempts, g.retryDelay, g.retryBackoff]).toEqual([
        want.retries.maxAttempts,
        want.retries.delayMs,
        want.retries.backoff,
      ]);
    });

    test("declares spend limits and guardrails exactly when the yaml has them", () => {
      const g = one(T.gateway).inputs;
      const want = y.value("gateway");
      if (want.spendLimits) {
        expect(g.spendLimits).toEqual({
          enabled: want.spendLimits.enabled,
          rules: want.spendLimits.rules.map((r) => ({
            limit: r.limit,
            limitType: "cost",
            window: r.window,
            technique: r.technique,
            ...(r.providers ? { aiGatewayProvider: { mode: "filter", values: r.providers } } : {}),
            ...(r.models ? { model: { mode: "filter", values: r.models } } : {}),
          })),
        });
      } else {
        expect(g.spendLimits).toBeUndefined();
      }
      if (want.guardrails) {
        expect(g.guardrails).toEqual({ prompt: want.guardrails.prompt, response: want.guardrails.response });
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
        expect(gatewayTokens()).toHaveLength(0);
        expect(token.text).toBe(secretPlaceholder("gatewayToken"));
      } else {
        expect(gatewayTokens()).toHaveLength(1);
        expect(token.text).toBe(`minted-token-${mockId("token", gatewayTokens()[0]!.name)}`);
      }
    });

    test("is minted with AI Gateway Run, plus Workers AI Read when the yaml's chain or A/B reaches Workers AI, scoped to the account", () => {
      if (y.value("gatewayTokenSource") !== "mint") {
        expect(gatewayTokens()).toHaveLength(0);
        return;
      }
      expect(gatewayTokens()).toHaveLength(1);
      const t = gatewayTokens()[0]!.inputs;
      const id = (n: string) => MOCK_PERMISSION_GROUPS.find((g) => g.name === n)!.id;
      const chat = y.value("routing").chat;
      const reachesWorkersAi = [...chat.fallback, ...(chat.experiments ?? []).map((e) => e.target)].some(
        (t) => t.provider === "workers-ai",
      );
      expect(t.accountId).toBe(y.value("accountId"));
      expect(t.policies).toEqual([
        {
          effect: "allow",
          permissionGroups: [{ id: id("AI Gateway Run") }, ...(reachesWorkersAi ? [{ id: id("Workers AI Read") }] : [])],
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
      expect(s.compatibilityFlags).toEqual(w.compatibilityFlags);
      expect(s.observability).toEqual({ enabled: w.observability.enabled, headSamplingRate: w.observability.headSamplingRate });
      expect(createHash("sha256").update(String(s.content)).digest("hex")).toBe(result.outputs.bundleSha256);
      expect(String(s.content)).toMatch(/export\s*\{/);
    });

    test("runs on the same compatibility date and flags as local development (wrangler.jsonc)", () => {
      const local = readWorkerBuild(ROOT);
      const w = y.value("worker");
      expect(w.compatibilityDate).toBe(local.compatibilityDate);
      expect([...w.compatibilityFlags].sort()).toEqual([...local.compatibilityFlags].sort());
    });

    test("declares every binding the Worker reads for this stack's features, with the kind bindings.ts gives it, and nothing else", () => {
      const declared = bindings().map((b) => b.name);
      const configuredOptional = Object.keys(y.value("worker").vars);
      // With alerts, every ALERTS* name in bindings.ts; the PagerDuty key only when the yaml turns PagerDuty on.
      const alertNames = alerts
        ? BINDING_NAMES.filter((n) => n.startsWith("ALERTS") && (n !== "ALERTS_PAGERDUTY_ROUTING_KEY" || alerts.destinations.pagerduty))
        : [];
      // With budgets, BUDGETS and the ledger's BUDGET_LEDGER.
      const budgetNames = budgets ? BINDING_NAMES.filter((n) => n.startsWith("BUDGET")) : [];
      const want = BINDING_NAMES.filter(
        (n) => BINDINGS[n].required || configuredOptional.includes(n) || alertNames.includes(n) || budgetNames.includes(n),
      );
      expect([...declared].sort()).toEqual([...want].sort());
      for (const b of bindings()) expect(b.type, b.name).toBe(BINDINGS[b.name as BindingName].kind);
    });

    test("leaves out of the Worker's list only optional bindings this stack's yaml does not use", () => {
      const declared = new Set(bindings().map((b) => b.name));
      const missing = BINDING_NAMES.filter((n) => !declared.has(n));
      for (const n of missing) {
        expect(BINDINGS[n].required, n).toBe(false);
        if (n.startsWith("ALERTS") && n !== "ALERTS_PAGERDUTY_ROUTING_KEY")
          expect(alerts, `${n} is missing although the yaml has alerts`).toBeUndefined();
        if (n.startsWith("BUDGET")) expect(budgets, `${n} is missing although the yaml has budgets`).toBeUndefined();
      }
    });

    test("binds the account, gateway id, stack, ROUTING, rate limiter and its period (for Retry-After) from the yaml", () => {
      expect(binding("AI_GATEWAY_ACCOUNT_ID").text).toBe(y.value("accountId"));
      expect(binding("AI_GATEWAY_ID").text).toBe(name);
      expect(binding("STACK").text).toBe(stack);
      expect(JSON.parse(binding("ROUTING").json!)).toEqual(parseRouting(y.raw("routing")));
      const rl = y.value("worker").rateLimit;
      const limiter = binding("RATE_LIMITER");
      expect({ namespaceId: limiter.namespaceId, simple: limiter.simple }).toEqual({
        namespaceId: String(rl.namespaceId),
        simple: { limit: rl.limit, period: rl.period },
      });
      expect(binding("RATE_LIMIT_PERIOD")).toMatchObject({ type: "plain_text", text: String(rl.period) });
    });

    test("binds the yaml's clients as the plain CLIENTS allow-list, readable without decrypting anything", () => {
      const clients = y.raw("clients");
      expect(Array.isArray(clients) && clients.length > 0, "the yaml lists clients").toBe(true);
      const b = binding("CLIENTS");
      expect(b.type).toBe("json");
      expect(JSON.parse(b.json!)).toEqual(clients);
      expect(declaredSecret("CLIENTS")).toBe(false);
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

  describe(`stack ${stack}: budgets`, () => {
    test("binds the yaml's budgets as BUDGETS, the Worker's own schema with its defaults, in plain json", () => {
      if (!budgets) {
        expect(bindings().map((b) => b.name)).not.toContain("BUDGETS");
        return;
      }
      const b = binding("BUDGETS");
      expect(b.type).toBe("json");
      expect(JSON.parse(b.json!)).toEqual(parseBudgets(y.raw("budgets")));
      expect(parseBudgets(JSON.parse(b.json!))).toEqual(budgets);
      expect(declaredSecret("BUDGETS")).toBe(false);
    });

    test("declares the ledger Durable Object (binding, SQLite class, migration tag) exactly when the yaml has budgets", () => {
      const s = one(T.script).inputs as { migrations?: unknown; bindings: unknown };
      const ledger = bindings().find((b) => b.name === "BUDGET_LEDGER") as (DeclaredBinding & { className?: string }) | undefined;
      if (!budgets) {
        expect(ledger).toBeUndefined();
        expect(s.migrations).toBeUndefined();
        return;
      }
      expect(ledger).toEqual({ name: "BUDGET_LEDGER", type: "durable_object_namespace", className: "BudgetLedger" });
      expect(s.migrations).toEqual({ newTag: "budget-ledger-v1", newSqliteClasses: ["BudgetLedger"] });
      // The class the migration creates is one the uploaded module exports.
      expect(String((s as { content?: unknown }).content)).toMatch(/export\s*\{[^}]*\bas BudgetLedger\b/);
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
        .map(([k, v]) => placeholderSecret(k, y.secure(k)!));
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
      const want = y.value("routes").customDomains;
      const got = ofType(T.domain).map((d) => d.inputs);
      expect(got).toHaveLength(want.length);
      for (const d of want) {
        expect(got).toContainEqual({
          accountId: y.value("accountId"),
          hostname: d.hostname,
          service: name,
          zoneId: mockId("zone", d.zone),
        });
      }
    });

    test("declares one zone route per configured pattern, in its zone", () => {
      const want = y.value("routes").zoneRoutes;
      const got = ofType(T.route).map((d) => d.inputs);
      expect(got).toHaveLength(want.length);
      for (const r of want) expect(got).toContainEqual({ pattern: r.pattern, script: name, zoneId: mockId("zone", r.zone) });
    });

    test("declares a proxied AAAA 100:: record for each zone route hostname unless the yaml says it exists, before its route", () => {
      const routes = y.value("routes");
      const domains = new Set(routes.customDomains.map((d) => d.hostname));
      const hosts = new Map<string, string>();
      for (const r of routes.zoneRoutes) {
        const host = r.pattern.slice(0, r.pattern.indexOf("/"));
        if (r.dnsRecord === "create" && !domains.has(host)) hosts.set(host, r.zone);
      }
      const got = ofType(T.dns);
      expect(got.map((d) => d.inputs.name).sort()).toEqual([...hosts.keys()].sort());
      for (const d of got) {
        expect(d.inputs).toMatchObject({
          zoneId: mockId("zone", hosts.get(String(d.inputs.name))!),
          type: "AAAA",
          content: "100::",
          proxied: true,
          ttl: 1,
        });
        for (const r of ofType(T.route).filter((x) => String(x.inputs.pattern).startsWith(`${String(d.inputs.name)}/`))) {
          expect(r.options.dependsOn).toContain(`${T.dns}::${d.name}`);
        }
      }
    });

    test("switches workers.dev on or off as configured", () => {
      expect(one(T.subdomain).inputs).toEqual({
        accountId: y.value("accountId"),
        scriptName: name,
        enabled: y.value("routes").workersDev,
        previewsEnabled: false,
      });
    });

    test("declares one cron trigger carrying the yaml's crons plus the alerts cron, with an empty list when there are none", () => {
      const spaced = (c: string) => c.trim().split(/\s+/).join(" ");
      const crons: string[] = [...new Set([...y.value("crons"), ...(alerts ? [alerts.cron] : [])].map(spaced))];
      // Declared even with nothing to schedule (schedules: []): the provider's delete would leave old schedules firing.
      expect(one(T.cron).inputs).toEqual({ accountId: y.value("accountId"), scriptName: name, schedules: crons.map((cron) => ({ cron })) });
    });
  });

  describe(`stack ${stack}: alerts`, () => {
    // Each stack gets the checks for what its yaml declares (registered, never skipped).
    const withAlerts = (title: string, fn: () => void) => alerts && test(title, fn);
    const withoutAlerts = (title: string, fn: () => void) => !alerts && test(title, fn);

    withoutAlerts("declares no alert resources and no ALERTS* binding when the yaml has no alerts", () => {
      expect(result.resources.filter((r) => r.type === C.alerts)).toHaveLength(0);
      for (const t of [T.kv, T.webhook, T.policy]) expect(ofType(t), t).toHaveLength(0);
      expect(bindings().filter((b) => b.name.startsWith("ALERTS"))).toEqual([]);
    });

    withAlerts(
      "declares exactly the state namespace, one destination per webhook, the native policies and a minted token if asked, all in the Alerts component",
      () => {
        const a = alerts!;
        expect(result.resources.filter((r) => r.type === C.alerts).map((r) => r.name)).toEqual(["alerts"]);
        const want = [
          T.kv,
          ...yamlWebhooks().map(() => T.webhook),
          ...Object.keys(a.native).map(() => T.policy),
          ...(a.analyticsToken === "mint" ? [T.token] : []),
        ];
        expect(
          childrenOf(C.alerts)
            .map((r) => r.type)
            .sort(),
        ).toEqual(want.sort());
        // Nothing of the alerts' kinds is declared outside the component.
        for (const t of [T.kv, T.webhook, T.policy])
          expect(
            ofType(t).every((r) => r.options.parent === `${C.alerts}::alerts`),
            t,
          ).toBe(true);
      },
    );

    withAlerts(
      "hands the Worker an ALERTS value with the yaml's cron, rules, thresholds, windows and webhook names, which the Worker's parser accepts as is",
      () => {
        const a = alerts!;
        const got = JSON.parse(binding("ALERTS").json!);
        expect(binding("ALERTS").type).toBe("json");
        expect(parseAlertsBinding(got)).toEqual(got);
        const { analyticsToken: _t, native: _n, destinations: _d, ...workerKeys } = alertsYaml!;
        // Every value the yaml gives reaches the Worker unchanged; the schema's defaults fill the rest.
        expect(got).toMatchObject(workerKeys);
        expect(Object.keys(got.rules).sort()).toEqual(Object.keys(alertsYaml!.rules).sort());
        expect(got.destinations).toEqual({
          webhooks: yamlWebhooks().map((w) => ({ name: w.name, url: w.url })),
          pagerduty: a.destinations.pagerduty,
        });
        expect(got.endpoints).toEqual(a.endpoints);
        // Infra-only keys (emails, secret key names, native policies, token source) stay out of the Worker's value.
        expect(Object.keys(got).sort()).toEqual(["cron", "destinations", "endpoints", "failureRuns", "lagMinutes", "rules"]);
        for (const email of a.destinations.emails) expect(binding("ALERTS").json).not.toContain(email);
      },
    );

    withAlerts("binds the state KV namespace it declares, named after the stack", () => {
      const kv = one(T.kv);
      expect(kv.inputs.accountId).toBe(y.value("accountId"));
      expect(String(kv.inputs.title)).toContain(name);
      const state = binding("ALERTS_STATE");
      expect(state.type).toBe("kv_namespace");
      expect(state.namespaceId).toBe(`${kv.name}-id`);
    });

    withAlerts(
      "declares one webhook destination per yaml webhook, its secret a Pulumi secret taken from the webhook's secret config key",
      () => {
        expect(ofType(T.webhook)).toHaveLength(yamlWebhooks().length);
        for (const hook of yamlWebhooks()) {
          const r = webhookResource(hook);
          expect(r.inputs.accountId).toBe(y.value("accountId"));
          expect(String(r.inputs.name)).toContain(name);
          expect(isSecretValue(r.inputs.secret), hook.name).toBe(true);
          expect(r.secretInputs).toContain("secret");
          expect(reveal(r.inputs.secret)).toBe(secretPlaceholder(hook.secretKey));
        }
      },
    );

    withAlerts("binds every webhook's secret, by webhook name, as the Pulumi secret ALERTS_WEBHOOK_SECRETS", () => {
      const b = binding("ALERTS_WEBHOOK_SECRETS");
      expect(b.type).toBe("secret_text");
      expect(declaredSecret(b.name)).toBe(true);
      expect(JSON.parse(b.text!)).toEqual(Object.fromEntries(yamlWebhooks().map((w) => [w.name, secretPlaceholder(w.secretKey)])));
    });

    withAlerts("binds the PagerDuty routing key as a Pulumi secret exactly when the yaml turns PagerDuty on", () => {
      const pd = bindings().find((b) => b.name === "ALERTS_PAGERDUTY_ROUTING_KEY");
      if (!alerts!.destinations.pagerduty) {
        expect(pd).toBeUndefined();
        return;
      }
      expect(pd!.type).toBe("secret_text");
      expect(declaredSecret(pd!.name)).toBe(true);
      expect(pd!.text).toBe(secretPlaceholder("alertsPagerdutyRoutingKey"));
    });

    withAlerts(
      "takes the analytics token from the source the yaml chooses: minted with Account Analytics Read only, or the secret alertsAnalyticsToken",
      () => {
        const source = alerts!.analyticsToken;
        const b = binding("ALERTS_ANALYTICS_TOKEN");
        expect(b.type).toBe("secret_text");
        expect(declaredSecret(b.name)).toBe(true);
        if (source === "config") {
          expect(analyticsTokens()).toHaveLength(0);
          expect(b.text).toBe(secretPlaceholder("alertsAnalyticsToken"));
          return;
        }
        expect(analyticsTokens()).toHaveLength(1);
        const t = analyticsTokens()[0]!;
        const analyticsRead = MOCK_PERMISSION_GROUPS.find((g) => g.name === "Account Analytics Read")!.id;
        expect(t.inputs.accountId).toBe(y.value("accountId"));
        expect(t.inputs.policies).toEqual([
          {
            effect: "allow",
            permissionGroups: [{ id: analyticsRead }],
            resources: JSON.stringify({ [`com.cloudflare.api.account.${y.value("accountId")}`]: "*" }),
          },
        ]);
        expect(b.text).toBe(`minted-token-${mockId("token", t.name)}`);
      },
    );

    withAlerts("keeps the analytics token apart from the gateway token: its own resource, name and permissions", () => {
      // Every AccountToken belongs to one of the two purposes; neither token stands in for the other.
      expect(ofType(T.token).length).toBe(gatewayTokens().length + analyticsTokens().length);
      const worker = binding("AI_GATEWAY_TOKEN").text;
      expect(binding("ALERTS_ANALYTICS_TOKEN").text).not.toBe(worker);
      for (const a of analyticsTokens()) {
        for (const g of gatewayTokens()) expect(a.inputs.name).not.toBe(g.inputs.name);
        const ids = (a.inputs.policies as TokenPolicy[]).flatMap((p) => p.permissionGroups.map((x) => x.id));
        const gatewayRun = MOCK_PERMISSION_GROUPS.find((g) => g.name === "AI Gateway Run")!.id;
        expect(ids).not.toContain(gatewayRun);
      }
    });

    withAlerts("declares the native policies the yaml asks for, notifying the declared webhook destinations and emails", () => {
      const a = alerts!;
      const native = a.native;
      const policies = ofType(T.policy).map((p) => p.inputs);
      expect(policies).toHaveLength(Object.keys(native).length);
      const mechanisms = {
        webhooks: yamlWebhooks().map((h) => ({ id: `${webhookResource(h).name}-id` })),
        emails: a.destinations.emails.map((id) => ({ id })),
      };
      const byType = (t: string) => policies.filter((p) => p.alertType === t);
      if (native.billingUsage) {
        expect(byType("billing_usage_alert")).toHaveLength(1);
        expect(byType("billing_usage_alert")[0]).toMatchObject({
          accountId: y.value("accountId"),
          enabled: true,
          filters: { products: [native.billingUsage.product], limits: [String(native.billingUsage.limit)] },
          mechanisms,
        });
      } else {
        expect(byType("billing_usage_alert")).toHaveLength(0);
      }
      if (native.incidents) {
        expect(byType("incident_alert")).toHaveLength(1);
        expect(byType("incident_alert")[0]).toMatchObject({
          accountId: y.value("accountId"),
          enabled: true,
          filters: { affectedComponents: native.incidents.components, incidentImpacts: native.incidents.impacts },
          mechanisms,
        });
      } else {
        expect(byType("incident_alert")).toHaveLength(0);
      }
      for (const p of policies) expect(p.mechanisms).toEqual(mechanisms);
    });

    withAlerts("triggers the Worker on the cron its ALERTS value evaluates on", () => {
      const cron = JSON.parse(binding("ALERTS").json!).cron;
      expect(one(T.cron).inputs.schedules).toContainEqual({ cron });
    });
  });

  describe(`stack ${stack}: protection and outputs`, () => {
    test("every resource carries the stack's protect setting, alert children included", () => {
      const protect = y.value("protect");
      expect(result.resources.length).toBeGreaterThan(5);
      // The loop below must see the alert resources too: they are declared in a component, with protect inherited.
      if (alerts) expect(childrenOf(C.alerts).length).toBeGreaterThan(yamlWebhooks().length);
      for (const r of result.resources) expect(r.options.protect, `${r.type} ${r.name}`).toBe(protect);
    });

    test("declares only the resource types this program owns", () => {
      const custom = new Set(result.resources.filter((r) => r.custom).map((r) => r.type));
      for (const t of custom) expect(Object.values(T)).toContain(t);
    });

    test("exports the gateway id, Worker name, public URLs, each URL's SDK base URLs and the bundle hash", () => {
      const routes = y.value("routes");
      const urls = [
        ...routes.customDomains.map((d) => `https://${d.hostname}`),
        ...routes.zoneRoutes.map((r) => routeUrl(r.pattern)),
        ...(routes.workersDev ? [`https://${name}.${routes.workersDevSubdomain}.workers.dev`] : []),
      ];
      // The SDK base URLs, worked out here from the URL: the Anthropic SDK adds /v1/messages itself.
      const sdkBaseUrls = urls.map((url) => {
        const anthropic = url.endsWith("/v1") ? url.slice(0, -3) : url;
        return { url, anthropic, openai: `${anthropic}/v1` };
      });
      expect(result.outputs).toEqual({
        gatewayId: name,
        workerName: name,
        urls,
        sdkBaseUrls,
        bundleSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
    });
  });
}
