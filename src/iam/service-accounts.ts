/** Service accounts and their API tokens (stored as hashes only). */
import { and, asc, eq, gt, inArray, isNull, lt, or, sql, type SQL } from "drizzle-orm";
import { mintToken, sha256Hex } from "../auth/tokens";
import type { Db, Statement } from "../db/client";
import { chunk, MAX_BOUND_PARAMETERS } from "../db/chunk";
import { newId } from "../db/ids";
import { apiTokens, bindings, integrations, rolePermissions, serviceAccounts } from "../db/schema";
import { auditStatement } from "./audit";
import { commit, failure, type Authority, type WriteContext, type WriteFailure } from "./writes";

/** A freshly minted token: the secret for the caller, the statement that stores its hash. */
export interface MintedToken {
  id: string;
  secretToken: string;
  statement: Statement;
}

/** Mints a token for a service account and plans the insert of its hash. */
export async function mintTokenFor(
  db: Db,
  owner: { tenantId: string; serviceAccountId: string },
  now: number = Date.now(),
): Promise<MintedToken> {
  const secretToken = mintToken();
  const id = newId(now);
  const statement = db.insert(apiTokens).values({
    id,
    tenantId: owner.tenantId,
    serviceAccountId: owner.serviceAccountId,
    tokenHash: await sha256Hex(secretToken),
    lastFour: secretToken.slice(-4),
    createdAt: now,
  });
  return { id, secretToken, statement };
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
  tenantId: string;
  serviceAccountId: string;
  /** The integration the service account serves (null for a service account of its own). */
  integrationId: string | null;
  integrationEnabled: boolean | null;
  /** `RESOURCE:ACTION` pairs granted by the account's tenant-wide bindings, read with the token. */
  permissions: string[];
}

// Read in the same query as the token, so a role or binding change counts on the very next request.
const grantedPermissions = sql<string>`(
  select json_group_array(distinct rp.resource || ':' || rp.action)
  from bindings b join role_permissions rp on rp.role_id = b.role_id
  where b.tenant_id = "api_tokens"."tenant_id" and b.subject_type = 'SERVICE_ACCOUNT'
    and b.subject_id = "api_tokens"."service_account_id" and b.namespace is null)`;

/** Looks a token hash up with its tenant, integration and permissions: one indexed query. */
export async function findCredential(db: Db, tokenHash: string): Promise<Credential | undefined> {
  const row = await db
    .select({
      tokenId: apiTokens.id,
      tokenHash: apiTokens.tokenHash,
      lastUsedAt: apiTokens.lastUsedAt,
      tenantId: apiTokens.tenantId,
      serviceAccountId: apiTokens.serviceAccountId,
      integrationId: integrations.id,
      integrationEnabled: integrations.enabled,
      permissions: grantedPermissions,
    })
    .from(apiTokens)
    .leftJoin(integrations, eq(integrations.serviceAccountId, apiTokens.serviceAccountId))
    .where(eq(apiTokens.tokenHash, tokenHash))
    .get();
  if (!row) return undefined;
  return { ...row, permissions: JSON.parse(row.permissions ?? "[]") as string[] };
}

/**
 * The condition that `authority` still holds in `tenantId`: the token exists, its integration is
 * enabled, and the service account's tenant-wide bindings still grant every listed permission.
 * Evaluated inside a write's commit batch (see `authorizedAtCommit`).
 */
export function authorityHolds(tenantId: string, authority: Authority): SQL {
  const wanted = [...new Set(authority.permissions)];
  const granted = wanted.length === 0
    ? sql`1`
    : sql`(select count(distinct rp.resource || ':' || rp.action)
        from ${bindings} b join ${rolePermissions} rp on rp.role_id = b.role_id
        where b.tenant_id = ${tenantId} and b.subject_type = 'SERVICE_ACCOUNT' and b.subject_id = ${authority.serviceAccountId}
          and b.namespace is null and (rp.resource || ':' || rp.action) in (${sql.join(wanted.map((p) => sql`${p}`), sql`, `)})) = ${wanted.length}`;
  return sql`(exists (select 1 from ${apiTokens} t join ${integrations} i on i.service_account_id = t.service_account_id
      where t.id = ${authority.tokenId} and t.tenant_id = ${tenantId} and i.id = ${authority.integrationId} and i.enabled = 1)
    and ${granted})`;
}

/** Why `authority` no longer holds, as the refusal a write whose commit it stopped answers. */
export async function lostAuthority(db: Db, tenantId: string, authority: Authority): Promise<WriteFailure> {
  const row = await db
    .select({ enabled: integrations.enabled, permissions: grantedPermissions })
    .from(apiTokens)
    .innerJoin(integrations, eq(integrations.serviceAccountId, apiTokens.serviceAccountId))
    .where(and(eq(apiTokens.id, authority.tokenId), eq(apiTokens.tenantId, tenantId), eq(integrations.id, authority.integrationId)))
    .get();
  if (!row) return failure(401, "The bearer token was revoked while this write waited in the queue; nothing was changed.");
  if (!row.enabled) return failure(403, "This provisioning integration was disabled while this write waited in the queue; nothing was changed.");
  const granted = new Set(JSON.parse(row.permissions ?? "[]") as string[]);
  const missing = authority.permissions.filter((p) => !granted.has(p));
  return failure(
    403,
    `This integration's service account lost ${missing.join(" and ") || "a permission"} while this write waited in the queue; nothing was changed.`,
  );
}

/** The `RESOURCE:ACTION` permissions a service account holds through its tenant-wide bindings. */
export async function permissionsOf(db: Db, tenantId: string, serviceAccountId: string): Promise<string[]> {
  const rows = await db
    .selectDistinct({ resource: rolePermissions.resource, action: rolePermissions.action })
    .from(bindings)
    .innerJoin(rolePermissions, eq(rolePermissions.roleId, bindings.roleId))
    .where(
      and(
        eq(bindings.tenantId, tenantId),
        eq(bindings.subjectType, "SERVICE_ACCOUNT"),
        eq(bindings.subjectId, serviceAccountId),
        isNull(bindings.namespace),
      ),
    );
  return rows.map((r) => `${r.resource}:${r.action}`);
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
        .select({ id: apiTokens.id, serviceAccountId: apiTokens.serviceAccountId, createdAt: apiTokens.createdAt, lastUsedAt: apiTokens.lastUsedAt, lastFour: apiTokens.lastFour })
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
