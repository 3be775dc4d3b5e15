/** The machine and tool versions a report names, so figures from different runs can be told apart. */
import { readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import type { MachineInfo, Versions } from "./report";

function osName(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync("/etc/os-release", "utf8"));
    if (m?.[1]) return m[1];
  } catch {
    // Not Linux, or no os-release.
  }
  return process.platform;
}

export function machineInfo(loadBefore: readonly number[]): MachineInfo {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() || "unknown CPU",
    cores: list.length,
    memoryGiB: totalmem() / 1024 ** 3,
    os: osName(),
    kernel: release(),
    loadBefore,
    loadAfter: loadavg(),
  };
}

function packageVersion(root: string, name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

export function versions(root: string): Versions {
  return {
    node: process.version,
    wrangler: packageVersion(root, "wrangler"),
    workerd: packageVersion(root, "workerd"),
    autocannon: packageVersion(root, "autocannon"),
  };
}
