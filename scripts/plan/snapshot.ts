/**
 * One stack's declared resources, made safe to print: the program runs under the SDK mocks (infra/testing/harness),
 * then every secret becomes "[secret]" before anything leaves this module — the values declared secret, any secret
 * wrapper left over, and any string holding a placeholder or minted stand-in. The Worker bundle becomes its size and
 * hash. Nothing is read from inside a secret: who may call comes from the plain CLIENTS binding (see audit.ts).
 */
import { createHash } from "node:crypto";
import type { Placeholder } from "../../infra/placeholders";
import { isSecretValue, type ProgramResult, placeholderSecret, placeholdersOf, reveal, runProgram } from "../../infra/testing/harness";

export const SECRET = "[secret]";

/** Strings that can only be stand-ins for secrets: `secure:` placeholders and mock-minted token values. */
const PLACEHOLDER_PREFIX = placeholderSecret("k", "c").split(":")[0]!;
const SECRET_SHAPED = new RegExp(`${PLACEHOLDER_PREFIX}:|minted-token-`);

/** Longer strings (the bundle) are shown as size and hash: a plan is for reading and diffing. */
const MAX_INLINE = 4096;

export interface SnapshotResource {
  type: string;
  name: string;
  /** false: a component (grouping only; nothing is created in Cloudflare). */
  custom: boolean;
  parent?: string;
  protect: boolean;
  inputs: Record<string, unknown>;
}

export interface Snapshot {
  stack: string;
  project: string;
  resources: SnapshotResource[];
  outputs: Record<string, unknown>;
  /** The Worker bundle(s): script resource name -> size and SHA-256 of the uploaded module. */
  bundles: Record<string, { bytes: number; sha256: string }>;
  /** Sample values a real preview or up of this stack refuses (infra/placeholders.ts); plain config, never secrets. */
  placeholders: Placeholder[];
}

type Path = (string | number)[];

/** `bindings[3].text` -> ["bindings", 3, "text"] */
export function parsePath(p: string): Path {
  const out: Path = [];
  for (const m of p.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

function setAt(root: Record<string, unknown>, path: Path, value: unknown): void {
  let node: unknown = root;
  for (const [i, key] of path.entries()) {
    if (typeof node !== "object" || node === null) return;
    const container = node as Record<string | number, unknown>;
    if (i === path.length - 1) {
      if (key in container) container[key] = value;
      return;
    }
    node = isSecretValue(container[key]) ? (container[key] = (container[key] as { value: unknown }).value) : container[key];
  }
}

/** Replaces leftover secret wrappers and secret-shaped strings; summarises very long strings. */
function scrub(v: unknown): unknown {
  if (isSecretValue(v)) return SECRET;
  if (typeof v === "string") {
    if (SECRET_SHAPED.test(v)) return SECRET;
    if (v.length > MAX_INLINE) return `[${Buffer.byteLength(v)} bytes, sha256 ${createHash("sha256").update(v).digest("hex")}]`;
    return v;
  }
  if (Array.isArray(v)) return v.map(scrub);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrub(x)]));
  }
  return v;
}

/** Inputs with every secret as "[secret]". A secret property with no recorded inner paths is hidden whole. */
export function redactInputs(inputs: Record<string, unknown>, secretPaths: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(inputs)) {
    const inner = secretPaths.map(parsePath).filter((p) => p[0] === key);
    if (inner.some((p) => p.length === 1) || (isSecretValue(value) && inner.length === 0)) {
      out[key] = SECRET;
      continue;
    }
    // Structured clone so the harness's objects stay untouched.
    const holder: Record<string, unknown> = { [key]: structuredClone(isSecretValue(value) ? value.value : value) };
    for (const p of inner) setAt(holder, p, SECRET);
    out[key] = scrub(holder[key]);
  }
  return out;
}

const WORKER = "cloudflare:index/workersScript:WorkersScript";

export function snapshotOf(result: ProgramResult, placeholders: Placeholder[] = []): Snapshot {
  const bundles: Snapshot["bundles"] = {};
  for (const r of result.resources.filter((x) => x.type === WORKER)) {
    const content = reveal(r.inputs.content);
    if (typeof content === "string") {
      bundles[r.name] = { bytes: Buffer.byteLength(content), sha256: createHash("sha256").update(content).digest("hex") };
    }
  }
  return {
    stack: result.stack,
    project: result.project,
    resources: result.resources.map((r) => ({
      type: r.type,
      name: r.name,
      custom: r.custom,
      ...(r.options.parent ? { parent: r.options.parent } : {}),
      protect: r.options.protect,
      inputs: redactInputs(r.inputs, r.secretInputs),
    })),
    outputs: scrub(result.outputs) as Record<string, unknown>,
    bundles,
    placeholders,
  };
}

/** Runs the program for `stack` (once per process) and returns its printable snapshot. */
export async function takeSnapshot(stack: string, config?: Record<string, unknown>): Promise<Snapshot> {
  const result = await runProgram(stack, config ? { config } : {});
  return snapshotOf(result, placeholdersOf(stack, config));
}
