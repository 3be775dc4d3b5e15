/**
 * Builds a stack's plan from its snapshot and writes it twice: JSON for tools (every key sorted) and Markdown for
 * people (audit summary and policy results first, then bindings, then every resource). Nothing here reads the clock,
 * the machine or the environment: the same snapshot and date give the same bytes.
 */
import * as yaml from "js-yaml";
import { isDead } from "../../infra/models";
import { DEFAULT_SETTINGS, evaluate, type PolicySettings, type RuleResult } from "../../policy/rules";
import { type AuditSummary, auditOf } from "./audit";
import type { Snapshot, SnapshotResource } from "./snapshot";

export interface PlanBinding {
  name: string;
  kind: string;
  /** plain_text: the text; secret_text: "[secret]"; json: the parsed value; others: their settings. */
  value: unknown;
}

export interface Plan {
  stack: string;
  project: string;
  /** Config keys still holding a sample value: a real preview or up stops and names them. */
  placeholders: Snapshot["placeholders"];
  bundle: { bytes: number; sha256: string } | null;
  outputs: Record<string, unknown>;
  policy: RuleResult[];
  audit: AuditSummary;
  bindings: PlanBinding[];
  resources: SnapshotResource[];
}

const WORKER = "cloudflare:index/workersScript:WorkersScript";

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

// Code-point order, not localeCompare: the same on every machine.
const byTypeThenName = (a: SnapshotResource, b: SnapshotResource) =>
  a.type < b.type ? -1 : a.type > b.type ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

function bindingValue(b: Record<string, unknown>): unknown {
  switch (b.type) {
    case "plain_text":
    case "secret_text":
      return b.text;
    case "json":
      try {
        return typeof b.json === "string" ? JSON.parse(b.json) : b.json;
      } catch {
        return b.json;
      }
    default: {
      const { name: _n, type: _t, ...rest } = b;
      return rest;
    }
  }
}

export function buildPlan(snapshot: Snapshot, now: Date, settings: PolicySettings = DEFAULT_SETTINGS): Plan {
  const resources = [...snapshot.resources].sort(byTypeThenName).map((r) => sortKeys(r) as SnapshotResource);
  const workers = resources.filter((r) => r.type === WORKER);
  const bindings = workers.flatMap((w) =>
    (Array.isArray(w.inputs.bindings) ? (w.inputs.bindings as Record<string, unknown>[]) : []).map((b) => ({
      name: String(b.name),
      kind: String(b.type),
      value: bindingValue(b),
    })),
  );
  const policy = evaluate(
    resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs, protect: r.protect })),
    { stack: snapshot.stack, settings, now },
  );
  const bundle = workers.map((w) => snapshot.bundles[w.name]).find((b) => b !== undefined) ?? null;
  return {
    stack: snapshot.stack,
    project: snapshot.project,
    placeholders: snapshot.placeholders,
    bundle,
    outputs: sortKeys(snapshot.outputs) as Record<string, unknown>,
    policy,
    audit: auditOf({ ...snapshot, resources }, { now }),
    bindings,
    resources,
  };
}

export function renderJson(plan: Plan): string {
  return `${JSON.stringify(sortKeys(plan), null, 2)}\n`;
}

// ---- Markdown ----

const code = (s: unknown) => `\`${String(s).replace(/`/g, "'")}\``;
const list = (items: string[], none = "none") => (items.length === 0 ? [`- ${none}`] : items.map((i) => `- ${i}`));
const seconds = (s: number | null | undefined) => {
  if (s === null || s === undefined) return "not set";
  if (s === 0) return "0 (off)";
  if (s % 86_400 === 0) return `${s / 86_400} d`;
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0 && s >= 60) return `${s / 60} min`;
  return `${s} s`;
};
const yes = (b: boolean | null) => (b === null ? "not set" : b ? "yes" : "no");

const usd = (n: number | null) => (n === null ? null : `$${n}`);

function limitsText(l: { dailyUsd: number | null; monthlyUsd: number | null }): string {
  const parts = [
    l.dailyUsd === null ? null : `${usd(l.dailyUsd)} per UTC day`,
    l.monthlyUsd === null ? null : `${usd(l.monthlyUsd)} per calendar month`,
  ];
  return parts.filter((p) => p !== null).join(", ") || "no limit (metered only)";
}

