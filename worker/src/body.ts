/**
 * Request bodies: read with a byte cap (Content-Length first, then the bytes actually received, so a lying or
 * absent header cannot get past the limit), parsed as JSON, and small hand-written type checks whose messages name
 * the field. No validation library: the Worker bundle stays small.
 */
import { ApiError } from "./errors";
import { isRecord } from "./providers/provider";
import { IN } from "./wire";

function tooLarge(max: number): ApiError {
  return new ApiError(413, "request_too_large", `Request body is larger than the limit of ${max} bytes.`);
}

export function invalid(message: string): ApiError {
  return new ApiError(400, "invalid_request", message);
}

/**
 * A body whose Content-Length is within the limit: read in one native call. The HTTP framing holds the body to that
 * length; the size is checked again in case the header lied (a Request built in code is not framed).
 */
async function readDeclared(req: Request, maxBytes: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(await req.arrayBuffer());
  if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
  return bytes;
}

/** A body without Content-Length (chunked upload): read chunk by chunk, stopping as soon as it passes the limit. */
async function readCapped(req: Request, maxBytes: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (req.body) {
    const reader = req.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  }
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const ch of chunks) {
    bytes.set(ch, at);
    at += ch.byteLength;
  }
  return bytes;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** A request body as received (the exact text, passed upstream without re-serialising) and as parsed. */
export interface JsonBody {
  text: string;
  /** Its size in bytes, as sent upstream on the pass-through surfaces. */
  bytes: number;
  value: Record<string, unknown>;
}

export async function readJsonBody(req: Request, maxBytes: number): Promise<JsonBody> {
  const declared = req.headers.get(IN.contentLength);
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  const bytes = declared !== null ? await readDeclared(req, maxBytes) : await readCapped(req, maxBytes);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw invalid("Request body is not valid UTF-8.");
  }
  if (text.trim() === "") throw invalid("Request body is empty; send a JSON object.");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid("Request body is not valid JSON.");
  }
  if (!isRecord(parsed)) throw invalid("Request body must be a JSON object.");
  return { text, bytes: bytes.byteLength, value: parsed };
}

export function requireString(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (v === undefined) throw invalid(`\`${field}\` is required.`);
  if (typeof v !== "string" || v === "") throw invalid(`\`${field}\` must be a non-empty string.`);
  return v;
}

export function requireArray(body: Record<string, unknown>, field: string): unknown[] {
  const v = body[field];
  if (v === undefined) throw invalid(`\`${field}\` is required.`);
  if (!Array.isArray(v)) throw invalid(`\`${field}\` must be an array.`);
  if (v.length === 0) throw invalid(`\`${field}\` must not be empty.`);
  return v;
}

export function optionalBoolean(body: Record<string, unknown>, field: string): boolean | undefined {
  const v = body[field];
  if (v !== undefined && typeof v !== "boolean") throw invalid(`\`${field}\` must be true or false.`);
  return v;
}

export function optionalPositiveInt(body: Record<string, unknown>, field: string, required = false): number | undefined {
  const v = body[field];
  if (v === undefined) {
    if (required) throw invalid(`\`${field}\` is required.`);
    return undefined;
  }
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw invalid(`\`${field}\` must be a whole number of at least 1.`);
  return v;
}

export function optionalObject(body: Record<string, unknown>, field: string): void {
  const v = body[field];
  if (v !== undefined && v !== null && !isRecord(v)) throw invalid(`\`${field}\` must be an object.`);
}

const FEATURE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The optional feature label that ends up in gateway metadata. */
export function feature(value: unknown, source: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !FEATURE.test(value)) {
    throw invalid(`${source} must be 1-64 letters, digits, '_', '.', ':' or '-'.`);
  }
  return value;
}

/** The model must be one ROUTING lets clients use on this surface. */
export function allowedModel(model: string, allowed: readonly string[]): string {
  if (!allowed.includes(model)) {
    throw invalid(`Model "${model}" is not available here. Available: ${allowed.length > 0 ? allowed.join(", ") : "none"}.`);
  }
  return model;
}
