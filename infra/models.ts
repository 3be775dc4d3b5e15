/**
 * Model lifecycle: whether a model a stack routes to still answers. End-of-life dates come from the installed SDKs'
 * own tables, read from their files at run time so an SDK upgrade brings new dates in without a code change
 * (Anthropic's DEPRECATED_MODELS, OpenAI's "Announced shutdown date" notes on its ChatModel type), plus the dated
 * table in infra/model-lifecycle.ts for what no SDK ships (Workers AI). The plan, the policy pack and the tests all
 * ask `modelStatus`; nothing here reads the clock.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import type { Routing } from "../worker/src/contract";
import { LIFECYCLE_TABLE, type LifecycleEntry } from "./model-lifecycle";
import { routedModelsOf } from "./stack-schema";

export type ModelProvider = LifecycleEntry["provider"];

export interface CatalogEntry {
  /** YYYY-MM-DD, the first day the model no longer answers. */
  endOfLife?: string;
  /** The SDK says the id is not a model at all ("Not a supported model ID"). */
  unsupported?: boolean;
  note?: string;
  source: string;
}

export interface ModelCatalog {
  /** What is known about one model: a dated entry, a known id with no date, or undefined. */
  lookup(provider: string, model: string): CatalogEntry | undefined;
  /** Where the catalog's data came from, for plans ("@anthropic-ai/sdk 1.14.0", ...). */
  sources: string[];
}

export type ModelStatus =
  | { state: "live"; source: string }
  | { state: "retiring"; on: string; inDays: number; source: string; note?: string }
  | { state: "retired"; since: string; source: string; note?: string }
  | { state: "unsupported"; source: string; note?: string }
  | { state: "unknown" };

const MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];

/** "June 30th, 2026" or "2026-06-30" -> "2026-06-30"; undefined when it is neither. */
export function isoDate(text: string): string | undefined {
  const t = text.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) return t;
  const m = /^([A-Za-z]+)\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$/.exec(t);
  const month = m ? MONTHS.indexOf(m[1]!.toLowerCase()) : -1;
  if (!m || month < 0) return undefined;
  return `${m[3]}-${String(month + 1).padStart(2, "0")}-${m[2]!.padStart(2, "0")}`;
}

/** Anthropic's `DEPRECATED_MODELS` (model -> end-of-life date in words) from the text of deprecated-models.js. */
export function parseAnthropicDeprecations(text: string): Map<string, string> {
  const body = /DEPRECATED_MODELS\s*=\s*\{([\s\S]*?)\}/.exec(text)?.[1];
  if (body === undefined) throw new Error("no DEPRECATED_MODELS object in the Anthropic SDK's deprecated-models file");
  const out = new Map<string, string>();
  for (const m of body.matchAll(/['"]([^'"]+)['"]\s*:\s*['"]([^'"]+)['"]/g)) {
    const date = isoDate(m[2]!);
    if (!date) throw new Error(`Anthropic SDK: cannot read the end-of-life date "${m[2]}" of ${m[1]}`);
    out.set(m[1]!, date);
  }
  return out;
}

/** The quoted members of `export type <name> = 'a' | 'b' | ...;` in a .d.ts text. */
export function unionMembers(text: string, typeName: string): string[] {
  const decl = new RegExp(`export type ${typeName} = ([^;]*);`).exec(text)?.[1];
  if (decl === undefined) return [];
  return [...decl.matchAll(/'([^']+)'|"([^"]+)"/g)].map((m) => m[1] ?? m[2]!);
}

/**
 * OpenAI's deprecation notes in resources/shared.d.ts: doc-comment bullets such as
 * `- "gpt-5", "gpt-5-mini": Announced shutdown date: 2026-12-11. See …`, possibly wrapped over lines.
 */
