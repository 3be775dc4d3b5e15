/**
 * What each provider behind the gateway stand-in answers: Anthropic Messages, OpenAI Chat Completions and Workers AI,
 * as JSON or as their own SSE framing, with content derived only from the request so tests can predict it.
 *
 * The rules (exported so tests compute the expected answer rather than hard-coding it):
 * - the answer text is `answerText(provider, model, lastUserText)`; streams send it word by word;
 * - `max_tokens` (words) shorter than the answer truncates it (stop `max_tokens` / finish `length`);
 * - a stop sequence found in the answer ends it there (Anthropic `stop_sequence`, OpenAI `stop`);
 * - when tools are given and the last user message names one of them (or `tool_choice` forces one), the answer is a
 *   call to that tool with arguments built from its JSON schema (`toolArguments`).
 */

export type Provider = "anthropic" | "openai" | "workers-ai";
export const PROVIDER_NAMES: readonly Provider[] = ["anthropic", "openai", "workers-ai"];

type Json = Record<string, unknown>;

export function answerText(provider: Provider, model: string, lastUserText: string): string {
  return `${provider}/${model} heard: ${lastUserText}`;
}

/** Arguments for a forced or named tool: one deterministic value per declared property. */
export function toolArguments(schema: unknown): Record<string, unknown> {
  const props = (schema as { properties?: Record<string, { type?: string }> } | undefined)?.properties ?? {};
  const out: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(props)) {
    const t = p?.type;
    out[name] = t === "string" ? "stand-in" : t === "number" || t === "integer" ? 1 : t === "boolean" ? true : null;
  }
  return out;
}

/** Splits text into the pieces a stream sends: each word with its trailing whitespace. */
export function tokens(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? [text];
}

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function blockText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  const parts: string[] = [];
  for (const b of content as Json[]) {
    if (b?.type === "text" && typeof b.text === "string") parts.push(b.text);
    else if (b?.type === "tool_result") parts.push(`tool result ${blockText(b.content)}`);
  }
  return parts.join(" ");
}

interface Msg {
  role?: unknown;
  content?: unknown;
}

function lastUser(messages: unknown): string {
  if (!Array.isArray(messages)) return "";
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as Msg;
    if (m?.role === "user") return blockText(m.content);
    if (m?.role === "tool") return `tool result ${blockText(m.content)}`;
  }
  return "";
}

function inputWords(body: Json): number {
  let n = typeof body.system === "string" ? words(body.system) : words(blockText(body.system));
  if (typeof body.prompt === "string") n += words(body.prompt);
  if (Array.isArray(body.messages)) for (const m of body.messages as Msg[]) n += words(blockText(m?.content));
  return Math.max(n, 1);
}

interface Tool {
  name: string;
  schema: unknown;
}

function pickTool(tools: Tool[], choice: unknown, text: string): Tool | undefined {
  if (tools.length === 0) return undefined;
  const c = choice as { type?: string; name?: string; function?: { name?: string } } | string | undefined;
  if (c === "none" || (typeof c === "object" && c?.type === "none")) return undefined;
  const forced = typeof c === "object" ? (c.name ?? c.function?.name) : undefined;
  if (forced) return tools.find((t) => t.name === forced);
  const named = tools.find((t) => text.includes(t.name));
  if (named) return named;
  if (c === "required" || (typeof c === "object" && c?.type === "any")) return tools[0];
  return undefined;
}

/** The provider-neutral answer: text (maybe truncated) or a tool call, plus usage. */
export interface Answer {
  model: string;
  text: string;
  stop: "end" | "max_tokens" | "stop_sequence" | "tool";
  stopSequence: string | null;
  tool?: { id: string; name: string; args: string };
  inputTokens: number;
  outputTokens: number;
}

let seq = 0;
function nextId(): string {
  seq = (seq + 1) % 1e9;
  return seq.toString(36).padStart(6, "0");
}

