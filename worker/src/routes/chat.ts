/**
 * POST /api/chat: the app endpoint for browser clients. `{messages, stream?, feature?}` in; the client's sticky A/B
 * variant picks the first provider, then ROUTING's fallback chain is tried in order on 429, 5xx, timeout, network
 * error, a malformed answer, a retired model, or a stream that fails before its first token. The gateway's own
 * decisions (its rate limit, a content policy) end the chain at once: every step goes through the same gateway.
 * Out: `{text, provider, model, variant, cached, usage}`, or SSE `delta` events ending with `done` (same fields,
 * without text: the client already has it) or `error` (a failure after the first token is never passed off as a
 * complete answer).
 */
import { attemptOrder, chooseVariant, DEFAULT_VARIANT } from "../ab";
import { feature as featureOf, invalid, optionalBoolean, requireArray } from "../body";
import { type Held, STREAM_BUDGET_MESSAGE } from "../budget/meter";
import type { Routing, Target } from "../contract/routing";
import { ApiError } from "../errors";
import { cacheOutcome } from "../gateway";
import type { ApiCall } from "../pipeline";
import { providers } from "../providers";
import { type ChatMessage, isRecord, type Provider, parseJson, type Usage } from "../providers/provider";
import { sendAttempt } from "../upstream/call";
import { classify } from "../upstream/classify";
import { type Upstream, UpstreamFailure } from "../upstream/flight";
import { mergeUsage, StallError, sseFrame, UpstreamEvents } from "../upstream/stream";
import { type CacheOutcome, DEFAULT_FEATURE, OUT, SSE_CONTENT_TYPE } from "../wire";
import { warnRetired } from "./retired";

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
  return {
    provider: target.provider,
    model: target.model,
    variant,
    cached: cache === "HIT",
    usage: { inputTokens: usage.input, outputTokens: usage.output },
  };
}

function answerHeaders(out: Headers, target: Target, variant: string, cache: CacheOutcome, contentType: string): Headers {
  out.set("content-type", contentType);
  out.set(OUT.provider, target.provider);
  out.set(OUT.model, target.model);
  out.set(OUT.variant, variant);
  out.set(OUT.cache, cache);
  return out;
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
    return new ApiError(422, "upstream_rejected", "The model provider rejected the conversation (for example, it is too long).", {
      detail,
    });
  }
  return new ApiError(502, "upstream_error", "The model provider refused the request; the operator has been told.", { detail });
}

/** Where a target is declared, for the warning that tells the operator what to change. */
function settingOf(target: Target, routing: Routing): string {
  const i = routing.chat.fallback.findIndex((t) => t.provider === target.provider && t.model === target.model);
  if (i >= 0) return `routing.chat.fallback[${i}].model`;
  const j = routing.chat.experiments.findIndex((e) => e.target.provider === target.provider && e.target.model === target.model);
  return j >= 0 ? `routing.chat.experiments[${j}].target.model` : `routing.models.${target.provider}`;
}

export async function chat(call: ApiCall): Promise<Response> {
  const { iso, deps, log } = call;
  const routing = iso.routing;
  const body = call.body.value;
  const messages = parseMessages(body);
  const stream = optionalBoolean(body, "stream") ?? false;
  const feature = featureOf(body.feature, "`feature`") ?? DEFAULT_FEATURE;

  const experiment = await chooseVariant(call.client, routing.chat.experiments, deps.unitHash);
  const variant = experiment?.name ?? DEFAULT_VARIANT;
  log.variant = variant;
  log.feature = feature;
  log.stream = stream;

  const { attemptMs, totalMs } = routing.timeouts;
  const deadline = deps.now() + totalMs;
  let deadlineHit = false;
  /** A spend limit refused a step: later steps it does not cover may still answer; if none does, this is the answer. */
  let spendLimit: ApiError | undefined;

  for (const target of attemptOrder(experiment?.target, routing.chat.fallback)) {
    const remaining = deadline - deps.now();
    if (remaining <= 0) {
      deadlineHit = true;
      break;
    }
    const ms = Math.min(attemptMs, remaining);
    const attemptEnd = deps.now() + ms;
    const provider = providers[target.provider];
    const value = provider.chatBody(messages, target.model, routing.chat.maxTokens, stream);
    log.attempts++;
    log.provider = target.provider;
    log.model = target.model;
    const tried = (what: string | number) => log.tried.push(`${target.provider}:${what}`);

    let up: Upstream;
    let plan;
    let held: Held | undefined;
    try {
      const attempt = { provider, model: target.model, text: JSON.stringify(value), value, forwarded: {}, variant, feature, attemptMs: ms };
      ({ up, plan, held } = await sendAttempt(call, { ...attempt, sentMaxTokens: routing.chat.maxTokens }));
    } catch (e) {
      // A budget refusal ends the request; a failed call moves to the next step.
      if (e instanceof ApiError) throw e;
      tried(e instanceof UpstreamFailure ? e.kind : "network");
      continue;
    }
    if (up.status < 200 || up.status > 299) {
      held?.release();
      const verdict = classify(up, provider, call.env, undefined);
      if (verdict.kind === "next") {
        tried(verdict.label);
        if (verdict.retired) warnRetired(call, target.provider, target.model, settingOf(target, routing));
        continue;
      }
      tried(up.status);
      if (verdict.kind === "spend") {
        spendLimit = verdict.error;
        continue;
      }
      throw verdict.error.type === "upstream_rejected" ? refused(up.status, provider) : verdict.error;
    }
    const cache = cacheOutcome(plan, up);
    const free = cache === "HIT" || cache === "COALESCED";

    if (up.chunks) {
      const started = await firstToken(new UpstreamEvents(up.chunks, provider, Math.max(0, attemptEnd - deps.now())), held);
      if (!started) {
        held?.release();
        tried("bad_stream");
        continue;
      }
      tried(up.status);
      log.cache = cache;
      return streamAnswer(call, started, { target, variant, cache, idleMs: attemptMs, held, free });
    }

    const json = parseJson(up.text ?? "");
    const answer = provider.readAnswer(json);
    if (!answer) {
      held?.release();
      tried("bad_body");
      continue;
    }
    tried(up.status);
    log.cache = cache;
    log.usage = answer.usage;
    held?.observe(provider.billed(json));
    held?.settle(free);
    if (stream) {
      // A gateway with response guardrails answers a stream with one body: re-emit it as this route's events.
      const events = new Uint8Array([
        ...sseFrame("delta", { text: answer.text }),
        ...sseFrame("done", outcome(target, variant, cache, answer.usage)),
      ]);
      return new Response(events, { headers: answerHeaders(call.out, target, variant, cache, SSE_CONTENT_TYPE) });
    }
    return new Response(JSON.stringify({ text: answer.text, ...outcome(target, variant, cache, answer.usage) }), {
      headers: answerHeaders(call.out, target, variant, cache, "application/json"),
    });
  }
  throw spendLimit ?? exhausted(log.tried, deadlineHit);
}

