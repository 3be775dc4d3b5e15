/**
 * Everything the Worker tells the AI Gateway on each call: where it is, who is calling (cf-aig-authorization),
 * metadata for its logs, and how to cache. Kept apart from the providers, which only add their own path and auth.
 */
import { canonicalJson } from "./canonical";
import type { ProviderName } from "./contract/routing";
import { sha256Hex } from "./crypto";
import { AIG, type CacheOutcome, type Surface } from "./wire";

const DEFAULT_BASE = "https://gateway.ai.cloudflare.com/v1";

/** `{base}/{account}/{gateway}`; never logged or returned (it names the account). */
export function gatewayUrl(env: Env): string {
  const base = (env.AI_GATEWAY_BASE_URL || DEFAULT_BASE).replace(/\/+$/, "");
  return `${base}/${env.AI_GATEWAY_ACCOUNT_ID}/${env.AI_GATEWAY_ID}`;
}

/** The five metadata entries (the gateway keeps at most five, all scalars). requestId joins gateway logs to ours. */
export interface Metadata {
  client: string;
  feature: string;
  variant: string;
  stack: string;
  requestId: string;
}

export interface CachePlan {
  /** Tell the gateway to neither read nor write its cache. */
  skip: boolean;
  ttl: number;
}

const NO_CACHE = /(?:^|,)\s*no-(?:cache|store)\s*(?:,|$)/i;

/** TTL 0 or a client's Cache-Control: no-cache / no-store turns the gateway cache off for this request. */
export function cachePlan(ttl: number, cacheControl: string | null | undefined): CachePlan {
  return { skip: ttl === 0 || (cacheControl != null && NO_CACHE.test(cacheControl)), ttl };
}

export function cacheOutcome(plan: CachePlan, upstream: { headers: Headers; coalesced: boolean }): CacheOutcome {
  if (plan.skip) return "BYPASS";
  if (upstream.coalesced) return "COALESCED";
  return upstream.headers.get(AIG.cacheStatus)?.toUpperCase() === "HIT" ? "HIT" : "MISS";
}

export interface CacheKeyInput {
  client: string;
  surface: Surface;
  provider: ProviderName;
  /** The model as the provider sees it (Workers AI names it in the path, not the body). */
  model: string;
  /** Request headers that change the answer (anthropic-version, anthropic-beta). */
  headers: Record<string, string>;
  /** The upstream body; `volatile` names its per-call fields (Provider.volatileFields), left out of the key. */
  body: Record<string, unknown>;
  volatile: readonly string[];
}

/**
 * cf-aig-cache-key: the gateway's default key hashes the provider auth header, which is the Worker's own key for
 * every client, so without this every client would share one cache. Scoped to the client and computed over the
 * canonical request, so key order and whitespace do not split entries. The string is the canonical JSON of
 * {v:1, client, surface, provider, model, headers, body} (keys in sorted order), written out directly.
 */
export function cacheKey(k: CacheKeyInput): Promise<string> {
  const s = JSON.stringify;
  return sha256Hex(
    `{"body":${canonicalJson(k.body, k.volatile)},"client":${s(k.client)},"headers":${canonicalJson(k.headers)},"model":${s(k.model)},"provider":${s(k.provider)},"surface":${s(k.surface)},"v":1}`,
  );
}

/** Headers for one gateway call; the provider adds its own auth on top. */
export function gatewayHeaders(auth: string, meta: Metadata, plan: CachePlan, key: string, attemptMs: number): Record<string, string> {
  const h: Record<string, string> = {
    [AIG.authorization]: auth,
    [AIG.metadata]: JSON.stringify(meta),
    [AIG.eventId]: meta.requestId,
    [AIG.requestTimeout]: String(attemptMs),
    "content-type": "application/json",
  };
  if (plan.skip) {
    h[AIG.skipCache] = "true";
  } else {
    h[AIG.cacheKey] = key;
    h[AIG.cacheTtl] = String(plan.ttl);
  }
  return h;
}
