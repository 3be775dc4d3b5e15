/**
 * The CLIENTS binding: the plain allow-list of client ids that may call. It is plain on purpose, so plans and audits
 * can name who may call; each client's key digest stays in the secret CLIENT_KEYS, and a key authenticates only when
 * its client is listed here as well. One validator for both sides: the Worker and infra's stack config check.
 */

/** A client id: what logs, metadata and rate limits name a caller by. */
export const CLIENT_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
export const CLIENT_ID_RULE = "1-64 letters, digits, '_', '.', ':' or '-'";

/** A problem in a CLIENTS value; `path` is "" for the whole list or "[i]" for one entry. */
export class ClientsError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = "ClientsError";
  }
}

/** Validates a CLIENTS value: a non-empty JSON array of distinct client ids. Returns the ids in their order. */
export function parseClients(input: unknown): string[] {
  if (!Array.isArray(input)) throw new ClientsError("", "must be a list of client ids, e.g. [\"web\", \"batch\"]");
  if (input.length === 0) throw new ClientsError("", "must list at least one client id (an empty list lets nobody call)");
  const seen = new Set<string>();
  input.forEach((id, i) => {
    if (typeof id !== "string" || !CLIENT_ID.test(id)) throw new ClientsError(`[${i}]`, `must be a client id of ${CLIENT_ID_RULE} (got ${JSON.stringify(id)})`);
    if (seen.has(id)) throw new ClientsError(`[${i}]`, `lists client "${id}" twice`);
    seen.add(id);
  });
  return input as string[];
}
