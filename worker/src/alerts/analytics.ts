/**
 * Reads the gateway's request analytics (GraphQL dataset aiGatewayRequestsAdaptiveGroups) for one time range.
 * Every failure (transport, HTTP status, GraphQL errors, an answer of the wrong shape, a truncated answer) comes back
 * as `{ ok: false, reason }` rather than as numbers, so a broken API can never look like a quiet gateway.
 * The reason is built from status codes and the API's own messages, never from the token.
 */
import { MAX_GROUPS } from "../contract/alerts";

export type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

export interface AnalyticsClient {
  url: string;
  token: string;
  accountId: string;
  gatewayId: string;
  fetch: FetchFn;
}

/** Totals of one group (or of a whole range). */
export interface Totals {
  requests: number;
  errors: number;
  cost: number;
  cached: number;
}

/** A group of rows by hour or minute; `start` is the bucket's ISO time. */
export interface Bucket extends Totals {
  start: string;
}

export type Bucketing = "datetimeHour" | "datetimeMinute";

export type Answer<T> = { ok: true; value: T } | { ok: false; reason: string };

const TIMEOUT_MS = 15_000;

function query(bucket?: Bucketing): string {
  const dims = bucket ? ` dimensions { ${bucket} }` : "";
  const order = bucket ? `, orderBy: [${bucket}_ASC]` : "";
  return `query AiGatewayAlerts($accountTag: string!, $gateway: string!, $start: Time!, $end: Time!) {
  viewer {
    accounts(filter: { accountTag: $accountTag }) {
      aiGatewayRequestsAdaptiveGroups(limit: ${MAX_GROUPS}, filter: { gateway: $gateway, datetime_geq: $start, datetime_lt: $end }${order}) {
        count sum { cost erroredRequests cachedRequests }${dims}
      }
    }
  }
}`;
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** RFC 3339 without milliseconds, the form the analytics API documents for Time. */
export function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}

/** Rows of aiGatewayRequestsAdaptiveGroups in [start, end), optionally grouped by hour or minute. */
export async function readGroups(c: AnalyticsClient, start: Date, end: Date, bucket?: Bucketing): Promise<Answer<Bucket[]>> {
  let res: Response;
  try {
    res = await c.fetch(c.url, {
      method: "POST",
      headers: { authorization: `Bearer ${c.token}`, "content-type": "application/json" },
      body: JSON.stringify({
        query: query(bucket),
        variables: { accountTag: c.accountId, gateway: c.gatewayId, start: iso(start), end: iso(end) },
      }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    return { ok: false, reason: `analytics request failed: ${err instanceof Error ? err.name : "error"}` };
  }
  if (!res.ok) {
    await res.body?.cancel();
    return { ok: false, reason: `analytics API answered HTTP ${res.status}` };
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return { ok: false, reason: "analytics API answered with a body that is not JSON" };
  }
  const b = body as { data?: unknown; errors?: { message?: unknown }[] | null };
  if (Array.isArray(b.errors) && b.errors.length > 0) {
    // Partial data comes with errors too: treat it as no data.
    const msg = b.errors.map((e) => (typeof e?.message === "string" ? e.message : "?")).join("; ");
    return { ok: false, reason: `analytics API returned errors: ${clip(msg)}` };
  }
  const accounts = (b.data as { viewer?: { accounts?: unknown } } | undefined)?.viewer?.accounts;
  if (!Array.isArray(accounts) || accounts.length !== 1) {
    return { ok: false, reason: "analytics API answer has no account (check the account id and the token's scope)" };
  }
  const rows = (accounts[0] as { aiGatewayRequestsAdaptiveGroups?: unknown }).aiGatewayRequestsAdaptiveGroups;
  if (!Array.isArray(rows)) return { ok: false, reason: "analytics API answer has no aiGatewayRequestsAdaptiveGroups list" };
  if (rows.length >= MAX_GROUPS) return { ok: false, reason: `analytics API answer reached the ${MAX_GROUPS}-group limit (truncated)` };

  const out: Bucket[] = [];
  for (const row of rows as { count?: unknown; sum?: Record<string, unknown>; dimensions?: Record<string, unknown> }[]) {
    const requests = num(row?.count);
    const cost = num(row?.sum?.cost ?? 0);
    const errors = num(row?.sum?.erroredRequests ?? 0);
    const cached = num(row?.sum?.cachedRequests ?? 0);
    const at = bucket ? row?.dimensions?.[bucket] : iso(start);
    if (requests === undefined || cost === undefined || errors === undefined || cached === undefined || typeof at !== "string") {
      return { ok: false, reason: "analytics API answer has a row of the wrong shape" };
    }
    out.push({ start: at, requests, errors, cost, cached });
  }
  return { ok: true, value: out };
}

export function total(rows: readonly Totals[]): Totals {
  const t: Totals = { requests: 0, errors: 0, cost: 0, cached: 0 };
  for (const r of rows) {
    t.requests += r.requests;
    t.errors += r.errors;
    t.cost += r.cost;
    t.cached += r.cached;
  }
  return t;
}
