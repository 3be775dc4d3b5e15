/** The Worker's binding list (derived from worker/src/contract/bindings.ts by kind) and the bundle's determinism. */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, describe, expect, test, vi } from "vitest";
import { BINDING_NAMES, BINDINGS, type BindingSpec } from "../../../worker/src/contract/bindings";
import { BUDGET_LEDGER_MIGRATIONS } from "../../budget-ledger";
import { buildWorkerBundle, checkMigrations, migrationsToSend, withDerivedBindings, workerBindings } from "../../components/worker";
import { runProgram } from "../../testing/harness";
import { readWorkerBuild } from "../../wrangler-config";

const SPECS: Record<string, BindingSpec> = {
  PLAIN: { kind: "plain_text", required: true },
  SECRET: { kind: "secret_text", required: true },
  CONFIG: { kind: "json", required: true },
  LIMITER: { kind: "ratelimit", required: true },
  STATE: { kind: "kv_namespace", required: false },
  EXTRA: { kind: "plain_text", required: false },
};
const VALUES = {
  PLAIN: "p",
  SECRET: "s3cret",
  CONFIG: { a: [1, 2] },
  LIMITER: { namespaceId: "1001", simple: { limit: 10, period: 60 } },
};

/** Resolves an Output under no engine (values here are all known). */
function resolved<T>(v: pulumi.Input<T> | undefined): Promise<T> {
  return (pulumi.output(v) as unknown as { promise(): Promise<T> }).promise();
}

describe("checkMigrations", () => {
  const LEDGER: Record<string, BindingSpec> = { LEDGER: { kind: "durable_object_namespace", required: false } };

  test("takes a Durable Object binding whose class the migrations create, and neither of them", () => {
    const list = workerBindings(LEDGER, { LEDGER: { className: "BudgetLedger" } });
    expect(list).toEqual([{ name: "LEDGER", type: "durable_object_namespace", className: "BudgetLedger" }]);
    expect(() => checkMigrations(list, BUDGET_LEDGER_MIGRATIONS)).not.toThrow();
    expect(() => checkMigrations([], undefined)).not.toThrow();
  });

  test("refuses a Durable Object binding without its migration, and a migration nothing binds", () => {
    const list = workerBindings(LEDGER, { LEDGER: { className: "BudgetLedger" } });
    expect(() => checkMigrations(list, undefined)).toThrow("binding LEDGER: class BudgetLedger is not created by the script's migrations");
    expect(() => checkMigrations(list, { newTag: "v1", newSqliteClasses: ["Other"] })).toThrow("class BudgetLedger is not created");
    expect(() => checkMigrations([], BUDGET_LEDGER_MIGRATIONS)).toThrow(
      "migrations create class BudgetLedger but no durable_object_namespace binding names it",
    );
  });
});

describe("migrations on each upload", () => {
  test("the first upload creates the class; once the script is at the tag, uploads send no migration; another tag is migrated from", () => {
    expect(migrationsToSend("gw", BUDGET_LEDGER_MIGRATIONS, undefined)).toEqual({
      newTag: "budget-ledger-v1",
      newSqliteClasses: ["BudgetLedger"],
    });
    expect(migrationsToSend("gw", BUDGET_LEDGER_MIGRATIONS, "budget-ledger-v1")).toBeUndefined();
    const warned: string[] = [];
    expect(migrationsToSend("gw", BUDGET_LEDGER_MIGRATIONS, "v7", (m) => warned.push(m))).toEqual({
      oldTag: "v7",
      newTag: "budget-ledger-v1",
      newSqliteClasses: ["BudgetLedger"],
    });
    expect(warned).toEqual([expect.stringContaining('Worker script gw is at Durable Object migration tag "v7"')]);
  });

  const SCRIPTS = "cloudflare:index/getWorkersScripts:getWorkersScripts";
  const scriptOf = (r: Awaited<ReturnType<typeof runProgram>>) =>
    r.resources.find((x) => x.type === "cloudflare:index/workersScript:WorkersScript")!;

  test("the program asks the account which tag its script is at, and sends the migration only to a new script", async () => {
    const asked: Record<string, unknown>[] = [];
    const first = await runProgram("dev", { invokes: { [SCRIPTS]: (inputs) => (asked.push(inputs), { ...inputs, results: [] }) } });
    expect(asked[0]).toMatchObject({ accountId: expect.any(String) });
    expect(scriptOf(first).inputs.migrations).toEqual({ newTag: "budget-ledger-v1", newSqliteClasses: ["BudgetLedger"] });

    const name = String(first.outputs.workerName);
    const listed = (tag: string) => ({
      [SCRIPTS]: (inputs: Record<string, unknown>) => ({
        ...inputs,
        results: [
          { id: "someone-else", migrationTag: "v3" },
          { id: name, migrationTag: tag },
        ],
      }),
    });
    // The program module runs once per registry; each run needs a fresh one.
    vi.resetModules();
    const again = await runProgram("dev", { invokes: listed("budget-ledger-v1") });
    expect(scriptOf(again).inputs.migrations).toBeUndefined();
    // Still bound to the class the first upload created (the binding list is a secret: it holds secret_text values).
    expect(JSON.stringify(scriptOf(again).inputs.bindings)).toContain(
      '{"className":"BudgetLedger","name":"BUDGET_LEDGER","type":"durable_object_namespace"}',
    );

    vi.resetModules();
    // A tag from another deploy: migrated from there (Cloudflare names the class if that history created it already).
    const foreign = await runProgram("dev", { invokes: listed("v9") });
    expect(scriptOf(foreign).inputs.migrations).toEqual({ oldTag: "v9", newTag: "budget-ledger-v1", newSqliteClasses: ["BudgetLedger"] });
  });
});

