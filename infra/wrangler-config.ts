/**
 * worker/wrangler.jsonc as the one source of the build settings infra shares with wrangler: the entry module and the
 * module aliases. Infra bundles the deployed Worker itself (infra/components/worker.ts); reading these here means the
 * deployed bundle is built from the same inputs as `wrangler dev`, the workerd tests and `wrangler deploy --dry-run`.
 * Also the JSONC reader the local scripts and tests use, so the file is parsed one way everywhere.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";

/** Removes // and /* *\/ comments and trailing commas from JSONC, leaving strings alone. */
export function parseJsonc(text: string): unknown {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (ch === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (ch === "/" && text[i + 1] === "*") {
      i = text.indexOf("*/", i + 2) + 1;
      if (i === 0) break;
    } else {
      // A trailing comma is dropped here, outside strings, so a value like "a, }" stays as written.
      if (ch === "}" || ch === "]") {
        let k = out.length - 1;
        while (k >= 0 && /\s/.test(out[k]!)) k--;
        if (out[k] === ",") out = out.slice(0, k) + out.slice(k + 1);
      }
      out += ch;
    }
  }
  return JSON.parse(out);
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
    if (typeof cfg.alias !== "object" || cfg.alias === null || Array.isArray(cfg.alias)) throw new Error(`${file}: "alias" must be an object`);
    for (const [from, to] of Object.entries(cfg.alias)) {
      if (typeof to !== "string" || to === "") throw new Error(`${file}: alias "${from}" must map to a module path`);
      alias[from] = isRelative(to) ? fromRoot(root, dir, to) : to;
    }
  }
  if (typeof cfg.compatibility_date !== "string") throw new Error(`${file}: "compatibility_date" must be set`);
  const flags = cfg.compatibility_flags ?? [];
  if (!Array.isArray(flags) || !flags.every((f) => typeof f === "string")) throw new Error(`${file}: "compatibility_flags" must be a list of names`);
  return {
    entry: fromRoot(root, dir, cfg.main).replace(/^\.\//, ""),
    alias,
    compatibilityDate: cfg.compatibility_date,
    compatibilityFlags: flags as string[],
  };
}
