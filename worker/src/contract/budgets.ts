/**
 * The BUDGETS binding: what each model costs, how much each client may spend per UTC day and calendar month, what
 * happens at the limit, how the ledger's leases are sized, and how closely the ledger must agree with the gateway's
 * analytics. One valibot schema: the type is inferred from it, the defaults live in it, and `parseBudgets` reports the
 * first bad field by its path as the contract's ContractError. `checkBudgets` adds the checks that need the rest of
 * the stack (clients, routing). The stack config's `budgets` key is this same schema (infra/stack-schema.ts).
 */
import * as v from "valibot";
import { parseWith } from "./schema";

/** USD per million tokens: a price is never negative, and a typo like 1e9 is caught rather than billed. */
const perMTok = v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(10_000));

/** A budget amount in USD. 0 is allowed: it blocks the client outright. */
const usd = v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(10_000_000));

const PriceSchema = v.pipe(
  v.strictObject({
    inputPerMTok: perMTok,
    outputPerMTok: perMTok,
    // A provider without a separate cache price bills those tokens as plain input: the input price is the default.
    cacheReadPerMTok: v.optional(perMTok),
    cacheWritePerMTok: v.optional(perMTok),
  }),
  v.transform((p) => ({
    inputPerMTok: p.inputPerMTok,
    outputPerMTok: p.outputPerMTok,
    cacheReadPerMTok: p.cacheReadPerMTok ?? p.inputPerMTok,
    cacheWritePerMTok: p.cacheWritePerMTok ?? p.inputPerMTok,
  })),
);

const LimitsSchema = v.strictObject({
  /** USD per UTC day (00:00Z to 00:00Z). */
  dailyUsd: v.optional(usd),
  /** USD per calendar month in UTC. */
  monthlyUsd: v.optional(usd),
});

/**
 * Price keys are "<provider>/<model>", the pair the gateway's analytics group by. The same model name can be sold by
 * two providers at two prices (a model on OpenAI and on Workers AI), so the provider is part of the key. The model part
 * may itself contain slashes (Workers AI's "@cf/meta/..."): the provider is everything before the first one.
 */
const PRICE_KEY = /^[a-z0-9-]+\/\S+$/;

const LeaseSchema = v.strictObject({
  /**
   * Share of what is still available to a client that one isolate takes per grant. The over-spend bound is
   * isolates-holding-leases x lease (docs/budgets.md): 1% keeps it at 5% of the budget with five isolates.
   */
  share: v.optional(v.pipe(v.number(), v.gtValue(0), v.maxValue(1)), 0.01),
  /** Cap on one lease in USD, whatever the share gives. */
  maxUsd: v.optional(v.pipe(usd, v.gtValue(0))),
  /** An isolate stops spending a lease this long after it was granted and must renew it. */
  ttlSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(5), v.maxValue(3600)), 60),
  /**
   * The ledger keeps counting an expired lease this much longer, so requests that started under it (a long stream)
   * finish before its money can be granted again. Longer than the longest request.
   */
  graceSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(3600)), 300),
  /** Renew in the background once less than this share of the last grant is free (or the lease is half-way to expiry). */
  renewAtShare: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1)), 0.5),
  /** Settled spend is reported to the ledger in one batch at most this long after the first settle of the batch. */
  flushSeconds: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(60)), 1),
  /** After the ledger says no, the isolate refuses locally this long before it asks again. */
  recheckSeconds: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(300)), 5),
});

const EstimateSchema = v.strictObject({
  /**
   * Input tokens are estimated as body bytes / bytesPerToken. 1 is the safe bound for byte-level BPE tokenizers
   * (every token stands for at least one byte, so n bytes of text never make more than n tokens); the JSON around the
   * text only adds slack. Typical English is about 4 bytes per token, so the reservation is generous, never short.
   */
  bytesPerToken: v.optional(v.pipe(v.number(), v.gtValue(0), v.maxValue(16)), 1),
  /** Tokens a provider adds that the body does not show (tool-use system prompt, message framing). */
  overheadTokens: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1_000_000)), 1024),
  /** Tokens charged per image or document part, which its base64 bytes do not bound (a small PNG can be a big image). */
  attachmentTokens: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1_000_000)), 5000),
  /** Output tokens assumed when a request names no max_tokens (OpenAI's is optional). */
  defaultMaxOutputTokens: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000)), 32_768),
});

