/**
 * Server-sent events: an incremental parser for upstream streams, the Worker's own event writer, and a timeout
 * race for reads, so a stalled upstream ends the stream instead of hanging it.
 */
import type { SseEvent } from "./providers/provider";

/** Feeds text in, gets complete events out (blank-line separated; multi-line data joined with \n). */
export class SseParser {
  private buf = "";
  private event: string | undefined;
  private data: string[] = [];

  push(text: string): SseEvent[] {
    this.buf += text;
    const out: SseEvent[] = [];
    let nl: number;
    while ((nl = this.buf.indexOf("\n")) >= 0) {
      let line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      if (line.endsWith("\r")) line = line.slice(0, -1);
      this.line(line, out);
    }
    return out;
  }

  /** Whatever the stream left without a final blank line. */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    if (this.buf !== "") this.line(this.buf, out);
    this.buf = "";
    this.line("", out);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === "") {
      if (this.data.length > 0) out.push({ event: this.event, data: this.data.join("\n") });
      this.event = undefined;
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
  }
}

const encoder = new TextEncoder();

export function sseFrame(event: string, data: unknown): Uint8Array {
  return encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

export class TimeoutError extends Error {
  constructor() {
    super("timed out");
    this.name = "TimeoutError";
  }
}

/** Resolves like p, or rejects with TimeoutError after ms and aborts the controller so the upstream is released. */
export function within<T>(p: Promise<T>, ms: number, controller: AbortController): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new TimeoutError());
    }, Math.max(0, ms));
  });
  return Promise.race([p, expiry]).finally(() => clearTimeout(timer));
}
