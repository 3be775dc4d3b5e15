/**
 * The CLIENTS binding: the plain allow-list of client ids that may call. It is plain on purpose, so plans and audits
 * can name who may call; each client's key digest stays in the secret CLIENT_KEYS, and a key authenticates only when
 * its client is listed here as well. One schema for both sides: the Worker and infra's stack config check.
 */
import * as v from "valibot";
import { firstRepeat, parseWith, refine } from "./schema";

/** A client id: what logs, metadata and rate limits name a caller by. */
export const CLIENT_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
export const CLIENT_ID_RULE = "1-64 letters, digits, '_', '.', ':' or '-'";

const ID = `must be a client id of ${CLIENT_ID_RULE}`;

/** A non-empty list of distinct client ids, in their order. */
export const ClientsSchema = refine(
  v.pipe(
    v.array(v.pipe(v.string(ID), v.regex(CLIENT_ID, ID)), 'must be a list of client ids, e.g. ["web", "batch"]'),
    v.minLength(1, "must list at least one client id (an empty list lets nobody call)"),
  ),
  (ids, fail) => {
    const i = firstRepeat(ids, (id) => id);
    if (i !== undefined) fail([i], `lists client "${ids[i]}" twice`);
  },
);

export type Clients = v.InferOutput<typeof ClientsSchema>;

/** Validates a CLIENTS value; throws ContractError with path "" for the whole list or "[i]" for one entry. */
export function parseClients(input: unknown): string[] {
  return parseWith(ClientsSchema, input);
}
