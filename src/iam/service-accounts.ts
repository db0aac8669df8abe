/** Service accounts and their API tokens (stored as hashes only). */
import { and, eq, isNull, lt, or } from "drizzle-orm";
import { mintToken, sha256Hex } from "../auth/tokens";
import type { Db, Statement } from "../db/client";
import { newId } from "../db/ids";
import { apiTokens, integrations, serviceAccounts } from "../db/schema";

/** A freshly minted token: the secret for the caller, the statement that stores its hash. */
export interface MintedToken {
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
  const statement = db.insert(apiTokens).values({
    id: newId(now),
    tenantId: owner.tenantId,
    serviceAccountId: owner.serviceAccountId,
    tokenHash: await sha256Hex(secretToken),
    lastFour: secretToken.slice(-4),
    createdAt: now,
  });
  return { secretToken, statement };
}

/** Plans the insert of a service account. */
export function serviceAccountStatement(
  db: Db,
  account: { id: string; tenantId: string; name: string; description?: string | null },
  now: number = Date.now(),
): Statement {
  return db.insert(serviceAccounts).values({ ...account, description: account.description ?? null, createdAt: now });
}

/** What the SCIM gate needs to know about a presented token, found by its hash. */
export interface ScimCredential {
  tokenId: string;
  tokenHash: string;
  lastUsedAt: number | null;
  tenantId: string;
  serviceAccountId: string;
  integrationId: string;
  integrationEnabled: boolean;
}

/** Looks a token hash up together with the integration its service account serves. */
export async function findScimCredential(db: Db, tokenHash: string): Promise<ScimCredential | undefined> {
  return db
    .select({
      tokenId: apiTokens.id,
      tokenHash: apiTokens.tokenHash,
      lastUsedAt: apiTokens.lastUsedAt,
      tenantId: apiTokens.tenantId,
      serviceAccountId: apiTokens.serviceAccountId,
      integrationId: integrations.id,
      integrationEnabled: integrations.enabled,
    })
    .from(apiTokens)
    .innerJoin(integrations, eq(integrations.serviceAccountId, apiTokens.serviceAccountId))
    .where(eq(apiTokens.tokenHash, tokenHash))
    .get();
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
