/** The admin API's handles on the shards, metered into the request's D1 counters. */
import type { BaseVariables } from "../app-env";
import { createDb, type Db } from "../db/client";
import { metered } from "../db/metered";
import { DIRECTORY, isSharded, shardBinding, shardNames } from "../db/shards";
import type { ShardStore } from "../iam/tenants";

/** What these need of a request's context (any admin or SCIM route's `c` has it). */
type AdminContext = { env: Env; var: Pick<BaseVariables, "directory" | "d1Stats"> };

/** The database of shard `name` (the directory's own handle for `DB`). */
export function shardDb(c: AdminContext): (name: string) => Db {
  return (name) => (name === DIRECTORY ? c.var.directory : createDb(metered(shardBinding(c.env, name), c.var.d1Stats)));
}

/** The shards new tenants may be placed on. */
export function shardStores(c: AdminContext): ShardStore[] {
  const db = shardDb(c);
  return shardNames(c.env).map((name) => ({ name, db: db(name) }));
}

/**
 * Every database that may hold tenants: the shards, and in a sharded deployment also `DB`, for
 * tenants placed there before it grew shards.
 */
export function tenantStores(c: AdminContext): ShardStore[] {
  const db = shardDb(c);
  const names = isSharded(c.env) ? [...shardNames(c.env), DIRECTORY] : shardNames(c.env);
  return names.map((name) => ({ name, db: db(name) }));
}
