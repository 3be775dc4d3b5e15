/**
 * POST /api/chat: the app endpoint for browser clients. `{messages, stream?, feature?}` in; the client's sticky A/B
 * variant picks the first provider, then ROUTING's fallback chain is tried in order on 429, 5xx, timeout, network
 * error, a malformed answer, or a stream that fails before its first token. Out: `{text, provider, model, variant,
 * cached, usage}`, or SSE `delta` events ending with `done` (same fields, without text: the client already has it)
 * or `error` (a failure after the first token is never passed off as a complete answer).
 */
import type { Context } from "hono";
import { Hono } from "hono/tiny";
import { attemptOrder, chooseVariant, DEFAULT_VARIANT } from "../ab";
import { feature as featureOf, invalid, optionalBoolean, readJsonObject, requireArray } from "../body";
import type { AppEnv } from "../context";
import { ApiError } from "../errors";
import { cacheOutcome } from "../gateway";
import { providers } from "../providers";
import { isRecord, parseJson, type ChatMessage, type Provider, type Usage } from "../providers/provider";
import type { Target } from "../contract/routing";
import { sseFrame, TimeoutError, within } from "../sse";
import { failureLabel, isTransient, mergeUsage, prepareCall, UpstreamEvents } from "../upstream";
import { DEFAULT_FEATURE, OUT, SSE_CONTENT_TYPE, type CacheOutcome } from "../wire";

const ROLES = ["system", "user", "assistant"] as const;
const FIELDS = ["messages", "stream", "feature"];

function parseMessages(body: Record<string, unknown>): ChatMessage[] {
  for (const k of Object.keys(body)) if (!FIELDS.includes(k)) throw invalid(`Unknown field \`${k}\` (expected: ${FIELDS.join(", ")}).`);
  const list = requireArray(body, "messages").map((m, i): ChatMessage => {
    if (!isRecord(m)) throw invalid(`\`messages[${i}]\` must be an object with role and content.`);
    if (!ROLES.includes(m.role as ChatMessage["role"])) throw invalid(`\`messages[${i}].role\` must be one of: ${ROLES.join(", ")}.`);
    if (typeof m.content !== "string" || m.content === "") throw invalid(`\`messages[${i}].content\` must be a non-empty string.`);
    return { role: m.role as ChatMessage["role"], content: m.content };
  });
  if (!list.some((m) => m.role !== "system")) throw invalid("`messages` needs at least one user or assistant message.");
  return list;
}

/** What the client learns about the answer, in the JSON body and the SSE `done` event. */
interface Outcome {
  provider: string;
  model: string;
  variant: string;
  cached: boolean;
  usage: { inputTokens: number; outputTokens: number };
}

function outcome(target: Target, variant: string, cache: CacheOutcome, usage: Usage): Outcome {
  return { provider: target.provider, model: target.model, variant, cached: cache === "HIT", usage: { inputTokens: usage.input, outputTokens: usage.output } };
}

function answerHeaders(target: Target, variant: string, cache: CacheOutcome, contentType: string): Headers {
  return new Headers({ "content-type": contentType, [OUT.provider]: target.provider, [OUT.model]: target.model, [OUT.variant]: variant, [OUT.cache]: cache });
}

/**
 * The error when the chain is spent. An upstream 4xx other than 429 stops the chain at once (handled in the loop);
 * here every attempt failed transiently: all busy → 503, the deadline or every attempt timed out → 504, else 502.
 */
function exhausted(labels: string[], deadlineHit: boolean): ApiError {
  const detail = labels.join(", ");
  if (deadlineHit || (labels.length > 0 && labels.every((l) => l.endsWith(":timeout")))) {
    return new ApiError(504, "upstream_timeout", "No model provider answered in time.", { detail });
  }
  if (labels.length > 0 && labels.every((l) => /:(429|503|529)$/.test(l))) {
    return new ApiError(503, "upstream_unavailable", "Every model provider is busy; retry shortly.", { detail });
  }
  return new ApiError(502, "upstream_error", "No model provider could answer.", { detail });
}

/** A non-transient upstream 4xx: the request itself was refused, so another provider would refuse it too. */
function refused(status: number, provider: Provider): ApiError {
  const detail = `${provider.name} answered ${status}`;
  if (status === 400 || status === 413 || status === 422) {
    return new ApiError(422, "upstream_rejected", "The model provider rejected the conversation (for example, it is too long).", { detail });
  }
  return new ApiError(502, "upstream_error", "The model provider refused the request; the operator has been told.", { detail });
}