export function answer(provider: Provider, model: string, body: Json): Answer {
  const text = lastUser(body.messages) || (typeof body.prompt === "string" ? body.prompt : "");
  const inputTokens = inputWords(body);
  const rawTools = Array.isArray(body.tools) ? (body.tools as Json[]) : [];
  const tools: Tool[] = rawTools
    .map((t): Tool | undefined => {
      const f = t.function as Json | undefined;
      if (f && typeof f.name === "string") return { name: f.name, schema: f.parameters };
      if (typeof t.name === "string") return { name: t.name, schema: t.input_schema };
      return undefined;
    })
    .filter((t): t is Tool => t !== undefined);
  const tool = text.startsWith("tool result") ? undefined : pickTool(tools, body.tool_choice, text);
  if (tool) {
    const args = JSON.stringify(toolArguments(tool.schema));
    return {
      model,
      text: "",
      stop: "tool",
      stopSequence: null,
      tool: { id: `toolu_standin_${nextId()}`, name: tool.name, args },
      inputTokens,
      outputTokens: words(args) + 1,
    };
  }
  let out = answerText(provider, model, text);
  let stop: Answer["stop"] = "end";
  let stopSequence: string | null = null;
  const stops = (
    Array.isArray(body.stop_sequences)
      ? body.stop_sequences
      : Array.isArray(body.stop)
        ? body.stop
        : typeof body.stop === "string"
          ? [body.stop]
          : []
  ) as unknown[];
  for (const s of stops) {
    if (typeof s !== "string" || s === "") continue;
    const at = out.indexOf(s);
    if (at >= 0) {
      out = out.slice(0, at);
      stop = "stop_sequence";
      stopSequence = s;
    }
  }
  const max =
    typeof body.max_tokens === "number"
      ? body.max_tokens
      : typeof body.max_completion_tokens === "number"
        ? body.max_completion_tokens
        : Infinity;
  const pieces = tokens(out);
  if (pieces.length > max) {
    out = pieces.slice(0, Math.max(0, max)).join("");
    stop = "max_tokens";
    stopSequence = null;
  }
  return { model, text: out, stop, stopSequence, inputTokens, outputTokens: Math.max(words(out), 1) };
}

// ---- Anthropic Messages ----

const ANTHROPIC_STOP = { end: "end_turn", max_tokens: "max_tokens", stop_sequence: "stop_sequence", tool: "tool_use" } as const;

export function anthropicJson(a: Answer): Json {
  const content = a.tool
    ? [{ type: "tool_use", id: a.tool.id, name: a.tool.name, input: JSON.parse(a.tool.args) as unknown }]
    : [{ type: "text", text: a.text }];
  return {
    id: `msg_standin_${nextId()}`,
    type: "message",
    role: "assistant",
    model: a.model,
    content,
    stop_reason: ANTHROPIC_STOP[a.stop],
    stop_sequence: a.stopSequence,
    usage: { input_tokens: a.inputTokens, output_tokens: a.outputTokens },
  };
}

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The event sequence split where a "cut before/after the first token" fault acts: head, first token, rest. */
export interface StreamParts {
  head: string[];
  body: string[];
  tail: string[];
}

export function anthropicStream(a: Answer): StreamParts {
  const message = {
    id: `msg_standin_${nextId()}`,
    type: "message",
    role: "assistant",
    model: a.model,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: a.inputTokens, output_tokens: 1 },
  };
  const block = a.tool ? { type: "tool_use", id: a.tool.id, name: a.tool.name, input: {} } : { type: "text", text: "" };
  const head = [
    sse("message_start", { type: "message_start", message }),
    sse("content_block_start", { type: "content_block_start", index: 0, content_block: block }),
    sse("ping", { type: "ping" }),
  ];
  const deltas = a.tool ? chunkJson(a.tool.args) : tokens(a.text);
  const body = deltas.map((d) =>
    sse("content_block_delta", {
      type: "content_block_delta",
      index: 0,
      delta: a.tool ? { type: "input_json_delta", partial_json: d } : { type: "text_delta", text: d },
    }),
  );
  const tail = [
    sse("content_block_stop", { type: "content_block_stop", index: 0 }),
    sse("message_delta", {
      type: "message_delta",
      delta: { stop_reason: ANTHROPIC_STOP[a.stop], stop_sequence: a.stopSequence },
      usage: { output_tokens: a.outputTokens },
    }),
    sse("message_stop", { type: "message_stop" }),
  ];
  return { head, body, tail };
}

/** Splits a JSON argument string into a few pieces, as providers stream tool arguments. */
function chunkJson(s: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += 8) out.push(s.slice(i, i + 8));
  return out.length ? out : [""];
}

const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
};

// ---- OpenAI Chat Completions ----

const OPENAI_FINISH = { end: "stop", max_tokens: "length", stop_sequence: "stop", tool: "tool_calls" } as const;

