/** Tenants: the unit of isolation. */
import { asc, eq, gt } from "drizzle-orm";
import type { Db } from "../db/client";
import { violates } from "../db/constraints";
import { tenants } from "../db/schema";
import { auditStatement, diffOf, type Actor } from "./audit";

export type Tenant = typeof tenants.$inferSelect;

/** Tenant ids that would collide with fixed admin routes (`/api/v1/tenants`, `/api/v1/users`). */
export const RESERVED_TENANT_IDS = ["tenants", "users", "openapi", "ui", "health"];

export type CreateTenantResult = { kind: "created"; tenant: Tenant } | { kind: "exists" };

/** Creates a tenant, audited in the same batch; `exists` when the id is taken. */
export async function createTenant(
  db: Db,
  input: { id: string; name?: string; actor?: Actor; requestId?: string },
  now: number = Date.now(),
): Promise<CreateTenantResult> {
  const name = input.name ?? input.id;
  try {
    await db.batch([
      db.insert(tenants).values({ id: input.id, name, createdAt: now }),
      auditStatement(
        db,
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
      ),
    ]);
  } catch (error) {
    if (violates(error, "UNIQUE", "PRIMARY KEY")) {
      return { kind: "exists" };
    }
    throw error;
  }
  return { kind: "created", tenant: { id: input.id, name, createdAt: now } };
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
