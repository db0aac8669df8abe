/** Service accounts and their API tokens (stored as hashes only). */
import { and, asc, eq, gt, inArray, isNull, lt, or, sql, type SQL } from "drizzle-orm";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import { GUARD_FAILS } from "../db/piggyback";
import { mintToken, sha256Hex } from "../auth/tokens";
import type { Db, Statement } from "../db/client";
import { chunk, MAX_BOUND_PARAMETERS } from "../db/chunk";
import { newId } from "../db/ids";
import { apiTokens, bindings, integrations, rolePermissions, serviceAccounts } from "../db/schema";
import { violates } from "../db/constraints";
import { auditStatement, auditStatementIf, diffOf } from "./audit";
import { commit, failure, type Authority, type WriteContext, type WriteFailure } from "./writes";

/** A freshly minted token: the secret for the caller, the statement that stores its hash. */
export interface MintedToken {
  id: string;
  secretToken: string;
  lastFour: string;
  statement: Statement;
}

/**
 * Mints a token for a service account and plans the insert of its hash. `expiresAt` (epoch ms)
 * bounds its life; null or absent: it works until revoked (integration tokens are of this kind).
 */
export async function mintTokenFor(
  db: Db,
  owner: { tenantId: string; serviceAccountId: string; expiresAt?: number | null },
  now: number = Date.now(),
): Promise<MintedToken> {
  const secretToken = mintToken();
  const id = newId(now);
  const lastFour = secretToken.slice(-4);
  const statement = db.insert(apiTokens).values({
    id,
    tenantId: owner.tenantId,
    serviceAccountId: owner.serviceAccountId,
    tokenHash: await sha256Hex(secretToken),
    lastFour,
    createdAt: now,
    expiresAt: owner.expiresAt ?? null,
  });
  return { id, secretToken, lastFour, statement };
}

/** True when a token with this expiry no longer works at `now`. */
export function hasExpired(expiresAt: number | null, now: number = Date.now()): boolean {
  return expiresAt !== null && expiresAt <= now;
}

/** Plans the insert of a service account. */
export function serviceAccountStatement(
  db: Db,
  account: { id: string; tenantId: string; name: string; description?: string | null },
  now: number = Date.now(),
): Statement {
  return db.insert(serviceAccounts).values({ ...account, description: account.description ?? null, createdAt: now });
}

/** What the gates need to know about a presented token, found by its hash. */
export interface Credential {
  tokenId: string;
  tokenHash: string;
  lastUsedAt: number | null;
  /** When the token stops working (epoch ms), or null. The gates refuse it from then on. */
  expiresAt: number | null;
  tenantId: string;
  serviceAccountId: string;
  /** The integration the service account serves (null for a service account of its own). */
  integrationId: string | null;
  integrationEnabled: boolean | null;
  /**
   * `RESOURCE:ACTION` pairs granted by the account's tenant-wide bindings, read with the token:
   * every one, or, when the lookup asked about some (`credentialStatement`'s `permissions`), the
   * granted ones among those.
   */
  permissions: string[];
}

/**
 * A token's permissions: `RESOURCE:ACTION` pairs its service account's tenant-wide bindings grant,
 * as a JSON array, for a row of `api_tokens` named `token`. Read in the same query as the token
 * (so a role or binding change counts on the very next request), by the gate and by the
 * commit-time re-check alike.
 */
const grantedPermissionsSql = (token: string, only?: string) => `(
  select json_group_array(distinct rp.resource || ':' || rp.action)
  from bindings b join role_permissions rp on rp.role_id = b.role_id${only ? ` and (${only})` : ""}
  where b.tenant_id = ${token}.tenant_id and b.subject_type = 'SERVICE_ACCOUNT'
    and b.subject_id = ${token}.service_account_id and b.namespace is null)`;

const grantedPermissions = sql<string>`${sql.raw(grantedPermissionsSql('"api_tokens"'))}`;

// Plain SQL with distinct result names: the SCIM gate sends it in one batch with the request's
// first query (src/db/piggyback.ts), where rows come back as objects.
const credentialSql = (permissions: string) => `select t.id as token_id, t.token_hash, t.last_used_at, t.expires_at, t.tenant_id, t.service_account_id,
  i.id as integration_id, i.enabled as integration_enabled, ${permissions} as permissions
from api_tokens t left join integrations i on i.service_account_id = t.service_account_id
where t.token_hash = `;

