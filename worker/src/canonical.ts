/**
 * Canonical JSON: object keys sorted, no insignificant whitespace, numbers in JSON's shortest form. Two requests
 * that mean the same thing serialise to the same string, which is what the gateway cache key is computed over.
 * Built by appending to one string (no per-level arrays of entries), since it runs on every cacheable request.
 */

function write(value: unknown, skip: readonly string[] | undefined): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : ",") + write(value[i], undefined);
    return `${out}]`;
  }
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  let out = "{";
  let first = true;
  for (const k of keys) {
    const v = o[k];
    if (v === undefined || (skip !== undefined && skip.includes(k))) continue;
    out += `${first ? "" : ","}${JSON.stringify(k)}:${write(v, undefined)}`;
    first = false;
  }
  return `${out}}`;
}

/** The canonical form of a value; `skip` names top-level keys to leave out (a body's per-call bookkeeping). */
export function canonicalJson(value: unknown, skip?: readonly string[]): string {
  return write(value, skip);
}
