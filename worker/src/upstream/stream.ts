/**
 * Reading upstream SSE: passing a stream through unchanged while watching it (pass-through surfaces), and reading it
 * event by event (/api/chat). Events are split by eventsource-parser; only the events that can carry usage, the end
 * marker or an error are parsed as JSON (Provider.watches), so a delta costs a scan, not a parse. A stall is caught by
 * one re-armed timer per stream rather than a timeout race per read.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { type Held, STREAM_BUDGET_MESSAGE } from "../budget/meter";
import type { Provider, StreamPiece, Usage } from "../providers/provider";
import type { ChunkSource } from "./flight";

export class StallError extends Error {
  constructor() {
    super("stream stalled");
    this.name = "StallError";
  }
}

/** Cancels `src` when no chunk arrived for `ms`; touch() on every chunk, set() to change the limit. */
class IdleTimer {
  private last = Date.now();
  private timer: ReturnType<typeof setTimeout> | undefined;
  fired = false;

  constructor(
    private ms: number,
    private readonly src: ChunkSource,
  ) {
    this.arm(ms);
  }

  private arm(ms: number): void {
    this.timer = setTimeout(
      () => {
        const idle = Date.now() - this.last;
        if (idle < this.ms) return this.arm(this.ms - idle);
        this.fired = true;
        this.src.cancel();
      },
      Math.max(0, ms),
    );
  }

  touch(): void {
    this.last = Date.now();
  }

  set(ms: number): void {
    this.ms = ms;
    this.last = Date.now();
    clearTimeout(this.timer);
    this.arm(ms);
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

export function mergeUsage(into: Usage, piece: Partial<Usage> | undefined): void {
  if (piece?.input !== undefined) into.input = piece.input;
  if (piece?.output !== undefined) into.output = piece.output;
}

export interface RelayOutcome {
  usage: Usage;
  /** Why the stream ended early, if it did. */
  error: string | null;
}

const encoder = new TextEncoder();
/** The blank line that ends an SSE event (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
const EVENT_END = /\r\n\r\n|\n\n|\r\r/g;

/** How a relayed stream is metered: the hold it runs under, and whether to keep a usage chunk the client did not ask for. */
export interface RelayBudget {
  held: Held;
  /**
   * The Worker asked the provider for a usage chunk (OpenAI's stream_options.include_usage) so the stream is charged
   * its real usage; the client did not, so that chunk is read and not passed on.
   */
  dropUsageChunk?: boolean;
}

/**
 * Passes an upstream SSE body through unchanged. Unmetered, each chunk is forwarded before it is looked at. Metered,
 * each complete event is read before it goes out, so a stream the budget cannot cover ends right after the event
 * that passed it (never later, never inside an event), and a usage chunk only the Worker asked for is left out. If it
 * stalls for idleMs, fails, or stops before the provider's end marker, the client gets an error event in the
 * provider's own dialect (so its SDK raises) instead of a silently truncated answer.
 */
export function relay(
  src: ChunkSource,
  provider: Provider,
  idleMs: number,
  onEnd: (outcome: RelayOutcome) => void,
  budget?: RelayBudget,
): ReadableStream<Uint8Array> {
  const held = budget?.held;
  const decoder = new TextDecoder();
  const usage: Usage = { input: 0, output: 0 };
  let sawEnd = false;
  let sawError = false;
  let finished = false;
  /** The lease cannot cover what has streamed: the ledger is asked at the event's end, and the stream ends if it says no. */
  let overBudget = false;
  /** The event just read is the usage chunk the client did not ask for. */
  let skip = false;
  /** Metered: text of an event that has not ended yet. */
  let partial = "";
  /** Metered: the last chunk ended at an event's end, on a line break (so the decoder holds no bytes of it). */
  let between = true;
  const parser = createParser({
    onEvent(ev) {
      // With a budget to hold, every event is read: the text so far is what the running cost is checked against.
      if (!held && !provider.watches(ev)) return;
      const piece = provider.readEvent(ev);
      mergeUsage(usage, piece?.usage);
      held?.observe(piece?.billed);
      // Every delta is counted, also after one the lease could not cover.
      if (piece?.text && held && !held.streamed(piece.text)) overBudget = true;
      if (piece?.done) sawEnd = true;
      if (piece?.error) sawError = true;
      if (budget?.dropUsageChunk && piece?.usageOnly) skip = true;
    },
  });
  const idle = new IdleTimer(idleMs, src);
  const finish = (error: string | null) => {
    if (finished) return;
    finished = true;
    idle.stop();
    onEnd({ usage, error });
  };
  const fail = (out: ReadableStreamDefaultController<Uint8Array>, why: "stalled" | "failed" | "ended") => {
    src.cancel();
    // A blank line first closes any event the upstream left half-written.
    out.enqueue(encoder.encode(`\n\n${provider.sseError(`The upstream stream ${why} before it finished.`)}`));
    out.close();
    finish(why === "ended" ? "stream_truncated" : `stream_${why}`);
  };
  /** Feeds one event (or the unfinished rest) to the parser; the text to pass on, "" for a dropped usage chunk. */
  const read = (event: string): string => {
    skip = false;
    parser.feed(event);
    return skip ? "" : event;
  };

  return new ReadableStream<Uint8Array>({
    // Loops until it has enqueued something or ended: a pull that enqueues nothing may not be called again.
    async pull(out) {
      for (;;) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await src.read();
        } catch {
          return fail(out, idle.fired ? "stalled" : "failed");
        }
        if (idle.fired) return fail(out, "stalled");
        if (r.done) {
          const rest = read(partial + decoder.decode());
          partial = "";
          parser.reset({ consume: true });
          if (held && rest !== "") out.enqueue(encoder.encode(rest));
          if (!sawEnd && !sawError) return fail(out, "ended");
          out.close();
          return finish(sawError ? "stream_error_event" : null);
        }
        idle.touch();
        if (!held) {
          out.enqueue(r.value);
          parser.feed(decoder.decode(r.value, { stream: true }));
          return;
        }
        const text = partial + decoder.decode(r.value, { stream: true });
        const last = r.value[r.value.byteLength - 1];
        const startedBetween = between;
        let from = 0;
        let send = "";
        // matchAll reads a copy of the pattern: other streams use it while this one waits for the ledger.
        for (const m of text.matchAll(EVENT_END)) {
          const end = m.index + m[0].length;
          send += read(text.slice(from, end));
          from = end;
          if (!overBudget || sawEnd) continue;
          overBudget = false;
          if (await held.cover()) continue;
          src.cancel();
          if (send !== "") out.enqueue(encoder.encode(send));
          out.enqueue(encoder.encode(provider.sseError(STREAM_BUDGET_MESSAGE, "budget_exceeded")));
          out.close();
          return finish("budget_exceeded");
        }
        partial = text.slice(from);
        between = partial === "" && (last === 0x0a || last === 0x0d);
        if (send === "") continue;
        // The common chunk: whole events, none left out, so its own bytes go on; otherwise the events read.
        out.enqueue(startedBetween && between && send.length === text.length ? r.value : encoder.encode(send));
        return;
      }
    },
    cancel() {
      src.cancel();
      finish("client_closed");
    },
  });
}

