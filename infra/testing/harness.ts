/**
 * Runs the real Pulumi program (infra/index.ts) for one stack with no CLI and no cloud: the stack's yaml becomes the
 * config, the SDK's mock runtime stands in for the engine, and every declared resource comes back with its resolved
 * inputs and options. Used by the infra tests and by offline plans; one stack per process (or test file), because a
 * program module runs once per module registry.
 *
 * Secrets: a `secure:` value is never decrypted; it becomes a deterministic placeholder (placeholderSecret) marked
 * secret, so a test can prove the placeholder never shows up in plain form. Declared inputs keep the SDK's secret
 * wrapper (isSecretValue) so callers can print `[secret]`.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { parseAlertsConfig } from "../alerts-config";
import { validateSettings } from "../config";
import { findPlaceholders, type Placeholder } from "../placeholders";

/** The SDK's marker for a secret value in serialized inputs: `{[SECRET_SIG]: SECRET_SIG_VALUE, value}`. */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export interface SecretValue {
  [SECRET_SIG]: typeof SECRET_SIG_VALUE;
  value: unknown;
}

export function isSecretValue(v: unknown): v is SecretValue {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG] === SECRET_SIG_VALUE;
}

export interface DeclaredResource {
  type: string;
  name: string;
  /** false for component resources (grouping only, nothing is created in Cloudflare). */
  custom: boolean;
  /** Inputs as the engine would receive them; a secret top-level property stays wrapped (isSecretValue). */
  inputs: Record<string, unknown>;
  /** Paths (`bindings[3].text`) of input values that were Pulumi secrets when declared, before serialization. */
  secretInputs: string[];
  options: {
    protect: boolean;
    /** `type::name` of the parent, undefined for children of the stack. */
    parent?: string;
    retainOnDelete: boolean;
    deleteBeforeReplace: boolean;
    ignoreChanges: string[];
    dependsOn: string[];
  };
}

export interface ProgramResult {
  stack: string;
  project: string;
  resources: DeclaredResource[];
  outputs: Record<string, unknown>;
}

export interface RunOptions {
  /**
   * Config overrides, by key (`ai-gateway-stack:gateway` or just `gateway`). A value replaces the yaml value whole;
   * `undefined` removes the key. Overriding a key the yaml holds as `secure:` keeps it secret.
   */
  config?: Record<string, unknown>;
  /** Run as `pulumi preview` (unknown values stay unknown) instead of `pulumi up`. @default false */
  preview?: boolean;
  /** Directory holding Pulumi.yaml. @default the nearest one above the working directory */
  root?: string;
  /** Extra invoke answers by token, for data sources this harness does not know. */
  invokes?: Record<string, (inputs: Record<string, unknown>) => Record<string, unknown>>;
  /**
   * Let the committed stacks' sample placeholders through (config key allowPlaceholders), as every offline run does:
   * they are runnable samples. false runs the program as a real preview would and sees it refuse them. @default true
   */
  allowPlaceholders?: boolean;
}

/** The program failed; `resources` lists what it had declared by then (empty when config was rejected first). */
export class ProgramError extends Error {
  constructor(
    readonly cause: unknown,
    readonly resources: DeclaredResource[],
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = "ProgramError";
  }
}