interface Started {
  events: UpstreamEvents;
  /** Text of the first delta; "" when the stream ended cleanly without any. */
  first: string;
  usage: Usage;
  /** The provider's end marker already arrived. */
  done: boolean;
}

/** Reads up to the first text (or a clean end). undefined: the stream failed first, so the next provider may try. */
async function firstToken(events: UpstreamEvents, held: Held | undefined): Promise<Started | undefined> {
  const usage: Usage = { input: 0, output: 0 };
  try {
    for (;;) {
      const piece = await events.next();
      if (piece === "end" || piece.error) break;
      mergeUsage(usage, piece.usage);
      held?.observe(piece.billed);
      if (piece.text) return { events, first: piece.text, usage, done: false };
      if (piece.done) return { events, first: "", usage, done: true };
    }
  } catch {
    // a stall or a broken connection: same as a stream that ended early
  }
  events.cancel();
  return undefined;
}

function streamAnswer(
  call: ApiCall,
  s: Started,
  o: { target: Target; variant: string; cache: CacheOutcome; idleMs: number; held: Held | undefined; free: boolean },
): Response {
  const log = call.log;
  const usage = s.usage;
  let finished = false;
  let ended!: () => void;
  call.streaming(new Promise<void>((resolve) => (ended = resolve)));
  s.events.limit(o.idleMs);
  const finish = (out: ReadableStreamDefaultController<Uint8Array>, error: string | null) => {
    finished = true;
    log.usage = usage;
    o.held?.settle(o.free, error === null);
    if (error === "budget_exceeded") {
      log.error = error;
      out.enqueue(sseFrame("error", { type: "budget_exceeded", message: STREAM_BUDGET_MESSAGE }));
    } else if (error) {
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
    async start(out) {
      if (s.first) out.enqueue(sseFrame("delta", { text: s.first }));
      if (s.first && o.held && !o.held.streamed(s.first) && !(await o.held.cover())) return finish(out, "budget_exceeded");
      if (s.done) finish(out, null);
    },
    // Loops until it has enqueued something: a pull that enqueues nothing may not be called again.
    async pull(out) {
      while (!finished) {
        let piece;
        try {
          piece = await s.events.next();
        } catch (e) {
          return finish(out, e instanceof StallError ? "stream_stalled" : "stream_failed");
        }
        if (piece === "end") return finish(out, "stream_truncated");
        if (piece.error) return finish(out, "stream_error_event");
        mergeUsage(usage, piece.usage);
        o.held?.observe(piece.billed);
        if (piece.done) return finish(out, null);
        if (piece.text) {
          out.enqueue(sseFrame("delta", { text: piece.text }));
          if (o.held && !o.held.streamed(piece.text) && !(await o.held.cover())) return finish(out, "budget_exceeded");
          return;
        }
      }
    },
    cancel() {
      finished = true;
      o.held?.settle(o.free, false);
      log.error = "client_closed";
      s.events.cancel();
      ended();
    },
  });
  return new Response(body, { headers: answerHeaders(call.out, o.target, o.variant, o.cache, SSE_CONTENT_TYPE) });
}
