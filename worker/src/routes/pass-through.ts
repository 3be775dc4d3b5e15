/**
 * The shared core of /v1/messages and /v1/chat/completions: one call to the surface's own provider, its answer
 * passed through unchanged (JSON or SSE); the client's body goes upstream as the bytes it sent. No Worker-side retry
 * or cross-provider fallback here: the wire formats differ, and the callers' SDKs already retry 429/5xx with backoff,
 * so retrying here would multiply attempts.
 */
import { ApiError } from "../errors";
import { cacheOutcome } from "../gateway";
import type { ApiCall } from "../pipeline";
import { type Provider, parseJson } from "../providers/provider";
import { sendAttempt } from "../upstream/call";
import { classify, transientError } from "../upstream/classify";
import { type Upstream, UpstreamFailure } from "../upstream/flight";
import { relay } from "../upstream/stream";
import { DEFAULT_FEATURE, NO_VARIANT, OUT, SSE_CONTENT_TYPE } from "../wire";
import { warnRetired } from "./retired";

export interface PassThroughRequest {
  provider: Provider;
  model: string;
  stream: boolean;
  /** Client headers the provider should see (they also key the cache). */
  forwarded: Record<string, string>;
  feature: string | undefined;
  /** The body to send instead of the client's bytes (a metered OpenAI stream asks for its usage chunk). */
  upstreamText?: string;
  /** Read the usage chunk and do not pass it on: the client did not ask for it. */
  dropUsageChunk?: boolean;
}

function failed(e: unknown): ApiError {
  if (e instanceof UpstreamFailure && e.kind === "timeout")
    return new ApiError(504, "upstream_timeout", "The model provider did not answer in time.");
  return new ApiError(502, "upstream_error", "The model provider could not be reached.", {
    detail: e instanceof Error ? e.name : "unknown",
  });
}

export async function passThrough(call: ApiCall, r: PassThroughRequest): Promise<Response> {
  const { log, out, iso } = call;
  const { timeouts } = iso.routing;
  const feature = r.feature ?? DEFAULT_FEATURE;
  log.provider = r.provider.name;
  log.model = r.model;
  log.variant = NO_VARIANT;
  log.feature = feature;
  log.stream = r.stream;
  log.attempts = 1;

  // One attempt, so the overall deadline and the attempt timeout collapse into the smaller of the two.
  const attemptMs = Math.min(timeouts.attemptMs, timeouts.totalMs);
  let up: Upstream;
  let plan;
  let held;
  try {
    ({ up, plan, held } = await sendAttempt(call, {
      provider: r.provider,
      model: r.model,
      text: r.upstreamText ?? call.body.text,
      value: call.body.value,
      forwarded: r.forwarded,
      variant: NO_VARIANT,
      feature,
      attemptMs,
    }));
  } catch (e) {
    if (e instanceof ApiError) throw e;
    log.tried.push(`${r.provider.name}:${e instanceof UpstreamFailure ? e.kind : "network"}`);
    throw failed(e);
  }
  log.tried.push(`${r.provider.name}:${up.status}`);
  if (up.status < 200 || up.status > 299) {
    held?.release();
    const verdict = classify(up, r.provider, call.env, undefined);
    if (verdict.kind === "next") {
      if (verdict.retired) warnRetired(call, r.provider.name, r.model);
      throw transientError(up, r.provider, call.env);
    }
    throw verdict.error;
  }

  const cache = cacheOutcome(plan, up);
  log.cache = cache;
  // A gateway cache hit is not billed, and a shared answer was paid for by the request that made the call.
  const free = cache === "HIT" || cache === "COALESCED";
  out.set(OUT.provider, r.provider.name);
  out.set(OUT.model, r.model);
  out.set(OUT.variant, NO_VARIANT);
  out.set(OUT.cache, cache);

  if (up.chunks) {
    out.set("content-type", SSE_CONTENT_TYPE);
    let ended!: () => void;
    call.streaming(new Promise<void>((resolve) => (ended = resolve)));
    const body = relay(
      up.chunks,
      r.provider,
      timeouts.attemptMs,
      (outcome) => {
        log.usage = outcome.usage;
        if (outcome.error) log.error = outcome.error;
        held?.settle(free, outcome.error === null);
        ended();
      },
      held ? { held, dropUsageChunk: r.dropUsageChunk } : undefined,
    );
    return new Response(body, { status: up.status, headers: out });
  }

  const text = up.text ?? "";
  const json = parseJson(text);
  if (json === undefined) {
    held?.release();
    throw new ApiError(502, "upstream_error", "The model provider sent an answer that is not JSON.", { detail: "malformed upstream body" });
  }
  log.usage = r.provider.readAnswer(json)?.usage ?? null;
  held?.observe(r.provider.billed(json));
  held?.settle(free);
  if (r.stream) {
    // A gateway with response guardrails answers a stream with one body: the client still gets its stream.
    const events = r.provider.answerAsSse(json);
    if (events === undefined)
      throw new ApiError(502, "upstream_error", "The model provider sent an answer in an unknown shape.", {
        detail: "buffered answer not in the provider's shape",
      });
    out.set("content-type", SSE_CONTENT_TYPE);
    return new Response(events, { status: up.status, headers: out });
  }
  out.set("content-type", up.headers.get("content-type") ?? "application/json");
  return new Response(text, { status: up.status, headers: out });
}