export const chat = new Hono<AppEnv>().post("/", async (c) => {
  const routing = c.get("routing");
  const deps = c.get("deps");
  const log = c.get("log");
  const body = await readJsonObject(c.req.raw, routing.limits.maxRequestBytes);
  const messages = parseMessages(body);
  const stream = optionalBoolean(body, "stream") ?? false;
  const feature = featureOf(body.feature, "`feature`") ?? DEFAULT_FEATURE;

  const experiment = await chooseVariant(c.get("client"), routing.chat.experiments, deps.unitHash);
  const variant = experiment?.name ?? DEFAULT_VARIANT;
  Object.assign(log, { variant, feature, stream });

  const { attemptMs, totalMs } = routing.timeouts;
  const deadline = deps.now() + totalMs;
  let deadlineHit = false;

  for (const target of attemptOrder(experiment?.target, routing.chat.fallback)) {
    const remaining = deadline - deps.now();
    if (remaining <= 0) {
      deadlineHit = true;
      break;
    }
    const ms = Math.min(attemptMs, remaining);
    const attemptEnd = deps.now() + ms;
    const provider = providers[target.provider];
    const upstreamBody = provider.chatBody(messages, target.model, routing.chat.maxTokens, stream);
    const call = await prepareCall(c, { surface: "chat", provider, model: target.model, body: upstreamBody, forwarded: {}, variant, feature, attemptMs: ms });
    const controller = new AbortController();
    log.attempts++;
    Object.assign(log, { provider: target.provider, model: target.model });
    const tried = (what: string | number) => log.tried.push(`${target.provider}:${what}`);

    let res: Response;
    try {
      res = await within(
        provider.send({ env: c.env, fetch: deps.fetch, model: target.model, body: upstreamBody, headers: call.headers, signal: controller.signal, timeoutMs: ms }),
        ms,
        controller,
      );
    } catch (e) {
      tried(failureLabel(e));
      continue;
    }
    if (!res.ok) {
      tried(res.status);
      await res.body?.cancel().catch(() => {});
      if (isTransient(res.status)) continue;
      throw refused(res.status, provider);
    }
    const cache = cacheOutcome(call.plan, res);

    if (stream) {
      const started = res.body ? await firstToken(new UpstreamEvents(res.body, provider, controller), () => attemptEnd - deps.now()) : undefined;
      if (!started) {
        tried("bad_stream");
        continue;
      }
      tried(res.status);
      log.cache = cache;
      return streamAnswer(c, started, { target, variant, cache, idleMs: attemptMs });
    }

    let answer;
    try {
      answer = provider.readAnswer(parseJson(await within(res.text(), attemptEnd - deps.now(), controller)));
    } catch (e) {
      tried(failureLabel(e));
      continue;
    }
    if (!answer) {
      tried("bad_body");
      continue;
    }
    tried(res.status);
    Object.assign(log, { cache, usage: answer.usage });
    return new Response(JSON.stringify({ text: answer.text, ...outcome(target, variant, cache, answer.usage) }), {
      headers: answerHeaders(target, variant, cache, "application/json"),
    });
  }
  throw exhausted(log.tried, deadlineHit);
});

interface Started {
  events: UpstreamEvents;
  /** Text of the first delta; "" when the stream ended cleanly without any. */
  first: string;
  usage: Usage;
  /** The provider's end marker already arrived. */
  done: boolean;
}

/** Reads up to the first text (or a clean end). undefined: the stream failed first, so the next provider may try. */
async function firstToken(events: UpstreamEvents, remaining: () => number): Promise<Started | undefined> {
  const usage: Usage = { input: 0, output: 0 };
  try {
    for (;;) {
      const piece = await events.next(remaining());
      if (piece === "end" || piece.error) break;
      mergeUsage(usage, piece.usage);
      if (piece.text) return { events, first: piece.text, usage, done: false };
      if (piece.done) return { events, first: "", usage, done: true };
    }
  } catch {
    // timeout or a broken connection: same as a stream that ended early
  }
  events.cancel();
  return undefined;
}

function streamAnswer(
  c: Context<AppEnv>,
  s: Started,
  o: { target: Target; variant: string; cache: CacheOutcome; idleMs: number },
): Response {
  const log = c.get("log");
  const usage = s.usage;
  let finished = false;
  let ended!: () => void;
  c.set("streamDone", new Promise<void>((resolve) => (ended = resolve)));
  const finish = (out: ReadableStreamDefaultController<Uint8Array>, error: string | null) => {
    finished = true;
    log.usage = usage;
    if (error) {
      log.error = error;
      out.enqueue(sseFrame("error", { type: "upstream_error", message: "The answer was interrupted; it is incomplete." }));
    } else {
      out.enqueue(sseFrame("done", outcome(o.target, o.variant, o.cache, usage)));
    }
    out.close();
    s.events.cancel();
    ended();
  };

  const body = new ReadableStream<Uint8Array>({
    start(out) {
      if (s.first) out.enqueue(sseFrame("delta", { text: s.first }));
      if (s.done) finish(out, null);
    },
    // Loops until it has enqueued something: a pull that enqueues nothing may not be called again.
    async pull(out) {
      while (!finished) {
        let piece;
        try {
          piece = await s.events.next(o.idleMs);
        } catch (e) {
          return finish(out, e instanceof TimeoutError ? "stream_stalled" : "stream_failed");
        }
        if (piece === "end") return finish(out, "stream_truncated");
        if (piece.error) return finish(out, "stream_error_event");
        mergeUsage(usage, piece.usage);
        if (piece.done) return finish(out, null);
        if (piece.text) return out.enqueue(sseFrame("delta", { text: piece.text }));
      }
    },
    cancel() {
      finished = true;
      log.error = "client_closed";
      s.events.cancel();
      ended();
    },
  });
  return new Response(body, { headers: answerHeaders(o.target, o.variant, o.cache, SSE_CONTENT_TYPE) });
}