const CREDENTIAL_SQL = credentialSql(grantedPermissionsSql("t"));

/**
 * The lookup reading only `count` permissions in question (the hash is ?1, then each resource
 * and action): each is one seek in role_permissions' primary key instead of every row of the role
 * (D1 bills rows read). `permissions` then lists which of them are granted.
 */
function credentialSqlFor(count: number): string {
  const wanted = Array.from({ length: count }, (_, k) => `(rp.resource = ?${2 * k + 2} and rp.action = ?${2 * k + 3})`).join(" or ");
  return `${credentialSql(count === 0 ? "'[]'" : grantedPermissionsSql("t", wanted))}?1`;
}

const credentialSqlByCount: string[] = [];

/**
 * The statement that looks a token hash up (one indexed read; see `credentialOf`). With
 * `permissions` (`RESOURCE:ACTION` pairs) it reads only those, and the credential's permissions
 * are the granted ones among them; without, every permission the token holds.
 */
export function credentialStatement(d1: D1Database, tokenHash: string, permissions?: readonly string[]): D1PreparedStatement {
  if (permissions === undefined) return d1.prepare(`${CREDENTIAL_SQL}?1`).bind(tokenHash);
  const pairs = [...new Set(permissions)].map((p) => p.split(":") as [string, string]);
  const text = (credentialSqlByCount[pairs.length] ??= credentialSqlFor(pairs.length));
  return d1.prepare(text).bind(tokenHash, ...pairs.flat());
}

/** What a presented token must be for: the request's tenant, integration and permissions. */
export interface CredentialExpectation {
  tokenHash: string;
  tenantId: string;
  integrationId: string;
  /** `RESOURCE:ACTION` pairs. */
  permissions: readonly string[];
}

const dialect = new SQLiteSyncDialect();

/**
 * `credentialStatement` as a guard (src/db/piggyback.ts): the same row, from the same reads,
 * but the statement fails (GUARD_FAILS) unless the token is what `expected` asks (unexpired, the
 * enabled integration's, in the tenant, granted every permission: `judgeCredential`'s verdict,
 * decided by SQLite from the row's own columns) and then `fits` holds. A batch stops at its
 * first failing statement, so the statements behind it never read a row for a wrong token.
 * `fits` is evaluated only for a good token; its parameters are anonymous and come last.
 */
export function guardedCredentialStatement(d1: D1Database, expected: CredentialExpectation, fits?: SQL, now: number = Date.now()): D1PreparedStatement {
  const pairs = [...new Set(expected.permissions)].map((p) => p.split(":") as [string, string]);
  const lookup = (credentialSqlByCount[pairs.length] ??= credentialSqlFor(pairs.length));
  const n = 2 * pairs.length + 2;
  const extra = fits ? dialect.sqlToQuery(fits) : { sql: "1", params: [] };
  // The credential's numbered parameters come first in the text: anonymous ones number on from them.
  const text = `with c as (${lookup}) select c.*, case when c.tenant_id = ?${n} and c.integration_id = ?${n + 1} and c.integration_enabled = 1
    and (c.expires_at is null or c.expires_at > ?${n + 2}) and json_array_length(c.permissions) = ${pairs.length} and (${extra.sql})
    then 1 else ${GUARD_FAILS} end as admitted from (select 1) as one left join c on 1`;
  return d1.prepare(text).bind(expected.tokenHash, ...pairs.flat(), expected.tenantId, expected.integrationId, now, ...extra.params);
}

/** The credential in a row of `credentialStatement`, or undefined for no row. */
export function credentialOf(row: Record<string, unknown> | null | undefined): Credential | undefined {
  if (!row) return undefined;
  const number = (value: unknown) => (value === null || value === undefined ? null : Number(value));
  return {
    tokenId: String(row.token_id),
    tokenHash: String(row.token_hash),
    lastUsedAt: number(row.last_used_at),
    expiresAt: number(row.expires_at),
    tenantId: String(row.tenant_id),
    serviceAccountId: String(row.service_account_id),
    integrationId: row.integration_id === null || row.integration_id === undefined ? null : String(row.integration_id),
    integrationEnabled: row.integration_enabled === null || row.integration_enabled === undefined ? null : Boolean(row.integration_enabled),
    permissions: (JSON.parse(String(row.permissions ?? "[]")) as (string | null)[]).filter((p): p is string => p !== null),
  };
}