export function parseOpenAiDeprecations(text: string): Map<string, Omit<CatalogEntry, "source">> {
  const out = new Map<string, Omit<CatalogEntry, "source">>();
  for (const block of text.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
    const lines = block[1]!.split("\n").map((l) => l.replace(/^\s*\*\s?/, ""));
    if (!lines.some((l) => /^Deprecated values:/.test(l.trim()))) continue;
    const bullets = lines
      .join("\n")
      .split(/\n-\s+/)
      .slice(1);
    for (const raw of bullets) {
      const bullet = raw.replace(/\s+/g, " ").trim();
      const head = /^((?:"[^"]+"(?:,\s*)?)+):\s*(.*)$/.exec(bullet);
      if (!head) continue;
      const names = [...head[1]!.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
      const rest = head[2]!;
      const date = /Announced shutdown date:\s*(\d{4}-\d{2}-\d{2})/.exec(rest)?.[1];
      const entry: Omit<CatalogEntry, "source"> = date
        ? { endOfLife: date }
        : { unsupported: /not a supported model/i.test(rest), note: rest.replace(/\s*See https?:\S+.*$/, "") };
      for (const n of names) out.set(n, entry);
    }
  }
  return out;
}

/** The directory of an installed package, found the way Node resolves it from `from`. */
function packageDir(name: string, from: string): { dir: string; version: string } {
  const req = createRequire(path.join(from, "noop.js"));
  let dir = path.dirname(req.resolve(name));
  for (;;) {
    const pj = path.join(dir, "package.json");
    if (existsSync(pj)) {
      const doc = JSON.parse(readFileSync(pj, "utf8")) as { name?: string; version?: string };
      if (doc.name === name) return { dir, version: doc.version ?? "?" };
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the package directory of ${name}`);
    dir = up;
  }
}

function readIn(pkg: { dir: string }, file: string, name: string): string {
  const at = path.join(pkg.dir, file);
  if (!existsSync(at)) throw new Error(`the installed ${name} has no ${file}; infra/models.ts reads its model lifecycle from there`);
  return readFileSync(at, "utf8");
}

/** The catalog from the SDK files and the repo table, as plain data (tests build one from given texts). */
export function buildCatalog(input: {
  anthropic: { deprecations: string; models: string; source: string };
  openai: { shared: string; source: string };
  table?: readonly LifecycleEntry[];
}): ModelCatalog {
  const byProvider: Record<string, Map<string, CatalogEntry>> = { anthropic: new Map(), openai: new Map(), "workers-ai": new Map() };
  for (const m of unionMembers(input.anthropic.models, "Model")) byProvider.anthropic!.set(m, { source: input.anthropic.source });
  for (const [m, date] of parseAnthropicDeprecations(input.anthropic.deprecations)) {
    byProvider.anthropic!.set(m, { endOfLife: date, source: `${input.anthropic.source} DEPRECATED_MODELS` });
  }
  for (const m of [...unionMembers(input.openai.shared, "ChatModel"), ...unionMembers(input.openai.shared, "AllModels")]) {
    byProvider.openai!.set(m, { source: input.openai.source });
  }
  for (const [m, e] of parseOpenAiDeprecations(input.openai.shared)) {
    byProvider.openai!.set(m, { ...e, source: `${input.openai.source} deprecation notes` });
  }
  for (const e of input.table ?? LIFECYCLE_TABLE) {
    byProvider[e.provider]!.set(e.model, {
      ...(e.endOfLife ? { endOfLife: e.endOfLife } : {}),
      ...(e.note ? { note: e.note } : {}),
      source: e.source,
    });
  }
  return {
    lookup: (provider, model) => byProvider[provider]?.get(model),
    sources: [input.anthropic.source, input.openai.source, "infra/model-lifecycle.ts"],
  };
}

const catalogs = new Map<string, ModelCatalog>();

/**
 * The catalog of the SDKs installed where Node resolves them from `from` (default: the working directory), read once
 * per process. Throws, naming the file, when an SDK no longer ships what this reads: a silent "unknown" would hide
 * every retirement.
 */
export function installedCatalog(from = process.cwd()): ModelCatalog {
  const key = path.resolve(from);
  const cached = catalogs.get(key);
  if (cached) return cached;
  const anthropic = packageDir("@anthropic-ai/sdk", key);
  const openai = packageDir("openai", key);
  const catalog = buildCatalog({
    anthropic: {
      deprecations: readIn(anthropic, "internal/data/deprecated-models.js", "@anthropic-ai/sdk"),
      models: readIn(anthropic, "resources/messages/messages.d.ts", "@anthropic-ai/sdk"),
      source: `@anthropic-ai/sdk ${anthropic.version}`,
    },
    openai: { shared: readIn(openai, "resources/shared.d.ts", "openai"), source: `openai ${openai.version}` },
  });
  catalogs.set(key, catalog);
  return catalog;
}

const DAY_MS = 86_400_000;
const utcDay = (d: Date) => Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());

export function modelStatus(catalog: ModelCatalog, provider: string, model: string, now: Date): ModelStatus {
  const e = catalog.lookup(provider, model);
  if (!e) return { state: "unknown" };
  const note = e.note ? { note: e.note } : {};
  if (e.unsupported) return { state: "unsupported", source: e.source, ...note };
  if (!e.endOfLife) return { state: "live", source: e.source };
  const inDays = Math.round((Date.parse(`${e.endOfLife}T00:00:00Z`) - utcDay(now)) / DAY_MS);
  return inDays <= 0
    ? { state: "retired", since: e.endOfLife, source: e.source, ...note }
    : { state: "retiring", on: e.endOfLife, inDays, source: e.source, ...note };
}

/**
 * One line for people: "live", "retiring on 2026-12-11 (in 10 days)", "retired since 2026-05-30", "unknown".
 * `{ days: false }` leaves out the countdown, for text that must not change from one day to the next (plans).
 */
export function describeStatus(s: ModelStatus, opts: { days?: boolean } = {}): string {
  const note = "note" in s && s.note ? `; ${s.note}` : "";
  switch (s.state) {
    case "live":
      return "live";
    case "retiring":
      return `retiring on ${s.on}${opts.days === false ? "" : ` (in ${s.inDays} day${s.inDays === 1 ? "" : "s"})`}${note}`;
    case "retired":
      return `retired since ${s.since}${note}`;
    case "unsupported":
      return `not a supported model id${note ? ` (${s.note})` : ""}`;
    case "unknown":
      return "unknown (in no installed SDK's model list nor infra/model-lifecycle.ts)";
  }
}

export interface RoutedModel {
  provider: string;
  model: string;
  status: ModelStatus;
}

/**
 * Every model a ROUTING value lets traffic reach (`routedModelsOf`: the per-provider allow-lists, which the fallback
 * chain and the A/B targets must be drawn from), each once with its status, in that order.
 */
export function routedModels(routing: Routing, catalog: ModelCatalog, now: Date): RoutedModel[] {
  const seen = new Set<string>();
  const out: RoutedModel[] = [];
  for (const { provider, model } of routedModelsOf(routing)) {
    const k = `${provider}\n${model}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ provider, model, status: modelStatus(catalog, provider, model, now) });
  }
  return out;
}

/** Past its end of life, or not a model: a call fails. Reads only the state (the plan keeps that alone). */
export const isDead = (s: { readonly state: string }): boolean => s.state === "retired" || s.state === "unsupported";
/** Retiring within `days`. */
export const isRetiringWithin = (s: ModelStatus, days: number): boolean => s.state === "retiring" && s.inDays <= days;
