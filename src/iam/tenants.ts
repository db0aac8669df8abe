/** Tenants: the unit of isolation. */
import { asc, eq, gt } from "drizzle-orm";
import type { Db } from "../db/client";
import { tenants } from "../db/schema";

export type Tenant = typeof tenants.$inferSelect;

/** Tenant ids that would collide with fixed admin routes (`/api/v1/tenants`, `/api/v1/users`). */
export const RESERVED_TENANT_IDS = ["tenants", "users", "openapi", "ui", "health"];

export type CreateTenantResult = { kind: "created"; tenant: Tenant } | { kind: "exists" };

/** Creates a tenant; `exists` when the id is taken (also under a concurrent create). */
export async function createTenant(
  db: Db,
  input: { id: string; name?: string },
  now: number = Date.now(),
): Promise<CreateTenantResult> {
  const rows = await db
    .insert(tenants)
    .values({ id: input.id, name: input.name ?? input.id, createdAt: now })
    .onConflictDoNothing()
    .returning();
  const tenant = rows[0];
  return tenant ? { kind: "created", tenant } : { kind: "exists" };
}

/** Returns one tenant, or undefined. */
export async function getTenant(db: Db, id: string): Promise<Tenant | undefined> {
  return db.select().from(tenants).where(eq(tenants.id, id)).get();
}

/** Lists tenants by id, `limit` at a time after the `after` cursor. */
export async function listTenants(db: Db, page: { limit: number; after?: string }): Promise<Tenant[]> {
  return db
    .select()
    .from(tenants)
    .where(page.after ? gt(tenants.id, page.after) : undefined)
    .orderBy(asc(tenants.id))
    .limit(page.limit);
}
