/**
 * The ROUTING binding: which models each surface may use, the /api/chat fallback chain and A/B split, cache TTLs,
 * limits, timeouts and CORS. Infra validates the stack's config with the same parser before declaring anything,
 * and the Worker parses the binding once per isolate; both report the bad field by its path.
 */

export const PROVIDERS = ["anthropic", "openai", "workers-ai"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export interface Target {
  provider: ProviderName;
  model: string;
}

export interface Experiment {
  /** Variant name, reported as x-ai-variant and in gateway metadata. */
  name: string;
  /** Relative weight; a client lands in a variant with probability weight / sum(weights). */
  weight: number;
  /** Tried first for clients in this variant; the fallback chain follows. */
  target: Target;
}

export interface Routing {
  /** Models a client may name, per provider surface (/v1/messages: anthropic, /v1/chat/completions: openai). */
  models: Record<ProviderName, string[]>;
  chat: {
    /** Ordered providers for /api/chat; tried in turn on 429, 5xx, timeout or a stream that fails before its first token. */
    fallback: Target[];
    /** Sticky A/B split per client. Empty: every client is in variant "default" and uses the chain as declared. */
    experiments: Experiment[];
    /** max_tokens sent upstream for /api/chat. */
    maxTokens: number;
  };
  /** Gateway cache TTL in seconds per surface; 0 = do not cache. */
  cacheTtl: { messages: number; chatCompletions: number; chat: number };
  limits: { maxRequestBytes: number };
  timeouts: { attemptMs: number; totalMs: number };
  cors: { allowOrigins: string[] };
}

export class RoutingError extends Error {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`ROUTING.${path} ${problem}`);
    this.name = "RoutingError";
  }
}

const MAX_CACHE_TTL = 2_592_000; // one month, the gateway's maximum

type Json = unknown;

function obj(v: Json, path: string): Record<string, Json> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new RoutingError(path, "must be an object");
  return v as Record<string, Json>;
}

function known(o: Record<string, Json>, path: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw new RoutingError(path ? `${path}.${k}` : k, `is not a known field (expected one of: ${keys.join(", ")})`);
  }
}

function int(v: Json, path: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new RoutingError(path, `must be a whole number from ${min} to ${max}`);
  }
  return v;
}

function str(v: Json, path: string): string {
  if (typeof v !== "string" || v.trim() === "") throw new RoutingError(path, "must be a non-empty string");
  return v;
}

function arr(v: Json, path: string): Json[] {
  if (!Array.isArray(v)) throw new RoutingError(path, "must be a list");
  return v;
}

function provider(v: Json, path: string): ProviderName {
  if (!PROVIDERS.includes(v as ProviderName)) throw new RoutingError(path, `must be one of: ${PROVIDERS.join(", ")}`);
  return v as ProviderName;
}

function target(v: Json, path: string, models: Routing["models"]): Target {
  const o = obj(v, path);
  known(o, path, ["provider", "model"]);
  const p = provider(o.provider, `${path}.provider`);
  const model = str(o.model, `${path}.model`);
  if (!models[p].includes(model)) throw new RoutingError(`${path}.model`, `"${model}" is not listed in models.${p}`);
  return { provider: p, model };
}

function origin(v: Json, path: string): string {
  const s = str(v, path);
  if (s === "*") return s;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new RoutingError(path, `"${s}" is not an origin like https://app.example.com`);
  }
  if (u.origin !== s || (u.protocol !== "https:" && u.protocol !== "http:")) {
    throw new RoutingError(path, `"${s}" is not an origin like https://app.example.com (scheme and host, no path)`);
  }
  return s;
}

/** Validates a ROUTING value; throws RoutingError naming the first bad field. */
export function parseRouting(input: Json): Routing {
  const root = obj(input, "(root)");
  known(root, "", ["models", "chat", "cacheTtl", "limits", "timeouts", "cors"]);

  const m = obj(root.models, "models");
  known(m, "models", PROVIDERS);
  const models = {} as Routing["models"];
  for (const p of PROVIDERS) {
    const list = arr(m[p] ?? [], `models.${p}`).map((x, i) => str(x, `models.${p}[${i}]`));
    if (new Set(list).size !== list.length) throw new RoutingError(`models.${p}`, "lists a model twice");
    models[p] = list;
  }

  const c = obj(root.chat, "chat");
  known(c, "chat", ["fallback", "experiments", "maxTokens"]);
  const fallback = arr(c.fallback, "chat.fallback").map((t, i) => target(t, `chat.fallback[${i}]`, models));
  if (fallback.length === 0) throw new RoutingError("chat.fallback", "must name at least one provider");
  const experiments = arr(c.experiments ?? [], "chat.experiments").map((e, i): Experiment => {
    const path = `chat.experiments[${i}]`;
    const o = obj(e, path);
    known(o, path, ["name", "weight", "target"]);
    const name = str(o.name, `${path}.name`);
    if (!/^[A-Za-z0-9_.-]{1,40}$/.test(name)) throw new RoutingError(`${path}.name`, "must be 1-40 letters, digits, '_', '.' or '-'");
    return { name, weight: int(o.weight, `${path}.weight`, 0, 1_000_000), target: target(o.target, `${path}.target`, models) };
  });
  const names = experiments.map((e) => e.name);
  if (new Set(names).size !== names.length) throw new RoutingError("chat.experiments", "names a variant twice");
  if (experiments.length > 0 && experiments.every((e) => e.weight === 0)) {
    throw new RoutingError("chat.experiments", "must give at least one variant a weight above 0");
  }
  const maxTokens = int(c.maxTokens ?? 1024, "chat.maxTokens", 1, 200_000);

  const t = obj(root.cacheTtl, "cacheTtl");
  known(t, "cacheTtl", ["messages", "chatCompletions", "chat"]);
  const cacheTtl = {
    messages: int(t.messages, "cacheTtl.messages", 0, MAX_CACHE_TTL),
    chatCompletions: int(t.chatCompletions, "cacheTtl.chatCompletions", 0, MAX_CACHE_TTL),
    chat: int(t.chat, "cacheTtl.chat", 0, MAX_CACHE_TTL),
  };

  const l = obj(root.limits, "limits");
  known(l, "limits", ["maxRequestBytes"]);
  const limits = { maxRequestBytes: int(l.maxRequestBytes, "limits.maxRequestBytes", 1024, 100 * 1024 * 1024) };

  const to = obj(root.timeouts, "timeouts");
  known(to, "timeouts", ["attemptMs", "totalMs"]);
  const timeouts = {
    attemptMs: int(to.attemptMs, "timeouts.attemptMs", 100, 600_000),
    totalMs: int(to.totalMs, "timeouts.totalMs", 100, 900_000),
  };
  if (timeouts.totalMs < timeouts.attemptMs) throw new RoutingError("timeouts.totalMs", "must be at least timeouts.attemptMs");

  const co = obj(root.cors ?? { allowOrigins: [] }, "cors");
  known(co, "cors", ["allowOrigins"]);
  const cors = { allowOrigins: arr(co.allowOrigins ?? [], "cors.allowOrigins").map((o, i) => origin(o, `cors.allowOrigins[${i}]`)) };

  return { models, chat: { fallback, experiments, maxTokens }, cacheTtl, limits, timeouts, cors };
}
