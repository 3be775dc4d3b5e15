/**
 * The shared core of /v1/messages and /v1/chat/completions: one call to the surface's own provider, its answer
 * passed through unchanged (JSON or SSE). No Worker-side retry or cross-provider fallback here: the wire formats
 * differ, and the callers' SDKs already retry 429/5xx with backoff, so retrying here would multiply attempts.
 */
import type { Context } from "hono";
import type { AppEnv } from "../context";
import { ApiError } from "../errors";
import { cacheOutcome } from "../gateway";
import type { Provider } from "../providers/provider";
import { parseJson } from "../providers/provider";
import { TimeoutError, within } from "../sse";
import { failureLabel, passThroughError, prepareCall, relay, usageOfAnswer } from "../upstream";
import { DEFAULT_FEATURE, NO_VARIANT, OUT, SSE_CONTENT_TYPE, type Surface } from "../wire";

export interface PassThroughRequest {
  surface: Surface;
  provider: Provider;
  model: string;
  body: Record<string, unknown>;
  stream: boolean;
  /** Client headers the provider should see (they also key the cache). */
  forwarded: Record<string, string>;
  feature: string | undefined;
}

export async function passThrough(c: Context<AppEnv>, r: PassThroughRequest): Promise<Response> {
  const { timeouts } = c.get("routing");
  const log = c.get("log");
  const feature = r.feature ?? DEFAULT_FEATURE;
  Object.assign(log, { provider: r.provider.name, model: r.model, variant: NO_VARIANT, feature, stream: r.stream, attempts: 1 });

  // One attempt, so the overall deadline and the attempt timeout collapse into the smaller of the two.
  const attemptMs = Math.min(timeouts.attemptMs, timeouts.totalMs);
  const call = await prepareCall(c, { ...r, variant: NO_VARIANT, feature, attemptMs });
  const controller = new AbortController();
  const started = c.get("deps").now();
  let res: Response;
  try {
    res = await within(
      r.provider.send({ env: c.env, fetch: c.get("deps").fetch, model: r.model, body: r.body, headers: call.headers, signal: controller.signal, timeoutMs: attemptMs }),
      attemptMs,
      controller,
    );
  } catch (e) {
    log.tried.push(`${r.provider.name}:${failureLabel(e)}`);
    if (e instanceof TimeoutError) throw new ApiError(504, "upstream_timeout", "The model provider did not answer in time.");
    throw new ApiError(502, "upstream_error", "The model provider could not be reached.", { detail: e instanceof Error ? e.name : "unknown" });
  }
  log.tried.push(`${r.provider.name}:${res.status}`);
  if (!res.ok) throw await passThroughError(res, r.provider, c.env);

  const cache = cacheOutcome(call.plan, res);
  log.cache = cache;
  const headers = new Headers({
    "content-type": res.headers.get("content-type") ?? "application/json",
    [OUT.provider]: r.provider.name,
    [OUT.model]: r.model,
    [OUT.variant]: NO_VARIANT,
    [OUT.cache]: cache,
  });

  if (res.body && (res.headers.get("content-type") ?? "").includes("text/event-stream")) {
    headers.set("content-type", SSE_CONTENT_TYPE);
    let ended!: () => void;
    c.set("streamDone", new Promise<void>((resolve) => (ended = resolve)));
    const body = relay(res.body, r.provider, timeouts.attemptMs, controller, (outcome) => {
      log.usage = outcome.usage;
      if (outcome.error) log.error = outcome.error;
      ended();
    });
    return new Response(body, { status: res.status, headers });
  }

  let text: string;
  try {
    text = await within(res.text(), attemptMs - (c.get("deps").now() - started), controller);
  } catch (e) {
    if (e instanceof TimeoutError) throw new ApiError(504, "upstream_timeout", "The model provider did not finish its answer in time.");
    throw new ApiError(502, "upstream_error", "The model provider's answer was cut off.");
  }
  const json = parseJson(text);
  if (json === undefined) throw new ApiError(502, "upstream_error", "The model provider sent an answer that is not JSON.", { detail: "malformed upstream body" });
  log.usage = usageOfAnswer(r.provider, json);
  return new Response(text, { status: res.status, headers });
}
