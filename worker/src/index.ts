/** The gateway Worker's entry point: the app with the real fetch, clock, ids and hash. */
import { runScheduledAlerts } from "./alerts";
import { createApp } from "./app";
import { sha256Unit } from "./crypto";

// Durable Object classes are exported by name from the entry module (wrangler.jsonc durable_objects, migrations).
export { BudgetLedger } from "./budget/ledger";

const app = createApp({
  // Late-bound so the runtime's fetch is looked up per call.
  fetch: (input, init) => fetch(input, init),
  now: () => Date.now(),
  requestId: () => crypto.randomUUID(),
  unitHash: sha256Unit,
  // One JSON line: Workers Logs indexes the fields of a JSON log line as it does an object's, and JSON.stringify
  // costs a fraction of the util.inspect formatting console.log applies to an object under nodejs_compat
  // (docs/performance.md, profile table).
  log: (record) => console.log(JSON.stringify(record)),
});

export default {
  fetch: app.fetch,
  // The cron declared by infra (alerts component) evaluates the stack's alert rules.
  scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduledAlerts(controller, env));
  },
} satisfies ExportedHandler<Env>;
