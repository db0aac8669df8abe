/** Tenant-scoped groups and their memberships (one row per member). */
import { and, asc, count, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { chunk, MAX_BOUND_PARAMETERS } from "../db/chunk";
import { groupMembers, groups, users } from "../db/schema";
import type { ListQuery } from "./users";

export type Group = typeof groups.$inferSelect;

export interface Member {
  userId: string;
  display: string;
}

/** Counts and pages the groups of a tenant matching `query.where`. */
export async function queryGroups(db: Db, tenantId: string, query: ListQuery): Promise<{ total: number; rows: Group[] }> {
  const where = and(eq(groups.tenantId, tenantId), query.where);
  const [totals, rows] = await Promise.all([
    db.select({ total: count() }).from(groups).where(where),
    query.limit > 0
      ? db
          .select()
          .from(groups)
          .where(where)
          .orderBy(...(query.orderBy ?? []), asc(groups.id))
          .limit(query.limit)
          .offset(query.offset)
      : Promise.resolve([]),
  ]);
  return { total: totals[0]?.total ?? 0, rows };
}

/** Returns one group of a tenant, or undefined. */
export async function getGroup(db: Db, tenantId: string, id: string): Promise<Group | undefined> {
  return db
    .select()
    .from(groups)
    .where(and(eq(groups.tenantId, tenantId), eq(groups.id, id)))
    .get();
}

/** The members of each group, with the display name a SCIM client shows. */
export async function membersOfGroups(db: Db, groupIds: string[]): Promise<Map<string, Member[]>> {
  const result = new Map<string, Member[]>();
  for (const ids of chunk(groupIds, MAX_BOUND_PARAMETERS)) {
    const rows = await db
      .select({
        groupId: groupMembers.groupId,
        userId: groupMembers.userId,
        display: sql<string>`coalesce(json_extract(${users.profile}, '$.displayName'), ${users.userName})`,
      })
      .from(groupMembers)
      .innerJoin(users, eq(users.id, groupMembers.userId))
      .where(inArray(groupMembers.groupId, ids))
      .orderBy(asc(groupMembers.groupId), asc(groupMembers.userId));
    for (const row of rows) {
      const list = result.get(row.groupId) ?? [];
      list.push({ userId: row.userId, display: row.display });
      result.set(row.groupId, list);
    }
  }
  return result;
}