/**
 * Looks a token hash up with its tenant, integration, expiry and permissions: one indexed query.
 * An expired token is still found: each gate decides how to refuse it (see `hasExpired`).
 */
export async function findCredential(db: Db, tokenHash: string): Promise<Credential | undefined> {
  const rows = await db.all<Record<string, unknown>>(sql`${sql.raw(CREDENTIAL_SQL)}${tokenHash}`);
  return credentialOf(rows[0]);
}

/**
 * The condition that `authority` still holds in `tenantId`: the token exists and has not expired
 * at `now`, its integration is enabled, and the service account's tenant-wide bindings still
 * grant every listed permission. Evaluated inside a write's commit batch (see
 * `authorizedAtCommit`); `now` is the clock of whoever builds it (the integration's writer),
 * bound when the condition is built.
 */
export function authorityHolds(tenantId: string, authority: Authority, now: number = Date.now()): SQL {
  return tokenHolds(tenantId, { id: authority.tokenId }, authority.integrationId, authority.permissions, now);
}

/**
 * The condition that a token (by id, or by the hash a request presented) is the enabled
 * integration's, in `tenantId`, unexpired at `now`, and that its service account's tenant-wide
 * bindings grant every listed `RESOURCE:ACTION`: what the gate's verdict (`judgeCredential`)
 * decides, in SQL, for a guard or a commit to evaluate inside the database.
 */
export function tokenHolds(tenantId: string, token: { id: string } | { hash: string }, integrationId: string, permissions: readonly string[], now: number): SQL {
  const wanted = [...new Set(permissions)];
  const granted = wanted.length === 0
    ? sql``
    : sql` and (select count(distinct rp.resource || ':' || rp.action)
        from ${bindings} b join ${rolePermissions} rp on rp.role_id = b.role_id
        where b.tenant_id = t.tenant_id and b.subject_type = 'SERVICE_ACCOUNT' and b.subject_id = t.service_account_id
          and b.namespace is null and (rp.resource || ':' || rp.action) in (${sql.join(wanted.map((p) => sql`${p}`), sql`, `)})) = ${wanted.length}`;
  const which = "id" in token ? sql`t.id = ${token.id}` : sql`t.token_hash = ${token.hash}`;
  return sql`exists (select 1 from ${apiTokens} t join ${integrations} i on i.service_account_id = t.service_account_id
      where ${which} and t.tenant_id = ${tenantId} and i.id = ${integrationId} and i.enabled = 1
        and (t.expires_at is null or t.expires_at > ${now})${granted})`;
}

/** Why `authority` no longer holds, as the refusal a write whose commit it stopped answers. */
export async function lostAuthority(db: Db, tenantId: string, authority: Authority, now: number = Date.now()): Promise<WriteFailure> {
  const row = await db
    .select({ enabled: integrations.enabled, expiresAt: apiTokens.expiresAt, permissions: grantedPermissions })
    .from(apiTokens)
    .innerJoin(integrations, eq(integrations.serviceAccountId, apiTokens.serviceAccountId))
    .where(and(eq(apiTokens.id, authority.tokenId), eq(apiTokens.tenantId, tenantId), eq(integrations.id, authority.integrationId)))
    .get();
  if (!row) return failure(401, "The bearer token was revoked while this write waited in the queue; nothing was changed.");
  if (hasExpired(row.expiresAt, now)) return failure(401, "The bearer token expired while this write waited in the queue; nothing was changed.");
  if (!row.enabled) return failure(403, "This provisioning integration was disabled while this write waited in the queue; nothing was changed.");
  const granted = new Set(JSON.parse(row.permissions ?? "[]") as string[]);
  const missing = authority.permissions.filter((p) => !granted.has(p));
  return failure(
    403,
    `This integration's service account lost ${missing.join(" and ") || "a permission"} while this write waited in the queue; nothing was changed.`,
  );
}

/** How stale `last_used_at` may get before a request refreshes it (one write a minute at most). */
export const LAST_USED_RESOLUTION_MS = 60_000;

