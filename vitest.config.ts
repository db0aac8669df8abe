import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
  // The migrations drizzle-kit generated, applied to each test file's isolated D1 by the setup file.
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "drizzle"));
  const bindings = { TEST_MIGRATIONS: migrations, ADMIN_TOKEN: "test-admin-token-0123456789abcdef" };
  return {
    test: {
      reporters: ["default", "./test/support/summary-reporter.ts"],
      // The service logs one JSON line per request; tests check it, the run output needn't show it.
      onConsoleLog: (log: string) => !log.startsWith('{"level":"info"'),
      projects: [
        {
          // Services and HTTP inside workerd, each test file on its own D1.
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings,
                // An empty database for migration tests: filled through an older schema, then migrated.
                d1Databases: ["MIGRATION_DB"],
              },
            }),
          ],
          test: {
            name: "worker",
            // Generous: CI is a noisy 2-core machine, and no test's outcome may hang on its speed.
            testTimeout: 30_000,
            include: ["test/**/*.test.ts"],
            exclude: ["test/e2e/**", "test/scripts/**", "test/**/*.sharded.test.ts"],
            setupFiles: ["./test/support/apply-migrations.ts"],
          },
        },
        {
          // The same Worker with three shards beside the directory (what [env.sharded] declares).
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                // A moved tenant's old shard is emptied at once (src/admin/tenant-mover.ts).
                bindings: { ...bindings, TENANT_MOVE_GRACE_SECONDS: "0" },
                d1Databases: ["SHARD_1", "SHARD_2", "SHARD_3"],
              },
            }),
          ],
          test: {
            name: "sharded",
            testTimeout: 30_000,
            include: ["test/**/*.sharded.test.ts"],
            setupFiles: ["./test/support/apply-migrations.ts"],
          },
        },
        {
          // The console in real headless Chromium against `wrangler dev`, from Node.
          test: {
            name: "browser",
            include: ["test/e2e/*.test.ts"],
            environment: "node",
            globalSetup: ["./test/e2e/global-setup.ts"],
            testTimeout: 60_000,
            hookTimeout: 60_000,
            fileParallelism: false,
          },
        },
        {
          // The project's scripts run as a user runs them (scripts/migrate.mjs on wrangler's local D1).
          test: {
            name: "scripts",
            include: ["test/scripts/*.test.ts"],
            environment: "node",
            // Each run starts wrangler once per database: generous, so no outcome hangs on speed.
            testTimeout: 300_000,
          },
        },
      ],
    },
  };
});
