/**
 * Users are global (one row per person: the identity a POST from any tenant links on); each
 * tenant that provisions the person has its own view of them in `tenant_users`: userName,
 * profile, emails, manager, externalId and active. The writes of those views are here (the
 * reads in ./user-reads.ts): each goes through one tenant's view, so a tenant never changes
 * what another tenant provisioned.
 */
import { and, eq, inArray, ne, sql, type SQL } from "drizzle-orm";
import type { Db, Statement } from "../db/client";
import { chunk, MAX_BOUND_PARAMETERS } from "../db/chunk";
import { bindings, groupMembers, groups, identityLinks, tenantUserEmails, tenantUsers, tenantUserValues, users } from "../db/schema";
import { auditStatement, diffOf } from "./audit";
import { declaredSchemasQuery, type DeclaredSchema } from "./scim-schemas";
import { caseKey, getTenantUser, tenantUserQuery, withParsedGroups, type TenantUser } from "./user-reads";
import { commit, failure, guardedVersion, preconditionFailure, withRetry, type WriteContext, type WriteFailure } from "./writes";

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

/**
 * The displayName a profile holds (kept in its own column, `tenant_users.display_name`), or null.
 */
export const displayNameOf = (profile: Record<string, unknown>): string | null =>
  typeof profile.displayName === "string" ? profile.displayName : null;

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
export async function createUser(db: Db, ctx: WriteContext, fields: UserFields, now = Date.now(), directory?: Db): Promise<UserWriteResult> {
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
    const statements: Statement[] = [];
    let id: string;
    if (directory) {
      // Sharded: the directory's unique key decides who the person is, races included; this shard
      // keeps a copy of the identity for its views' keys. (This shard's `linked` is exact: a view
      // of the tenant always has its identity's copy here.)
      const conflict = await uniqueConflict(db, ctx.tenantId, null, fields.uniqueValues);
      if (conflict) return conflict;
      const identity = await linkIdentity(directory, ctx.tenantId, fields.userName, found.linked === null ? key : null, now);
      id = identity.id;
      if (fields.managerId === id) return failure(400, "A user cannot be their own manager.", "invalidValue");
      statements.push(db.insert(users).values(identity).onConflictDoNothing());
    } else {
      const links = found.identity !== null && found.linked === null;
      id = links ? found.identity! : crypto.randomUUID();
      if (fields.managerId === id) return failure(400, "A user cannot be their own manager.", "invalidValue");
      const conflict = await uniqueConflict(db, ctx.tenantId, null, fields.uniqueValues);
      if (conflict) return conflict;
      // Identities never move nor go (renames change views only), so a link needs no guard.
      if (!links) {
        const identityKey = found.identity === null ? key : unlinkedKey(id);
        statements.push(db.insert(users).values({ id, userName: fields.userName, userNameKey: identityKey, createdAt: now, updatedAt: now }));
      }
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
      auditStatement(
        db,
        { ...ctx, action: "CREATE", resourceType: "USER", resourceId: id, resourceName: fields.userName, diff: diffOf({}, userAuditFields(fields)) },
        now,
      ),
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

/**
 * The global identity `key` names, made if it is new, and recorded as linked to the tenant (the
 * operator's view of the person fans out from these links): one directory round trip. A null
 * key makes an identity no one links to (the tenant already holds the person under another name).
 */
async function linkIdentity(directory: Db, tenantId: string, userName: string, key: string | null, now: number): Promise<typeof users.$inferSelect> {
  const fresh = crypto.randomUUID();
  const identityKey = key ?? unlinkedKey(fresh);
  const [, , found] = await directory.batch([
    directory.insert(users).values({ id: fresh, userName, userNameKey: identityKey, createdAt: now, updatedAt: now }).onConflictDoNothing(),
    directory.insert(identityLinks).select(
      directory.select({ userId: users.id, tenantId: sql<string>`${tenantId}`.as("tenant_id") }).from(users).where(eq(users.userNameKey, identityKey)),
    ).onConflictDoNothing(),
    directory.select().from(users).where(eq(users.userNameKey, identityKey)),
  ]);
  return found[0]!;
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
    /**
     * Read the tenant's extension declarations with the user (one round trip) and hand them to
     * `compute`.
     */
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
    // Named as the write leaves it: a rename's event carries the new name (the diff, the old).
    statements.push(auditStatement(db, { ...ctx, action: "UPDATE", resourceType: "USER", resourceId: current.id, resourceName: next.userName, diff }, now));
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
        { ...ctx, action: "DELETE", resourceType: "USER", resourceId: current.id, resourceName: current.userName, diff: diffOf(userAuditFields(current), {}) },
        now,
      ),
    ]);
    return { kind: "deleted" } as const;
  });
}