/**
 * An upstream SSE body read event by event, for /api/chat. `next` answers the meaning of the next event, "end" when
 * the body is over, or { error } when the event is not the provider's shape; it throws StallError when nothing
 * arrived within the current limit (set with `limit`).
 */
export class UpstreamEvents {
  private readonly decoder = new TextDecoder();
  private readonly queue: EventSourceMessage[] = [];
  private readonly parser = createParser({ onEvent: (ev) => void this.queue.push(ev) });
  private readonly idle: IdleTimer;
  private ended = false;

  constructor(
    private readonly src: ChunkSource,
    private readonly provider: Provider,
    limitMs: number,
  ) {
    this.idle = new IdleTimer(limitMs, src);
  }

  limit(ms: number): void {
    this.idle.set(ms);
  }

  async next(): Promise<StreamPiece | "end"> {
    while (this.queue.length === 0) {
      if (this.ended) return "end";
      const r = await this.src.read();
      if (this.idle.fired) throw new StallError();
      if (r.done) {
        this.ended = true;
        this.parser.feed(this.decoder.decode());
        this.parser.reset({ consume: true });
      } else {
        this.idle.touch();
        this.parser.feed(this.decoder.decode(r.value, { stream: true }));
      }
    }
    return this.provider.readEvent(this.queue.shift()!) ?? { error: true };
  }

  cancel(): void {
    this.idle.stop();
    this.src.cancel();
  }
}

/** One event of the Worker's own /api/chat stream. */
export function sseFrame(event: string, data: unknown): Uint8Array {
  return encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
