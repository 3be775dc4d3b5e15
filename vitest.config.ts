// One `vitest run` covers every test: the Worker inside workerd, and infra, scripts and end-to-end tests in Node.
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [cloudflareTest({ wrangler: { configPath: "./worker/wrangler.jsonc" } })],
        test: {
          name: "worker",
          include: ["worker/test/**/*.test.ts"],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "node",
          include: ["infra/**/*.test.ts", "scripts/**/*.test.ts", "test/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
