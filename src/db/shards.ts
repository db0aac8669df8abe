/**
 * Where a tenant's data lives. `DB` is the directory: tenants (with their `shard`) and the global
 * identities. Shards are the D1 bindings named `SHARD_1`, `SHARD_2`, …; without any, `DB` is the
 * directory and the only shard, and nothing is looked up (docs/sharding.md).
 */
import { eq } from "drizzle-orm";
import type { Db } from "./client";
import { tenants } from "./schema";

/** The directory's binding, and the only shard's when no `SHARD_n` binding exists. */
export const DIRECTORY = "DB";

const SHARD_BINDING = /^SHARD_(\d{1,4})$/;

/**
 * The shards new tenants are placed on, by binding name, in number order: the `SHARD_n`
 * bindings, or `DB` alone when there are none. A deployment that grew shards keeps serving the
 * tenants still on `DB` (`shardBinding` accepts it) until they are moved.
 */
export function shardNames(env: Env): string[] {
  const names = Object.keys(env)
    .filter((key) => SHARD_BINDING.test(key) && isD1((env as unknown as Record<string, unknown>)[key]))
    .sort((a, b) => Number(SHARD_BINDING.exec(a)![1]) - Number(SHARD_BINDING.exec(b)![1]));
  return names.length > 0 ? names : [DIRECTORY];
}

/** Whether tenants live apart from the directory (some `SHARD_n` binding exists). */
export function isSharded(env: Env): boolean {
  return shardNames(env)[0] !== DIRECTORY;
}

/** The D1 binding of shard `name` (`DB` or a `SHARD_n`); throws for any other name. */
export function shardBinding(env: Env, name: string): D1Database {
  if (name !== DIRECTORY && !shardNames(env).includes(name)) throw new Error(`'${name}' is not a shard of this deployment`);
  return (env as unknown as Record<string, D1Database>)[name]!;
}

function isD1(value: unknown): value is D1Database {
  return typeof value === "object" && value !== null && typeof (value as D1Database).prepare === "function";
}

/** Where a tenant is: its shard, and while it moves, the shard it moves to. */
export interface Placement {
  shard: string;
  moveTo: string | null;
}

/**
 * How long an isolate trusts what it read of a tenant's placement (never while the tenant
 * moves). A move waits this long after it starts before it freezes anything, so no isolate
 * still holds a placement read before it, and longer than this between switching the directory
 * and emptying the old shard (src/iam/tenant-moves.ts); a write refused by a move drops the
 * entry at once.
 */
export const PLACEMENT_TTL_MS = 15_000;

const placements = new Map<string, { placement: Placement; until: number }>();

/**
 * A tenant's placement, from the isolate's cache or the directory (undefined: no such tenant,
 * not cached). With one database every tenant is on `DB` and nothing is read.
 */
export async function placementOf(env: Env, directory: Db, tenantId: string, now = Date.now()): Promise<Placement | undefined> {
  if (!isSharded(env)) return { shard: DIRECTORY, moveTo: null };
  const cached = placements.get(tenantId);
  if (cached && cached.until > now) return cached.placement;
  const row = await directory.select({ shard: tenants.shard, moveTo: tenants.moveTo }).from(tenants).where(eq(tenants.id, tenantId)).get();
  if (!row) return undefined;
  // A moving tenant's placement is read afresh by every request until the move ends: its switch
  // then reaches every isolate at once (the move waits out entries cached before it started).
  if (row.moveTo === null) remember(tenantId, row, now);
  else placements.delete(tenantId);
  return row;
}

/** Keeps `placement` for the TTL (a bounded cache: the oldest entries go first). */
export function remember(tenantId: string, placement: Placement, now = Date.now()): void {
  if (placements.size >= 10_000) placements.delete(placements.keys().next().value!);
  placements.delete(tenantId);
  placements.set(tenantId, { placement, until: now + PLACEMENT_TTL_MS });
}

/** Forgets a tenant's placement: the next request reads it from the directory. */
export function forgetPlacement(tenantId: string): void {
  placements.delete(tenantId);
}
