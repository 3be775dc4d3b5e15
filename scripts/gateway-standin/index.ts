/**
 * A local stand-in for Cloudflare AI Gateway and the providers behind it, on 127.0.0.1, for `npm start`, the
 * end-to-end tests and the benchmarks. It speaks the gateway's URL scheme and headers (authentication, cache,
 * metadata, a gateway-wide rate limit), answers as each provider does (./providers.ts), can be told to misbehave per
 * provider, and records what reached it. Faults, records and the rate limit can be driven from code (the object
 * `startStandin` returns) or over HTTP under /__standin/ so a separately running Worker's tests can use it too.
 *
 * Where the live platform answers differently from a plain provider, the stand-in can too: the gateway's own errors
 * in Cloudflare's envelope (rate limit, spend limit, Guardrails), models past their end of life (read from
 * infra/models.ts, so a retired model answers retired without being told), and response Guardrails turning a
 * stream into one JSON body.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { installedCatalog, isDead, type ModelCatalog, modelStatus } from "../../infra/models";
import {
  answer,
  anthropicJson,
  anthropicStream,
  openaiJson,
  openaiStream,
  PROVIDER_NAMES,
  type Provider,
  providerError,
  retiredModelError,
  type StreamParts,
  workersAiJson,
  workersAiStream,
} from "./providers";

export { answerText, PROVIDER_NAMES, type Provider, tokens, toolArguments } from "./providers";

/** How a provider misbehaves. Fields combine: latency first, then the first of drop / status / malformed / cut. */
export interface Fault {
  /** Answer this HTTP status with the provider's own error body (a 429 also carries retry-after). */
  status?: number;
  /** Wait this long before answering at all. */
  latencyMs?: number;
  /** Streams: send the response head, then drop the connection before (or just after) the first content token. */
  cut?: "before-first-token" | "after-first-token";
  /** Answer 200 with a body that is not valid JSON (or not valid SSE JSON for streams). */
  malformed?: boolean;
  /** Drop the connection without answering. */
  drop?: boolean;
  /** Only requests whose body contains this text are affected (lets parallel tests share one stand-in). */
  match?: string;
  /** Affect only the next N matching requests, then clear itself. Default: until cleared. */
  times?: number;
  /** Answer as this provider does for a model past its end of life (Workers AI 400 code 5028, OpenAI and Anthropic 404). */
  retired?: boolean;
}

/**
 * The gateway's own refusals, answered in Cloudflare's envelope before (or, for a blocked response, instead of) the
 * provider's answer. Codes and statuses:
 * - "rate-limit": 429, the gateway-wide rate limit (code 2003, with retry-after), whatever the provider;
 * - "spend-limit": 429, a spend limit rule is over budget (code 2025; its message names the rule's scope);
 * - "prompt-blocked" / "response-blocked": 424, Guardrails blocked the prompt (code 2016) or the response (2017);
 * - "guardrails-credits": 402, the Guardrails scanner needs more credits (code 2021);
 * - "guardrails-unavailable": 503, the Guardrails scanner is unavailable and a rule blocks (code 7013).
 * Guardrails codes: https://developers.cloudflare.com/ai-gateway/features/guardrails/set-up-guardrail/ (error
 * handling); both limits answer 429 (features/rate-limiting, features/spend-limits), which publish no code.
 */
export const GATEWAY_FAULT_KINDS = [
  "rate-limit",
  "spend-limit",
  "prompt-blocked",
  "response-blocked",
  "guardrails-credits",
  "guardrails-unavailable",
] as const;
export type GatewayFaultKind = (typeof GATEWAY_FAULT_KINDS)[number];

export interface GatewayFault {
  kind: GatewayFaultKind;
  /** Only requests to this provider: a spend limit scoped to a provider, or any kind aimed at one. */
  provider?: Provider;
  /** Only requests for this model (a spend limit scoped to a model). */
  model?: string;
  /** Only requests whose body contains this text. */
  match?: string;
  /** Affect only the next N matching requests, then clear itself. Default: until cleared. */
  times?: number;
}

