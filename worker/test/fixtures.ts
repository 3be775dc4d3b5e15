/**
 * Fake secrets and client keys for the workerd tests. Shared by vitest.config.mts (which binds them, as digests where
 * the Worker expects digests) and the tests (which send the plaintext keys and scan every output for the secrets).
 * Plain TypeScript with no runtime imports, so the Node-side config can load it.
 */

export const TEST_SECRETS = {
  AI_GATEWAY_TOKEN: "test-aig-token-7d1f0b8c2e",
  ANTHROPIC_API_KEY: "sk-ant-test-4b9e2a61c7f3",
  OPENAI_API_KEY: "sk-openai-test-93c0d5e8a1b2",
} as const;

export const TEST_ACCOUNT_ID = "acct0123456789abcdef";
export const TEST_GATEWAY_ID = "gw-under-test";
export const TEST_GATEWAY_BASE = "https://gateway.test.invalid/v1";

/** Client id -> plaintext key. CLIENT_KEYS holds only their SHA-256 digests. */
export const TEST_CLIENTS = {
  web: "ck_test_web_5f2c9a7e1d3b",
  batch: "ck_test_batch_8a4e6c0f2b9d",
} as const;

/** The CLIENTS allow-list the tests bind: every test client. */
export const TEST_CLIENT_IDS = Object.keys(TEST_CLIENTS) as (keyof typeof TEST_CLIENTS)[];

/** SHA-256 hex digests, precomputed (the config side has node:crypto; a test recomputes them with Web Crypto). */
export const TEST_CLIENT_DIGESTS: Record<keyof typeof TEST_CLIENTS, string> = {
  web: "458f8a14c580c1c3c655e16e3f8c8386d94e025749f65c7b2d5d7e56e63a5bdd",
  batch: "cb7890782a5207d3a2d61827ca829f916616c31402c2296689ed60ed1469fc47",
};
