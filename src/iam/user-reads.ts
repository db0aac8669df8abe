/**
 * How a tenant's view of its users is read: the TenantUser shape, SCIM's lookups and lists (in
 * the order users were provisioned there), the admin API's user list with its cursor, and the
 * operator's global user with every tenant's view. The writes are in ./users.ts.
 */
import { and, asc, count, eq, inArray, sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { pageWithTotal } from "../db/chunk";
import { identityLinks, tenants, tenantSizes, tenantUsers, users } from "../db/schema";

/** One of the tenant's groups a user belongs to. */
export interface GroupRef {
  id: string;
  displayName: string;
}

/** A user as seen from one tenant: that tenant's view, nothing of any other tenant's. */
export interface TenantUser {
  id: string;
  userName: string;
  profile: Record<string, unknown>;
  managerId: string | null;
  externalId: string | null;
  active: boolean;
  /** The view's version: bumped by every write of this tenant, by nothing else. */
  version: number;
  createdAt: number;
  updatedAt: number;
  /** Whether `managerId` names a user of this tenant now (a manager can lose access). */
  managerResolved: boolean;
  /** The user's groups in this tenant, when they were read with the user. */
  groups?: GroupRef[];
}

// A manager is shown with a $ref only while it is a user of the tenant: a PK lookup per row.
const managerResolved = sql<number>`(${tenantUsers.managerId} is not null and exists (
  select 1 from tenant_users boss where boss.tenant_id = "tenant_users"."tenant_id" and boss.user_id = "tenant_users"."manager_id"))`.mapWith(Boolean);

// What a view holds, as every read selects it.
const viewColumns = {
  userName: tenantUsers.userName,
  profile: tenantUsers.profile,
  managerId: tenantUsers.managerId,
  externalId: tenantUsers.externalId,
  active: tenantUsers.active,
  version: tenantUsers.version,
  createdAt: tenantUsers.createdAt,
  updatedAt: tenantUsers.updatedAt,
};

const tenantUserColumns = { id: tenantUsers.userId, ...viewColumns, managerResolved };

export interface ListQuery {
  /** Extra condition (a compiled SCIM filter). */
  where?: SQL;
  /**
   * The condition pins its rows through an index (an indexed `eq`): the list's default order then
   * sorts them instead of steering SQLite to walk the tenant in that order (without statistics it
   * prefers an index that gives the order over one that gives the rows).
   */
  pinned?: boolean;
  orderBy?: SQL[];
  /** 0-based offset. */
  offset: number;
  limit: number;
  /**
   * With it, a page of views returns at most this many units (one per view plus one per KiB of
   * its profile), priced by the tenant's largest view: fewer rows than `limit` when views are
   * large (RFC 7644 §3.4.2.4 lets a page hold fewer; `itemsPerPage` says how many came).
   */
  pageUnits?: number;
}

// The tenant's groups of the row's user, as JSON, read in the same query as the user.
const groupsOfRow = sql<string>`(
  select json_group_array(json_object('id', g.id, 'displayName', g.display_name))
  from (select gg.id, gg.display_name from group_members gm join groups gg on gg.id = gm.group_id
        where gm.tenant_id = "tenant_users"."tenant_id" and gm.user_id = "tenant_users"."user_id"
        order by gg.display_name_key) as g)`;

/** A row read with `groupsOfRow` (or `null` in its place) as a TenantUser. */
export function withParsedGroups<Row extends { groups: string | null }>({ groups, ...user }: Row): Omit<Row, "groups"> & { groups?: GroupRef[] } {
  return groups == null ? user : { ...user, groups: JSON.parse(groups) as GroupRef[] };
}

/**
 * Counts and pages the users of a tenant matching `query.where` (a condition on the tenant's
 * views); with `withGroups`, each row carries its groups in this tenant (read in the same query).
 */
export async function queryTenantUsers(
  db: Db,
  tenantId: string,
  query: ListQuery & { withGroups?: boolean },
): Promise<{ total: number; rows: TenantUser[] }> {
  const where = and(eq(tenantUsers.tenantId, tenantId), query.where);
  const { total, rows } = await pageWithTotal(
    () => tenantUsersPage(db, tenantId, query),
    async () => (await db.select({ total: count() }).from(tenantUsers).where(where))[0]?.total ?? 0,
    query,
    (rows) => rows[0]?.pageLimit ?? query.limit,
  );
  return { total, rows: rows.map(({ pageLimit: _limit, ...row }) => withParsedGroups(row)) };
}

/**
 * The rows a page of views holds: `limit`, or fewer so that they hold at most `pageUnits` units of
 * the tenant's largest view.
 */
function pageLimit(tenantId: string, query: Pick<ListQuery, "limit" | "pageUnits">): SQL<number> {
  // Integers written into the text: LIMIT takes an integer, and D1 binds numbers as reals.
  const limit = sql.raw(String(Math.trunc(query.limit)));
  if (query.pageUnits === undefined) return sql<number>`${limit}`;
  return sql<number>`coalesce((select max(1, min(${limit}, ${sql.raw(String(Math.trunc(query.pageUnits)))} / ${tenantSizes.maxViewUnits}))
    from ${tenantSizes} where ${tenantSizes.tenantId} = ${tenantId}), ${limit})`;
}

/**
 * The query of one user as seen from a tenant (unsent: a write batches it with its other reads).
 */
export function tenantUserQuery(db: Db, tenantId: string, id: string, options: { withGroups?: boolean } = {}) {
  return db
    .select({ ...tenantUserColumns, groups: options.withGroups ? groupsOfRow : sql<string | null>`null` })
    .from(tenantUsers)
    .where(and(eq(tenantUsers.tenantId, tenantId), eq(tenantUsers.userId, id)))
    .limit(1);
}

/**
 * The page query of a user list, as sent. Ids are random: a list is in the order users were
 * provisioned here, then by id. A pinned list orders by the same values written `+column`,
 * which no index provides, so SQLite picks its index by the condition.
 */
export function tenantUsersPage(db: Db, tenantId: string, query: ListQuery & { withGroups?: boolean }) {
  const order = query.pinned ? [sql`+${tenantUsers.createdAt}`, sql`+${tenantUsers.userId}`] : [asc(tenantUsers.createdAt), asc(tenantUsers.userId)];
  const limit = pageLimit(tenantId, query);
  return db
    .select({ ...tenantUserColumns, groups: query.withGroups ? groupsOfRow : sql<string | null>`null`, pageLimit: sql<number>`${limit}`.as("page_limit") })
    .from(tenantUsers)
    .where(and(eq(tenantUsers.tenantId, tenantId), query.where))
    .orderBy(...(query.orderBy ?? []), ...order)
    // A number, or an expression of the tenant's sizes (Drizzle renders either after `limit`).
    .limit(query.pageUnits === undefined ? query.limit : (limit as unknown as number))
    .offset(query.offset);
}

/** Returns a user as seen from a tenant, or undefined when it has no access there. */
export async function getTenantUser(
  db: Db,
  tenantId: string,
  id: string,
  options: { withGroups?: boolean } = {},
): Promise<TenantUser | undefined> {
  const [row] = await tenantUserQuery(db, tenantId, id, options);
  return row && withParsedGroups(row);
}

/** The key case-insensitive values are stored and looked up under (full Unicode lowercase). */
export const caseKey = (value: string) => value.toLowerCase();

// ---- admin views ---------------------------------------------------------------------------

/**
 * A page of a tenant's users in the order they were provisioned here, each with its groups in this
 * tenant. `search` keeps users whose userName or displayName (in this tenant's view) contains it,
 * ignoring case (for displayName, ASCII case only, or exactly as typed). A scan bounded by the
 * page: meant for people looking someone up, not for provisioning lookups, which use filters.
 */
export async function listTenantUsers(
  db: Db,
  tenantId: string,
  page: { limit: number; after?: string; search?: string },
): Promise<TenantUser[]> {
  const needle = page.search === undefined ? undefined : caseKey(page.search);
  const rows = await db
    .select({ ...tenantUserColumns, groups: groupsOfRow })
    .from(tenantUsers)
    .where(
      and(
        eq(tenantUsers.tenantId, tenantId),
        page.after ? afterCursor(page.after) : undefined,
        // userName has a Unicode-folded key; displayName has its own column (no profile is
        // parsed), where SQLite's lower() folds ASCII only, so it also matches as typed ("Ölaf"
        // finds "Ölaf Ünal").
        needle
          ? sql`(instr(${tenantUsers.userNameKey}, ${needle}) > 0
              or instr(lower(coalesce(${tenantUsers.displayName}, '')), ${needle}) > 0
              or instr(coalesce(${tenantUsers.displayName}, ''), ${page.search}) > 0)`
          : undefined,
      ),
    )
    .orderBy(asc(tenantUsers.createdAt), asc(tenantUsers.userId))
    .limit(page.limit);
  return rows.map(withParsedGroups);
}

/** Where a page of the admin user list resumes: the cursor is the last row's `createdAt:id`. */
export const userCursor = (user: Pick<TenantUser, "createdAt" | "id">) => `${user.createdAt}:${user.id}`;

function afterCursor(cursor: string): SQL {
  const colon = cursor.indexOf(":");
  const at = Number(cursor.slice(0, colon));
  const id = cursor.slice(colon + 1);
  if (colon < 0 || !Number.isSafeInteger(at)) return sql`0`;
  return sql`(${tenantUsers.createdAt} > ${at} or (${tenantUsers.createdAt} = ${at} and ${tenantUsers.userId} > ${id}))`;
}

/** One tenant's view of a global user, for the operator. */
export type TenantView = Omit<TenantUser, "id" | "managerResolved" | "groups"> & { tenantId: string; tenantName: string };

export interface GlobalUser {
  id: string;
  /** The identity key other tenants' POSTs link on. */
  userName: string;
  createdAt: number;
  updatedAt: number;
  views: TenantView[];
}

/** A global user with every tenant's view of it (the operator's instance-wide view). */
export async function getGlobalUser(db: Db, id: string): Promise<GlobalUser | undefined> {
  const [identity, views] = await db.batch([
    db.select().from(users).where(eq(users.id, id)),
    db
      .select({ tenantId: tenantUsers.tenantId, tenantName: tenants.name, ...viewColumns })
      .from(tenantUsers)
      .innerJoin(tenants, eq(tenants.id, tenantUsers.tenantId))
      .where(eq(tenantUsers.userId, id))
      .orderBy(asc(tenantUsers.tenantId)),
  ]);
  const user = identity[0];
  if (!user) return undefined;
  return { id: user.id, userName: user.userName, createdAt: user.createdAt, updatedAt: user.updatedAt, views };
}

/**
 * The same, sharded: the identity and the tenants linked to it from the directory (one round
 * trip), then each shard holding some of those tenants at home, in parallel.
 */
export async function getGlobalUserAcrossShards(directory: Db, shard: (name: string) => Db, id: string): Promise<GlobalUser | undefined> {
  const [identity, linked] = await directory.batch([
    directory.select().from(users).where(eq(users.id, id)),
    directory
      .select({ tenantId: tenants.id, shard: tenants.shard })
      .from(identityLinks)
      .innerJoin(tenants, eq(tenants.id, identityLinks.tenantId))
      .where(eq(identityLinks.userId, id)),
  ]);
  const user = identity[0];
  if (!user) return undefined;
  const byShard = new Map<string, string[]>();
  for (const link of linked) byShard.set(link.shard, [...(byShard.get(link.shard) ?? []), link.tenantId]);
  const views = await Promise.all(
    [...byShard].map(([name, tenantIds]) => {
      const db = shard(name);
      return db
        .select({ tenantId: tenantUsers.tenantId, tenantName: tenants.name, ...viewColumns })
        .from(tenantUsers)
        .innerJoin(tenants, and(eq(tenants.id, tenantUsers.tenantId), eq(tenants.shard, name)))
        .where(and(eq(tenantUsers.userId, id), inArray(tenantUsers.tenantId, tenantIds)));
    }),
  );
  const all = views.flat().sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0));
  return { id: user.id, userName: user.userName, createdAt: user.createdAt, updatedAt: user.updatedAt, views: all };
}
