/** The gateway Worker's entry point: the app with the real fetch, clock, ids and hash. */
import { sha256Unit } from "./crypto";
import { createApp } from "./app";

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
} satisfies ExportedHandler<Env>;
