/**
 * Scrubs text that came from upstream (error messages, exception text) before it reaches a client or the log:
 * the Worker's secrets, the account and gateway ids, any URL and any path of three or more segments (a provider
 * error may quote the gateway path `/v1/{account}/{gateway}/…`, whose gateway id can be too short to match alone).
 */
import { SECRET_BINDING_NAMES } from "./contract/bindings";
import { gatewayUrl } from "./gateway";

const SENSITIVE = [...SECRET_BINDING_NAMES, "AI_GATEWAY_ACCOUNT_ID", "AI_GATEWAY_ID", "AI_GATEWAY_BASE_URL"] as const;

function gatewayHost(env: Env): string | undefined {
  try {
    return new URL(gatewayUrl(env)).host;
  } catch {
    return undefined;
  }
}

export function redact(text: string, env: Env, maxLength = 500): string {
  let out = text.replace(/\b(?:https?|wss?):\/\/[^\s"'<>]+/gi, "[url]").replace(/(?:\/[^\s/"'<>]+){3,}\/?/g, "[path]");
  for (const value of [...SENSITIVE.map((name): unknown => env[name]), gatewayHost(env)]) {
    // Very short values (a gateway id like "gw") would blank out ordinary words; they are not secrets either.
    if (typeof value === "string" && value.length >= 6) out = out.split(value).join("[redacted]");
  }
  return out.length > maxLength ? `${out.slice(0, maxLength)}…` : out;
}
