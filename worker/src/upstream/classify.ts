/**
 * What an upstream answer means, decided in one place for every route. The gateway's own decisions come in
 * Cloudflare's envelope ({success:false, errors|error:[{code, message}]}) rather than the provider's shape
 * (https://developers.cloudflare.com/ai-gateway/reference/errors/ and features/guardrails/): its rate limit and spend
 * limits (429), a Guardrails block (424, code 2016 prompt / 2017 response) and a Guardrails service failure (402 code
 * 2021, 503 code 7013). Those apply to the whole gateway or to a declared scope, so they are never "try the next
 * provider" the way a provider's own 429 or 5xx is.
 */
import { ApiError } from "../errors";
import { cloudflareError, type Provider, type ProviderError, parseJson } from "../providers/provider";
import { redact } from "../redact";
import type { Upstream } from "./flight";

export type Verdict =
  /** A provider failure another step may not share: overload, rate limit, server error, a retired model. */
  | { kind: "next"; label: string; retired: boolean }
  /** The answer ends the request with this error: the client's mistake, the gateway's decision, our credentials. */
  | { kind: "stop"; error: ApiError }
  /** The gateway's spend limit refused this step; a step the limit does not cover may still answer. */
  | { kind: "spend"; error: ApiError };

const GUARDRAIL_BLOCK = 424;
const PROMPT_BLOCKED = 2016;
const RESPONSE_BLOCKED = 2017;
const GUARDRAIL_UNAVAILABLE = new Set([2021, 7013]);
const SPEND_LIMIT = 2025;
const SPEND = /spend|budget|cost/i;

function retryAfterOf(headers: Headers): number | undefined {
  const v = Number(headers.get("retry-after"));
  return Number.isInteger(v) && v > 0 && v <= 86_400 ? v : undefined;
}

/**
 * The gateway's own answer, or undefined when it is not one. Workers AI answers in the same envelope with codes of
 * its own (3xxx, 5xxx: https://developers.cloudflare.com/workers-ai/platform/errors/), so the gateway is known by
 * its codes: 2xxx, and 7013 for the Guardrails service.
 */
function gatewayDecision(up: Upstream, body: unknown, gatewayRetryAfter: number | undefined, env: Env): Verdict | undefined {
  const cf = cloudflareError(body);
  if (!cf || cf.code === undefined || !((cf.code >= 2000 && cf.code < 3000) || GUARDRAIL_UNAVAILABLE.has(cf.code))) return undefined;
  const detail = `gateway answered ${up.status}${cf.code !== undefined ? ` code ${cf.code}` : ""}: ${redact(cf.message, env, 200)}`;
  if (up.status === GUARDRAIL_BLOCK || cf.code === PROMPT_BLOCKED || cf.code === RESPONSE_BLOCKED) {
    const what = cf.code === RESPONSE_BLOCKED ? "the answer" : "the request";
    return {
      kind: "stop",
      error: new ApiError(400, "policy_blocked", `A content policy of this service blocked ${what}.`, { detail, noRetry: true }),
    };
  }
  if (GUARDRAIL_UNAVAILABLE.has(cf.code)) {
    return {
      kind: "stop",
      error: new ApiError(503, "policy_unavailable", "The content policy check is unavailable; retry later.", { detail, retryAfter: 30 }),
    };
  }
  if (up.status === 429) {
    const retryAfter = retryAfterOf(up.headers) ?? gatewayRetryAfter;
    if (cf.code === SPEND_LIMIT || SPEND.test(cf.message)) {
      return {
        kind: "spend",
        error: new ApiError(429, "gateway_limited", "This service's spending limit for the model is reached; retry later.", {
          detail,
          retryAfter,
        }),
      };
    }
    const period = retryAfter !== undefined ? ` (its limit resets within ${retryAfter} seconds)` : "";
    return {
      kind: "stop",
      error: new ApiError(429, "gateway_limited", `This service's gateway rate limit is reached${period}; retry later.`, {
        detail,
        retryAfter,
      }),
    };
  }
  return undefined;
}

/**
 * The verdict on a non-2xx answer. `surfaceError` builds the error a pass-through surface shows for a provider's own
 * 4xx (its type and message pass through, scrubbed); /api/chat shows its own.
 */
export function classify(up: Upstream, provider: Provider, env: Env, gatewayRetryAfter: number | undefined): Verdict {
  const body = parseJson(up.text ?? "");
  const decision = gatewayDecision(up, body, gatewayRetryAfter, env);
  if (decision) return decision;
  const upstream: ProviderError | undefined = provider.readError(body);
  const s = up.status;
  const detail = `${provider.name} answered ${s}${upstream ? ` (${upstream.type}: ${redact(upstream.message, env, 200)})` : ""}`;
  if (provider.retired(s, upstream)) return { kind: "next", label: `${s}:model_retired`, retired: true };
  if (s === 408 || s === 429 || s >= 500) return { kind: "next", label: String(s), retired: false };
  if (s === 401 || s === 403) {
    return {
      kind: "stop",
      error: new ApiError(502, "upstream_error", "The model provider refused this service's credentials; the operator has been told.", {
        detail,
      }),
    };
  }
  if (s < 400) return { kind: "stop", error: new ApiError(502, "upstream_error", "The model provider failed to answer.", { detail }) };
  return {
    kind: "stop",
    error: new ApiError(
      s,
      "upstream_rejected",
      upstream ? redact(upstream.message, env) : `The model provider rejected the request (HTTP ${s}).`,
      {
        providerType: upstream?.type,
        detail,
      },
    ),
  };
}

/** A transient provider failure on a pass-through surface (one attempt, no fallback), as the client sees it. */
export function transientError(up: Upstream, provider: Provider, env: Env): ApiError {
  const upstream = provider.readError(parseJson(up.text ?? ""));
  const detail = `${provider.name} answered ${up.status}${upstream ? ` (${upstream.type}: ${redact(upstream.message, env, 200)})` : ""}`;
  const s = up.status;
  const retryAfter = retryAfterOf(up.headers);
  if (s === 429)
    return new ApiError(429, "rate_limited", "The model provider is rate limiting requests; retry later.", { retryAfter, detail });
  if (s === 408 || s === 504) return new ApiError(504, "upstream_timeout", "The model provider did not answer in time.", { detail });
  if (s === 503 || s === 529)
    return new ApiError(503, "upstream_unavailable", "The model provider is overloaded; retry later.", { retryAfter, detail });
  if (s === 404)
    return new ApiError(404, "upstream_rejected", "The model is no longer available; the operator has been told.", {
      detail,
      providerType: upstream?.type,
    });
  return new ApiError(502, "upstream_error", "The model provider failed to answer.", { detail });
}
