/**
 * End-of-life dates that no installed SDK ships, with where each came from. Anthropic's and OpenAI's dates are read
 * from their SDKs at run time (infra/models.ts); Workers AI publishes its retirements only in Cloudflare's changelog,
 * so they are written down here. An entry here wins over an SDK's, so a retirement announced after the installed
 * SDK was published can be recorded too. Keep `checked` current when you review the table.
 */

export interface LifecycleEntry {
  provider: "anthropic" | "openai" | "workers-ai";
  model: string;
  /** First day the model no longer answers (YYYY-MM-DD, UTC); absent: no retirement announced. */
  endOfLife?: string;
  /** What happens instead, when the provider says (an alias, a replacement). */
  note?: string;
  /** The page that says so. */
  source: string;
}

// The entries below were last compared with their sources on 2026-12-01.

const WORKERS_AI_DEPRECATIONS = "https://developers.cloudflare.com/changelog/post/2026-05-08-planned-model-deprecations/";

/** Models Workers AI retired on 2026-05-30 (calls answer error 5028 "This model was deprecated"). */
const RETIRED_2026_05_30 = [
  "@hf/meta-llama/meta-llama-3-8b-instruct",
  "@cf/meta/llama-3-8b-instruct",
  "@cf/meta/llama-3-8b-instruct-awq",
  "@cf/meta/llama-3.1-8b-instruct",
  "@cf/meta/llama-3.1-8b-instruct-awq",
  "@cf/meta/llama-3.1-70b-instruct",
  "@cf/meta/llama-2-7b-chat-int8",
  "@cf/meta/llama-2-7b-chat-fp16",
  "@cf/mistral/mistral-7b-instruct-v0.1",
  "@hf/mistral/mistral-7b-instruct-v0.2",
  "@hf/google/gemma-7b-it",
  "@cf/google/gemma-3-12b-it",
  "@hf/nousresearch/hermes-2-pro-mistral-7b",
  "@cf/microsoft/phi-2",
  "@cf/defog/sqlcoder-7b-2",
  "@cf/unum/uform-gen2-qwen-500m",
  "@cf/facebook/bart-large-cnn",
];

/** Models the same changelog names as staying active (the -fast and -lora variants) or as the replacements. */
const ACTIVE = [
  "@cf/meta/llama-3.1-8b-instruct-fast",
  "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
  "@cf/google/gemma-7b-it-lora",
  "@cf/google/gemma-2b-it-lora",
  "@cf/mistral/mistral-7b-instruct-v0.2-lora",
  "@cf/meta-llama/llama-2-7b-chat-hf-lora",
  "@cf/zai-org/glm-4.7-flash",
  "@cf/google/gemma-4-26b-a4b-it",
  "@cf/moonshotai/kimi-k2.6",
];

export const LIFECYCLE_TABLE: readonly LifecycleEntry[] = [
  ...RETIRED_2026_05_30.map((model) => ({
    provider: "workers-ai" as const,
    model,
    endOfLife: "2026-05-30",
    source: WORKERS_AI_DEPRECATIONS,
  })),
  {
    provider: "workers-ai",
    model: "@cf/moonshotai/kimi-k2.5",
    endOfLife: "2026-05-30",
    note: "calls are aliased to @cf/moonshotai/kimi-k2.6, at its higher price",
    source: WORKERS_AI_DEPRECATIONS,
  },
  ...ACTIVE.map((model) => ({ provider: "workers-ai" as const, model, source: WORKERS_AI_DEPRECATIONS })),
];
