/**
 * Client auth: the key comes in x-api-key (Anthropic SDK) or Authorization: Bearer (OpenAI SDK, browsers). Its
 * SHA-256 digest is compared in constant time against every usable client's digest, with no early exit, so timing
 * says nothing about which client or how much matched. Only clients listed in CLIENTS are usable (config.ts), so a
 * digest in CLIENT_KEYS for an unlisted client is refused like any wrong key. The key goes no further than this file.
 */
import type { ClientKey } from "../config";
import { sha256, timingSafeEqual } from "../crypto";
import { ApiError } from "../errors";
import { IN } from "../wire";

const BEARER = /^Bearer\s+(\S+)\s*$/i;

function presentedKey(headers: Headers): string | undefined {
  const apiKey = headers.get(IN.apiKey)?.trim();
  if (apiKey) return apiKey;
  const auth = headers.get(IN.authorization);
  return auth === null ? undefined : BEARER.exec(auth)?.[1];
}

/** The id of the client whose key the request presents; 401 otherwise. */
export async function authenticate(headers: Headers, keys: readonly ClientKey[]): Promise<string> {
  const key = presentedKey(headers);
  if (key === undefined) {
    throw new ApiError(401, "authentication", "Missing API key: send it in the x-api-key header or as Authorization: Bearer <key>.");
  }
  const digest = await sha256(key);
  let match: string | undefined;
  for (const client of keys) {
    if (timingSafeEqual(digest, client.digest) && match === undefined) match = client.id;
  }
  if (match === undefined) throw new ApiError(401, "authentication", "Invalid API key.");
  return match;
}
