/**
 * Local stand-ins for the alert evaluator's outside world, as real HTTP servers on 127.0.0.1 (random ports):
 * the Cloudflare GraphQL analytics API answering aiGatewayRequestsAdaptiveGroups from a scripted dataset (and
 * recording every query), and a webhook receiver recording every delivery.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One minute of traffic through one gateway. */
export interface Traffic {
  gateway: string;
  /** ISO time inside the minute. */
  at: string;
  requests: number;
  errors?: number;
  cost?: number;
  cached?: number;
}

export interface RecordedQuery {
  authorization: string | undefined;
  query: string;
  variables: { accountTag: string; gateway: string; start: string; end: string };
}

/** How the analytics stand-in answers: from the dataset, or with one of the failures the real API can show. */
export type AnalyticsMode = "data" | "http500" | "graphqlErrors" | "notJson" | "noAccount";

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
}

function readBody(req: import("node:http").IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

const floorIso = (ms: number, step: number) => new Date(Math.floor(ms / step) * step).toISOString().replace(/\.\d{3}Z$/, "Z");

/** Groups the dataset the way the real dataset does: one row per hour or minute, or one row for the whole range. */
function groups(data: readonly Traffic[], v: RecordedQuery["variables"], bucket: string | undefined): object[] {
  const start = Date.parse(v.start);
  const end = Date.parse(v.end);
  const rows = new Map<string, { count: number; sum: { cost: number; erroredRequests: number; cachedRequests: number } }>();
  for (const t of data) {
    const at = Date.parse(t.at);
    if (t.gateway !== v.gateway || at < start || at >= end) continue;
    const key = bucket === "datetimeHour" ? floorIso(at, 3_600_000) : bucket === "datetimeMinute" ? floorIso(at, 60_000) : "all";
    const row = rows.get(key) ?? { count: 0, sum: { cost: 0, erroredRequests: 0, cachedRequests: 0 } };
    row.count += t.requests;
    row.sum.cost += t.cost ?? 0;
    row.sum.erroredRequests += t.errors ?? 0;
    row.sum.cachedRequests += t.cached ?? 0;
    rows.set(key, row);
  }
  return [...rows.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, row]) => (bucket ? { ...row, dimensions: { [bucket]: key } } : row));
}

export async function startAnalytics(accountTag: string) {
  const state = { data: [] as Traffic[], mode: "data" as AnalyticsMode, queries: [] as RecordedQuery[] };
  const server = createServer(async (req, res) => {
    const raw = await readBody(req);
    const { query, variables } = JSON.parse(raw) as Omit<RecordedQuery, "authorization">;
    state.queries.push({ authorization: req.headers.authorization, query, variables });
    const send = (status: number, body: string) => res.writeHead(status, { "content-type": "application/json" }).end(body);
    switch (state.mode) {
      case "http500":
        return send(500, JSON.stringify({ errors: [{ message: "internal error" }] }));
      case "notJson":
        return send(200, "<html>bad gateway</html>");
      case "graphqlErrors":
        return send(
          200,
          JSON.stringify({
            data: { viewer: { accounts: [{ aiGatewayRequestsAdaptiveGroups: [] }] } },
            errors: [{ message: "query time range is too large" }],
          }),
        );
      case "noAccount":
        return send(200, JSON.stringify({ data: { viewer: { accounts: [] } }, errors: null }));
    }
    if (variables.accountTag !== accountTag) return send(200, JSON.stringify({ data: { viewer: { accounts: [] } }, errors: null }));
    const bucket = /dimensions \{ (datetimeHour|datetimeMinute) \}/.exec(query)?.[1];
    send(
      200,
      JSON.stringify({
        data: { viewer: { accounts: [{ aiGatewayRequestsAdaptiveGroups: groups(state.data, variables, bucket) }] } },
        errors: null,
      }),
    );
  });
  const url = await listen(server);
  return { url: `${url}/client/v4/graphql`, state, close: () => close(server) };
}

export async function startReceiver() {
  const state = { received: [] as Received[], status: 200 };
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    state.received.push({ path: req.url ?? "", headers: req.headers, body, json: JSON.parse(body) as Record<string, unknown> });
    res.writeHead(state.status, { "content-type": "application/json" }).end("{}");
  });
  const url = await listen(server);
  return { url, state, close: () => close(server) };
}
