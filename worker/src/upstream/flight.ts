/**
 * One upstream call in flight, and the collapsing of identical calls. While a cacheable request is on its way to
 * the gateway, an identical one of the same client (same cache key) in the same isolate waits for that answer
 * instead of making a second call; the gateway's own cache cannot do this, since both would miss it. A JSON answer
 * is shared as its text; a stream is shared chunk by chunk from the start, so a late joiner gets the whole stream.
 *
 * workerd binds I/O objects (the upstream body) to the request that created them, so only the first request's
 * context reads the upstream body; the others receive plain byte chunks, and that request keeps its context alive
 * (waitUntil) until the upstream has finished.
 */

/** Why a call produced no answer. */
export class UpstreamFailure extends Error {
  constructor(readonly kind: "timeout" | "network") {
    super(kind === "timeout" ? "timed out" : "network failure");
    this.name = "UpstreamFailure";
  }
}

/** A byte stream read chunk by chunk; cancel() ends a pending read with done. */
export interface ChunkSource {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(): void;
}

/** An upstream answer as a route consumes it. */
export interface Upstream {
  status: number;
  headers: Headers;
  /** The answer was shared from an identical request in flight. */
  coalesced: boolean;
  /** Complete body of a non-streamed answer (an error body included). */
  text: string | undefined;
  /** Body of a successful SSE answer. */
  chunks: ChunkSource | undefined;
}

interface Head {
  status: number;
  headers: Headers;
  text?: string;
  body?: ReadableStream<Uint8Array>;
}

const noop = () => {};
const DONE: ReadableStreamReadResult<Uint8Array> = { done: true, value: undefined };

/**
 * Sends and reads the head of an answer within `timeoutMs`: the whole body for JSON, the status and headers for a
 * stream (whose idle time the reader bounds from then on).
 */
async function start(send: (signal: AbortSignal) => Promise<Response>, timeoutMs: number): Promise<Head> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  let res: Response;
  try {
    res = await send(controller.signal);
  } catch {
    clearTimeout(timer);
    throw new UpstreamFailure(timedOut ? "timeout" : "network");
  }
  if (res.ok && res.body !== null && (res.headers.get("content-type") ?? "").includes("text/event-stream")) {
    clearTimeout(timer);
    return { status: res.status, headers: res.headers, body: res.body };
  }
  try {
    // The signal bounds the body as well: aborting a fetch errors its body stream.
    return { status: res.status, headers: res.headers, text: await res.text() };
  } catch {
    throw new UpstreamFailure(timedOut ? "timeout" : "network");
  } finally {
    clearTimeout(timer);
  }
}

function readerSource(body: ReadableStream<Uint8Array>): ChunkSource {
  const reader = body.getReader();
  return { read: () => reader.read(), cancel: () => void reader.cancel().catch(noop) };
}

/** An upstream stream read once and replayed to every subscriber from its first chunk. */
class Broadcast {
  private readonly chunks: Uint8Array[] = [];
  private state: "open" | "done" | "failed" = "open";
  private wake: () => void = noop;
  private tick!: Promise<void>;
  private subscribers = 0;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly ended: Promise<void>;

  constructor(body: ReadableStream<Uint8Array>) {
    this.reader = body.getReader();
    this.next();
    this.ended = this.pump();
  }

  private next(): void {
    this.tick = new Promise<void>((resolve) => (this.wake = resolve));
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        const r = await this.reader.read();
        if (r.done) break;
        this.chunks.push(r.value);
        const wake = this.wake;
        this.next();
        wake();
      }
      this.state = "done";
    } catch {
      this.state = "failed";
    }
    this.wake();
  }

  subscribe(): ChunkSource {
    this.subscribers++;
    let at = 0;
    let cancelled = false;
    let release: () => void = noop;
    return {
      read: async () => {
        for (;;) {
          if (cancelled) return DONE;
          if (at < this.chunks.length) return { done: false, value: this.chunks[at++]! };
          if (this.state === "done") return DONE;
          if (this.state === "failed") throw new UpstreamFailure("network");
          await new Promise<void>((resolve) => {
            release = resolve;
            void this.tick.then(resolve);
          });
        }
      },
      cancel: () => {
        if (cancelled) return;
        cancelled = true;
        release();
        if (--this.subscribers === 0 && this.state === "open") {
          // From another request's context workerd refuses the I/O; the upstream then ends with the first request.
          try {
            void this.reader.cancel().catch(noop);
          } catch {
            // see above
          }
        }
      },
    };
  }
}

class Flight {
  readonly head: Promise<Head>;
  private broadcast: Broadcast | undefined;
  /** Settles (never rejects) when the upstream answer has been read to its end. */
  readonly done: Promise<void>;

  constructor(head: Promise<Head>) {
    this.head = head.then((h) => {
      if (h.body) this.broadcast = new Broadcast(h.body);
      return h;
    });
    this.done = this.head.then(() => this.broadcast?.ended, noop);
  }

  /**
   * The answer for one request. A joining request waits under its own timer: its deadline, and a pending event of
   * its own, without which workerd would take a request that only awaits another request's I/O for a hung one.
   */
  async join(coalesced: boolean, timeoutMs: number): Promise<Upstream> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const h = coalesced
      ? await Promise.race([
          this.head,
          new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new UpstreamFailure("timeout")), timeoutMs))),
        ]).finally(() => clearTimeout(timer))
      : await this.head;
    return { status: h.status, headers: h.headers, coalesced, text: h.text, chunks: this.broadcast?.subscribe() };
  }
}

/** In-flight calls of this isolate by cache key; an entry lives until its answer has been read to the end. */
const flights = new Map<string, Flight>();

/**
 * One upstream call. With a cache key, an identical call already in flight is joined instead (its answer comes back
 * with `coalesced: true`); without one (the request skips the cache), the call is the request's own.
 */
export async function callUpstream(
  send: (signal: AbortSignal) => Promise<Response>,
  timeoutMs: number,
  key: string,
  ctx: { waitUntil(promise: Promise<unknown>): void },
): Promise<Upstream> {
  if (key === "") {
    const h = await start(send, timeoutMs);
    return { status: h.status, headers: h.headers, coalesced: false, text: h.text, chunks: h.body ? readerSource(h.body) : undefined };
  }
  const inFlight = flights.get(key);
  if (inFlight) return inFlight.join(true, timeoutMs);
  const flight = new Flight(start(send, timeoutMs));
  flights.set(key, flight);
  ctx.waitUntil(
    flight.done.then(() => {
      if (flights.get(key) === flight) flights.delete(key);
    }),
  );
  return flight.join(false, timeoutMs);
}
