/**
 * Users are global (one row per person); a user's access to a tenant is a `tenant_users` row
 * holding that tenant's `externalId` and `active`. Reads here always go through the access row,
 * so a tenant never sees a user it has no access to.
 */
import { and, asc, count, eq, gt, inArray, sql, type SQL } from "drizzle-orm";
import type { Db, Statement } from "../db/client";
import { chunk, MAX_BOUND_PARAMETERS, pageWithTotal } from "../db/chunk";
import { newId } from "../db/ids";
import { bindings, groupMembers, groups, tenantUsers, userEmails, users } from "../db/schema";
import { auditStatement, diffOf } from "./audit";
import { commit, failure, guardedVersion, preconditionFailure, withRetry, type WriteContext, type WriteFailure } from "./writes";

/** One of the tenant's groups a user belongs to. */
export interface GroupRef {
  id: string;
  displayName: string;
}

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
  /** The user's groups in this tenant, when they were read with the user. */
  groups?: GroupRef[];
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
// The tenant's groups of the row's user, as JSON, read in the same query as the user.
const groupsOfRow = sql<string>`(
  select json_group_array(json_object('id', g.id, 'displayName', g.display_name))
  from (select gg.id, gg.display_name from group_members gm join groups gg on gg.id = gm.group_id
        where gm.tenant_id = "tenant_users"."tenant_id" and gm.user_id = "users"."id"
        order by gg.display_name_key) as g)`;

/** A row read with `groupsOfRow` (or `null` in its place) as a TenantUser. */
function withParsedGroups<Row extends { groups: string | null }>({ groups, ...user }: Row): Omit<Row, "groups"> & { groups?: GroupRef[] } {
  return groups == null ? user : { ...user, groups: JSON.parse(groups) as GroupRef[] };
}

/**
 * Counts and pages the users of a tenant matching `query.where`; with `withGroups`, each row
 * carries its groups in this tenant (read in the same query, not after it).
 */
export async function queryTenantUsers(
  db: Db,
  tenantId: string,
  query: ListQuery & { withGroups?: boolean },
): Promise<{ total: number; rows: TenantUser[] }> {
  const where = and(eq(tenantUsers.tenantId, tenantId), query.where);
  const { total, rows } = await pageWithTotal(
    () =>
      db
        .select({ ...tenantUserColumns, groups: query.withGroups ? groupsOfRow : sql<string | null>`null` })
        .from(tenantUsers)
        .innerJoin(users, eq(users.id, tenantUsers.userId))
        .where(where)
        .orderBy(...(query.orderBy ?? []), asc(users.id))
        .limit(query.limit)
        .offset(query.offset),
    async () => (await db.select({ total: count() }).from(tenantUsers).innerJoin(users, eq(users.id, tenantUsers.userId)).where(where))[0]?.total ?? 0,
    query,
  );
  return { total, rows: rows.map(withParsedGroups) };
}

/** Returns a user as seen from a tenant, or undefined when it has no access there. */
export async function getTenantUser(
  db: Db,
  tenantId: string,
  id: string,
  options: { withGroups?: boolean } = {},
): Promise<TenantUser | undefined> {
  const row = await db
    .select({ ...tenantUserColumns, groups: options.withGroups ? groupsOfRow : sql<string | null>`null` })
    .from(tenantUsers)
    .innerJoin(users, eq(users.id, tenantUsers.userId))
    .where(and(eq(tenantUsers.tenantId, tenantId), eq(tenantUsers.userId, id)))
    .get();
  return row && withParsedGroups(row);
}

// ---- writes ------------------------------------------------------------------------------

/** Everything a write sets on a user, split into global profile and this tenant's access. */
export interface UserFields {
  userName: string;
  /** Global profile attributes (core except userName/active, and the enterprise extension). */
  profile: Record<string, unknown>;
  emails: { value: string; type?: string | null; display?: string | null; primary?: boolean }[];
  managerId: string | null;
  /** Per tenant. */
  externalId: string | null;
  /** Per tenant. */
  active: boolean;
}

export type UserWriteResult = { kind: "ok"; user: TenantUser; created: boolean } | WriteFailure;

/** The key case-insensitive values are stored and looked up under (full Unicode lowercase). */
export const caseKey = (value: string) => value.toLowerCase();

