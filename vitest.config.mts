// One `vitest run` covers every test: the Worker inside workerd, and infra, scripts and end-to-end tests in Node.
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import {
  TEST_ACCOUNT_ID,
  TEST_CLIENT_DIGESTS,
  TEST_CLIENT_IDS,
  TEST_GATEWAY_BASE,
  TEST_GATEWAY_ID,
  TEST_SECRETS,
} from "./worker/test/fixtures.js";

// CI asks for a JSON summary too (VITEST_JSON=path), from which .ci/run prints one "N passed, N failed" line.
const jsonSummary = process.env.VITEST_JSON;

export default defineConfig({
  test: {
    reporters: jsonSummary ? ["default", ["json", { outputFile: jsonSummary }]] : ["default"],
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./worker/wrangler.jsonc" },
            miniflare: {
              // Fake secrets and a gateway address nothing listens on: tests that go through the real entry point
              // intercept fetch themselves, and anything that slips through hits the outbound service below.
              bindings: {
                ...TEST_SECRETS,
                CLIENT_KEYS: JSON.stringify(TEST_CLIENT_DIGESTS),
                CLIENTS: TEST_CLIENT_IDS,
                AI_GATEWAY_ACCOUNT_ID: TEST_ACCOUNT_ID,
                AI_GATEWAY_ID: TEST_GATEWAY_ID,
                AI_GATEWAY_BASE_URL: TEST_GATEWAY_BASE,
                STACK: "test",
              },
              outboundService: (request: Request) =>
                new Response(`unexpected outbound request from a workerd test: ${request.method} ${new URL(request.url).host}`, {
                  status: 599,
                }),
            },
          }),
        ],
        test: {
          name: "worker",
          include: ["worker/test/**/*.test.ts"],
          // Tests of Worker code that need Node (files, local HTTP stand-ins) run in the node project.
          exclude: ["worker/test/node/**"],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "node",
          // Each part's own test/ folder (docs/architecture.md, "Where tests live"), and whole-system tests in test/.
          include: [
            "infra/test/**/*.test.ts",
            "scripts/test/**/*.test.ts",
            "policy/test/**/*.test.ts",
            "bench/test/**/*.test.ts",
            "worker/test/node/**/*.test.ts",
            "test/**/*.test.ts",
          ],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
