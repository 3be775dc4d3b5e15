/**
 * The stack config's JSON Schema (schema/stack-config.schema.json): committed fresh, referenced by every stack file,
 * accepted by a real JSON Schema validator for both committed stacks and refusing a broken value; and Pulumi.yaml's
 * documented defaults are the schema's.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import * as yaml from "js-yaml";
import * as v from "valibot";
import { describe, expect, test } from "vitest";
import { stackEntries } from "../../infra/stack-schema";
import { findProjectRoot } from "../../infra/testing/harness";
import { SCHEMA_FILE, schemaText } from "../schema/stack-config";

const root = findProjectRoot();
const stacks = readdirSync(root).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f));
const committed = readFileSync(path.join(root, SCHEMA_FILE), "utf8");
const load = (file: string) => yaml.load(readFileSync(path.join(root, file), "utf8")) as { config: Record<string, unknown> };

function validator() {
  const ajv = new Ajv({ allErrors: true, strict: false });
  return ajv.compile(JSON.parse(committed));
}

describe("stack config JSON Schema", () => {
  test("is committed as generated from the stack schema (run npm run schema when this fails)", () => {
    expect(committed).toBe(schemaText(root));
  });

  test("is referenced on the first line of every stack file, for editors", () => {
    expect(stacks.length).toBeGreaterThanOrEqual(2);
    for (const file of stacks) {
      expect(readFileSync(path.join(root, file), "utf8").split("\n")[0], file).toBe(`# yaml-language-server: $schema=./${SCHEMA_FILE}`);
    }
  });

  test.each(stacks)("accepts %s as committed", (file) => {
    const validate = validator();
    expect(validate(load(file)), JSON.stringify(validate.errors)).toBe(true);
  });

  const broken: [string, (c: Record<string, any>) => void, string][] = [
    [
      "a rate-limit technique the gateway lacks",
      (c) => (c["ai-gateway-stack:gateway"].rateLimit.technique = "burst"),
      "/config/ai-gateway-stack:gateway/rateLimit/technique",
    ],
    [
      "a cache TTL under the gateway's minimum",
      (c) => (c["ai-gateway-stack:routing"].cacheTtl.messages = 30),
      "/config/ai-gateway-stack:routing/cacheTtl/messages",
    ],
    ["a misspelt gateway setting", (c) => (c["ai-gateway-stack:gateway"].cacheTTL = 60), "/config/ai-gateway-stack:gateway"],
    [
      "a provider key in plain text",
      (c) => (c["ai-gateway-stack:anthropicApiKey"] = "sk-ant-plain"),
      "/config/ai-gateway-stack:anthropicApiKey",
    ],
    ["a misspelt top-level key", (c) => (c["ai-gateway-stack:gatway"] = { cacheTtl: 60 }), "/config/ai-gateway-stack:gatway"],
    ["no account id", (c) => delete c["ai-gateway-stack:accountId"], "/config"],
  ];

  test.each(broken)("refuses dev with %s, pointing at it", (_, mutate, at) => {
    const doc = load("Pulumi.dev.yaml");
    mutate(doc.config);
    const validate = validator();
    expect(validate(doc)).toBe(false);
    expect(validate.errors!.map((e) => e.instancePath)).toContain(at);
  });

  test("accepts another secret key beside the known ones, as a secure value only (an alerts webhook's secretKey)", () => {
    const doc = load("Pulumi.dev.yaml");
    doc.config["ai-gateway-stack:opsWebhookSecret"] = { secure: "v1:abc" };
    expect(validator()(doc)).toBe(true);
    doc.config["ai-gateway-stack:opsWebhookSecret"] = "plain";
    expect(validator()(doc)).toBe(false);
  });
});

describe("Pulumi.yaml", () => {
  test("documents for each declared key the default the stack schema applies", () => {
    const declared = (yaml.load(readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { config: Record<string, { default?: unknown }> })
      .config;
    const withDefaults = Object.entries(declared).filter(([, d]) => "default" in d);
    expect(withDefaults.map(([k]) => k)).toEqual(expect.arrayContaining(["name", "protect", "gatewayTokenSource", "crons"]));
    for (const [key, d] of withDefaults) {
      const schema = stackEntries[key as keyof typeof stackEntries];
      expect(schema, `${key} is a key of the stack schema`).toBeDefined();
      expect(d.default, key).toEqual(v.getDefault(schema as v.OptionalSchema<v.GenericSchema, unknown>));
    }
  });
});