/** Each gateway refusal's HTTP status, code and message, as the gateway sends them. */
export const GATEWAY_REFUSALS: Record<GatewayFaultKind, { status: number; code: number; message: string }> = {
  "rate-limit": { status: 429, code: 2003, message: "Rate limited: this gateway's rate limit is exceeded" },
  "spend-limit": { status: 429, code: 2025, message: "Spend limit exceeded" },
  "prompt-blocked": { status: 424, code: 2016, message: "Prompt blocked due to security configurations" },
  "response-blocked": { status: 424, code: 2017, message: "Response blocked due to security configurations" },
  "guardrails-credits": { status: 402, code: 2021, message: "Guardrails scanner needs more credits" },
  "guardrails-unavailable": { status: 503, code: 7013, message: "Guardrails scanner unavailable" },
};

/** How the stand-in's gateway is set up beyond faults; each field changes one behaviour. */
export interface GatewayMode {
  /**
   * Response Guardrails on: a `stream: true` request is buffered and answered as one non-streamed JSON body, as the
   * live gateway does (https://developers.cloudflare.com/ai-gateway/features/guardrails/usage-considerations/,
   * "Streaming behavior"). Default false.
   */
  responseGuardrails?: boolean;
  /**
   * Models past their end of life (infra/models.ts: the installed SDKs' dates and infra/model-lifecycle.ts) answer
   * as their provider does for a retired model. Default true.
   */
  retireModels?: boolean;
}

export interface RateLimit {
  limit: number;
  windowMs: number;
}

export interface StandinOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** When set, every gateway call must carry `cf-aig-authorization: Bearer <token>`. */
  token?: string;
  /** Gateway-wide fixed-window limit over all gateway calls; over it → 429. */
  rateLimit?: RateLimit | null;
  /** When set for a provider, its calls must carry this key (Authorization: Bearer, or x-api-key for anthropic). */
  providerKeys?: Partial<Record<Provider, string>>;
  /** Gateway-level cache TTL in seconds when a request sends no cf-aig-cache-ttl. Default 0: cache only on request. */
  cacheTtl?: number;
  /** How many requests to keep for records(); oldest dropped first. 0 turns recording off (benchmarks). Default 1000. */
  recordLimit?: number;
  /** Delay between streamed tokens, ms. Default 0. */
  tokenDelayMs?: number;
  /** Initial mode; see GatewayMode. */
  mode?: GatewayMode;
  /** The date retirements are measured against. Default: the clock. */
  now?: () => Date;
  /** Model lifecycle data. Default: the installed SDKs' and the repo table's (infra/models.ts). */
  models?: ModelCatalog;
}

export interface StandinRecord {
  seq: number;
  method: string;
  /** Full request path, /v1/{account}/{gateway}/{provider}/… */
  path: string;
  account: string;
  gateway: string;
  provider: Provider;
  /** The path after the provider segment, e.g. /v1/messages. */
  endpoint: string;
  headers: Record<string, string>;
  body: string;
  /** Status sent, 0 when the connection was dropped or cut before a status. */
  status: number;
  cache: "HIT" | "MISS" | null;
  /** Which fault acted on this request, if any ("retired" also when the model's end of life has passed). */
  fault: keyof Fault | GatewayFaultKind | "response-guardrails" | null;
}

export interface Standin {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** What the Worker's AI_GATEWAY_BASE_URL should be: `${url}/v1`. */
  baseUrl: string;
  setFault(provider: Provider, fault: Fault | null): void;
  /** Replaces the gateway's own refusals (rate limit, spend limit, Guardrails); [] clears them. */
  setGatewayFaults(faults: GatewayFault[]): void;
  /** Clears provider faults and gateway faults. */
  clearFaults(): void;
  /** Changes the given mode fields; the others keep their value. */
  setMode(mode: GatewayMode): void;
  setRateLimit(rateLimit: RateLimit | null): void;
  records(): StandinRecord[];
  clearRecords(): void;
  /** Gateway calls since start, and how many the cache answered: counted even when recording is off. */
  counters(): StandinCounters;
  clearCache(): void;
  close(): Promise<void>;
}

