/**
 * Service accounts and their API tokens (stored as hashes only): minting, listing, revoking.
 * What a presented token is, and whether it holds, is ./credentials.ts.
 */
import { and, asc, eq, gt, inArray, type SQL } from "drizzle-orm";
import { mintToken, sha256Hex } from "../auth/tokens";
import type { Db, Statement } from "../db/client";
import { chunk, MAX_BOUND_PARAMETERS } from "../db/chunk";
import { newId } from "../db/ids";
import { apiTokens, bindings, integrations, serviceAccounts } from "../db/schema";
import { violates } from "../db/constraints";
import { auditStatement, auditStatementIf, diffOf } from "./audit";
import { commit, type WriteContext } from "./writes";

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

/** Plans the insert of a service account. */
export function serviceAccountStatement(
  db: Db,
  account: { id: string; tenantId: string; name: string; description?: string | null },
  now: number = Date.now(),
): Statement {
  return db.insert(serviceAccounts).values({ ...account, description: account.description ?? null, createdAt: now });
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

export type DeleteTokenResult = { kind: "deleted" } | { kind: "not_found" } | { kind: "integration_managed"; integrationId: string; integrationName: string };

/**
 * Revokes one token of a service account; it stops working on the next request. An
 * integration's token is refused: revoking it would silently break provisioning while the
 * integration still shows enabled (rotate it through the integration instead).
 */
export async function deleteToken(
  db: Db,
  ctx: WriteContext,
  input: { serviceAccountId: string; tokenId: string },
  now = Date.now(),
): Promise<DeleteTokenResult> {
  const token = await db
    .select({ id: apiTokens.id, lastFour: apiTokens.lastFour, integrationId: integrations.id, integrationName: integrations.name })
    .from(apiTokens)
    .leftJoin(integrations, eq(integrations.serviceAccountId, apiTokens.serviceAccountId))
    .where(and(eq(apiTokens.tenantId, ctx.tenantId), eq(apiTokens.serviceAccountId, input.serviceAccountId), eq(apiTokens.id, input.tokenId)))
    .get();
  if (!token) return { kind: "not_found" };
  if (token.integrationId !== null) return { kind: "integration_managed", integrationId: token.integrationId, integrationName: token.integrationName ?? token.integrationId };
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


// ---- service accounts of their own (an integration's is managed through the integration) --------

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
    auditStatement(
      db,
      { ...ctx, action: "CREATE", resourceType: "SERVICE_ACCOUNT", resourceId: id, resourceName: input.name, diff: diffOf({}, { name: input.name, description }) },
      now,
    ),
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
      { ...ctx, action: "UPDATE", resourceType: "SERVICE_ACCOUNT", resourceId: input.id, resourceName: after.name, diff },
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
      {
        ...ctx,
        action: "DELETE",
        resourceType: "SERVICE_ACCOUNT",
        resourceId: id,
        resourceName: found.account.name,
        diff: diffOf({ name: found.account.name, description: found.account.description }, {}),
      },
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