/** Records that a token was used, unless it was recorded less than a minute ago. */
export async function touchToken(db: Db, tokenId: string, now: number = Date.now()): Promise<void> {
  await db
    .update(apiTokens)
    .set({ lastUsedAt: now })
    .where(
      and(
        eq(apiTokens.id, tokenId),
        or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, now - LAST_USED_RESOLUTION_MS)),
      ),
    );
}

// ---- admin views and token management ------------------------------------------------------

export interface TokenInfo {
  id: string;
  createdAt: number;
  lastUsedAt: number | null;
  lastFour: string;
  expiresAt: number | null;
}

export interface ServiceAccount {
  id: string;
  tenantId: string;
  name: string;
  description: string | null;
  integrationId: string | null;
  createdAt: number;
  tokens: TokenInfo[];
}

async function withTokens(db: Db, rows: Omit<ServiceAccount, "tokens">[]): Promise<ServiceAccount[]> {
  if (rows.length === 0) return [];
  const tokens: (TokenInfo & { serviceAccountId: string })[] = [];
  for (const ids of chunk(rows.map((r) => r.id), MAX_BOUND_PARAMETERS)) {
    tokens.push(
      ...(await db
        .select({
          id: apiTokens.id,
          serviceAccountId: apiTokens.serviceAccountId,
          createdAt: apiTokens.createdAt,
          lastUsedAt: apiTokens.lastUsedAt,
          lastFour: apiTokens.lastFour,
          expiresAt: apiTokens.expiresAt,
        })
        .from(apiTokens)
        .where(inArray(apiTokens.serviceAccountId, ids))
        .orderBy(asc(apiTokens.id))),
    );
  }
  return rows.map((row) => ({
    ...row,
    tokens: tokens.filter((t) => t.serviceAccountId === row.id).map(({ serviceAccountId: _, ...t }) => t),
  }));
}

const accountColumns = {
  id: serviceAccounts.id,
  tenantId: serviceAccounts.tenantId,
  name: serviceAccounts.name,
  description: serviceAccounts.description,
  integrationId: integrations.id,
  createdAt: serviceAccounts.createdAt,
};

/** Lists a tenant's service accounts with their tokens (never a secret or a hash). */
export async function listServiceAccounts(db: Db, tenantId: string, page: { limit: number; after?: string }): Promise<ServiceAccount[]> {
  const rows = await db
    .select(accountColumns)
    .from(serviceAccounts)
    .leftJoin(integrations, eq(integrations.serviceAccountId, serviceAccounts.id))
    .where(and(eq(serviceAccounts.tenantId, tenantId), page.after ? gt(serviceAccounts.id, page.after) : undefined))
    .orderBy(asc(serviceAccounts.id))
    .limit(page.limit);
  return withTokens(db, rows);
}

/** Returns one service account of a tenant with its tokens, or undefined. */
export async function getServiceAccount(db: Db, tenantId: string, id: string): Promise<ServiceAccount | undefined> {
  const row = await db
    .select(accountColumns)
    .from(serviceAccounts)
    .leftJoin(integrations, eq(integrations.serviceAccountId, serviceAccounts.id))
    .where(and(eq(serviceAccounts.tenantId, tenantId), eq(serviceAccounts.id, id)))
    .get();
  return row ? (await withTokens(db, [row]))[0] : undefined;
}

export type DeleteTokenResult = { kind: "deleted" } | { kind: "not_found" };

/** Revokes one token of a service account; it stops working on the next request. */
export async function deleteToken(
  db: Db,
  ctx: WriteContext,
  input: { serviceAccountId: string; tokenId: string },
  now = Date.now(),
): Promise<DeleteTokenResult> {
  const token = await db
    .select({ id: apiTokens.id, lastFour: apiTokens.lastFour })
    .from(apiTokens)
    .where(and(eq(apiTokens.tenantId, ctx.tenantId), eq(apiTokens.serviceAccountId, input.serviceAccountId), eq(apiTokens.id, input.tokenId)))
    .get();
  if (!token) return { kind: "not_found" };
  await commit(db, [
    db.delete(apiTokens).where(eq(apiTokens.id, token.id)),
    auditStatement(
      db,
      {
        ...ctx,
        action: "DELETE",
        resourceType: "API_TOKEN",
        resourceId: token.id,
        diff: { token: { before: { serviceAccountId: input.serviceAccountId } } },
      },
      now,
    ),
  ]);
  return { kind: "deleted" };
}


