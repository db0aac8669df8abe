import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
  // The migrations drizzle-kit generated, applied to each test file's isolated D1 by the setup file.
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "drizzle"));
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            ADMIN_TOKEN: "test-admin-token-0123456789abcdef",
          },
        },
      }),
    ],
    test: {
      setupFiles: ["./test/support/apply-migrations.ts"],
      reporters: ["default", "./test/support/summary-reporter.ts"],
      // The service logs one JSON line per request; tests check it, the run output needn't show it.
      onConsoleLog: (log: string) => !log.startsWith('{"level":"info"'),
    },
  };
});
