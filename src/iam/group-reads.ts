/**
 * How a tenant's groups and their members (one row per member) are read: SCIM's lookups and
 * lists, the members with the name a SCIM client shows, their counts up to a bound, and the
 * admin API's group and member lists. The writes are in ./groups.ts.
 */
import { and, asc, count, eq, getTableColumns, gt, inArray, sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { chunk, MAX_BOUND_PARAMETERS, pageWithTotal } from "../db/chunk";
import { groupMembers, groups, tenantUsers } from "../db/schema";
import type { ListQuery } from "./user-reads";

export type Group = typeof groups.$inferSelect;

export interface Member {
  userId: string;
  display: string;
}

/** Counts and pages the groups of a tenant matching `query.where`. */
export async function queryGroups(db: Db, tenantId: string, query: ListQuery): Promise<{ total: number; rows: Group[] }> {
  const where = and(eq(groups.tenantId, tenantId), query.where);
  return pageWithTotal(
    () =>
      db
        .select()
        .from(groups)
        .where(where)
        // A pinned condition picks the index (see ListQuery.pinned).
        .orderBy(...(query.orderBy ?? []), query.pinned ? sql`+${groups.id}` : asc(groups.id))
        .limit(query.limit)
        .offset(query.offset),
    async () => (await db.select({ total: count() }).from(groups).where(where))[0]?.total ?? 0,
    query,
  );
}

/** Returns one group of a tenant, or undefined. */
export async function getGroup(db: Db, tenantId: string, id: string): Promise<Group | undefined> {
  return db
    .select()
    .from(groups)
    .where(and(eq(groups.tenantId, tenantId), eq(groups.id, id)))
    .get();
}

// A member as the group's tenant sees them: that tenant's view of the user.
const memberView = and(eq(tenantUsers.tenantId, groupMembers.tenantId), eq(tenantUsers.userId, groupMembers.userId));

/**
 * The name a SCIM client shows for a member: the view's displayName, else its userName, both
 * read from tenant_users_display_idx (a member's profile is never parsed for it).
 */
export const memberDisplay = sql<string>`coalesce(${tenantUsers.displayName}, ${tenantUsers.userName})`;

/**
 * Members as one JSON array of `[userId, display]` pairs in one row: returning thousands of
 * members row by row costs D1 (and the Worker) far more than one string.
 */
function membersJson(members: SQL): SQL<string> {
  return sql<string>`(select json_group_array(json_array(m.user_id, m.display)) from (${members}) as m)`;
}

const parseMembers = (json: string | null): Member[] =>
  (JSON.parse(json ?? "[]") as [string, string][]).map(([userId, display]) => ({ userId, display }));

/**
 * The members of each group, with the display name (in the group's tenant's view) a SCIM client
 * shows.
 */
export async function membersOfGroups(db: Db, groupIds: string[]): Promise<Map<string, Member[]>> {
  const result = new Map<string, Member[]>();
  for (const ids of chunk(groupIds, MAX_BOUND_PARAMETERS)) {
    const rows = await db
      .select({
        groupId: groups.id,
        members: membersJson(sql`select ${groupMembers.userId} as user_id, ${memberDisplay} as display
          from ${groupMembers} join ${tenantUsers} on ${memberView}
          where ${groupMembers.groupId} = ${groups.id} order by ${groupMembers.userId}`),
      })
      .from(groups)
      .where(inArray(groups.id, ids));
    for (const row of rows) result.set(row.groupId, parseMembers(row.members));
  }
  return result;
}

/**
 * One group of a tenant with its members, in one query: a group of more than `limit` members
 * comes back without them (counted through the group's key, never joined nor returned), for the
 * caller to decide how to show a group that large.
 */
export async function groupWithMembers(db: Db, tenantId: string, id: string, limit: number): Promise<{ group: Group; members?: Member[] } | undefined> {
  // Counted first through the group's key (up to limit + 1): a larger group's members are not
  // joined nor returned, and its JSON is NULL (a group without members has `[]`).
  const counted = membersUpTo(sql`${id}`, limit + 1);
  const found = await db
      .select({
        ...getTableColumns(groups),
        // The group's own tenant: an id of another tenant's group finds no members either. Written
        // `+tenant_id` so SQLite seeks the group's key instead of walking the tenant's memberships.
        members: sql<string | null>`case when ${counted} <= ${limit} then ${membersJson(sql`select ${groupMembers.userId} as user_id, ${memberDisplay} as display
          from ${groupMembers} join ${tenantUsers} on ${memberView}
          where ${groupMembers.groupId} = ${id} and +${groupMembers.tenantId} = ${tenantId} order by ${groupMembers.userId}`)} end`.as("members_json"),
      })
      .from(groups)
      .where(and(eq(groups.tenantId, tenantId), eq(groups.id, id)))
      .limit(1);
  const row = found[0];
  if (!row) return undefined;
  const { members, ...group } = row;
  return members === null ? { group } : { group, members: parseMembers(members) };
}

/**
 * A group's members counted through its key up to `upTo`: at most that many index entries walked.
 */
export function membersUpTo(groupId: SQL, upTo: number): SQL<number> {
  return sql<number>`(select count(*) from (select 1 from ${groupMembers} where ${groupMembers.groupId} = ${groupId} limit ${sql.raw(String(Math.trunc(upTo)))}))`;
}

/**
 * How many members each group has, counted up to `upTo` (past it, the caller only needs to know
 * it is past): each count walks at most that many index entries of the group's key.
 */
export async function memberCounts(db: Db, groupIds: string[], upTo: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const ids of chunk(groupIds, MAX_BOUND_PARAMETERS)) {
    const rows = await db
      .select({
        groupId: groups.id,
        n: membersUpTo(sql`${groups.id}`, upTo).mapWith(Number),
      })
      .from(groups)
      .where(inArray(groups.id, ids));
    for (const row of rows) if (row.n > 0) counts.set(row.groupId, row.n);
  }
  return counts;
}

// ---- admin views ---------------------------------------------------------------------------

export type GroupSummary = Group & { memberCount: number };

const memberCount = sql<number>`(select count(*) from group_members gm where gm.group_id = "groups"."id")`.mapWith(Number);

/** A tenant's groups in id order with their member counts. */
export async function listGroups(db: Db, tenantId: string, page: { limit: number; after?: string }): Promise<GroupSummary[]> {
  return db
    .select({ ...getTableColumns(groups), memberCount })
    .from(groups)
    .where(and(eq(groups.tenantId, tenantId), page.after ? gt(groups.id, page.after) : undefined))
    .orderBy(asc(groups.id))
    .limit(page.limit);
}

/** One page of a group's members with their names, in user id order. */
export async function listMembers(
  db: Db,
  groupId: string,
  page: { limit: number; after?: string },
): Promise<{ id: string; userName: string; displayName: string | null }[]> {
  return db
    .select({
      id: tenantUsers.userId,
      userName: tenantUsers.userName,
      displayName: tenantUsers.displayName,
    })
    .from(groupMembers)
    .innerJoin(tenantUsers, memberView)
    .where(and(eq(groupMembers.groupId, groupId), page.after ? gt(groupMembers.userId, page.after) : undefined))
    .orderBy(asc(groupMembers.userId))
    .limit(page.limit);
}

/** The number of members of a group. */
export async function countMembers(db: Db, groupId: string): Promise<number> {
  const row = await db.select({ n: count() }).from(groupMembers).where(eq(groupMembers.groupId, groupId)).get();
  return row?.n ?? 0;
}
