/**
 * worker/wrangler.jsonc as the one source of the build settings infra shares with wrangler: the entry module and the
 * module aliases. Infra bundles the deployed Worker itself (infra/components/worker.ts); reading these here means the
 * deployed bundle is built from the same inputs as `wrangler dev`, the workerd tests and `wrangler deploy --dry-run`.
 * Also the JSONC reader the local scripts and tests use, so the file is parsed one way everywhere.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { type ParseError, parse, printParseErrorCode } from "jsonc-parser";

/** Parses JSONC as wrangler reads it: comments and trailing commas allowed; anything else wrong is an error naming where. */
export function parseJsonc(text: string): unknown {
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  const first = errors[0];
  if (first) {
    const before = text.slice(0, first.offset).split("\n");
    throw new Error(`${printParseErrorCode(first.error)} at line ${before.length}, column ${before[before.length - 1]!.length + 1}`);
  }
  return value;
}

/** Reads a wrangler config file (JSONC) that must hold one JSON object. */
export function readJsonc(file: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = parseJsonc(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error(`${file}: not a JSON object`);
  return raw as Record<string, unknown>;
}

/** The default wrangler config, relative to the project root. */
export const WRANGLER_CONFIG = "worker/wrangler.jsonc";

export interface WorkerBuildSettings {
  /** The entry module, relative to the project root (wrangler's `main`). */
  entry: string;
  /**
   * Module aliases (wrangler's `alias`) as esbuild takes them: package names as written, relative paths rewritten
   * from the config's folder to the project root (esbuild resolves alias paths against its working directory).
   */
  alias: Record<string, string>;
  compatibilityDate: string;
  compatibilityFlags: string[];
}

const isRelative = (p: string) => p.startsWith("./") || p.startsWith("../");

/** Posix separators and a leading "./", so the settings (and the bundle) are the same on every machine. */
function fromRoot(root: string, dir: string, p: string): string {
  const rel = path.relative(root, path.resolve(dir, p)).split(path.sep).join("/");
  return rel.startsWith("../") ? rel : `./${rel}`;
}

/** Reads the build settings from a wrangler config; `config` is relative to `root` (or absolute). */
export function readWorkerBuild(root: string, config = WRANGLER_CONFIG): WorkerBuildSettings {
  const file = path.resolve(root, config);
  const cfg = readJsonc(file);
  const dir = path.dirname(file);
  if (typeof cfg.main !== "string" || cfg.main === "") throw new Error(`${file}: "main" must name the entry module`);
  const alias: Record<string, string> = {};
  if (cfg.alias !== undefined) {
    if (typeof cfg.alias !== "object" || cfg.alias === null || Array.isArray(cfg.alias))
      throw new Error(`${file}: "alias" must be an object`);
    for (const [from, to] of Object.entries(cfg.alias)) {
      if (typeof to !== "string" || to === "") throw new Error(`${file}: alias "${from}" must map to a module path`);
      alias[from] = isRelative(to) ? fromRoot(root, dir, to) : to;
    }
  }
  if (typeof cfg.compatibility_date !== "string") throw new Error(`${file}: "compatibility_date" must be set`);
  const flags = cfg.compatibility_flags ?? [];
  if (!Array.isArray(flags) || !flags.every((f) => typeof f === "string"))
    throw new Error(`${file}: "compatibility_flags" must be a list of names`);
  return {
    entry: fromRoot(root, dir, cfg.main).replace(/^\.\//, ""),
    alias,
    compatibilityDate: cfg.compatibility_date,
    compatibilityFlags: flags as string[],
  };
}
