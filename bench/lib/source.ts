/**
 * Which Worker source a bench run measured: the working tree (the default, for a developer's own changes) or a
 * committed revision exported from git into a scratch folder inside the repository (so node_modules still
 * resolves), for figures that name exactly one commit.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";

export interface WorkerSource {
  /** Folder holding worker/wrangler.jsonc and worker/src. */
  readonly dir: string;
  /** Commit the source is (or is based on). */
  readonly commit: string;
  /** True when the working tree's worker/ differs from that commit. */
  readonly dirty: boolean;
  /** Removes an exported copy (nothing for the working tree). */
  cleanup(): void;
}

function git(root: string, args: readonly string[]): Buffer {
  return execFileSync("git", ["-C", root, ...args], { stdio: ["ignore", "pipe", "pipe"], maxBuffer: 256 * 1024 * 1024 });
}

export function workerSource(root: string, rev: string | undefined): WorkerSource {
  if (rev === undefined) {
    const commit = git(root, ["rev-parse", "--short=12", "HEAD"]).toString().trim();
    const dirty = git(root, ["status", "--porcelain", "--", "worker"]).toString().trim() !== "";
    return { dir: root, commit, dirty, cleanup: () => undefined };
  }
  const commit = git(root, ["rev-parse", "--short=12", `${rev}^{commit}`])
    .toString()
    .trim();
  const dir = join(root, "bench", "results", "tmp", `src-${commit}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tar = git(root, ["archive", "--format=tar", commit, "worker"]);
  execFileSync("tar", ["-x", "-C", dir], { input: tar });
  return { dir, commit, dirty: false, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
