/**
 * `npm run schema`: writes schema/stack-config.schema.json (scripts/schema/stack-config.ts builds it from the stack
 * schema). `npm run schema:check` (or `--check`) writes nothing and fails when the committed file is stale.
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { findProjectRoot } from "../infra/testing/harness";
import { SCHEMA_FILE, schemaText } from "./schema/stack-config";

const root = findProjectRoot();
const file = path.join(root, SCHEMA_FILE);
const text = schemaText(root);
if (process.argv.includes("--check")) {
  let committed = "";
  try {
    committed = readFileSync(file, "utf8");
  } catch {
    // A missing file is as stale as an old one.
  }
  if (committed !== text) {
    process.stderr.write(`${SCHEMA_FILE} is stale: run npm run schema\n`);
    process.exit(1);
  }
  process.stdout.write(`${SCHEMA_FILE} is current\n`);
} else {
  writeFileSync(file, text);
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