function userAuditFields(user: Pick<UserFields, "userName" | "profile" | "externalId" | "active" | "managerId">) {
  return { userName: user.userName, ...user.profile, externalId: user.externalId, active: user.active, manager: user.managerId };
}

function emailStatements(db: Db, userId: string, emails: UserFields["emails"]): Statement[] {
  const rows = emails.map((e, position) => ({
    userId,
    position,
    value: e.value,
    valueKey: caseKey(e.value),
    type: e.type ?? null,
    display: e.display ?? null,
    primary: e.primary === true,
  }));
  // 7 bound values a row: 14 rows stay under D1's 100 parameters.
  return [
    db.delete(userEmails).where(eq(userEmails.userId, userId)),
    ...chunk(rows, Math.floor(MAX_BOUND_PARAMETERS / 7)).map((part) => db.insert(userEmails).values(part)),
  ];
}

async function checkManager(db: Db, tenantId: string, userId: string | null, managerId: string | null): Promise<WriteFailure | undefined> {
  if (managerId === null) return undefined;
  if (managerId === userId) return failure(400, "A user cannot be their own manager.", "invalidValue");
  const found = await db
    .select({ id: tenantUsers.userId })
    .from(tenantUsers)
    .where(and(eq(tenantUsers.tenantId, tenantId), eq(tenantUsers.userId, managerId)))
    .get();
  return found ? undefined : failure(400, `manager '${managerId}' is not a user of this tenant.`, "invalidValue");
}

/**
 * Creates a user in a tenant. A userName that exists globally (any case) without access here
 * gets access and keeps its id (Kestra: users are global); with access already, 409.
 */
export async function createUser(db: Db, ctx: WriteContext, fields: UserFields, now = Date.now()): Promise<UserWriteResult> {
  const managerProblem = await checkManager(db, ctx.tenantId, null, fields.managerId);
  if (managerProblem) return managerProblem;
  return withRetry(async () => {
    const existing = await db.select().from(users).where(eq(users.userNameKey, caseKey(fields.userName))).get();
    const statements: Statement[] = [];
    let id: string;
    // What the batch writes, known without reading it back (one round trip fewer per create).
    let written: Pick<TenantUser, "userName" | "profile" | "managerId" | "version">;
    if (existing) {
      id = existing.id;
      written = existing;
      const access = await getTenantUser(db, ctx.tenantId, id);
      if (access) return failure(409, `A user with userName '${existing.userName}' already exists in this tenant.`, "uniqueness");
      // Joining an existing global user grants access; the posted profile only fills gaps, it never
      // overwrites what the user's other tenants provisioned (nor the userName's spelling).
      const joined = fillProfile(existing.profile, fields.profile);
      if (JSON.stringify(joined) !== JSON.stringify(existing.profile) || (existing.managerId === null && fields.managerId !== null)) {
        written = { ...existing, profile: joined, managerId: existing.managerId ?? fields.managerId, version: existing.version + 1 };
        statements.push(
          db
            .update(users)
            .set({
              profile: joined,
              managerId: existing.managerId ?? fields.managerId,
              version: guardedVersion(users.version, existing.version),
              updatedAt: now,
            })
            .where(eq(users.id, id)),
        );
        if (existing.profile.emails === undefined && fields.emails.length > 0) statements.push(...emailStatements(db, id, fields.emails));
      }
    } else {
      id = newId(now);
      written = { userName: fields.userName, profile: fields.profile, managerId: fields.managerId, version: 1 };
      statements.push(
        db.insert(users).values({
          id,
          userName: fields.userName,
          userNameKey: caseKey(fields.userName),
          profile: fields.profile,
          managerId: fields.managerId,
          createdAt: now,
          updatedAt: now,
        }),
        ...emailStatements(db, id, fields.emails),
      );
    }
    statements.push(
      db.insert(tenantUsers).values({
        tenantId: ctx.tenantId,
        userId: id,
        externalId: fields.externalId,
        active: fields.active,
        createdAt: now,
        updatedAt: now,
      }),
      auditStatement(db, { ...ctx, action: "CREATE", resourceType: "USER", resourceId: id, diff: diffOf({}, userAuditFields(fields)) }, now),
    );
    await commit(db, statements);
    const user: TenantUser = {
      id,
      userName: written.userName,
      profile: written.profile,
      managerId: written.managerId,
      version: written.version,
      externalId: fields.externalId,
      active: fields.active,
      accessVersion: 1,
      createdAt: now,
      updatedAt: now,
    };
    return { kind: "ok", user, created: true } as const;
  }, { idempotent: false });
}