describe("workerBindings", () => {
  test("shapes each binding by its kind, in the order bindings.ts lists them", async () => {
    const list = workerBindings(SPECS, { ...VALUES, STATE: { namespaceId: "kv-1" } });
    expect(list.map((b) => [b.name, b.type])).toEqual([
      ["PLAIN", "plain_text"],
      ["SECRET", "secret_text"],
      ["CONFIG", "json"],
      ["LIMITER", "ratelimit"],
      ["STATE", "kv_namespace"],
    ]);
    expect(list[0]!.text).toBe("p");
    expect(await resolved(list[2]!.json)).toBe('{"a":[1,2]}');
    expect(list[3]).toMatchObject({ namespaceId: "1001", simple: { limit: 10, period: 60 } });
    expect(list[4]!.namespaceId).toBe("kv-1");
  });

  test("makes a secret_text value a Pulumi secret even when handed a plain string", async () => {
    const secret = workerBindings(SPECS, VALUES).find((b) => b.name === "SECRET")!;
    expect(pulumi.Output.isInstance(secret.text)).toBe(true);
    expect(await pulumi.isSecret(secret.text as pulumi.Output<string>)).toBe(true);
    expect(await resolved(secret.text)).toBe("s3cret");
  });

  test("leaves out optional bindings that have no value", () => {
    expect(workerBindings(SPECS, VALUES).map((b) => b.name)).not.toContain("EXTRA");
  });

  test("refuses to declare without a required binding", () => {
    const { SECRET: _, ...rest } = VALUES;
    expect(() => workerBindings(SPECS, rest)).toThrow("binding SECRET (secret_text) is required");
  });

  test("refuses a value for a name the Worker does not read", () => {
    expect(() => workerBindings(SPECS, { ...VALUES, TYPO: "x" })).toThrow("binding TYPO is not in worker/src/contract/bindings.ts");
  });

  test("refuses a rate-limit period the binding does not support", () => {
    expect(() => workerBindings(SPECS, { ...VALUES, LIMITER: { namespaceId: "1", simple: { limit: 1, period: 30 } } })).toThrow(
      "period must be 10 or 60",
    );
  });

  test("declares every name in bindings.ts when every value is supplied", () => {
    const sample: Record<string, unknown> = {
      plain_text: "x",
      secret_text: "y",
      json: {},
      ratelimit: { namespaceId: "1", simple: { limit: 1, period: 10 } },
      kv_namespace: { namespaceId: "kv" },
      durable_object_namespace: { className: "BudgetLedger" },
    };
    const values = Object.fromEntries(BINDING_NAMES.map((n) => [n, sample[BINDINGS[n].kind]]));
    expect(workerBindings(BINDINGS, values).map((b) => b.name)).toEqual(BINDING_NAMES);
  });
});

describe("withDerivedBindings", () => {
  test("binds RATE_LIMITER's period as RATE_LIMIT_PERIOD, so the Worker's Retry-After follows the declared period", () => {
    for (const period of [10, 60]) {
      const limiter = { namespaceId: "1001", simple: { limit: 5, period } };
      expect(withDerivedBindings({ STACK: "x", RATE_LIMITER: limiter })).toEqual({
        STACK: "x",
        RATE_LIMITER: limiter,
        RATE_LIMIT_PERIOD: String(period),
      });
    }
  });

  test("refuses a RATE_LIMIT_PERIOD set by hand, which could disagree with the limiter", () => {
    expect(() => withDerivedBindings({ ...VALUES, RATE_LIMIT_PERIOD: "10" })).toThrow("derived from RATE_LIMITER's period");
  });
});

