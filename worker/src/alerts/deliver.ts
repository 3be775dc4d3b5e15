/**
 * Delivers alert messages to the stack's destinations: the notification webhooks infra declared (the same secret
 * Cloudflare's own notifications send in `cf-webhook-auth`, plus an HMAC signature of the body so a receiver can check
 * integrity and freshness), and optionally PagerDuty Events v2. Results carry status codes only, never a secret.
 */

import type { AlertsBinding } from "../contract/alerts";
import type { FetchFn } from "./analytics";

export const HEADERS = {
  auth: "cf-webhook-auth",
  signature: "x-alert-signature",
  timestamp: "x-alert-timestamp",
} as const;

export interface AlertMessage {
  /** Rule id, or "analytics_unavailable" for a persisting analytics failure. */
  alert: string;
  status: "firing" | "resolved";
  stack: string;
  gateway: string;
  summary: string;
  /** When the evaluator decided (ISO). */
  at: string;
  severity: "critical" | "error" | "warning" | "info";
  window?: { start: string; end: string };
  value?: number;
  threshold?: number;
  unit?: string;
  detail?: Record<string, number>;
}

export interface Secrets {
  /** Webhook name -> the secret its NotificationPolicyWebhooks destination was declared with. */
  webhooks: Record<string, string>;
  pagerdutyRoutingKey?: string;
}

export interface Delivery {
  destination: string;
  ok: boolean;
  status?: number;
  reason?: string;
}

const TIMEOUT_MS = 10_000;
const encoder = new TextEncoder();

async function hmacHex(secret: string, data: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(data)));
  return Array.from(sig, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The signature a receiver recomputes: HMAC-SHA256 of `${timestamp}.${body}` keyed by the webhook secret. */
export async function signature(secret: string, timestamp: string, body: string): Promise<string> {
  return `sha256=${await hmacHex(secret, `${timestamp}.${body}`)}`;
}

async function post(fetch: FetchFn, destination: string, url: string, headers: Record<string, string>, body: string): Promise<Delivery> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await res.body?.cancel();
    return res.ok
      ? { destination, ok: true, status: res.status }
      : { destination, ok: false, status: res.status, reason: `HTTP ${res.status}` };
  } catch (err) {
    return { destination, ok: false, reason: err instanceof Error ? err.name : "error" };
  }
}

async function toWebhook(
  fetch: FetchFn,
  hook: { name: string; url: string },
  secret: string | undefined,
  msg: AlertMessage,
  now: Date,
): Promise<Delivery> {
  const destination = `webhook:${hook.name}`;
  // Posting unauthenticated would teach the receiver to accept forgeries.
  if (!secret) return { destination, ok: false, reason: "no secret for this webhook in ALERTS_WEBHOOK_SECRETS" };
  const body = JSON.stringify({ source: "ai-gateway-stack", ...msg });
  const timestamp = String(Math.floor(now.getTime() / 1000));
  return post(
    fetch,
    destination,
    hook.url,
    { [HEADERS.auth]: secret, [HEADERS.timestamp]: timestamp, [HEADERS.signature]: await signature(secret, timestamp, body) },
    body,
  );
}

async function toPagerDuty(fetch: FetchFn, url: string, routingKey: string | undefined, msg: AlertMessage): Promise<Delivery> {
  const destination = "pagerduty";
  if (!routingKey) return { destination, ok: false, reason: "ALERTS_PAGERDUTY_ROUTING_KEY is not set" };
  // One incident per stack and alert: PagerDuty folds repeats and closes it on "resolve".
  const dedupKey = `ai-gateway-stack/${msg.stack}/${msg.alert}`;
  const event =
    msg.status === "firing"
      ? {
          routing_key: routingKey,
          event_action: "trigger",
          dedup_key: dedupKey,
          payload: {
            summary: `[${msg.stack}] ${msg.summary}`.slice(0, 1024),
            source: `ai-gateway/${msg.gateway}`,
            severity: msg.severity,
            timestamp: msg.at,
            component: "ai-gateway",
            custom_details: {
              alert: msg.alert,
              value: msg.value,
              threshold: msg.threshold,
              unit: msg.unit,
              window: msg.window,
              ...msg.detail,
            },
          },
        }
      : { routing_key: routingKey, event_action: "resolve", dedup_key: dedupKey };
  return post(fetch, destination, url, {}, JSON.stringify(event));
}

/** Sends one message to every destination of the stack, in parallel; one failing destination does not stop the rest. */
export async function deliver(fetch: FetchFn, config: AlertsBinding, secrets: Secrets, msg: AlertMessage, now: Date): Promise<Delivery[]> {
  const jobs = config.destinations.webhooks.map((h) => toWebhook(fetch, h, secrets.webhooks[h.name], msg, now));
  if (config.destinations.pagerduty) jobs.push(toPagerDuty(fetch, config.endpoints.pagerduty, secrets.pagerdutyRoutingKey, msg));
  return Promise.all(jobs);
}