/** `existing` with the attributes it lacks taken from `offered` (extension objects one level deep). */
function fillProfile(existing: Record<string, unknown>, offered: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...existing };
  for (const [key, value] of Object.entries(offered)) {
    const mine = existing[key];
    if (mine === undefined) out[key] = value;
    else if (key.startsWith("urn:") && typeof mine === "object" && value && typeof value === "object") {
      out[key] = { ...(mine as object), ...Object.fromEntries(Object.entries(value).filter(([k]) => !(k in (mine as object)))) };
    }
  }
  return out;
}

/** The ETag the SCIM layer shows for a user (kept here so If-Match is checked inside the queue). */
export const userEtag = (user: Pick<TenantUser, "version" | "accessVersion">) => `W/"${user.version}.${user.accessVersion}"`;

/**
 * Updates a user through `compute`, which turns the current user into the fields to store (PUT
 * builds them from the body, PATCH by applying operations). Unchanged parts are not written.
 */
export async function updateUser(
  db: Db,
  ctx: WriteContext,
  input: { id: string; ifMatch?: string; compute: (current: TenantUser) => UserFields },
  now = Date.now(),
): Promise<UserWriteResult> {
  return withRetry(async () => {
    // Read with its groups: a user write does not change them, so the answer needs no re-read.
    const current = await getTenantUser(db, ctx.tenantId, input.id, { withGroups: true });
    if (!current) return failure(404, `User '${input.id}' not found.`);
    const stale = preconditionFailure(input.ifMatch, userEtag(current));
    if (stale) return stale;
    const next = input.compute(current);
    if (next.managerId !== current.managerId) {
      const problem = await checkManager(db, ctx.tenantId, current.id, next.managerId);
      if (problem) return problem;
    }
    const before = userAuditFields({ ...current, managerId: current.managerId });
    const diff = diffOf(before, userAuditFields(next));
    if (Object.keys(diff).length === 0) return { kind: "ok", user: current, created: false } as const;

    const statements: Statement[] = [];
    const globalChanged =
      next.userName !== current.userName ||
      next.managerId !== current.managerId ||
      JSON.stringify(next.profile) !== JSON.stringify(current.profile);
    if (globalChanged) {
      if (caseKey(next.userName) !== caseKey(current.userName)) {
        const taken = await db.select({ id: users.id }).from(users).where(eq(users.userNameKey, caseKey(next.userName))).get();
        if (taken && taken.id !== current.id) return failure(409, `userName '${next.userName}' is already taken.`, "uniqueness");
      }
      statements.push(
        db
          .update(users)
          .set({
            userName: next.userName,
            userNameKey: caseKey(next.userName),
            profile: next.profile,
            managerId: next.managerId,
            version: guardedVersion(users.version, current.version),
            updatedAt: now,
          })
          .where(eq(users.id, current.id)),
      );
      if (JSON.stringify(next.profile.emails ?? null) !== JSON.stringify(current.profile.emails ?? null)) {
        statements.push(...emailStatements(db, current.id, next.emails));
      }
    }
    const accessChanged = next.externalId !== current.externalId || next.active !== current.active;
    if (accessChanged) {
      statements.push(
        db
          .update(tenantUsers)
          .set({
            externalId: next.externalId,
            active: next.active,
            version: guardedVersion(tenantUsers.version, current.accessVersion),
            updatedAt: now,
          })
          .where(and(eq(tenantUsers.tenantId, ctx.tenantId), eq(tenantUsers.userId, current.id))),
      );
    }
    statements.push(auditStatement(db, { ...ctx, action: "UPDATE", resourceType: "USER", resourceId: current.id, diff }, now));
    await commit(db, statements);
    // Exactly what the guarded batch wrote (it failed otherwise), without reading it back.
    const user: TenantUser = {
      ...current,
      userName: next.userName,
      profile: globalChanged ? next.profile : current.profile,
      managerId: next.managerId,
      version: globalChanged ? current.version + 1 : current.version,
      externalId: next.externalId,
      active: next.active,
      accessVersion: accessChanged ? current.accessVersion + 1 : current.accessVersion,
      updatedAt: now,
    };
    return { kind: "ok", user, created: false } as const;
  });
}

