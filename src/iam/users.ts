/**
 * Users are global (one row per person: the identity a POST from any tenant links on); each
 * tenant that provisions the person has its own view of them in `tenant_users`: userName,
 * profile, emails, manager, externalId and active. Every read and write here goes through one
 * tenant's view, so a tenant never sees nor changes what another tenant provisioned.
 */
import { and, asc, count, eq, inArray, ne, sql, type SQL } from "drizzle-orm";
import type { Db, Statement } from "../db/client";
import { chunk, MAX_BOUND_PARAMETERS, pageWithTotal } from "../db/chunk";
import { bindings, groupMembers, groups, tenants, tenantSizes, tenantUserEmails, tenantUsers, tenantUserValues, users } from "../db/schema";
import { auditStatement, diffOf } from "./audit";
import { declaredSchemasQuery, type DeclaredSchema } from "./scim-schemas";
import { commit, failure, guardedVersion, preconditionFailure, withRetry, type WriteContext, type WriteFailure } from "./writes";

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
function withParsedGroups<Row extends { groups: string | null }>({ groups, ...user }: Row): Omit<Row, "groups"> & { groups?: GroupRef[] } {
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

/** The rows a page of views holds: `limit`, or fewer so that they hold at most `pageUnits` units of the tenant's largest view. */
function pageLimit(tenantId: string, query: Pick<ListQuery, "limit" | "pageUnits">): SQL<number> {
  // Integers written into the text: LIMIT takes an integer, and D1 binds numbers as reals.
  const limit = sql.raw(String(Math.trunc(query.limit)));
  if (query.pageUnits === undefined) return sql<number>`${limit}`;
  return sql<number>`coalesce((select max(1, min(${limit}, ${sql.raw(String(Math.trunc(query.pageUnits)))} / ${tenantSizes.maxViewUnits}))
    from ${tenantSizes} where ${tenantSizes.tenantId} = ${tenantId}), ${limit})`;
}

/** The query of one user as seen from a tenant (unsent: a write batches it with its other reads). */
function tenantUserQuery(db: Db, tenantId: string, id: string, options: { withGroups?: boolean } = {}) {
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

// ---- writes ------------------------------------------------------------------------------

/** Everything a write sets on a tenant's view of a user. */
export interface UserFields {
  userName: string;
  /** Core attributes except userName/active/externalId, and the extensions. */
  profile: Record<string, unknown>;
  emails: { value: string; type?: string | null; display?: string | null; primary?: boolean }[];
  managerId: string | null;
  externalId: string | null;
  active: boolean;
  /**
   * Values of the tenant's declared unique attributes (`<urn>:<attr>` keys), when the write knew
   * the declarations: they replace the user's rows in tenant_user_values. Undefined: untouched.
   */
  uniqueValues?: { attribute: string; valueKey: string }[];
}

export type UserWriteResult = { kind: "ok"; user: TenantUser; created: boolean } | WriteFailure;

/** The displayName a profile holds (kept in its own column, `tenant_users.display_name`), or null. */
export const displayNameOf = (profile: Record<string, unknown>): string | null =>
  typeof profile.displayName === "string" ? profile.displayName : null;

/** The key case-insensitive values are stored and looked up under (full Unicode lowercase). */
export const caseKey = (value: string) => value.toLowerCase();

function userAuditFields(user: Pick<UserFields, "userName" | "profile" | "externalId" | "active" | "managerId">) {
  return { userName: user.userName, ...user.profile, externalId: user.externalId, active: user.active, manager: user.managerId };
}

/** The 409 a write answers when one of its unique values belongs to another user of the tenant. */
async function uniqueConflict(db: Db, tenantId: string, userId: string | null, values: UserFields["uniqueValues"]): Promise<WriteFailure | undefined> {
  if (!values || values.length === 0) return undefined;
  for (const part of chunk(values, Math.floor((MAX_BOUND_PARAMETERS - 2) / 2))) {
    const taken = await db
      .select({ attribute: tenantUserValues.attribute })
      .from(tenantUserValues)
      .where(
        and(
          eq(tenantUserValues.tenantId, tenantId),
          userId ? ne(tenantUserValues.userId, userId) : undefined,
          sql`(${tenantUserValues.attribute}, ${tenantUserValues.valueKey}) in (values ${sql.join(part.map((v) => sql`(${v.attribute}, ${v.valueKey})`), sql`, `)})`,
        ),
      )
      .get();
    if (taken) return failure(409, `Another user of this tenant already has this value of '${taken.attribute}', which is declared unique.`, "uniqueness");
  }
  return undefined;
}

/** Replaces a user's rows of declared unique values (4 bound values a row). */
function uniqueValueStatements(db: Db, tenantId: string, userId: string, values: NonNullable<UserFields["uniqueValues"]>): Statement[] {
  return [
    db.delete(tenantUserValues).where(and(eq(tenantUserValues.tenantId, tenantId), eq(tenantUserValues.userId, userId))),
    ...chunk(values, Math.floor(MAX_BOUND_PARAMETERS / 4)).map((part) => db.insert(tenantUserValues).values(part.map((v) => ({ tenantId, userId, ...v })))),
  ];
}

/**
 * Moves the version (ETag) and lastModified of the tenant's views `which` picks: a view's
 * representation also shows its groups and its manager's $ref, which other writes change.
 */
export function touchViews(db: Db, tenantId: string, which: SQL, now: number): Statement {
  return db
    .update(tenantUsers)
    .set({ version: sql`${tenantUsers.version} + 1`, updatedAt: now })
    .where(and(eq(tenantUsers.tenantId, tenantId), which));
}

/** The views whose manager is `managerId` (their manager.$ref comes or goes with it). */
const reportsOf = (managerId: string) => eq(tenantUsers.managerId, managerId);

function emailStatements(db: Db, tenantId: string, userId: string, emails: UserFields["emails"]): Statement[] {
  const rows = emails.map((e, position) => ({
    tenantId,
    userId,
    position,
    value: e.value,
    valueKey: caseKey(e.value),
    type: e.type ?? null,
    display: e.display ?? null,
    primary: e.primary === true,
  }));
  // 8 bound values a row: 12 rows stay under D1's 100 parameters.
  return [
    db.delete(tenantUserEmails).where(and(eq(tenantUserEmails.tenantId, tenantId), eq(tenantUserEmails.userId, userId))),
    ...chunk(rows, Math.floor(MAX_BOUND_PARAMETERS / 8)).map((part) => db.insert(tenantUserEmails).values(part)),
  ];
}

/**
 * The query of whether `managerId` is a user of the tenant (a row if so). A manager that is not
 * (yet) is still stored as given: directories provision reports before their managers, and the
 * reference resolves by itself once the manager arrives (its $ref is rendered only while it
 * resolves).
 */
function managerQuery(db: Db, tenantId: string, managerId: string) {
  return db
    .select({ id: tenantUsers.userId })
    .from(tenantUsers)
    .where(and(eq(tenantUsers.tenantId, tenantId), eq(tenantUsers.userId, managerId)))
    .limit(1);
}

/**
 * The identity key of a person no other tenant can link to: lowercase keys never contain
 * uppercase letters, so it cannot be any userName's key.
 */
const unlinkedKey = (id: string) => `UNLINKED:${id}`;

/**
 * Creates a tenant's view of a user. The view holds exactly what this tenant sent: when the
 * userName is a known identity (another tenant provisioned the person), the view links to that
 * user's id (Kestra: users are global) and still shows nothing another tenant provisioned.
 * A userName this tenant already uses is 409; nothing about other tenants decides the answer:
 * new people get random ids (a time-ordered id would date another tenant's provisioning), and a
 * userName whose identity this tenant already holds under another name is a new person too,
 * with an identity no one links to, whether or not other tenants share the first one.
 */
export async function createUser(db: Db, ctx: WriteContext, fields: UserFields, now = Date.now()): Promise<UserWriteResult> {
  const key = caseKey(fields.userName);
  return withRetry(async () => {
    // One statement: this tenant's own use of the userName, the identity, and whether this
    // tenant already has that identity under another (renamed) userName.
    const found = await db.get<{ own: string | null; identity: string | null; linked: number | null; manager: number | null }>(sql`select
      (select ${tenantUsers.userId} from ${tenantUsers} where ${tenantUsers.tenantId} = ${ctx.tenantId} and ${tenantUsers.userNameKey} = ${key}) as own,
      (select 1 from ${tenantUsers} where ${tenantUsers.tenantId} = ${ctx.tenantId} and ${tenantUsers.userId} = ${fields.managerId ?? ""}) as manager,
      (select ${users.id} from ${users} where ${users.userNameKey} = ${key}) as identity,
      (select 1 from ${tenantUsers} where ${tenantUsers.tenantId} = ${ctx.tenantId}
         and ${tenantUsers.userId} = (select ${users.id} from ${users} where ${users.userNameKey} = ${key})) as linked`);
    if (found.own !== null) return failure(409, `A user with userName '${fields.userName}' already exists in this tenant.`, "uniqueness");
    const links = found.identity !== null && found.linked === null;
    const id = links ? found.identity! : crypto.randomUUID();
    if (fields.managerId === id) return failure(400, "A user cannot be their own manager.", "invalidValue");
    const conflict = await uniqueConflict(db, ctx.tenantId, null, fields.uniqueValues);
    if (conflict) return conflict;
    const statements: Statement[] = [];
    // Identities never move nor go (renames change views only), so a link needs no guard.
    if (!links) {
      const identityKey = found.identity === null ? key : unlinkedKey(id);
      statements.push(db.insert(users).values({ id, userName: fields.userName, userNameKey: identityKey, createdAt: now, updatedAt: now }));
    }
    statements.push(
      db.insert(tenantUsers).values({
        tenantId: ctx.tenantId,
        userId: id,
        userName: fields.userName,
        userNameKey: key,
        profile: fields.profile,
        displayName: displayNameOf(fields.profile),
        managerId: fields.managerId,
        externalId: fields.externalId,
        active: fields.active,
        createdAt: now,
        updatedAt: now,
      }),
      ...emailStatements(db, ctx.tenantId, id, fields.emails).slice(1),
      ...(fields.uniqueValues?.length ? uniqueValueStatements(db, ctx.tenantId, id, fields.uniqueValues).slice(1) : []),
      // Reports that named this user as their manager now show its $ref: their version moves.
      touchViews(db, ctx.tenantId, reportsOf(id), now),
      auditStatement(db, { ...ctx, action: "CREATE", resourceType: "USER", resourceId: id, diff: diffOf({}, userAuditFields(fields)) }, now),
    );
    await commit(db, statements);
    const user: TenantUser = {
      id,
      userName: fields.userName,
      profile: fields.profile,
      managerId: fields.managerId,
      externalId: fields.externalId,
      active: fields.active,
      version: 1,
      createdAt: now,
      updatedAt: now,
      managerResolved: found.manager !== null,
      groups: [],
    };
    return { kind: "ok", user, created: true } as const;
  }, { idempotent: false });
}

/** The ETag of a tenant's view of a user (kept here so If-Match is checked inside the queue). */
export const userEtag = (user: Pick<TenantUser, "version">) => `W/"${user.version}"`;

/**
 * Updates this tenant's view of a user through `compute`, which turns the current view into the
 * fields to store (PUT builds them from the body, PATCH by applying operations).
 *
 * A userName change renames this tenant's view only, never the identity other tenants link on
 * (the userName the person was first provisioned with): what one tenant does can then not be
 * observed, nor inferred, from another (SECURITY.md, "What stays global, and renames").
 */
export async function updateUser(
  db: Db,
  ctx: WriteContext,
  input: {
    id: string;
    ifMatch?: string;
    /** Read the tenant's extension declarations with the user (one round trip) and hand them to `compute`. */
    withDeclarations?: boolean;
    compute: (current: TenantUser, declared: DeclaredSchema[]) => UserFields;
  },
  now = Date.now(),
): Promise<UserWriteResult> {
  return withRetry(async (attempt) => {
    // Read with its groups: a user write does not change them, so the answer needs no re-read.
    const userQuery = tenantUserQuery(db, ctx.tenantId, input.id, { withGroups: true });
    const [[row], declared] = input.withDeclarations
      ? await db.batch([userQuery, declaredSchemasQuery(db, ctx.tenantId)])
      : [await userQuery, []];
    const current = row && withParsedGroups(row);
    if (!current) return failure(404, `User '${input.id}' not found.`);
    const stale = preconditionFailure(input.ifMatch, userEtag(current));
    if (stale) return stale;
    const next = input.compute(current, declared);
    if (next.managerId === current.id) return failure(400, "A user cannot be their own manager.", "invalidValue");
    const diff = diffOf(userAuditFields(current), userAuditFields(next));
    if (Object.keys(diff).length === 0) return { kind: "ok", user: current, created: false } as const;

    const key = caseKey(next.userName);
    const statements: Statement[] = [];
    // A rename is first tried without asking whether the name is taken: the tenant's unique
    // userName index refuses the batch if it is, and the replanned attempt asks (and answers 409).
    if (key !== caseKey(current.userName) && attempt > 1) {
      const taken = await db
        .select({ id: tenantUsers.userId })
        .from(tenantUsers)
        .where(and(eq(tenantUsers.tenantId, ctx.tenantId), eq(tenantUsers.userNameKey, key), ne(tenantUsers.userId, current.id)))
        .get();
      if (taken) return failure(409, `userName '${next.userName}' is already taken in this tenant.`, "uniqueness");
    }
    statements.push(
      db
        .update(tenantUsers)
        .set({
          userName: next.userName,
          userNameKey: key,
          profile: next.profile,
          displayName: displayNameOf(next.profile),
          managerId: next.managerId,
          externalId: next.externalId,
          active: next.active,
          version: guardedVersion(tenantUsers.version, current.version),
          updatedAt: now,
        })
        .where(and(eq(tenantUsers.tenantId, ctx.tenantId), eq(tenantUsers.userId, current.id))),
    );
    if (JSON.stringify(next.profile.emails ?? null) !== JSON.stringify(current.profile.emails ?? null)) {
      statements.push(...emailStatements(db, ctx.tenantId, current.id, next.emails));
    }
    if (next.uniqueValues) {
      const conflict = await uniqueConflict(db, ctx.tenantId, current.id, next.uniqueValues);
      if (conflict) return conflict;
      statements.push(...uniqueValueStatements(db, ctx.tenantId, current.id, next.uniqueValues));
    }
    if (next.userName !== current.userName || next.profile.displayName !== current.profile.displayName) {
      // Groups show their members' names: their versions move with them.
      statements.push(
        db
          .update(groups)
          .set({ version: sql`${groups.version} + 1`, updatedAt: now })
          .where(inArray(groups.id, db.select({ id: groupMembers.groupId }).from(groupMembers).where(and(eq(groupMembers.tenantId, ctx.tenantId), eq(groupMembers.userId, current.id))))),
      );
    }
    statements.push(auditStatement(db, { ...ctx, action: "UPDATE", resourceType: "USER", resourceId: current.id, diff }, now));
    // A new manager's $ref shows only while it resolves: asked at the end of the commit batch.
    const asksManager = next.managerId !== current.managerId && next.managerId !== null;
    if (asksManager) statements.push(managerQuery(db, ctx.tenantId, next.managerId!));
    const results = await commit(db, statements);
    // Exactly what the guarded batch wrote (it failed otherwise), without reading it back.
    const { emails: _emails, uniqueValues: _unique, ...view } = next;
    const resolved = next.managerId === current.managerId
      ? current.managerResolved
      : asksManager && (results[results.length - 1] as unknown[]).length > 0;
    const user: TenantUser = { ...current, ...view, version: current.version + 1, updatedAt: now, managerResolved: resolved };
    return { kind: "ok", user, created: false } as const;
  });
}

export type DeleteResult = { kind: "deleted" } | WriteFailure;

/**
 * Revokes a user's access to the tenant: this tenant's view, with its memberships and bindings
 * there. The global user and other tenants' views stay (Kestra: provisioning is per tenant).
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
    const view = and(eq(tenantUsers.tenantId, ctx.tenantId), eq(tenantUsers.userId, current.id));
    await commit(db, [
      // Under If-Match the version compared above must still be the one deleted.
      ...(input.ifMatch !== undefined ? [db.update(tenantUsers).set({ version: guardedVersion(tenantUsers.version, current.version) }).where(view)] : []),
      // Reports lose their manager's $ref.
      touchViews(db, ctx.tenantId, reportsOf(current.id), now),
      // The groups lose a member: their meta.version and lastModified move.
      db
        .update(groups)
        .set({ version: sql`${groups.version} + 1`, updatedAt: now })
        .where(inArray(groups.id, db.select({ id: groupMembers.groupId }).from(groupMembers).where(inTenant))),
      db.delete(groupMembers).where(inTenant),
      db
        .delete(bindings)
        .where(and(eq(bindings.tenantId, ctx.tenantId), eq(bindings.subjectType, "USER"), eq(bindings.subjectId, current.id))),
      db.delete(tenantUserEmails).where(and(eq(tenantUserEmails.tenantId, ctx.tenantId), eq(tenantUserEmails.userId, current.id))),
      db.delete(tenantUserValues).where(and(eq(tenantUserValues.tenantId, ctx.tenantId), eq(tenantUserValues.userId, current.id))),
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
 * A page of a tenant's users in the order they were provisioned here, each with its groups in this tenant. `search`
 * keeps users whose userName or displayName (in this tenant's view) contains it, ignoring case
 * (for displayName, ASCII case only, or exactly as typed). A scan bounded by the page: meant for
 * people looking someone up, not for provisioning lookups, which use filters.
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
