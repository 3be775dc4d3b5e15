/**
 * Command-line options of `npm run bench` (bench/cli.ts) and `npm run profile` (bench/profile.ts), parsed into plain
 * objects with a clear message for every bad value, so both CLIs stay thin and the parsing is unit-tested.
 */
import { parseArgs } from "node:util";

export function positiveNumber(name: string, v: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a number > 0, got "${v}"`);
  return n;
}

export function nonNegativeNumber(name: string, v: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number ≥ 0, got "${v}"`);
  return n;
}

function wholeNumber(name: string, v: string): number {
  const n = positiveNumber(name, v);
  if (!Number.isInteger(n)) throw new Error(`--${name} must be a whole number > 0, got "${v}"`);
  return n;
}

function oneOf<T extends string>(name: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) throw new Error(`--${name} must be one of ${allowed.join(", ")}, got "${v}"`);
  return v as T;
}

/** What the bench CLI may override in the defaults (bench/run.ts defaultOptions). */
export interface BenchArgs {
  readonly quick: boolean;
  readonly out?: string;
  readonly soakSeconds?: number;
  readonly rounds?: number;
  readonly cellSeconds?: number;
  readonly concurrency?: number[];
  readonly soakTarget?: "worker-workerd" | "worker-dev";
  readonly at?: string;
  readonly keepTmp: boolean;
}

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      quick: { type: "boolean", default: false },
      out: { type: "string" },
      "soak-seconds": { type: "string" },
      rounds: { type: "string" },
      seconds: { type: "string" },
      concurrency: { type: "string" },
      "soak-on": { type: "string" },
      at: { type: "string" },
      "keep-tmp": { type: "boolean", default: false },
    },
  });
  const soakOn = values["soak-on"] === undefined ? undefined : oneOf("soak-on", values["soak-on"], ["workerd", "dev"] as const);
  return {
    quick: values.quick,
    out: values.out,
    soakSeconds: values["soak-seconds"] === undefined ? undefined : positiveNumber("soak-seconds", values["soak-seconds"]),
    rounds: values.rounds === undefined ? undefined : wholeNumber("rounds", values.rounds),
    cellSeconds: values.seconds === undefined ? undefined : positiveNumber("seconds", values.seconds),
    concurrency: values.concurrency === undefined ? undefined : values.concurrency.split(",").map((c) => wholeNumber("concurrency", c)),
    soakTarget: soakOn === undefined ? undefined : soakOn === "workerd" ? "worker-workerd" : "worker-dev",
    at: values.at,
    keepTmp: values["keep-tmp"],
  };
}

export const PROFILE_ROUTES = ["messages", "chat-completions", "chat"] as const;
export type ProfileRoute = (typeof PROFILE_ROUTES)[number];

export interface ProfileArgs {
  readonly route: ProfileRoute;
  readonly stream: boolean;
  readonly seconds: number;
  readonly connections: number;
  readonly warmupSeconds: number;
  /** Sampling interval, microseconds. */
  readonly intervalUs: number;
  readonly runtime: "workerd" | "dev";
  /** Profile the minified bundle a deploy uploads (names then come from the source map) instead of a readable build. */
  readonly minify: boolean;
  readonly at?: string;
  /** Rows per table. */
  readonly top: number;
  readonly out?: string;
  readonly keepTmp: boolean;
}

export function parseProfileArgs(argv: readonly string[]): ProfileArgs {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      route: { type: "string", default: "messages" },
      stream: { type: "boolean", default: false },
      seconds: { type: "string", default: "5" },
      connections: { type: "string", default: "8" },
      "warmup-seconds": { type: "string", default: "1" },
      "interval-us": { type: "string", default: "50" },
      runtime: { type: "string", default: "workerd" },
      minify: { type: "boolean", default: false },
      at: { type: "string" },
      top: { type: "string", default: "25" },
      out: { type: "string" },
      "keep-tmp": { type: "boolean", default: false },
    },
  });
  return {
    route: oneOf("route", values.route, PROFILE_ROUTES),
    stream: values.stream,
    seconds: positiveNumber("seconds", values.seconds),
    connections: wholeNumber("connections", values.connections),
    warmupSeconds: nonNegativeNumber("warmup-seconds", values["warmup-seconds"]),
    intervalUs: wholeNumber("interval-us", values["interval-us"]),
    runtime: oneOf("runtime", values.runtime, ["workerd", "dev"] as const),
    minify: values.minify,
    at: values.at,
    top: wholeNumber("top", values.top),
    out: values.out,
    keepTmp: values["keep-tmp"],
  };
}