export type DeleteResult = { kind: "deleted" } | WriteFailure;

/**
 * Revokes a user's access to the tenant, with its memberships and bindings there. The global
 * user stays (Kestra: SCIM provisioning is per tenant, users are global).
 */
export async function revokeUserAccess(
  db: Db,
  ctx: WriteContext,
  input: { id: string; ifMatch?: string },
  now = Date.now(),
): Promise<DeleteResult> {
  return withRetry(async () => {
    const current = await getTenantUser(db, ctx.tenantId, input.id);
    if (!current) return failure(404, `User '${input.id}' not found.`);
    const stale = preconditionFailure(input.ifMatch, userEtag(current));
    if (stale) return stale;
    const inTenant = and(eq(groupMembers.tenantId, ctx.tenantId), eq(groupMembers.userId, current.id));
    await commit(db, [
      // The groups lose a member: their meta.version and lastModified move.
      db
        .update(groups)
        .set({ version: sql`${groups.version} + 1`, updatedAt: now })
        .where(inArray(groups.id, db.select({ id: groupMembers.groupId }).from(groupMembers).where(inTenant))),
      db.delete(groupMembers).where(inTenant),
      db
        .delete(bindings)
        .where(and(eq(bindings.tenantId, ctx.tenantId), eq(bindings.subjectType, "USER"), eq(bindings.subjectId, current.id))),
      db.delete(tenantUsers).where(and(eq(tenantUsers.tenantId, ctx.tenantId), eq(tenantUsers.userId, current.id))),
      auditStatement(
        db,
        { ...ctx, action: "DELETE", resourceType: "USER", resourceId: current.id, diff: diffOf(userAuditFields(current), {}) },
        now,
      ),
    ]);
    return { kind: "deleted" } as const;
  });
}

// ---- admin views ---------------------------------------------------------------------------

/**
 * A page of a tenant's users in creation order, each with its groups in this tenant. `search`
 * keeps users whose userName or displayName contains it, ignoring case (for displayName, ASCII
 * case only, or exactly as typed). A scan bounded by the page: meant for people looking someone
 * up, not for provisioning lookups, which use filters.
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
    .innerJoin(users, eq(users.id, tenantUsers.userId))
    .where(
      and(
        eq(tenantUsers.tenantId, tenantId),
        page.after ? gt(tenantUsers.userId, page.after) : undefined,
        // userName has a Unicode-folded key; displayName lives in the JSON profile, where SQLite's
        // lower() folds ASCII only, so it also matches as typed ("Ölaf" finds "Ölaf Ünal").
        needle
          ? sql`(instr(${users.userNameKey}, ${needle}) > 0
              or instr(lower(coalesce(json_extract(${users.profile}, '$.displayName'), '')), ${needle}) > 0
              or instr(coalesce(json_extract(${users.profile}, '$.displayName'), ''), ${page.search}) > 0)`
          : undefined,
      ),
    )
    .orderBy(asc(tenantUsers.userId))
    .limit(page.limit);
  return rows.map(withParsedGroups);
}

export interface GlobalUser {
  id: string;
  userName: string;
  profile: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  tenants: { tenantId: string; externalId: string | null; active: boolean; createdAt: number }[];
}

/** A global user with every tenant it can access. */
export async function getGlobalUser(db: Db, id: string): Promise<GlobalUser | undefined> {
  const user = await db.select().from(users).where(eq(users.id, id)).get();
  if (!user) return undefined;
  const access = await db
    .select({ tenantId: tenantUsers.tenantId, externalId: tenantUsers.externalId, active: tenantUsers.active, createdAt: tenantUsers.createdAt })
    .from(tenantUsers)
    .where(eq(tenantUsers.userId, id))
    .orderBy(asc(tenantUsers.tenantId));
  return { id: user.id, userName: user.userName, profile: user.profile, createdAt: user.createdAt, updatedAt: user.updatedAt, tenants: access };
}