function spendMarkdown(s: AuditSummary["spend"]): string[] {
  if (!s)
    return [
      "- No budgets (no BUDGETS binding): the Worker does not meter or limit what clients spend; only the gateway's spend limits apply.",
    ];
  const out: string[] = [];
  const atLimit =
    s.action === "refuse"
      ? "refused with 429 `budget_exceeded`"
      : "let through and only reported (headers, ledger, `budget.over_limit` log)";
  out.push(`- At the limit a request is ${atLimit} (action ${code(s.action)}).`);
  for (const c of s.clients) {
    const from = c.from === "own" ? "own budget" : c.from === "default" ? "the default budget" : "no budget";
    out.push(`- Client ${code(c.client)}: ${limitsText(c)} (${from})`);
  }
  out.push(`- Default, for clients without their own: ${s.default ? limitsText(s.default) : "none (metered only)"}`);
  out.push("- Prices, USD per million tokens (input / output / cache read / cache write), for every routed model:");
  for (const p of s.prices) {
    out.push(
      p.price
        ? `  - ${code(p.target)}: ${p.price.inputPerMTok} / ${p.price.outputPerMTok} / ${p.price.cacheReadPerMTok} / ${p.price.cacheWritePerMTok}`
        : `  - ${code(p.target)}: **no price** (cannot be metered)`,
    );
  }
  if (s.unusedPrices.length > 0) out.push(`- Priced but not routed to: ${s.unusedPrices.map(code).join(", ")}`);
  out.push(
    `- Leases: ${Math.round(s.lease.share * 1000) / 10}% of what is left per grant, spent for ${seconds(s.lease.ttlSeconds)} and counted ${seconds(s.lease.graceSeconds)} longer; spend can pass a limit by at most ${s.overSpendPercent.map((o) => `${o.percent}% with ${o.isolates} isolates`).join(", ")} (docs/budgets.md).`,
  );
  out.push(
    s.ledger
      ? `- Ledger: Durable Object ${code(s.ledger.className)} (one per client, ${s.ledger.storage} storage, binding ${code(s.ledger.binding)}), created by the script's migration ${code(s.ledger.migrationTag ?? "none")}; the migration travels with the script upload, so it needs nothing beyond Workers Scripts: Edit.`
      : "- Ledger: **none bound** (BUDGET_LEDGER missing): the Worker cannot hold budgets.",
  );
  return out;
}