/** Read-only running totals (GET /__standin/counters): callers compare two readings rather than reset them. */
export interface StandinCounters {
  /** Every gateway call that reached the stand-in, whatever it answered. */
  calls: number;
  /** Calls answered from the stand-in's cache. */
  hits: number;
  /** Cacheable or not, calls that went on to the provider. */
  misses: number;
}

const GATEWAY_PATH = /^\/v1\/([^/]+)\/([^/]+)\/(anthropic|openai|workers-ai)(\/[^?]*)?(?:\?.*)?$/;
const MAX_BODY_BYTES = 32 * 1024 * 1024;
const MAX_CACHE_TTL = 2_592_000;

interface CacheEntry {
  status: number;
  contentType: string;
  body: string;
  expires: number;
}

/**
 * The gateway's own error body (not a provider's), as the live gateway sends it: the internal code both in the nested
 * `error` list and as `internalCode`, under `name: "AiGatewayError"`
 * (https://developers.cloudflare.com/ai-gateway/features/guardrails/set-up-guardrail/, error handling).
 */
export function gatewayError(status: number, code: number, message: string): string {
  return JSON.stringify({
    success: false,
    result: [],
    messages: [],
    error: [{ code, message }],
    name: "AiGatewayError",
    httpCode: status,
    internalCode: code,
  });
}

/**
 * cf-aig-metadata must be a JSON object of at most 5 entries with string, number or boolean values, keys not
 * starting with "cf.". The real gateway silently drops extras and ignores a malformed header; the stand-in rejects
 * them on purpose, so a Worker bug that would lose metadata in production fails loudly here.
 */
export function metadataProblem(raw: string): string | null {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return "cf-aig-metadata is not valid JSON";
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "cf-aig-metadata must be a JSON object";
  const entries = Object.entries(v);
  if (entries.length > 5) return `cf-aig-metadata has ${entries.length} entries; at most 5 are kept`;
  for (const [k, val] of entries) {
    if (k.startsWith("cf.")) return `cf-aig-metadata key "${k}" uses the reserved "cf." prefix`;
    if (!["string", "number", "boolean"].includes(typeof val)) {
      return `cf-aig-metadata value of "${k}" must be a string, number or boolean`;
    }
  }
  return null;
}