// ---- service accounts of their own (an integration's is managed through the integration) ----------

/** How far ahead a token's expiry may be set: 730 days (two years). */
export const MAX_TOKEN_LIFETIME_MS = 730 * 24 * 60 * 60 * 1000;

/** Why an expiry cannot be given to a new token at `now`, or undefined when it can. */
export function expiryProblem(expiresAt: number, now: number = Date.now()): string | undefined {
  if (expiresAt <= now) return "must be in the future";
  if (expiresAt > now + MAX_TOKEN_LIFETIME_MS) return `must be at most 730 days ahead (${new Date(now + MAX_TOKEN_LIFETIME_MS).toISOString()})`;
  return undefined;
}

export type CreateServiceAccountResult = { kind: "created"; account: ServiceAccount };

/** Creates a service account of its own (no integration, no binding, no token yet). */
export async function createServiceAccount(
  db: Db,
  ctx: WriteContext,
  input: { name: string; description?: string | null },
  now: number = Date.now(),
): Promise<CreateServiceAccountResult> {
  const id = newId(now);
  const description = input.description ?? null;
  await commit(db, [
    serviceAccountStatement(db, { id, tenantId: ctx.tenantId, name: input.name, description }, now),
    auditStatement(db, { ...ctx, action: "CREATE", resourceType: "SERVICE_ACCOUNT", resourceId: id, diff: diffOf({}, { name: input.name, description }) }, now),
  ]);
  // Everything about the new account is known: no read back.
  return { kind: "created", account: { id, tenantId: ctx.tenantId, name: input.name, description, integrationId: null, createdAt: now, tokens: [] } };
}

/** What refuses a change to a service account: it is gone, or an integration manages it. */
export type AccountRefusal = { kind: "not_found" } | { kind: "integration_managed"; integrationId: string };

/** The account if it may be changed directly, or why not. */
async function ownAccount(db: Db, tenantId: string, id: string): Promise<{ kind: "ok"; account: ServiceAccount } | AccountRefusal> {
  const account = await getServiceAccount(db, tenantId, id);
  if (!account) return { kind: "not_found" };
  if (account.integrationId !== null) return { kind: "integration_managed", integrationId: account.integrationId };
  return { kind: "ok", account };
}

const accountRow = (tenantId: string, id: string): SQL => and(eq(serviceAccounts.tenantId, tenantId), eq(serviceAccounts.id, id))!;

export type UpdateServiceAccountResult = { kind: "updated"; account: ServiceAccount } | AccountRefusal;

/** Renames or re-describes a service account of its own (`description: null` clears it). */
export async function updateServiceAccount(
  db: Db,
  ctx: WriteContext,
  input: { id: string; name?: string; description?: string | null },
  now: number = Date.now(),
): Promise<UpdateServiceAccountResult> {
  const found = await ownAccount(db, ctx.tenantId, input.id);
  if (found.kind !== "ok") return found;
  const before = { name: found.account.name, description: found.account.description };
  const after = { name: input.name ?? before.name, description: input.description !== undefined ? input.description : before.description };
  const diff = diffOf(before, after);
  if (Object.keys(diff).length === 0) return { kind: "updated", account: found.account };
  await commit(db, [
    db.update(serviceAccounts).set(after).where(accountRow(ctx.tenantId, input.id)),
    // Audited only if the account is still there: one deleted meanwhile was not changed.
    auditStatementIf(
      db,
      { ...ctx, action: "UPDATE", resourceType: "SERVICE_ACCOUNT", resourceId: input.id, diff },
      { table: serviceAccounts, where: accountRow(ctx.tenantId, input.id) },
      now,
    ),
  ]);
  const account = await getServiceAccount(db, ctx.tenantId, input.id);
  return account ? { kind: "updated", account } : { kind: "not_found" };
}

export type DeleteServiceAccountResult = { kind: "deleted" } | AccountRefusal;

/**
 * Deletes a service account of its own with its tokens and bindings, in one batch with their
 * audit events: its tokens stop working and its grants go at the same moment.
 */
