/**
 * Users are global (one row per person); a user's access to a tenant is a `tenant_users` row
 * holding that tenant's `externalId` and `active`. Reads here always go through the access row,
 * so a tenant never sees a user it has no access to.
 */
import { and, asc, count, eq, inArray, sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { chunk, MAX_BOUND_PARAMETERS } from "../db/chunk";
import { groupMembers, groups, tenantUsers, users } from "../db/schema";

/** A user as seen from one tenant. */
export interface TenantUser {
  id: string;
  userName: string;
  profile: Record<string, unknown>;
  managerId: string | null;
  version: number;
  externalId: string | null;
  active: boolean;
  accessVersion: number;
  createdAt: number;
  updatedAt: number;
}

const tenantUserColumns = {
  id: users.id,
  userName: users.userName,
  profile: users.profile,
  managerId: users.managerId,
  version: users.version,
  externalId: tenantUsers.externalId,
  active: tenantUsers.active,
  accessVersion: tenantUsers.version,
  createdAt: tenantUsers.createdAt,
  updatedAt: sql<number>`max(${users.updatedAt}, ${tenantUsers.updatedAt})`.mapWith(Number),
};

export interface ListQuery {
  /** Extra condition (a compiled SCIM filter). */
  where?: SQL;
  orderBy?: SQL[];
  /** 0-based offset. */
  offset: number;
  limit: number;
}

/** Counts and pages the users of a tenant matching `query.where`. */
export async function queryTenantUsers(
  db: Db,
  tenantId: string,
  query: ListQuery,
): Promise<{ total: number; rows: TenantUser[] }> {
  const where = and(eq(tenantUsers.tenantId, tenantId), query.where);
  const from = () => db.select(tenantUserColumns).from(tenantUsers).innerJoin(users, eq(users.id, tenantUsers.userId));
  const [totals, rows] = await Promise.all([
    db.select({ total: count() }).from(tenantUsers).innerJoin(users, eq(users.id, tenantUsers.userId)).where(where),
    query.limit > 0
      ? from()
          .where(where)
          .orderBy(...(query.orderBy ?? []), asc(users.id))
          .limit(query.limit)
          .offset(query.offset)
      : Promise.resolve([]),
  ]);
  return { total: totals[0]?.total ?? 0, rows };
}

/** Returns a user as seen from a tenant, or undefined when it has no access there. */
export async function getTenantUser(db: Db, tenantId: string, id: string): Promise<TenantUser | undefined> {
  return db
    .select(tenantUserColumns)
    .from(tenantUsers)
    .innerJoin(users, eq(users.id, tenantUsers.userId))
    .where(and(eq(tenantUsers.tenantId, tenantId), eq(tenantUsers.userId, id)))
    .get();
}

/** The tenant's groups each user belongs to, for the read-only `groups` attribute. */
export async function groupsOfUsers(
  db: Db,
  tenantId: string,
  userIds: string[],
): Promise<Map<string, { id: string; displayName: string }[]>> {
  const result = new Map<string, { id: string; displayName: string }[]>();
  for (const ids of chunk(userIds, MAX_BOUND_PARAMETERS - 1)) {
    const rows = await db
      .select({ userId: groupMembers.userId, id: groups.id, displayName: groups.displayName })
      .from(groupMembers)
      .innerJoin(groups, eq(groups.id, groupMembers.groupId))
      .where(and(eq(groupMembers.tenantId, tenantId), inArray(groupMembers.userId, ids)))
      .orderBy(asc(groups.displayNameKey));
    for (const row of rows) {
      const list = result.get(row.userId) ?? [];
      list.push({ id: row.id, displayName: row.displayName });
      result.set(row.userId, list);
    }
  }
  return result;
}
