declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** No migrations applied: test/db/migrations.test.ts fills it through an older schema. */
    MIGRATION_DB: D1Database;
  }
}
