/**
 * The JSON Schema of a `Pulumi.<stack>.yaml` file, generated from the stack schema (infra/stack-schema.ts), so an
 * editor completes and checks every key with the program's own types, ranges and defaults. Each stack file points at
 * the committed copy on its first line (`# yaml-language-server: $schema=./schema/stack-config.schema.json`).
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { toJsonSchema, type JsonSchema as ValibotJsonSchema } from "@valibot/to-json-schema";
import * as yaml from "js-yaml";
import { ALERT_SECRET_KEYS, SECRET_KEYS, stackEntries, stackSchema } from "../../infra/stack-schema";
import { CACHE_TTL_JSON_SCHEMA, CACHE_TTL_RULE } from "../../worker/src/contract";

export const SCHEMA_FILE = "schema/stack-config.schema.json";

type JsonSchema = Record<string, unknown>;

/** The project name, from Pulumi.yaml: every key of the program is `<project>:<key>`. */
function projectName(root: string): string {
  return String((yaml.load(readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { name: string }).name);
}

function convert(schema: Parameters<typeof toJsonSchema>[0]): JsonSchema {
  // Cross-field rules and transformations have no JSON Schema form; the program checks them on every run.
  const out = toJsonSchema(schema, {
    errorMode: "ignore",
    overrideAction: (c) =>
      c.valibotAction === CACHE_TTL_RULE ? (structuredClone(CACHE_TTL_JSON_SCHEMA) as unknown as ValibotJsonSchema) : undefined,
  }) as JsonSchema;
  delete out.$schema;
  return out;
}

// No escape for '-': it needs none outside a class, and JSON Schema's regexes (unicode mode) refuse "\-".
const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The JSON Schema of a Pulumi.<stack>.yaml file. */
export function stackConfigJsonSchema(root: string): JsonSchema {
  const project = projectName(root);
  const secretKeys = [...SECRET_KEYS, ...Object.values(ALERT_SECRET_KEYS)];
  const properties: Record<string, JsonSchema> = {};
  for (const [key, schema] of Object.entries(stackEntries)) properties[`${project}:${key}`] = convert(schema);
  for (const key of secretKeys)
    properties[`${project}:${key}`] = { $ref: "#/definitions/secure", description: "secret: pulumi config set --secret" };
  // Required as the program requires them: the schema's required keys and the secrets every stack needs.
  const required = [
    ...((convert(stackSchema("stack")).required as string[] | undefined) ?? []),
    ...SECRET_KEYS.filter((k) => k !== "gatewayToken"),
  ].map((k) => `${project}:${k}`);
  const known = [...Object.keys(stackEntries), ...secretKeys].map(escapeRegex).join("|");
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: `Pulumi.<stack>.yaml of ${project}`,
    description: `Generated from infra/stack-schema.ts by npm run schema; do not edit by hand.`,
    type: "object",
    properties: {
      config: {
        type: "object",
        properties,
        patternProperties: {
          // Another secret key of this program (an alerts webhook's secretKey names one): a secure value only.
          [`^${escapeRegex(project)}:(?!(${known})$)[A-Za-z][A-Za-z0-9_-]*$`]: { $ref: "#/definitions/secure" },
          // The Cloudflare provider's own settings (cloudflare:apiToken, ...).
          "^cloudflare:": {},
        },
        required,
        additionalProperties: false,
      },
      // Written by Pulumi itself for some secrets providers and environments.
      encryptionsalt: { type: "string" },
      secretsprovider: { type: "string" },
      encryptedkey: { type: "string" },
      environment: {},
    },
    required: ["config"],
    additionalProperties: false,
    definitions: {
      secure: {
        type: "object",
        properties: { secure: { type: "string", minLength: 1 } },
        required: ["secure"],
        additionalProperties: false,
      },
    },
  };
}

export function schemaText(root: string): string {
  return `${JSON.stringify(stackConfigJsonSchema(root), null, 2)}\n`;
}