function headerRecord(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("body too large"));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function sendJson(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Writes a piece and resolves once it is handed to the socket, so a following destroy does not swallow it. */
function writeFlushed(res: ServerResponse, piece: string): Promise<void> {
  return new Promise((resolve) => res.write(piece, () => resolve()));
}

async function cutAfter(res: ServerResponse, pieces: string[]): Promise<void> {
  for (const p of pieces) await writeFlushed(res, p);
  // A short pause lets the written bytes leave before the reset, as when a provider's connection dies mid-stream.
  await sleep(20);
  res.socket?.destroy();
}

/** A request body as a JSON object; undefined when it is not one (the checks after the gateway's refuse it). */
function jsonObject(body: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(body);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The model a gateway call names, read without judging the body (the checks after this do that). */
function requestedModel(provider: Provider, endpoint: string, parsed: Record<string, unknown> | undefined): string | undefined {
  if (provider === "workers-ai" && endpoint.startsWith("/@cf/")) return endpoint.slice(1);
  return typeof parsed?.model === "string" ? parsed.model : undefined;
}

export async function startStandin(options: StandinOptions = {}): Promise<Standin> {
  const host = options.host ?? "127.0.0.1";
  const token = options.token;
  const providerKeys = options.providerKeys ?? {};
  const defaultTtl = options.cacheTtl ?? 0;
  const recordLimit = options.recordLimit ?? 1000;
  const tokenDelayMs = options.tokenDelayMs ?? 0;
  let rateLimit = options.rateLimit ?? null;
  let gatewayFaults: GatewayFault[] = [];
  const mode: Required<GatewayMode> = { responseGuardrails: false, retireModels: true, ...checkMode(options.mode ?? {}) };
  const now = options.now ?? (() => new Date());
  let catalog = options.models;
  const lifecycle = () => (catalog ??= installedCatalog());
  let window = { start: 0, count: 0 };
  const faults = new Map<Provider, Fault>();
  const cache = new Map<string, CacheEntry>();
  let records: StandinRecord[] = [];
  let seq = 0;
  const counters: StandinCounters = { calls: 0, hits: 0, misses: 0 };

  function takeFault(provider: Provider, body: string): Fault | undefined {
    const f = faults.get(provider);
    if (!f || (f.match !== undefined && !body.includes(f.match))) return undefined;
    if (f.times !== undefined) {
      f.times -= 1;
      if (f.times <= 0) faults.delete(provider);
    }
    return f;
  }

  function checkFault(v: unknown): Fault {
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("fault must be an object");
    const f = v as Record<string, unknown>;
    const known = ["status", "latencyMs", "cut", "malformed", "drop", "match", "times", "retired"];
    for (const k of Object.keys(f)) if (!known.includes(k)) throw new Error(`unknown fault field "${k}" (known: ${known.join(", ")})`);
    if (f.status !== undefined && (!Number.isInteger(f.status) || (f.status as number) < 400 || (f.status as number) > 599)) {
      throw new Error("fault.status must be a whole number from 400 to 599");
    }
    if (f.latencyMs !== undefined && (typeof f.latencyMs !== "number" || f.latencyMs < 0))
      throw new Error("fault.latencyMs must be a number ≥ 0");
    if (f.cut !== undefined && f.cut !== "before-first-token" && f.cut !== "after-first-token") {
      throw new Error('fault.cut must be "before-first-token" or "after-first-token"');
    }
    if (f.times !== undefined && (!Number.isInteger(f.times) || (f.times as number) < 1))
      throw new Error("fault.times must be a whole number ≥ 1");
    if (f.match !== undefined && typeof f.match !== "string") throw new Error("fault.match must be a string");
    if (f.retired !== undefined && typeof f.retired !== "boolean") throw new Error("fault.retired must be true or false");
    return { ...(f as Fault) };
  }

  function checkGatewayFaults(v: unknown): GatewayFault[] {
    if (!Array.isArray(v)) throw new Error("gateway faults must be a list (an empty list clears them)");
    return v.map((x, i) => {
      if (typeof x !== "object" || x === null || Array.isArray(x)) throw new Error(`gateway fault [${i}] must be an object`);
      const f = x as Record<string, unknown>;
      const known = ["kind", "provider", "model", "match", "times"];
      for (const k of Object.keys(f))
        if (!known.includes(k)) throw new Error(`unknown gateway fault field "${k}" (known: ${known.join(", ")})`);
      if (!GATEWAY_FAULT_KINDS.includes(f.kind as GatewayFaultKind))
        throw new Error(`gateway fault [${i}].kind must be one of: ${GATEWAY_FAULT_KINDS.join(", ")}`);
      if (f.provider !== undefined && !PROVIDER_NAMES.includes(f.provider as Provider))
        throw new Error(`gateway fault [${i}].provider must be one of: ${PROVIDER_NAMES.join(", ")}`);
      for (const k of ["model", "match"])
        if (f[k] !== undefined && typeof f[k] !== "string") throw new Error(`gateway fault [${i}].${k} must be a string`);
      if (f.times !== undefined && (!Number.isInteger(f.times) || (f.times as number) < 1))
        throw new Error(`gateway fault [${i}].times must be a whole number ≥ 1`);
      return { ...(f as unknown as GatewayFault) };
    });
  }

  function checkMode(v: unknown): GatewayMode {
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("mode must be an object");
    const m = v as Record<string, unknown>;
    const known = ["responseGuardrails", "retireModels"];
    for (const [k, x] of Object.entries(m)) {
      if (!known.includes(k)) throw new Error(`unknown mode field "${k}" (known: ${known.join(", ")})`);
      if (typeof x !== "boolean") throw new Error(`mode.${k} must be true or false`);
    }
    return m as GatewayMode;
  }

  /** The first gateway fault of one of `kinds` that applies to this request, counted down like provider faults. */
  function takeGatewayFault(
    kinds: readonly GatewayFaultKind[],
    provider: Provider,
    model: string | undefined,
    body: string,
  ): GatewayFault | undefined {
    const i = gatewayFaults.findIndex(
      (f) =>
        kinds.includes(f.kind) &&
        (f.provider === undefined || f.provider === provider) &&
        (f.model === undefined || f.model === model) &&
        (f.match === undefined || body.includes(f.match)),
    );
    const f = gatewayFaults[i];
    if (!f) return undefined;
    if (f.times !== undefined) {
      f.times -= 1;
      if (f.times <= 0) gatewayFaults.splice(i, 1);
    }
    return f;
  }

  function checkRateLimit(v: unknown): RateLimit | null {
    if (v === null) return null;
    const r = v as Partial<RateLimit> | undefined;
    if (!r || !Number.isInteger(r.limit) || (r.limit as number) < 0 || typeof r.windowMs !== "number" || r.windowMs <= 0) {
      throw new Error("rate limit must be null or { limit: whole number ≥ 0, windowMs: number > 0 }");
    }
    return { limit: r.limit as number, windowMs: r.windowMs };
  }

  async function control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const route = `${req.method} ${path}`;
    try {
      switch (route) {
        case "GET /__standin/healthz":
          return sendJson(res, 200, JSON.stringify({ ok: true }));
        case "GET /__standin/counters":
          return sendJson(res, 200, JSON.stringify(counters));
        case "GET /__standin/records":
          return sendJson(res, 200, JSON.stringify(records));
        case "DELETE /__standin/records":
          records = [];
          return sendJson(res, 200, JSON.stringify({ ok: true }));
        case "GET /__standin/faults":
          return sendJson(res, 200, JSON.stringify(Object.fromEntries(faults)));
        case "POST /__standin/faults": {
          const b = JSON.parse(await readBody(req)) as { provider?: unknown; fault?: unknown };
          if (!PROVIDER_NAMES.includes(b.provider as Provider)) throw new Error(`provider must be one of: ${PROVIDER_NAMES.join(", ")}`);
          if (b.fault === null) faults.delete(b.provider as Provider);
          else faults.set(b.provider as Provider, checkFault(b.fault));
          return sendJson(res, 200, JSON.stringify({ ok: true }));
        }
        case "DELETE /__standin/faults":
          faults.clear();
          gatewayFaults = [];
          return sendJson(res, 200, JSON.stringify({ ok: true }));
        case "GET /__standin/gateway-faults":
          return sendJson(res, 200, JSON.stringify(gatewayFaults));
        case "POST /__standin/gateway-faults":
          gatewayFaults = checkGatewayFaults(JSON.parse(await readBody(req)));
          return sendJson(res, 200, JSON.stringify({ ok: true }));
        case "DELETE /__standin/gateway-faults":
          gatewayFaults = [];
          return sendJson(res, 200, JSON.stringify({ ok: true }));
        case "GET /__standin/mode":
          return sendJson(res, 200, JSON.stringify(mode));
        case "POST /__standin/mode":
          Object.assign(mode, checkMode(JSON.parse(await readBody(req))));
          return sendJson(res, 200, JSON.stringify({ ok: true }));
        case "POST /__standin/rate-limit":
          rateLimit = checkRateLimit(JSON.parse(await readBody(req)));
          window = { start: 0, count: 0 };
          return sendJson(res, 200, JSON.stringify({ ok: true }));
        case "DELETE /__standin/cache":
          cache.clear();
          return sendJson(res, 200, JSON.stringify({ ok: true }));
        default:
          return sendJson(res, 404, JSON.stringify({ error: `no stand-in control route ${route}` }));
      }
    } catch (e) {
      return sendJson(res, 400, JSON.stringify({ error: e instanceof Error ? e.message : String(e) }));
    }
  }

  async function gateway(req: IncomingMessage, res: ServerResponse, m: RegExpExecArray): Promise<void> {
    const [, account = "", gatewayId = "", providerName = "", endpointRaw] = m;
    const provider = providerName as Provider;
    const endpoint = endpointRaw ?? "/";
    const body = await readBody(req);
    counters.calls += 1;
    const rec: StandinRecord = {
      seq: ++seq,
      method: req.method ?? "",
      path: req.url ?? "",
      account,
      gateway: gatewayId,
      provider,
      endpoint,
      headers: headerRecord(req),
      body,
      status: 0,
      cache: null,
      fault: null,
    };
    if (recordLimit > 0) {
      records.push(rec);
      if (records.length > recordLimit) records.splice(0, records.length - recordLimit);
    }
    const h = req.headers;
    const reply = (status: number, text: string, headers?: Record<string, string>) => {
      rec.status = status;
      sendJson(res, status, text, headers);
    };

    if (token !== undefined && h["cf-aig-authorization"] !== `Bearer ${token}`) {
      return reply(401, gatewayError(401, 2009, "Unauthorized: cf-aig-authorization is missing or does not carry this gateway's token"));
    }
    const meta = h["cf-aig-metadata"];
    if (typeof meta === "string") {
      const problem = metadataProblem(meta);
      if (problem) return reply(400, gatewayError(400, 2018, problem));
    }
    let ttl = defaultTtl;
    const ttlHeader = h["cf-aig-cache-ttl"];
    if (typeof ttlHeader === "string") {
      ttl = Number(ttlHeader);
      if (!/^\d+$/.test(ttlHeader) || ttl > MAX_CACHE_TTL) {
        // Not 2017: that code means "response blocked" (Guardrails); this one is the stand-in's own.
        return reply(400, gatewayError(400, 2006, `cf-aig-cache-ttl must be whole seconds from 0 to ${MAX_CACHE_TTL}, got "${ttlHeader}"`));
      }
    }
    /** A gateway refusal; a rate limit says when to retry (`retryAfter` seconds, default 1). */
    const refuse = (f: GatewayFault, retryAfter = 1) => {
      rec.fault = f.kind;
      const r = GATEWAY_REFUSALS[f.kind];
      const scope = [f.provider && `provider ${f.provider}`, f.model && `model ${f.model}`].filter(Boolean).join(", ");
      const message = f.kind === "spend-limit" && scope ? `${r.message} (rule scoped to ${scope})` : r.message;
      return reply(r.status, gatewayError(r.status, r.code, message), f.kind === "rate-limit" ? { "retry-after": String(retryAfter) } : {});
    };
    if (rateLimit) {
      const now = Date.now();
      if (now - window.start >= rateLimit.windowMs) window = { start: now, count: 0 };
      window.count += 1;
      if (window.count > rateLimit.limit) {
        return refuse({ kind: "rate-limit" }, Math.max(1, Math.ceil((window.start + rateLimit.windowMs - now) / 1000)));
      }
    }
    const parsed = jsonObject(body);
    const requested = requestedModel(provider, endpoint, parsed);
    const before = takeGatewayFault(
      ["rate-limit", "spend-limit", "prompt-blocked", "guardrails-credits", "guardrails-unavailable"],
      provider,
      requested,
      body,
    );
    if (before) return refuse(before);

    const skip = h["cf-aig-skip-cache"] === "true";
    const cacheable = !skip && ttl > 0 && req.method === "POST";
    let key = "";
    if (cacheable) {
      const custom = h["cf-aig-cache-key"];
      // Like the real gateway, the default key covers the provider auth header: callers with different provider
      // keys never share entries, callers sharing one key do.
      key =
        typeof custom === "string" && custom !== ""
          ? `custom:${custom}`
          : createHash("sha256")
              .update(`${provider}\n${endpoint}\n${h["x-api-key"] ?? ""}\n${h.authorization ?? ""}\n${body}`)
              .digest("hex");
      const hit = cache.get(key);
      if (hit && hit.expires > Date.now()) {
        rec.cache = "HIT";
        counters.hits += 1;
        rec.status = hit.status;
        res.writeHead(hit.status, {
          "content-type": hit.contentType,
          "content-length": Buffer.byteLength(hit.body),
          "cf-aig-cache-status": "HIT",
          "cf-aig-log-id": String(rec.seq),
        });
        res.end(hit.body);
        return;
      }
      if (hit) cache.delete(key);
    }
    rec.cache = "MISS";
    counters.misses += 1;
    const aig = { "cf-aig-cache-status": "MISS", "cf-aig-log-id": String(rec.seq) };
    const fail = (status: number, message: string) =>
      reply(status, JSON.stringify(providerError(provider, status, message)), {
        ...aig,
        ...(status === 429 ? { "retry-after": "1" } : {}),
      });

    const fault = takeFault(provider, body);
    if (fault?.latencyMs) {
      rec.fault = "latencyMs";
      await sleep(fault.latencyMs);
    }
    if (fault?.drop) {
      rec.fault = "drop";
      req.socket.destroy();
      return;
    }
    if (fault?.status) {
      rec.fault = "status";
      return fail(fault.status, `stand-in fault: ${provider} answers ${fault.status}`);
    }

    const expectedKey = providerKeys[provider];
    if (expectedKey !== undefined) {
      // Anthropic takes its key as x-api-key or (as its current SDK sends it) Authorization: Bearer.
      const ok = h.authorization === `Bearer ${expectedKey}` || (provider === "anthropic" && h["x-api-key"] === expectedKey);
      if (!ok) return fail(401, `invalid ${provider === "anthropic" ? "x-api-key" : "bearer token"}`);
    }
    if (req.method !== "POST") return fail(405, `${req.method} is not supported on ${endpoint}`);

    if (!parsed) return fail(400, "request body is not a JSON object");

    let kind: "anthropic" | "openai" | "workers-ai";
    if (provider === "anthropic" && endpoint === "/v1/messages") kind = "anthropic";
    else if (provider === "openai" && endpoint === "/chat/completions") kind = "openai";
    else if (provider === "workers-ai" && endpoint === "/v1/chat/completions") kind = "openai";
    else if (provider === "workers-ai" && endpoint.startsWith("/@cf/")) kind = "workers-ai";
    else return fail(404, `${provider} has no endpoint ${endpoint}`);
    // requestedModel's reading: the endpoint's for Workers AI's own route, else the body's "model".
    if (!requested) return fail(400, "model: field required");
    const model = requested;
    if (kind === "anthropic" && typeof parsed.max_tokens !== "number") return fail(400, "max_tokens: field required");
    const life = mode.retireModels ? modelStatus(lifecycle(), provider, model, now()) : undefined;
    if (fault?.retired || (life && isDead(life))) {
      rec.fault = "retired";
      const since = life?.state === "retired" ? life.since : undefined;
      const e = retiredModelError(provider, model, since);
      return reply(e.status, JSON.stringify(e.body), aig);
    }
    if (kind !== "workers-ai" || parsed.prompt === undefined) {
      if (!Array.isArray(parsed.messages) || parsed.messages.length === 0) return fail(400, "messages: at least one message is required");
    }

    // The provider answered; a response Guardrails block replaces its answer (and is never cached).
    const after = takeGatewayFault(["response-blocked"], provider, model, body);
    if (after) return refuse(after);

    const a = answer(provider, model, parsed);
    // With response Guardrails on, the gateway buffers a stream and answers one JSON body instead.
    const buffered = parsed.stream === true && mode.responseGuardrails;
    if (buffered) rec.fault = "response-guardrails";
    const stream = parsed.stream === true && !buffered;
    const contentType = stream ? "text/event-stream; charset=utf-8" : "application/json";

    if (fault?.malformed) {
      rec.fault = "malformed";
      return reply(200, stream ? 'data: {"type": "broken\n\n' : '{"id": "broken', { ...aig, "content-type": contentType });
    }

    if (!stream) {
      const json = JSON.stringify(kind === "anthropic" ? anthropicJson(a) : kind === "openai" ? openaiJson(a) : workersAiJson(a));
      if (fault?.cut) {
        rec.fault = "cut";
        rec.status = 200;
        res.writeHead(200, { "content-type": contentType, ...aig });
        return cutAfter(res, fault.cut === "after-first-token" ? [json.slice(0, json.length >> 1)] : []);
      }
      if (cacheable) cache.set(key, { status: 200, contentType, body: json, expires: Date.now() + ttl * 1000 });
      return reply(200, json, aig);
    }

    const parts: StreamParts =
      kind === "anthropic"
        ? anthropicStream(a)
        : kind === "openai"
          ? openaiStream(a, (parsed.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true)
          : workersAiStream(a);
    rec.status = 200;
    res.writeHead(200, { "content-type": contentType, "cache-control": "no-cache", ...aig });
    res.flushHeaders();
    if (fault?.cut) {
      rec.fault = "cut";
      return cutAfter(res, fault.cut === "after-first-token" ? [...parts.head, ...parts.body.slice(0, 1)] : parts.head);
    }
    if (tokenDelayMs > 0) {
      for (const p of parts.head) res.write(p);
      for (const p of parts.body) {
        await sleep(tokenDelayMs);
        res.write(p);
      }
      res.end(parts.tail.join(""));
    } else {
      res.end(parts.head.join("") + parts.body.join("") + parts.tail.join(""));
    }
    if (cacheable) {
      const full = parts.head.join("") + parts.body.join("") + parts.tail.join("");
      cache.set(key, { status: 200, contentType, body: full, expires: Date.now() + ttl * 1000 });
    }
  }

  const server = createServer((req, res) => {
    const url = req.url ?? "/";
    const handle = url.startsWith("/__standin/")
      ? control(req, res, url.split("?")[0] ?? url)
      : (() => {
          const m = GATEWAY_PATH.exec(url);
          if (!m) {
            return Promise.resolve(
              sendJson(
                res,
                404,
                gatewayError(
                  404,
                  2001,
                  `not a gateway route: ${url.split("?")[0]} (expected /v1/{account}/{gateway}/{anthropic|openai|workers-ai}/…)`,
                ),
              ),
            );
          }
          return gateway(req, res, m);
        })();
    handle.catch((e: unknown) => {
      if (res.headersSent) res.socket?.destroy();
      else sendJson(res, 500, gatewayError(500, 2000, `stand-in error: ${e instanceof Error ? e.message : String(e)}`));
    });
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;

  return {
    url,
    port,
    baseUrl: `${url}/v1`,
    setFault(provider, fault) {
      if (fault === null) faults.delete(provider);
      else faults.set(provider, checkFault(fault));
    },
    setGatewayFaults(list) {
      gatewayFaults = checkGatewayFaults(list);
    },
    clearFaults: () => {
      faults.clear();
      gatewayFaults = [];
    },
    setMode(m) {
      Object.assign(mode, checkMode(m));
    },
    setRateLimit(rl) {
      rateLimit = checkRateLimit(rl);
      window = { start: 0, count: 0 };
    },
    records: () => records.slice(),
    clearRecords: () => {
      records = [];
    },
    clearCache: () => cache.clear(),
    counters: () => ({ ...counters }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}
