/**
 * worker/wrangler.jsonc (local runs, workerd tests, and the source `wrangler types` generates Env from) declares
 * exactly the bindings of the contract (worker/src/contract/bindings.ts), each with the contract's kind; infra
 * declares the same list on the deployed script (infra's stack tests). Runs in Node: it reads the file.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "jsonc-parser";
import { describe, expect, test } from "vitest";
import { BINDINGS, type BindingKind } from "../../src/contract/bindings";

const WRANGLER = path.resolve(__dirname, "../../wrangler.jsonc");

/** Binding lists wrangler knows besides the ones this Worker uses; any of them here would be a binding the contract lacks. */
const OTHER_LISTS = [
  "services",
  "r2_buckets",
  "d1_databases",
  "queues",
  "ai",
  "analytics_engine_datasets",
  "vectorize",
  "hyperdrive",
  "browser",
  "dispatch_namespaces",
  "mtls_certificates",
  "send_email",
  "workflows",
  "secrets_store_secrets",
  "unsafe",
  "version_metadata",
  "images",
  "assets",
];

type Config = Record<string, unknown>;

/** Binding name -> kind as the wrangler config declares it (a json var is any var that is not a string). */
function declared(config: Config): Record<string, BindingKind | string> {
  const out: Record<string, string> = {};
  const add = (name: string, kind: string) => {
    expect(out[name], `${name} is declared twice`).toBeUndefined();
    out[name] = kind;
  };
  for (const [name, value] of Object.entries((config.vars ?? {}) as Config)) add(name, typeof value === "string" ? "plain_text" : "json");
  for (const name of (config.secrets as { required?: string[] } | undefined)?.required ?? []) add(name, "secret_text");
  for (const kv of (config.kv_namespaces ?? []) as { binding: string }[]) add(kv.binding, "kv_namespace");
  for (const rl of (config.ratelimits ?? []) as { name: string }[]) add(rl.name, "ratelimit");
  for (const d of (config.durable_objects as { bindings?: { name: string }[] } | undefined)?.bindings ?? [])
    add(d.name, "durable_object_namespace");
  for (const list of OTHER_LISTS) if (config[list] !== undefined) add(`(${list})`, list);
  return out;
}

const contract = Object.fromEntries(Object.entries(BINDINGS).map(([name, spec]) => [name, spec.kind]));
const config = parse(readFileSync(WRANGLER, "utf8")) as Config;

describe("wrangler.jsonc and the contract's binding list", () => {
  test("declare the same bindings, each of the same kind", () => {
    expect(declared(config)).toEqual(contract);
  });

  test("the comparison sees a binding the contract lacks, a missing one and a wrong kind", () => {
    const extra = { ...config, vars: { ...(config.vars as Config), DEBUG: "1" } };
    expect(declared(extra)).not.toEqual(contract);
    const { kv_namespaces: _kv, ...missing } = config;
    expect(declared(missing)).not.toEqual(contract);
    const wrongKind = { ...config, vars: { ...(config.vars as Config), STACK: { name: "local" } } };
    expect(declared(wrongKind).STACK).toBe("json");
    expect(declared({ ...config, durable_objects: { bindings: [] } })).not.toEqual(contract);
    expect(declared({ ...config, services: [{ binding: "OTHER", service: "x" }] })).not.toEqual(contract);
  });
});
