/** The gateway Worker's entry point: the app with the real fetch, clock, ids and hash. */
import { sha256Unit } from "./crypto";
import { createApp } from "./app";
import { runScheduledAlerts } from "./alerts";

// Durable Object classes are exported by name from the entry module (wrangler.jsonc durable_objects, migrations).
export { BudgetLedger } from "./budget/ledger";

const app = createApp({
  // Late-bound so the runtime's fetch is looked up per call.
  fetch: (input, init) => fetch(input, init),
  now: () => Date.now(),
  requestId: () => crypto.randomUUID(),
  unitHash: sha256Unit,
  log: (line) => console.log(line),
});

export default {
  fetch: app.fetch,
  // The cron declared by infra (alerts component) evaluates the stack's alert rules.
  scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduledAlerts(controller, env));
  },
} satisfies ExportedHandler<Env>;
