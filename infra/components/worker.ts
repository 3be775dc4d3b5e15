/**
 * The gateway Worker: its bundle, built from worker/ with the options and the entry and aliases wrangler uses (read
 * from worker/wrangler.jsonc, so the deployed bundle is the one wrangler would build), and the WorkersScript carrying
 * exactly the bindings listed in worker/src/contract/bindings.ts. Binding shapes follow each binding's kind, so a name or kind
 * changed there changes what is declared here; secret_text values are always Pulumi secrets. A Durable Object binding
 * comes with the script migrations that create its class.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { buildSync } from "esbuild";
import { BINDINGS, type BindingKind, type BindingSpec } from "../../worker/src/contract/bindings";
import { readWorkerBuild, WRANGLER_CONFIG } from "../wrangler-config";

export interface WorkerBundle {
  /** The ES module, as uploaded. */
  content: string;
  /** SHA-256 hex of content. */
  sha256: string;
}

/**
 * Bundles a Worker entry the way `wrangler deploy` does (ESM, workerd conditions, es2024, minified), minus anything
 * that varies between runs: no source map, no metafile, paths relative to `root`. Same source, same bytes.
 * `alias` maps module names to replacements the way wrangler's `alias` does (relative paths from `root`).
 */
export function buildWorkerBundle(entry: string, root: string, alias: Readonly<Record<string, string>> = {}): WorkerBundle {
  const result = buildSync({
    entryPoints: [path.resolve(root, entry)],
    absWorkingDir: root,
    alias: { ...alias },
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    target: "es2024",
    supported: { "import-source": true, using: true },
    loader: { ".js": "jsx", ".mjs": "jsx", ".cjs": "jsx" },
    minify: true,
    keepNames: true,
    sourcemap: false,
    metafile: false,
    legalComments: "none",
    define: {
      "process.env.NODE_ENV": '"production"',
      "global.process.env.NODE_ENV": '"production"',
      "globalThis.process.env.NODE_ENV": '"production"',
      "navigator.userAgent": '"Cloudflare-Workers"',
    },
    // Provided by workerd at run time (nodejs_compat and the cloudflare: modules), never bundled.
    external: ["node:*", "cloudflare:*"],
    logLevel: "silent",
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error(`esbuild produced no output for ${entry}`);
  return { content: file.text, sha256: createHash("sha256").update(file.contents).digest("hex") };
}

/** The value infra supplies for a binding, by the binding's kind. */
export interface BindingValueByKind {
  plain_text: pulumi.Input<string>;
  /** Made a Pulumi secret on the way in, whatever it was. */
  secret_text: pulumi.Input<string>;
  /** Any JSON value (or Output of one); serialized here. */
  json: pulumi.Input<unknown>;
  ratelimit: { namespaceId: string; simple: { limit: number; period: number } };
  kv_namespace: { namespaceId: pulumi.Input<string> };
  /** The class must also be declared by the script's migrations (new_sqlite_classes). */
  durable_object_namespace: { className: string };
}

type Bindings = typeof BINDINGS;
type Kind<N extends keyof Bindings> = Bindings[N]["kind"];
type RequiredName = { [N in keyof Bindings]: Bindings[N]["required"] extends true ? N : never }[keyof Bindings];
type OptionalName = Exclude<keyof Bindings, RequiredName>;

/** Values for the Worker's bindings: every required one must be given (the compiler checks), optional ones may. */
export type WorkerBindingValues = { [N in RequiredName]: BindingValueByKind[Kind<N>] } & {
  [N in OptionalName]?: BindingValueByKind[Kind<N>];
};

/** Bindings whose value follows from another binding's; callers never set them (see withDerivedBindings). */
export type DerivedBindingName = "RATE_LIMIT_PERIOD";

/**
 * Adds the bindings that follow from others. RATE_LIMIT_PERIOD is RATE_LIMITER's period (the Worker's Retry-After),
 * which the rate-limit binding cannot report at run time: deriving it here keeps one source for both.
 */
export function withDerivedBindings(values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  if (values.RATE_LIMIT_PERIOD !== undefined)
    throw new Error("binding RATE_LIMIT_PERIOD is derived from RATE_LIMITER's period: set that instead");
  const limiter = values.RATE_LIMITER as BindingValueByKind["ratelimit"] | undefined;
  return limiter === undefined ? { ...values } : { ...values, RATE_LIMIT_PERIOD: String(limiter.simple.period) };
}

/**
 * The WorkersScript binding list for `specs`, in their order. Required bindings must have a value, optional ones are
 * declared only when given, and a value for a name not in `specs` is an error (it would never be read).
 */
export function workerBindings(
  specs: Readonly<Record<string, BindingSpec>>,
  values: Readonly<Record<string, unknown>>,
): cloudflare.types.input.WorkersScriptBinding[] {
  for (const name of Object.keys(values)) {
    if (!(name in specs)) throw new Error(`binding ${name} is not in worker/src/contract/bindings.ts: the Worker would never read it`);
  }
  const out: cloudflare.types.input.WorkersScriptBinding[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    const value = values[name];
    if (value === undefined) {
      if (spec.required) throw new Error(`binding ${name} (${spec.kind}) is required by the Worker but has no value`);
      continue;
    }
    out.push(bindingFor(name, spec.kind, value));
  }
  return out;
}

function bindingFor(name: string, kind: BindingKind, value: unknown): cloudflare.types.input.WorkersScriptBinding {
  switch (kind) {
    case "plain_text":
      return { name, type: kind, text: value as pulumi.Input<string> };
    case "secret_text":
      return { name, type: kind, text: pulumi.secret(value as pulumi.Input<string>) };
    case "json":
      return { name, type: kind, json: pulumi.output(value as pulumi.Input<object>).apply((v) => JSON.stringify(v)) };
    case "ratelimit": {
      const v = value as BindingValueByKind["ratelimit"];
      if (v.simple.period !== 10 && v.simple.period !== 60) throw new Error(`binding ${name}: period must be 10 or 60 seconds`);
      return { name, type: kind, namespaceId: v.namespaceId, simple: { limit: v.simple.limit, period: v.simple.period } };
    }
    case "kv_namespace":
      return { name, type: kind, namespaceId: (value as BindingValueByKind["kv_namespace"]).namespaceId };
    case "durable_object_namespace":
      return { name, type: kind, className: (value as BindingValueByKind["durable_object_namespace"]).className };
    default: {
      const unknownKind: never = kind;
      throw new Error(`binding ${name}: kind ${String(unknownKind)} has no mapping`);
    }
  }
}

/** Durable Object migrations the script upload applies (the v6 provider's WorkersScript `migrations`). */
export interface WorkerMigrations {
  /** The migration tag the script is at after this upload. */
  newTag: string;
  /** Classes whose namespaces are created with SQLite storage. */
  newSqliteClasses: string[];
}

/**
 * The migrations to send with this upload, given the tag the script is at now (from the account's script list;
 * undefined for a script that does not exist yet or has never been migrated). Cloudflare applies a migration once:
 * an upload whose migration's old tag (none, when omitted) is not the script's current tag is refused with
 * "Migration tag precondition failed; current tag is ..." (code 10079), so the first upload creates the class and
 * every later one sends no migration, since new code for an existing class needs none
 * (https://developers.cloudflare.com/durable-objects/reference/durable-objects-migrations/). A script at a tag this
 * program does not declare (its history came from another deploy) is migrated from that tag, with a warning: should
 * that history have created the class already, Cloudflare refuses the upload and names the class.
 */
export function migrationsToSend(
  scriptName: string,
  wanted: WorkerMigrations,
  currentTag: string | undefined,
  warn: (message: string) => void = () => {},
): WorkersScriptMigrations | undefined {
  const create = { newTag: wanted.newTag, newSqliteClasses: [...wanted.newSqliteClasses] };
  if (!currentTag) return create;
  if (currentTag === wanted.newTag) return undefined;
  warn(
    `Worker script ${scriptName} is at Durable Object migration tag "${currentTag}", which this program does not declare; ` +
      `the upload migrates it from there to "${wanted.newTag}".`,
  );
  return { oldTag: currentTag, ...create };
}

/** The migration one upload carries: from `oldTag` (omitted for a script never migrated) to `newTag`. */
export interface WorkersScriptMigrations extends WorkerMigrations {
  oldTag?: string;
}

/**
 * Every durable_object_namespace binding must name a class the migrations create: Cloudflare refuses a binding to a
 * class the script has not declared, and a migration nobody binds is a namespace nothing reaches.
 */
export function checkMigrations(
  bindings: readonly cloudflare.types.input.WorkersScriptBinding[],
  migrations: WorkerMigrations | undefined,
): void {
  const bound = bindings
    .filter((b) => b.type === "durable_object_namespace")
    .map((b) => ({ name: String(b.name), className: String(b.className) }));
  const declared = migrations?.newSqliteClasses ?? [];
  for (const b of bound) {
    if (!declared.includes(b.className))
      throw new Error(`binding ${b.name}: class ${b.className} is not created by the script's migrations (newSqliteClasses)`);
  }
  for (const c of declared) {
    if (!bound.some((b) => b.className === c))
      throw new Error(`migrations create class ${c} but no durable_object_namespace binding names it`);
  }
}

export interface WorkerArgs {
  /** Cloudflare account the script is uploaded to. */
  accountId: pulumi.Input<string>;
  /** Script name, unique in the account; also the workers.dev host label. */
  scriptName: string;
  /** Directory the entry and bundle paths are relative to. @default the directory holding Pulumi.yaml */
  root?: string;
  /** The wrangler config whose entry (`main`) and module aliases the bundle is built with. @default "worker/wrangler.jsonc" */
  wranglerConfig?: string;
  /** Runtime compatibility date (match worker/wrangler.jsonc). */
  compatibilityDate: string;
  /** Runtime compatibility flags. @default ["nodejs_compat"] */
  compatibilityFlags?: string[];
  /** Workers Logs. @default { enabled: true, headSamplingRate: 1 } */
  observability?: { enabled: boolean; headSamplingRate: number };
  /** Values for the bindings in worker/src/contract/bindings.ts, by name (derived ones, like RATE_LIMIT_PERIOD, are added here). */
  bindings: Omit<WorkerBindingValues, DerivedBindingName>;
  /** Binding values produced by other components (e.g. a KV namespace id), merged over `bindings`. @default {} */
  extraBindings?: Readonly<Record<string, unknown>>;
  /** Durable Object migrations; needed exactly when a durable_object_namespace binding is given. @default none */
  migrations?: WorkerMigrations;
}

/** The Durable Object migration tag of `scriptName` in the account now; undefined when there is no such script or tag. */
function currentMigrationTag(accountId: pulumi.Input<string>, scriptName: string): pulumi.Output<string | undefined> {
  // https://developers.cloudflare.com/api/resources/workers/subresources/scripts/methods/list/ (id is the script name)
  return cloudflare
    .getWorkersScriptsOutput({ accountId, maxItems: 1000 })
    .apply((r) => r.results.find((s) => s.id === scriptName)?.migrationTag || undefined);
}

/** Pulumi runs the program from the project directory; tests and plans find it the same way. */
function projectRoot(): string {
  return process.cwd();
}

export class Worker extends pulumi.ComponentResource {
  public readonly scriptName: pulumi.Output<string>;
  /** SHA-256 hex of the uploaded bundle: equal hashes mean nothing to deploy. */
  public readonly bundleSha256: string;
  public readonly script: cloudflare.WorkersScript;

  constructor(name: string, args: WorkerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ai-gateway-stack:infra:Worker", name, {}, opts);
    const root = args.root ?? projectRoot();
    const build = readWorkerBuild(root, args.wranglerConfig ?? WRANGLER_CONFIG);
    const bundle = buildWorkerBundle(build.entry, root, build.alias);
    this.bundleSha256 = bundle.sha256;
    const bindings = workerBindings(BINDINGS, withDerivedBindings({ ...args.bindings, ...args.extraBindings }));
    checkMigrations(bindings, args.migrations);
    const wanted = args.migrations;
    this.script = new cloudflare.WorkersScript(
      name,
      {
        accountId: args.accountId,
        scriptName: args.scriptName,
        content: bundle.content,
        mainModule: "index.js",
        compatibilityDate: args.compatibilityDate,
        compatibilityFlags: args.compatibilityFlags ?? ["nodejs_compat"],
        observability: args.observability ?? { enabled: true, headSamplingRate: 1 },
        bindings,
        ...(wanted
          ? {
              migrations: currentMigrationTag(args.accountId, args.scriptName).apply((tag) =>
                migrationsToSend(args.scriptName, wanted, tag, (m) => pulumi.log.warn(m, this)),
              ),
            }
          : {}),
      },
      { parent: this },
    );
    this.scriptName = this.script.scriptName;
    this.registerOutputs({ scriptName: this.scriptName, bundleSha256: this.bundleSha256 });
  }
}
