/**
 * The budget ledger as the Worker deploys it: the Durable Object class the Worker exports (worker/src/index.ts), the
 * binding it is reached by, and the migration that creates its SQLite-backed namespace. worker/wrangler.jsonc
 * declares the same class and tag for local runs (a test keeps the two equal).
 */
import type { WorkerMigrations } from "./components/worker";

export const BUDGET_LEDGER_CLASS = "BudgetLedger";
export const BUDGET_LEDGER_MIGRATION_TAG = "budget-ledger-v1";

/**
 * The script's migrations for the ledger. `newSqliteClasses`: the class stores in SQLite (the ledger's spend and lease
 * tables). The provider's `migrations` is the migrations-array flow:
 * https://developers.cloudflare.com/durable-objects/reference/durable-object-class-migrations-legacy/
 */
export const BUDGET_LEDGER_MIGRATIONS: WorkerMigrations = { newTag: BUDGET_LEDGER_MIGRATION_TAG, newSqliteClasses: [BUDGET_LEDGER_CLASS] };