const ReconcileSchema = v.strictObject({
  /** Alert when a day's ledger total and the gateway's analytics cost differ by more than this share of the larger. */
  maxShareDiff: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1)), 0.05),
  /** ...and by more than this many USD (a cent's rounding on a quiet day is not an incident). */
  minUsdDiff: v.optional(v.pipe(usd), 0.01),
});

const BudgetsEntries = v.strictObject({
  prices: v.record(v.pipe(v.string(), v.regex(PRICE_KEY, 'must be "<provider>/<model>"')), PriceSchema),
  clients: v.optional(v.record(v.pipe(v.string(), v.nonEmpty()), LimitsSchema), {}),
  /** Limits for clients without their own entry; null: such clients are only metered. */
  default: v.optional(v.nullable(LimitsSchema), null),
  /** refuse: 429 at the limit; report: let the call through and only report (headers, ledger). */
  action: v.optional(v.picklist(["refuse", "report"]), "refuse"),
  lease: v.optional(LeaseSchema, {}),
  estimate: v.optional(EstimateSchema, {}),
  reconcile: v.optional(ReconcileSchema, {}),
});

/** What a field without a message of its own is told: "must be >=0", "is required", "is not a known field". */
function problemOf(issue: v.BaseIssue<unknown>): string {
  if (issue.type === "strict_object" && issue.expected === "never") return "is not a known field";
  if (issue.input === undefined) return "is required";
  return `must be ${issue.expected ?? "valid"}`;
}

/** The BUDGETS schema, its problems worded by problemOf (parseWith adds the offending value). */
export const BudgetsSchema = v.config(BudgetsEntries, { message: problemOf });

export type Budgets = v.InferOutput<typeof BudgetsSchema>;
export type Price = Budgets["prices"][string];
export type Limits = v.InferOutput<typeof LimitsSchema>;
export type LeaseSettings = Budgets["lease"];
export type EstimateSettings = Budgets["estimate"];

/**
 * Validates a BUDGETS value (parsed JSON); throws ContractError naming the first bad field, e.g. path
 * `prices["anthropic/claude-haiku-4-5"].outputPerMTok`, problem "must be >=0", received "-1".
 */
export function parseBudgets(input: unknown): Budgets {
  return parseWith(BudgetsSchema, input);
}

/** The price table's key for a provider and model. */
export function priceKey(provider: string, model: string): string {
  return `${provider}/${model}`;
}

/** The limits that apply to a client: its own entry, else the default; null: metered only. */
export function limitsFor(budgets: Budgets, client: string): Limits | null {
  const own = budgets.clients[client];
  if (own) return own.dailyUsd === undefined && own.monthlyUsd === undefined ? null : own;
  const d = budgets.default;
  return d && (d.dailyUsd !== undefined || d.monthlyUsd !== undefined) ? d : null;
}

export interface BudgetsContext {
  /** Client ids the stack lets call (CLIENTS). */
  clients: readonly string[];
  /** Every provider and model the stack can route to (ROUTING's models, chat fallback and experiments). */
  routedModels: readonly { provider: string; model: string }[];
}

/** A problem that needs the rest of the stack to see: where in BUDGETS (`keys`) and what is wrong. */
export interface BudgetsProblem {
  keys: readonly string[];
  problem: string;
}

/** The problems that need the rest of the stack to see, by their place in BUDGETS. Empty: consistent. */
export function budgetsProblems(budgets: Budgets, ctx: BudgetsContext): BudgetsProblem[] {
  const problems: BudgetsProblem[] = [];
  const seen = new Set<string>();
  for (const { provider, model } of ctx.routedModels) {
    const key = priceKey(provider, model);
    if (seen.has(key)) continue;
    seen.add(key);
    if (!budgets.prices[key]) problems.push({ keys: ["prices"], problem: `has no price for "${key}", which the stack can route to` });
  }
  for (const id of Object.keys(budgets.clients)) {
    if (!ctx.clients.includes(id)) {
      problems.push({
        keys: ["clients", id],
        problem: `is a budget for a client not listed in CLIENTS (listed: ${ctx.clients.join(", ") || "none"})`,
      });
    }
  }
  return problems;
}

/** The problems that need the rest of the stack to see: each names the BUDGETS path. Empty: consistent. */
export function checkBudgets(budgets: Budgets, ctx: BudgetsContext): string[] {
  return budgetsProblems(budgets, ctx).map(
    ({ keys: [top, id], problem }) => `BUDGETS.${top}${id === undefined ? "" : `[${JSON.stringify(id)}]`} ${problem}`,
  );
}
