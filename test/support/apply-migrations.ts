import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Setup files run outside per-file storage isolation and may run several times;
// applyD1Migrations only applies what is not applied yet.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
// The sharded project's shards (test/**/*.sharded.test.ts) get the same schema.
for (const name of ["SHARD_1", "SHARD_2", "SHARD_3"] as const) {
  const shard = (env as unknown as Record<string, D1Database | undefined>)[name];
  if (shard) await applyD1Migrations(shard, env.TEST_MIGRATIONS);
}