describe("buildWorkerBundle", () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  function fixture(): string {
    const dir = mkdtempSync(path.join(tmpdir(), "bundle-"));
    dirs.push(dir);
    mkdirSync(path.join(dir, "src"));
    writeFileSync(path.join(dir, "src", "greet.ts"), "export const greet = (n: string): string => `hello ${n}`;\n");
    writeFileSync(
      path.join(dir, "src", "index.ts"),
      'import { greet } from "./greet";\nimport { connect } from "cloudflare:sockets";\nexport default { fetch: () => new Response(greet("w") + typeof connect) };\n',
    );
    return dir;
  }

  test("gives the same bytes and hash for the same source, wherever the checkout lives", () => {
    const a = buildWorkerBundle("src/index.ts", fixture());
    const b = buildWorkerBundle("src/index.ts", fixture());
    expect(b.content).toBe(a.content);
    expect(b.sha256).toBe(a.sha256);
    expect(a.sha256).toBe(createHash("sha256").update(a.content).digest("hex"));
  });

  test("changes the hash when the source changes", () => {
    const dir = fixture();
    const before = buildWorkerBundle("src/index.ts", dir);
    writeFileSync(path.join(dir, "src", "greet.ts"), "export const greet = (n: string): string => `hi ${n}`;\n");
    expect(buildWorkerBundle("src/index.ts", dir).sha256).not.toBe(before.sha256);
  });

  test("keeps cloudflare: and node: modules external and emits an ES module without a source map", () => {
    const { content } = buildWorkerBundle("src/index.ts", fixture());
    expect(content).toMatch(/from\s*"cloudflare:sockets"/);
    expect(content).toMatch(/export\s*\{/);
    expect(content).not.toContain("sourceMappingURL");
  });

  test("replaces an aliased module the way wrangler's alias does, to the same bytes in any checkout", () => {
    const withAlias = () => {
      const dir = fixture();
      mkdirSync(path.join(dir, "node_modules", "heavy"), { recursive: true });
      writeFileSync(path.join(dir, "node_modules", "heavy", "index.js"), 'export const tag = "THE-REAL-HEAVY-MODULE";\n');
      writeFileSync(path.join(dir, "src", "light.ts"), 'export const tag = "the-light-stand-in";\n');
      writeFileSync(
        path.join(dir, "src", "index.ts"),
        'import { tag } from "heavy";\nexport default { fetch: () => new Response(tag) };\n',
      );
      return dir;
    };
    const plain = buildWorkerBundle("src/index.ts", withAlias());
    expect(plain.content).toContain("THE-REAL-HEAVY-MODULE");
    const a = buildWorkerBundle("src/index.ts", withAlias(), { heavy: "./src/light.ts" });
    const b = buildWorkerBundle("src/index.ts", withAlias(), { heavy: "./src/light.ts" });
    expect(a.content).toContain("the-light-stand-in");
    expect(a.content).not.toContain("THE-REAL-HEAVY-MODULE");
    expect(b.sha256).toBe(a.sha256);
  });

  test("builds the real Worker twice to identical bytes", () => {
    const root = process.cwd();
    const { entry, alias } = readWorkerBuild(root);
    expect(buildWorkerBundle(entry, root, alias).sha256).toBe(buildWorkerBundle(entry, root, alias).sha256);
  });

  test("builds the real Worker to the size wrangler deploy --dry-run builds from wrangler.jsonc", () => {
    const root = process.cwd();
    const { entry, alias } = readWorkerBuild(root);
    const ours = gzipSync(buildWorkerBundle(entry, root, alias).content).length;
    const out = mkdtempSync(path.join(tmpdir(), "wrangler-dry-run-"));
    dirs.push(out);
    execFileSync(path.join(root, "node_modules", ".bin", "wrangler"), ["deploy", "--dry-run", "--minify", "--outdir", out], {
      cwd: path.join(root, "worker"),
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
      stdio: "pipe",
    });
    const js = readdirSync(out).filter((f) => f.endsWith(".js"));
    expect(js).toEqual(["index.js"]);
    const theirs = readFileSync(path.join(out, "index.js"), "utf8");
    // The same inputs land within 1 KiB of wrangler's, and the Anthropic SDK's client code is not in either (the
    // Worker imports its types only).
    expect(Math.abs(ours - gzipSync(theirs).length)).toBeLessThan(1024);
    for (const bundle of [theirs, buildWorkerBundle(entry, root, alias).content]) expect(bundle).not.toContain("x-stainless");
  });
});
