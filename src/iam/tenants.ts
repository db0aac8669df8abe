/** Tenants: the unit of isolation, each placed on one shard (docs/sharding.md). */
import { asc, eq, gt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { violates } from "../db/constraints";
import { tenants } from "../db/schema";
import { auditStatement, diffOf, type Actor } from "./audit";

export type Tenant = typeof tenants.$inferSelect;

/** Tenant ids that would collide with fixed admin routes (`/api/v1/tenants`, `/api/v1/users`…). */
export const RESERVED_TENANT_IDS = ["tenants", "users", "openapi", "ui", "health", "me", "shards"];

export type CreateTenantResult = { kind: "created"; tenant: Tenant } | { kind: "exists" };

/** A shard a tenant may be placed on: its binding name and database. */
export interface ShardStore {
  name: string;
  db: Db;
}

/**
 * Creates a tenant on `shard`, audited in the same batch; `exists` when the id is taken. With
 * one database (`shard` is the directory) that is one batch. Otherwise the directory's row comes
 * first (its primary key decides a race for the id), then the shard's row and the audit event;
 * if the shard refuses, the directory's row is taken back, so a failed create leaves nothing.
 */
export async function createTenant(
  directory: Db,
  input: { id: string; name?: string; actor?: Actor; requestId?: string; shard?: ShardStore },
  now: number = Date.now(),
): Promise<CreateTenantResult> {
  const name = input.name ?? input.id;
  const shard = input.shard ?? { name: "DB", db: directory };
  const row: Tenant = { ...emptyMove, id: input.id, name, createdAt: now, shard: shard.name, frozen: 0 };
  const audited = auditStatement(
    shard.db,
    {
      tenantId: input.id,
      actor: input.actor ?? { type: "ADMIN" },
      action: "CREATE",
      resourceType: "TENANT",
      resourceId: input.id,
      resourceName: name,
      diff: diffOf({}, { name }),
      requestId: input.requestId,
    },
    now,
  );
  try {
    if (shard.db === directory) {
      await directory.batch([directory.insert(tenants).values(row), audited]);
    } else {
      await directory.insert(tenants).values(row);
      try {
        await shard.db.batch([shard.db.insert(tenants).values(row), audited]);
      } catch (error) {
        await directory.delete(tenants).where(eq(tenants.id, input.id));
        throw error;
      }
    }
  } catch (error) {
    if (violates(error, "UNIQUE", "PRIMARY KEY")) return { kind: "exists" };
    throw error;
  }
  return { kind: "created", tenant: row };
}

const emptyMove = { moveTo: null, moveState: null, moveCopied: null, moveTotal: null, moveStartedAt: null };

/** Returns one tenant (from the directory), or undefined. */
export async function getTenant(directory: Db, id: string): Promise<Tenant | undefined> {
  return directory.select().from(tenants).where(eq(tenants.id, id)).get();
}

/** Lists tenants by id, `limit` at a time after the `after` cursor. */
export async function listTenants(directory: Db, page: { limit: number; after?: string }): Promise<Tenant[]> {
  return directory
    .select()
    .from(tenants)
    .where(page.after ? gt(tenants.id, page.after) : undefined)
    .orderBy(asc(tenants.id))
    .limit(page.limit);
}

/** One shard's load: how many tenants the directory places there, and its database's size. */
export interface ShardLoad {
  name: string;
  tenants: number;
  /** Moves under way into this shard. */
  arriving: number;
  /** The database's size in bytes, as D1 reports it (null where it reports none). */
  sizeBytes: number | null;
}

/**
 * Every shard's load: one grouped count on the directory, and one trivial query per shard (in
 * parallel) for the size D1 reports with every result.
 */
export async function shardLoads(directory: Db, shards: ShardStore[]): Promise<ShardLoad[]> {
  const [counts, sizes] = await Promise.all([
    directory.all<{ shard: string; tenants: number; arriving: number }>(sql`select shard, sum(1) as tenants, 0 as arriving from tenants group by shard
      union all select move_to, 0, count(*) from tenants where move_to is not null and move_to <> shard group by move_to`),
    Promise.all(shards.map(async (shard) => sizeOf(await shard.db.run(sql`select 1`)))),
  ]);
  return shards.map((shard, i) => ({
    name: shard.name,
    tenants: counts.filter((c) => c.shard === shard.name).reduce((n, c) => n + Number(c.tenants), 0),
    arriving: counts.filter((c) => c.shard === shard.name).reduce((n, c) => n + Number(c.arriving), 0),
    sizeBytes: sizes[i] ?? null,
  }));
}

function sizeOf(result: unknown): number | null {
  const size = (result as { meta?: { size_after?: unknown } }).meta?.size_after;
  return typeof size === "number" ? size : null;
}

/** Sizes compare in these steps: a page or two of difference says nothing about load. */
const SIZE_STEP = 64 * 1024 * 1024;

/**
 * The least loaded shard: the smallest database (in 64 MiB steps), then the fewest tenants
 * (moves into it count), then the first by number. Size leads because a D1 database's limit is
 * its size; among small databases, tenants spread evenly.
 */
export function leastLoaded(loads: ShardLoad[]): string {
  const step = (load: ShardLoad) => Math.floor((load.sizeBytes ?? 0) / SIZE_STEP);
  const byLoad = [...loads].sort((a, b) => step(a) - step(b) || a.tenants + a.arriving - (b.tenants + b.arriving));
  return byLoad[0]!.name;
}
