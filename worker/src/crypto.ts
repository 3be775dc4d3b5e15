/** Small hashing helpers over Web Crypto: hex digests, a hash to [0,1) for bucketing, and constant-time comparison. */

const encoder = new TextEncoder();
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

export async function sha256Hex(text: string): Promise<string> {
  let hex = "";
  for (const b of await sha256(text)) hex += HEX[b];
  return hex;
}

/** First 48 bits of SHA-256(text) as a number in [0, 1): uniform, deterministic, identical in every isolate. */
export async function sha256Unit(text: string): Promise<number> {
  const d = await sha256(text);
  let n = 0;
  for (let i = 0; i < 6; i++) n = n * 256 + d[i]!;
  return n / 2 ** 48;
}

/** Equal-length byte comparison whose time does not depend on where the inputs differ. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  return crypto.subtle.timingSafeEqual(a, b);
}