function auditMarkdown(a: AuditSummary): string[] {
  const out: string[] = [];
  out.push("### Who may call");
  out.push(
    a.callers.clientIds === null
      ? "- Client ids: none declared (no CLIENTS binding), so the Worker refuses every caller."
      : `- Client ids allowed (\`clients\` config, the CLIENTS binding): ${a.callers.clientIds.map(code).join(", ")}. Each presents a key; only its SHA-256 digest is deployed (secret \`clientKeys\`), and a digest for an id not listed here is refused.`,
  );
  out.push(`- Browser origins allowed (CORS): ${a.callers.corsOrigins.map(code).join(", ") || "none"}`);
  out.push(`- Public URLs: ${a.callers.publicUrls.map(code).join(", ") || "none"}`);
  out.push("- Provider keys and the gateway URL stay in the Worker; callers never see them.");

  out.push("", "### What is cached, and for how long");
  out.push(
    `- Gateway default cache TTL: ${seconds(a.cache.gatewayDefaultTtlSeconds)}; cleared when the gateway settings change: ${yes(a.cache.invalidateOnUpdate)}`,
  );
  for (const [surface, ttl] of Object.entries(a.cache.perSurfaceTtlSeconds)) out.push(`- ${code(surface)} responses: ${seconds(ttl)}`);

  out.push("", "### What is logged, and kept");
  const l = a.logging;
  out.push(
    `- Gateway request logs collected: ${yes(l.gatewayCollectsLogs)}; at most ${l.gatewayMaxStoredLogs ?? "default"} logs kept; when full: ${l.gatewayWhenFull ?? "not set"}`,
  );
  out.push(`- Gateway Logpush: ${yes(l.gatewayLogpush)}`);
  out.push(
    `- Worker logs (observability): ${yes(l.workerObservability.enabled)}${l.workerObservability.headSamplingRate === null ? "" : `, sampling ${Math.round(l.workerObservability.headSamplingRate * 1000) / 10}% of requests`}`,
  );

  out.push("", "### Rate limits, at each layer");
  const r = a.rateLimits;
  out.push(`- Per client (Worker): ${r.perClient ? `${r.perClient.limit} requests per ${seconds(r.perClient.periodSeconds)}` : "none"}`);
  out.push(
    `- Whole gateway: ${r.gateway ? `${r.gateway.limit} requests per ${seconds(r.gateway.intervalSeconds)} (${r.gateway.technique ?? "default"} window)` : "none"}`,
  );
  out.push(
    ...list(
      r.spendLimits.map((s) => `Gateway spend limit: $${s.limitUsd} per ${seconds(s.windowSeconds)} (${s.technique ?? "default"})`),
      "Gateway spend limit: none",
    ),
  );
  out.push(`- Largest request body: ${r.maxRequestBytes ?? "not set"} bytes`);

  out.push("", "### Models, fallback chain and A/B splits");
  for (const [provider, models] of Object.entries(a.routing.models))
    out.push(`- Allowed ${provider} models: ${models.map(code).join(", ") || "none"}`);
  out.push(`- /api/chat fallback chain (in order): ${a.routing.fallback.map(code).join(" → ") || "none"}`);
  out.push(
    ...list(
      a.routing.experiments.map(
        (e) => `A/B variant ${code(e.name)}: ${e.percent}% of clients (weight ${e.weight}) try ${code(e.target)} first`,
      ),
      "A/B split: none (every client uses the chain as declared)",
    ),
  );
  const rt = a.routing.retries;
  out.push(`- Gateway retries: ${rt.maxAttempts ?? "default"} attempt(s), ${rt.delayMs ?? 0} ms apart, ${rt.backoff ?? "default"} backoff`);
  if (a.routing.timeouts) out.push(`- Timeouts: ${a.routing.timeouts.attemptMs} ms per attempt, ${a.routing.timeouts.totalMs} ms in total`);
  if (a.routing.lifecycle.length > 0) {
    out.push("- Model lifecycle (end-of-life dates from the installed SDKs and `infra/model-lifecycle.ts`):");
    for (const m of a.routing.lifecycle) {
      const flag = isDead(m) ? " **(calls fail)**" : m.state === "unknown" ? " **(check the name)**" : "";
      out.push(`  - ${code(m.target)}: ${m.status}${flag}`);
    }
  }
  if (a.guardrails) {
    const g = (m: Record<string, string>) =>
      Object.entries(m)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ") || "none";
    out.push(`- Guardrails: prompts ${g(a.guardrails.prompt)}; responses ${g(a.guardrails.response)}`);
  }

  out.push("", "### Spend");
  out.push(...spendMarkdown(a.spend));

  out.push("", "### Alerts");
  out.push(
    ...list(
      a.alerts.computed.map(
        (x) =>
          `${x.kind} (${code(x.name)}): fires when ${x.threshold}, over ${x.window}; to ${x.destinations.join(", ") || "no destination"}`,
      ),
      "Computed alerts: none declared",
    ),
  );
  for (const s of a.alerts.schedules) out.push(`- Evaluated by the Worker on cron ${code(s.cron)}`);
  for (const n of a.alerts.native) {
    out.push(
      `- Cloudflare notification ${code(n.alertType)}${n.enabled ? "" : " (disabled)"}: to ${n.destinations.join(", ") || "no destination"}`,
    );
  }
  for (const p of a.alerts.problems) out.push(`- PROBLEM: ${p}`);
  out.push(`- Worker cron triggers: ${a.schedules.map(code).join(", ") || "none"}`);

  out.push("", "### API token permissions");
  out.push("The deploy token (`cloudflare:apiToken`, or `CLOUDFLARE_API_TOKEN`) needs, for what this stack declares:");
  out.push(...list(a.permissions.deployToken.map((p) => `${p.permission}, for ${p.for.join("; ")}`)));
  const g = a.permissions.gatewayToken;
  out.push(
    g.source === "mint"
      ? `The gateway token is minted by the program with: ${g.permissions.join(", ")} (so the deploy token needs Account API Tokens: Edit).`
      : `The gateway token is supplied (secret \`gatewayToken\`); create it with: ${g.permissions.join(", ")}.`,
  );
  const t = a.permissions.analyticsToken;
  if (t) {
    out.push(
      t.source === "mint"
        ? `The alerts' analytics token is minted by the program with: ${t.permissions.join(", ")}.`
        : `The alerts' analytics token is supplied (secret \`alertsAnalyticsToken\`); create it with: ${t.permissions.join(", ")}.`,
    );
  }
  out.push("", "### Secrets (names only)");
  out.push(...list(a.secrets));
  return out;
}

const resultWord = (r: RuleResult) => (r.passed ? "pass" : r.enforcement === "advisory" ? "**warn**" : "**FAIL**");

function policyMarkdown(results: RuleResult[]): string[] {
  const out = ["| rule | result | what it requires |", "|---|---|---|"];
  for (const r of results)
    out.push(`| ${code(r.rule)} | ${resultWord(r)} | ${r.enforcement === "advisory" ? "(advisory) " : ""}${r.description} |`);
  for (const r of results.filter((x) => !x.passed)) {
    out.push("", `${code(r.rule)} ${r.enforcement === "advisory" ? "warnings" : "violations"}:`);
    out.push(...r.violations.map((v) => `- ${v.message}`));
  }
  return out;
}

/** The rules that do not pass: the mandatory ones fail the plan, the advisory ones warn. */
export function policyCounts(results: readonly RuleResult[]): { failed: string[]; warned: string[] } {
  const names = (enforcement: RuleResult["enforcement"]) =>
    results.filter((r) => !r.passed && r.enforcement === enforcement).map((r) => r.rule);
  return { failed: names("mandatory"), warned: names("advisory") };
}