export function openaiJson(a: Answer): Json {
  const message = a.tool
    ? {
        role: "assistant",
        content: null,
        refusal: null,
        tool_calls: [
          { id: a.tool.id.replace("toolu_", "call_"), type: "function", function: { name: a.tool.name, arguments: a.tool.args } },
        ],
      }
    : { role: "assistant", content: a.text, refusal: null };
  return {
    id: `chatcmpl-standin-${nextId()}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: a.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: OPENAI_FINISH[a.stop] }],
    usage: { prompt_tokens: a.inputTokens, completion_tokens: a.outputTokens, total_tokens: a.inputTokens + a.outputTokens },
  };
}

export function openaiStream(a: Answer, includeUsage: boolean): StreamParts {
  const id = `chatcmpl-standin-${nextId()}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Json, finish: string | null): string =>
    `data: ${JSON.stringify({
      id,
      object: "chat.completion.chunk",
      created,
      model: a.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    })}\n\n`;
  const callId = a.tool?.id.replace("toolu_", "call_");
  const head = [
    chunk(
      a.tool
        ? {
            role: "assistant",
            content: null,
            tool_calls: [{ index: 0, id: callId, type: "function", function: { name: a.tool.name, arguments: "" } }],
          }
        : { role: "assistant", content: "", refusal: null },
      null,
    ),
  ];
  const body = a.tool
    ? chunkJson(a.tool.args).map((p) => chunk({ tool_calls: [{ index: 0, function: { arguments: p } }] }, null))
    : tokens(a.text).map((t) => chunk({ content: t }, null));
  const tail = [chunk({}, OPENAI_FINISH[a.stop])];
  if (includeUsage) {
    tail.push(
      `data: ${JSON.stringify({
        id,
        object: "chat.completion.chunk",
        created,
        model: a.model,
        choices: [],
        usage: { prompt_tokens: a.inputTokens, completion_tokens: a.outputTokens, total_tokens: a.inputTokens + a.outputTokens },
      })}\n\n`,
    );
  }
  tail.push("data: [DONE]\n\n");
  return { head, body, tail };
}

const OPENAI_ERROR_TYPES: Record<number, [type: string, code: string | null]> = {
  400: ["invalid_request_error", null],
  401: ["invalid_request_error", "invalid_api_key"],
  404: ["invalid_request_error", "model_not_found"],
  429: ["requests", "rate_limit_exceeded"],
  500: ["server_error", null],
  503: ["server_error", null],
};

// ---- Workers AI ----

export function workersAiJson(a: Answer): Json {
  return {
    result: {
      response: a.text,
      usage: { prompt_tokens: a.inputTokens, completion_tokens: a.outputTokens, total_tokens: a.inputTokens + a.outputTokens },
    },
    success: true,
    errors: [],
    messages: [],
  };
}

export function workersAiStream(a: Answer): StreamParts {
  const body = tokens(a.text).map((t) => `data: ${JSON.stringify({ response: t })}\n\n`);
  const usage = { prompt_tokens: a.inputTokens, completion_tokens: a.outputTokens, total_tokens: a.inputTokens + a.outputTokens };
  return { head: [], body, tail: [`data: ${JSON.stringify({ response: "", usage })}\n\n`, "data: [DONE]\n\n"] };
}

// ---- errors in each provider's shape ----

export function providerError(provider: Provider, status: number, message: string): Json {
  if (provider === "anthropic") {
    return {
      type: "error",
      error: { type: ANTHROPIC_ERROR_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error"), message },
    };
  }
  if (provider === "openai") {
    const [type, code] = OPENAI_ERROR_TYPES[status] ?? [status >= 500 ? "server_error" : "invalid_request_error", null];
    return { error: { message, type, param: null, code } };
  }
  return { result: null, success: false, errors: [{ code: status === 429 ? 3040 : status >= 500 ? 3043 : 5006, message }], messages: [] };
}

/**
 * What each provider answers for a model past its end of life, through the gateway:
 * - Workers AI: 400 with error code 5028, "This model was deprecated on <date>. Please use an alternative model."
 *   (the text Workers AI sends since its 2026-05-30 retirements, cloudflare/cloudflare-docs#32501; the status is the
 *   one callers observe, since developers.cloudflare.com/workers-ai/platform/errors/ does not list 5028 yet);
 * - OpenAI: 404 `model_not_found` in OpenAI's error shape;
 * - Anthropic: 404 `not_found_error` in Anthropic's error shape.
 */
export function retiredModelError(provider: Provider, model: string, since?: string): { status: number; body: Json } {
  if (provider === "workers-ai") {
    const message = `This model was deprecated${since ? ` on ${since}` : ""}. Please use an alternative model.`;
    return { status: 400, body: { result: null, success: false, errors: [{ code: 5028, message }], messages: [] } };
  }
  if (provider === "openai") {
    const message = `The model \`${model}\` does not exist or you do not have access to it.`;
    return { status: 404, body: { error: { message, type: "invalid_request_error", param: null, code: "model_not_found" } } };
  }
  return { status: 404, body: { type: "error", error: { type: "not_found_error", message: `model: ${model}` } } };
}