export async function deleteServiceAccount(db: Db, ctx: WriteContext, id: string, now: number = Date.now()): Promise<DeleteServiceAccountResult> {
  const found = await ownAccount(db, ctx.tenantId, id);
  if (found.kind !== "ok") return found;
  const boundHere = and(eq(bindings.tenantId, ctx.tenantId), eq(bindings.subjectType, "SERVICE_ACCOUNT"), eq(bindings.subjectId, id));
  const tokensHere = and(eq(apiTokens.tenantId, ctx.tenantId), eq(apiTokens.serviceAccountId, id));
  const bound = await db.select({ id: bindings.id, roleId: bindings.roleId, namespace: bindings.namespace }).from(bindings).where(boundHere);
  // Each event is recorded only if its row is still there when the batch runs (before the
  // deletes), so a concurrent delete or revocation is not audited twice.
  const events = [
    auditStatementIf(
      db,
      { ...ctx, action: "DELETE", resourceType: "SERVICE_ACCOUNT", resourceId: id, diff: diffOf({ name: found.account.name, description: found.account.description }, {}) },
      { table: serviceAccounts, where: accountRow(ctx.tenantId, id) },
      now,
    ),
    ...bound.map((b) =>
      auditStatementIf(
        db,
        { ...ctx, action: "DELETE", resourceType: "BINDING", resourceId: b.id, diff: { binding: { before: { roleId: b.roleId, subjectType: "SERVICE_ACCOUNT", subjectId: id, namespace: b.namespace } } } },
        { table: bindings, where: eq(bindings.id, b.id) },
        now,
      ),
    ),
    ...found.account.tokens.map((t) =>
      auditStatementIf(
        db,
        { ...ctx, action: "DELETE", resourceType: "API_TOKEN", resourceId: t.id, diff: { token: { before: { serviceAccountId: id } } } },
        { table: apiTokens, where: eq(apiTokens.id, t.id) },
        now,
      ),
    ),
  ];
  await commit(db, [
    ...events,
    db.delete(apiTokens).where(tokensHere),
    db.delete(bindings).where(boundHere),
    db.delete(serviceAccounts).where(accountRow(ctx.tenantId, id)),
  ]);
  return { kind: "deleted" };
}

/** A token as its creation answers it: the only time the secret leaves the service. */
export interface CreatedToken {
  id: string;
  secretToken: string;
  lastFour: string;
  createdAt: number;
  expiresAt: number | null;
}

export type CreateTokenResult = { kind: "created"; token: CreatedToken } | AccountRefusal | { kind: "invalid_expiry"; detail: string };

/**
 * Mints a token for a service account of its own, valid until `expiresAt` (epoch ms; in the
 * future, at most MAX_TOKEN_LIFETIME_MS ahead) or, without one, until revoked. Only its hash is
 * stored; the audit event names the account and the expiry, never the secret.
 */
export async function createToken(
  db: Db,
  ctx: WriteContext,
  input: { serviceAccountId: string; expiresAt?: number | null },
  now: number = Date.now(),
): Promise<CreateTokenResult> {
  const expiresAt = input.expiresAt ?? null;
  if (expiresAt !== null) {
    const problem = expiryProblem(expiresAt, now);
    if (problem) return { kind: "invalid_expiry", detail: problem };
  }
  const found = await ownAccount(db, ctx.tenantId, input.serviceAccountId);
  if (found.kind !== "ok") return found;
  const token = await mintTokenFor(db, { tenantId: ctx.tenantId, serviceAccountId: input.serviceAccountId, expiresAt }, now);
  try {
    await commit(db, [
      token.statement,
      auditStatement(
        db,
        {
          ...ctx,
          action: "CREATE",
          resourceType: "API_TOKEN",
          resourceId: token.id,
          diff: diffOf({}, { serviceAccountId: input.serviceAccountId, expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString() }),
        },
        now,
      ),
    ]);
  } catch (error) {
    // The account was deleted since it was read: the token would belong to nothing.
    if (violates(error, "FOREIGN KEY")) return { kind: "not_found" };
    throw error;
  }
  return { kind: "created", token: { id: token.id, secretToken: token.secretToken, lastFour: token.lastFour, createdAt: now, expiresAt } };
}