export function findProjectRoot(from = process.cwd()): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no Pulumi.yaml in ${from} or above`);
  }
}

/** The stand-in for a `secure:` value: stable per key and ciphertext, recognisable if it ever leaks. */
export function placeholderSecret(key: string, ciphertext: string): string {
  return `placeholder-secret:${key}:${createHash("sha256").update(ciphertext).digest("hex").slice(0, 12)}`;
}

export interface StackConfig {
  project: string;
  /** Fully qualified key -> value as Pulumi hands it to the program (strings; objects as JSON). */
  config: Record<string, string>;
  secretKeys: string[];
  /** The same values parsed (objects as objects, secrets as their placeholders), for assertions. */
  values: Record<string, unknown>;
}

function readYaml(file: string): Record<string, unknown> {
  const doc = yaml.load(readFileSync(file, "utf8"));
  if (typeof doc !== "object" || doc === null) throw new Error(`${file} is not a yaml mapping`);
  return doc as Record<string, unknown>;
}

/** Pulumi.yaml defaults overlaid by Pulumi.<stack>.yaml, overlaid by overrides. */
export function loadStackConfig(root: string, stack: string, overrides: Record<string, unknown> = {}): StackConfig {
  const projectDoc = readYaml(path.join(root, "Pulumi.yaml"));
  const project = String(projectDoc.name);
  const qualify = (key: string) => (key.includes(":") ? key : `${project}:${key}`);

  const values: Record<string, unknown> = {};
  const secret = new Set<string>();
  const declared = (projectDoc.config ?? {}) as Record<string, Record<string, unknown> | unknown>;
  for (const [key, decl] of Object.entries(declared)) {
    if (typeof decl === "object" && decl !== null && "default" in decl) values[qualify(key)] = decl.default;
    else if (typeof decl === "object" && decl !== null && "value" in decl) values[qualify(key)] = decl.value;
    else if (typeof decl !== "object" || decl === null) values[qualify(key)] = decl;
  }

  const stackFile = path.join(root, `Pulumi.${stack}.yaml`);
  if (!existsSync(stackFile)) throw new Error(`no stack file ${stackFile}`);
  const stackConfig = (readYaml(stackFile).config ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(stackConfig)) {
    const k = qualify(key);
    if (typeof value === "object" && value !== null && "secure" in value && Object.keys(value).length === 1) {
      values[k] = placeholderSecret(k, String((value as { secure: unknown }).secure));
      secret.add(k);
    } else {
      values[k] = value;
    }
  }

  for (const [key, value] of Object.entries(overrides)) {
    const k = qualify(key);
    if (value === undefined) {
      delete values[k];
      secret.delete(k);
    } else {
      values[k] = value;
    }
  }

  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) config[k] = typeof v === "string" ? v : JSON.stringify(v);
  return { project, config, secretKeys: [...secret].sort(), values };
}

/**
 * The placeholders in a stack's config, found by the same function the program refuses them with, on the same
 * validated settings. Reads plain keys only: secrets are neither read nor shown.
 */
export function placeholdersOf(stack: string, config?: Record<string, unknown>, root = findProjectRoot()): Placeholder[] {
  const { project, values } = loadStackConfig(root, stack, config);
  const raw = Object.fromEntries(
    Object.entries(values)
      .filter(([k]) => k.startsWith(`${project}:`))
      .map(([k, v]) => [k.slice(project.length + 1), v]),
  );
  const alerts = raw.alerts === undefined ? undefined : parseAlertsConfig(raw.alerts, stack, project);
  return findPlaceholders(validateSettings(raw, project, stack), alerts);
}

/** Deterministic stand-in ids: same name, same id, run after run. */
export function mockId(...parts: string[]): string {
  return createHash("sha256").update(parts.join("/")).digest("hex").slice(0, 32);
}

/** Permission groups as Cloudflare lists them for an account (the ones this project may look up, plus noise). */
export const MOCK_PERMISSION_GROUPS = [
  "AI Gateway Read",
  "AI Gateway Edit",
  "AI Gateway Run",
  "Workers AI Read",
  "Workers AI Edit",
  "Workers Scripts Write",
  "Account Analytics Read",
].map((name) => ({
  id: mockId("permission-group", name),
  name,
  category: "ai_and_machine_learning",
  isSelectable: true,
  scopes: ["com.cloudflare.api.account"],
}));

function answerInvoke(token: string, inputs: Record<string, unknown>, extra: RunOptions["invokes"]): Record<string, unknown> {
  const custom = extra?.[token];
  if (custom) return custom(inputs);
  switch (token) {
    case "cloudflare:index/getZone:getZone": {
      const name = (inputs.filter as { name?: string } | undefined)?.name;
      if (!name) throw new Error("getZone: the mock answers lookups by filter.name only");
      const id = mockId("zone", name);
      return { id, zoneId: id, name, status: "active" };
    }
    case "cloudflare:index/getAccountApiTokenPermissionGroupsList:getAccountApiTokenPermissionGroupsList": {
      const name = typeof inputs.name === "string" ? decodeURIComponent(inputs.name) : undefined;
      return { ...inputs, results: MOCK_PERMISSION_GROUPS.filter((g) => name === undefined || g.name === name) };
    }
    case "cloudflare:index/getWorkersScripts:getWorkersScripts":
      // A first deploy: the account has none of the stack's scripts yet.
      return { ...inputs, results: [] };
    default:
      throw new Error(`the mock runtime has no answer for invoke ${token}; pass one in RunOptions.invokes`);
  }
}

/** Outputs a provider computes that the program reads; everything else echoes the inputs. */
function computedState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "cloudflare:index/accountToken:AccountToken":
      return { value: `minted-token-${mockId("token", name)}` };
    default:
      return {};
  }
}

interface Capture {
  key: string;
  resource: pulumi.Resource;
  props: Record<string, unknown>;
  opts: pulumi.CustomResourceOptions & pulumi.ComponentResourceOptions;
  parent?: string;
}

type InternalOutput = pulumi.Output<unknown> & { promise(): Promise<unknown> };

/** Walks declared props and records the path of every value that was a secret Output. */
async function secretPaths(value: unknown, at: string, found: string[]): Promise<void> {
  if (pulumi.Output.isInstance(value)) {
    if (await pulumi.isSecret(value)) found.push(at);
    await secretPaths(await (value as InternalOutput).promise(), at, found);
  } else if (value instanceof Promise) {
    await secretPaths(await value, at, found);
  } else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) await secretPaths(v, `${at}[${i}]`, found);
  } else if (typeof value === "object" && value !== null && !pulumi.Resource.isInstance(value)) {
    for (const [k, v] of Object.entries(value)) await secretPaths(v, at ? `${at}.${k}` : k, found);
  }
}

function keyOf(type: string, name: string): string {
  return `${type}::${name}`;
}

function resourceKey(r: pulumi.Resource): string {
  const internal = r as unknown as { __pulumiType: string; __name: string };
  return keyOf(internal.__pulumiType, internal.__name);
}

/**
 * Runs infra/index.ts for `stack` under mocks and returns what it declared, sorted by type then name.
 * Throws ProgramError (with the resources declared so far) when the program fails.
 */
export async function runProgram(stack: string, opts: RunOptions = {}): Promise<ProgramResult> {
  const root = opts.root ?? findProjectRoot();
  const { project, config, secretKeys } = loadStackConfig(root, stack, {
    allowPlaceholders: opts.allowPlaceholders ?? true,
    ...opts.config,
  });

  const registered = new Map<string, pulumi.runtime.MockResourceArgs>();
  pulumi.runtime.setAllConfig(config, secretKeys);
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const key = keyOf(args.type, args.name);
        if (registered.has(key)) throw new Error(`two resources named ${key}`);
        registered.set(key, args);
        return { id: `${args.name}-id`, state: { ...args.inputs, ...computedState(args.type, args.name, args.inputs) } };
      },
      call(args) {
        return answerInvoke(args.token, args.inputs as Record<string, unknown>, opts.invokes);
      },
    },
    project,
    stack,
    opts.preview ?? false,
  );

  const captured: Capture[] = [];
  const entry = pathToFileURL(path.join(root, "infra", "index.ts")).href;
  let outputs: Record<string, unknown> = {};
  let failure: unknown;
  try {
    outputs = (await pulumi.runtime.runInPulumiStack(async () => {
      // Resource options never reach the mock monitor; a stack transformation sees them as declared.
      pulumi.runtime.registerStackTransformation((t) => {
        captured.push({
          key: keyOf(t.type, t.name),
          resource: t.resource,
          props: t.props as Record<string, unknown>,
          opts: t.opts,
          parent: t.opts.parent ? resourceKey(t.opts.parent) : undefined,
        });
        return undefined;
      });
      let program: Record<string, unknown>;
      try {
        program = (await import(entry)) as Record<string, unknown>;
      } catch (err) {
        // Caught here, not outside: a rejected stack init leaves unhandled rejections behind in the SDK.
        failure = err;
        return {};
      }
      return Object.fromEntries(Object.entries(program).filter(([k]) => k !== "default" && k !== "__esModule"));
    })) as Record<string, unknown>;
  } catch (err) {
    failure ??= err;
  }
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs().catch(() => undefined);

  const resources: DeclaredResource[] = [];
  for (const c of captured) {
    const args = registered.get(c.key);
    if (!args) continue; // declared but never registered: the program failed first
    const found: string[] = [];
    await secretPaths(c.props, "", found);
    const protect = (c.resource as unknown as { __protect?: boolean }).__protect;
    const dependsOn = await Promise.resolve(c.opts.dependsOn ?? []);
    resources.push({
      type: args.type,
      name: args.name,
      custom: args.custom ?? true,
      inputs: args.inputs as Record<string, unknown>,
      secretInputs: found.sort(),
      options: {
        protect: protect === true,
        parent: c.parent,
        retainOnDelete: c.opts.retainOnDelete === true,
        deleteBeforeReplace: c.opts.deleteBeforeReplace === true,
        ignoreChanges: [...(c.opts.ignoreChanges ?? [])],
        dependsOn: (Array.isArray(dependsOn) ? dependsOn : [dependsOn])
          .filter((d): d is pulumi.Resource => pulumi.Resource.isInstance(d))
          .map(resourceKey),
      },
    });
  }
  resources.sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));

  if (failure !== undefined) throw new ProgramError(failure, resources);
  return { stack, project, resources, outputs };
}

/** Everything under `value` that is not inside a secret wrapper, as one string: for "never in plain form" checks. */
export function plainText(value: unknown): string {
  const strip = (v: unknown): unknown => {
    if (isSecretValue(v)) return "[secret]";
    if (Array.isArray(v)) return v.map(strip);
    if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, strip(x)]));
    return v;
  };
  return JSON.stringify(strip(value));
}

/** Unwraps secret wrappers (for asserting on the values inside them; never print the result). */
export function reveal(value: unknown): unknown {
  if (isSecretValue(value)) return reveal(value.value);
  if (Array.isArray(value)) return value.map(reveal);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
  }
  return value;
}
