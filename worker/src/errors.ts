/**
 * The Worker's one error type and its three wire shapes. Everything that goes wrong becomes an ApiError (status plus
 * a machine-readable type); app.onError renders it in the shape the caller's SDK expects for that surface.
 */
import type { Surface } from "./wire";

export type ErrorType =
  | "invalid_request"
  | "authentication"
  | "not_found"
  | "method_not_allowed"
  | "request_too_large"
  | "rate_limited"
  /** The client's budget (BUDGETS) does not cover the request; retrying before the reset cannot help. */
  | "budget_exceeded"
  /** The budget ledger cannot be reached and no lease covers the request: refused rather than unmetered. */
  | "budget_unavailable"
  /** The provider refused the request as malformed or too large: the client's problem, told without upstream detail. */
  | "upstream_rejected"
  /** Upstream failed (5xx, bad credentials on the Worker's side, malformed body, network) after any fallbacks. */
  | "upstream_error"
  /** Every upstream said it is overloaded or rate limited. */
  | "upstream_unavailable"
  | "upstream_timeout"
  /** The AI Gateway's own rate limit or spend limit refused the call (it covers every provider behind it). */
  | "gateway_limited"
  /** A gateway content policy (Guardrails) blocked the prompt or the answer; no other provider is tried. */
  | "policy_blocked"
  /** The gateway's content policy service itself failed, so the request could not be checked. */
  | "policy_unavailable"
  /** An operator mistake in ROUTING, CLIENT_KEYS or a missing secret; the detail goes to the log only. */
  | "config_error"
  | "internal_error";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    message: string,
    readonly extra: {
      /** Seconds, for 429 and 503. */
      retryAfter?: number;
      /** The provider's own error type, passed through on its own surface (e.g. Anthropic's "invalid_request_error"). */
      providerType?: string;
      /** The Allow header of a 405. */
      allow?: string;
      /** Log-only detail (already free of secrets). */
      detail?: string;
      /** Sent as x-should-retry: false, so the official SDKs do not retry what cannot succeed. */
      noRetry?: boolean;
    } = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const ANTHROPIC_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  405: "invalid_request_error",
  413: "request_too_large",
  422: "invalid_request_error",
  429: "rate_limit_error",
  502: "api_error",
  503: "overloaded_error",
  504: "timeout_error",
};

const OPENAI_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "invalid_request_error",
  405: "invalid_request_error",
  413: "invalid_request_error",
  422: "invalid_request_error",
  429: "rate_limit_error",
};

/** The error body for a surface, in the shape that surface's SDK parses. */
export function errorBody(surface: Surface, err: ApiError, requestId: string): unknown {
  switch (surface) {
    case "messages":
      return {
        type: "error",
        error: { type: err.extra.providerType ?? ANTHROPIC_TYPES[err.status] ?? "api_error", message: err.message },
        request_id: requestId,
      };
    case "chatCompletions":
      return {
        error: {
          message: err.message,
          type: err.extra.providerType ?? OPENAI_TYPES[err.status] ?? "server_error",
          param: null,
          code: err.type,
        },
      };
    case "chat":
      return { error: { type: err.type, message: err.message } };
  }
}

/** Which surface's error shape a path gets: the SDK surfaces by their paths, everything else the simple shape. */
export function surfaceOf(path: string): Surface {
  if (path === "/v1/messages" || path.startsWith("/v1/messages/")) return "messages";
  if (path.startsWith("/v1/")) return "chatCompletions";
  return "chat";
}
