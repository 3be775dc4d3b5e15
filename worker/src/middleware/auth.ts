/**
 * Client auth: the key comes in x-api-key (Anthropic SDK) or Authorization: Bearer (OpenAI SDK, browsers). Its
 * SHA-256 digest is compared in constant time against every client's digest, with no early exit, so timing says
 * nothing about which client or how much matched. Only clients listed in CLIENTS take part (config.ts), so a digest
 * in CLIENT_KEYS for an unlisted client is refused like any wrong key. The key itself goes no further than this file.
 */
import { createMiddleware } from "hono/factory";
import { clientKeysOf } from "../config";
import type { AppEnv } from "../context";
import { sha256, timingSafeEqual } from "../crypto";
import { ApiError } from "../errors";
import { IN } from "../wire";

function presentedKey(headers: { header(name: string): string | undefined }): string | undefined {
  const apiKey = headers.header(IN.apiKey)?.trim();
  if (apiKey) return apiKey;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(headers.header(IN.authorization) ?? "");
  return m?.[1];
}

export const clientAuth = createMiddleware<AppEnv>(async (c, next) => {
  const clients = clientKeysOf(c.env, (detail) => c.get("deps").log(JSON.stringify({ level: "warn", warning: "config", detail })));
  const key = presentedKey(c.req);
  if (key === undefined) {
    throw new ApiError(401, "authentication", "Missing API key: send it in the x-api-key header or as Authorization: Bearer <key>.");
  }
  const digest = await sha256(key);
  let match: string | undefined;
  for (const client of clients) {
    if (timingSafeEqual(digest, client.digest) && match === undefined) match = client.id;
  }
  if (match === undefined) throw new ApiError(401, "authentication", "Invalid API key.");
  c.set("client", match);
  c.get("log").client = match;
  await next();
});
