/**
 * GET /v1/usage: a client reads its own spend, per UTC day and model, from its own ledger. The caller passes the
 * authenticated client's ledger (env.BUDGET_LEDGER.getByName(client)), so no query can name another client.
 * Query: from, to (UTC days "YYYY-MM-DD", inclusive); default this month up to today; at most 92 days.
 * Spend settled in the last few seconds may not be in the ledger yet (isolates report in batches, lease.flushSeconds).
 */
import { ApiError } from "../errors";
import { monthDays, type Nanos, toUsd, utcDay } from "./cost";
import { budgetHeaders } from "./http";
import type { BudgetStatus } from "./lease";
import type { UsageRow } from "./ledger";

export interface UsageLedger {
  usage(range: { from: string; to: string }): Promise<UsageRow[]>;
}

const MAX_DAYS = 92;
const DAY_MS = 86_400_000;

function day(query: URLSearchParams, name: "from" | "to", fallback: string): string {
  const raw = query.get(name);
  if (raw === null || raw === "") return fallback;
  const t = Date.parse(`${raw}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(raw) || Number.isNaN(t) || utcDay(t) !== raw) {
    throw new ApiError(
      400,
      "invalid_request",
      `query parameter ${name} must be a UTC day like 2026-11-05 (got ${JSON.stringify(raw.slice(0, 40))})`,
    );
  }
  return raw;
}

/** USD rounded to the nano-dollar, so sums print without float noise. */
function usd(nanos: Nanos): number {
  return Number(toUsd(nanos).toFixed(9));
}

/** The JSON answer for GET /v1/usage. Throws ApiError for a bad query (400) or an unreachable ledger (503). */
export async function usageResponse(
  client: string,
  ledger: UsageLedger,
  query: URLSearchParams,
  now: number,
  status: BudgetStatus | null,
): Promise<Response> {
  const to = day(query, "to", utcDay(now));
  const from = day(query, "from", monthDays(Date.parse(`${to}T00:00:00Z`)).first);
  const span = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS + 1;
  if (span < 1) throw new ApiError(400, "invalid_request", `query parameter from (${from}) must not be after to (${to})`);
  if (span > MAX_DAYS)
    throw new ApiError(400, "invalid_request", `the range from ${from} to ${to} is ${span} days; ask for at most ${MAX_DAYS}`);

  let rows: UsageRow[];
  try {
    rows = await ledger.usage({ from, to });
  } catch (err) {
    throw new ApiError(503, "budget_unavailable", "The usage ledger cannot be reached right now. Try again shortly.", {
      retryAfter: 5,
      detail: err instanceof Error ? err.message : String(err),
    });
  }

  const days: { day: string; usd: number; models: unknown[] }[] = [];
  let total = 0;
  let dayNanos = 0;
  for (const r of rows) {
    let d = days[days.length - 1];
    if (!d || d.day !== r.day) {
      d = { day: r.day, usd: 0, models: [] };
      days.push(d);
      dayNanos = 0;
    }
    dayNanos += r.nanos;
    d.usd = usd(dayNanos);
    total += r.nanos;
    d.models.push({ model: r.model, usd: usd(r.nanos), requests: r.requests, cachedRequests: r.cached, tokens: r.usage });
  }
  const body = { object: "usage", client, currency: "USD", from, to, totalUsd: usd(total), days, budget: status };
  return new Response(JSON.stringify(body), {
    status: 200,
    headers: { "content-type": "application/json; charset=utf-8", ...budgetHeaders(status) },
  });
}