/** One line: every rule passes, or how many mandatory rules fail and advisory rules warn. */
export function policySummary(results: RuleResult[]): string {
  const { failed, warned } = policyCounts(results);
  if (failed.length === 0 && warned.length === 0) return `All ${results.length} rules of the policy pack pass.`;
  const parts = [failed.length > 0 ? `**${failed.length} of ${results.length} rules fail.**` : `No mandatory rule fails.`];
  const w = warned.length;
  if (w > 0) parts.push(`**${w} advisory rule${w === 1 ? "" : "s"} warn${w === 1 ? "s" : ""}.**`);
  return parts.join(" ");
}

function bindingValueMarkdown(b: PlanBinding): string {
  if (b.kind === "json") return "(json, shown under the Worker resource below)";
  if (typeof b.value === "string") return code(b.value);
  return code(JSON.stringify(b.value));
}

const FIRST = ["name", "type"];
/** Key order for people: a binding reads `name`, `type`, then the rest alphabetically. */
function nameAndTypeFirst(a: string, b: string): number {
  const ra = FIRST.indexOf(a);
  const rb = FIRST.indexOf(b);
  if (ra !== -1 || rb !== -1) return (ra === -1 ? FIRST.length : ra) - (rb === -1 ? FIRST.length : rb);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** For people: json binding values parsed, so a one-field change is a one-line diff. */
function readableInputs(r: SnapshotResource): Record<string, unknown> {
  if (r.type !== WORKER || !Array.isArray(r.inputs.bindings)) return r.inputs;
  const bindings = (r.inputs.bindings as Record<string, unknown>[]).map((b) =>
    b.type === "json" && typeof b.json === "string" ? { ...b, json: bindingValue(b) } : b,
  );
  return { ...r.inputs, bindings };
}

export function renderMarkdown(plan: Plan): string {
  const out: string[] = [];
  out.push(`# Plan: stack ${code(plan.stack)} of ${code(plan.project)}`);
  out.push("");
  out.push(
    `Generated by \`npm run plan\` from \`Pulumi.yaml\` and \`Pulumi.${plan.stack}.yaml\`: the real program run under the Pulumi SDK's mock runtime (no account, no CLI). Secrets appear as \`[secret]\`; encrypted config is never decrypted. Do not edit: CI fails when this file differs from a fresh run. The same data for tools: \`plans/${plan.stack}.json\`.`,
  );
  out.push("");
  out.push(`Worker bundle: ${plan.bundle ? `sha256 ${code(plan.bundle.sha256)}, ${plan.bundle.bytes} bytes` : "none"}`);
  out.push("");
  out.push("Stack outputs:");
  out.push(...Object.entries(plan.outputs).map(([k, v]) => `- ${k}: ${code(typeof v === "string" ? v : JSON.stringify(v))}`));
  out.push("", "## Placeholders to replace before deploying", "");
  if (plan.placeholders.length === 0) {
    out.push("None: no config value is a sample placeholder.");
  } else {
    out.push(
      `This stack is a runnable sample: ${plan.placeholders.length} config value${plan.placeholders.length === 1 ? " is a placeholder" : "s are placeholders"}. A real \`pulumi preview\` or \`pulumi up\` stops before declaring anything and names ${plan.placeholders.length === 1 ? "it" : "them all"}; set each with \`pulumi config set [--path] <key> <value> --stack ${plan.stack}\`.`,
      "",
      "| key | sample value | why it cannot be deployed |",
      "|---|---|---|",
      ...plan.placeholders.map((p) => `| ${code(p.key)} | ${code(p.value)} | ${p.why} |`),
    );
  }
  out.push("", "## Policy", "");
  out.push(policySummary(plan.policy), "");
  out.push(...policyMarkdown(plan.policy));
  out.push("", "## Audit summary", "");
  out.push(...auditMarkdown(plan.audit));
  out.push("", "## Worker bindings", "", "| name | kind | value |", "|---|---|---|");
  out.push(...plan.bindings.map((b) => `| ${b.name} | ${b.kind} | ${bindingValueMarkdown(b)} |`));
  out.push("", "## Resources", "");
  out.push(`${plan.resources.length} resources (components group others; only custom resources exist in Cloudflare).`);
  for (const r of plan.resources) {
    out.push("", `### ${code(r.type)} ${r.name}`, "");
    out.push(`${r.custom ? "custom resource" : "component"} · protect: ${r.protect}${r.parent ? ` · parent: ${code(r.parent)}` : ""}`);
    const inputs = readableInputs(r);
    if (Object.keys(inputs).length > 0) {
      out.push("", "```yaml", yaml.dump(inputs, { lineWidth: -1, noRefs: true, sortKeys: nameAndTypeFirst }).trimEnd(), "```");
    }
  }
  return `${out.join("\n")}\n`;
}
