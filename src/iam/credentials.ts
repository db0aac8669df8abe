/**
 * Credentials: what a presented API token is, found by its hash, and whether it still holds.
 * One lookup serves both gates (the SCIM gate and the admin gate), the SCIM guard
 * (src/db/piggyback.ts: the same lookup that stops its batch unless the token holds), and the
 * commit-time re-check of a queued write (`authorityHolds`). The accounts and tokens themselves
 * are managed in ./service-accounts.ts.
 */
import { and, eq, isNull, lt, or, sql, type SQL } from "drizzle-orm";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import { GUARD_FAILS } from "../db/piggyback";
import type { Db } from "../db/client";
import { apiTokens, bindings, integrations, rolePermissions } from "../db/schema";
import { digestsEqual } from "../auth/tokens";
import type { Action, Resource } from "./permissions";
import { failure, type Authority, type WriteFailure } from "./writes";

/** True when a token with this expiry no longer works at `now`. */
export function hasExpired(expiresAt: number | null, now: number = Date.now()): boolean {
  return expiresAt !== null && expiresAt <= now;
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
  // The credential's numbered parameters come first in the text: anonymous ones number on from
  // them.
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

/** A credential found valid for a SCIM request: its integration is the one the URL names. */
export type ScimCredential = Credential & { integrationId: string };

/**
 * The verdict on a token's credential row: `credential` is set once the token is known to be the
 * integration's.
 */
export type CredentialVerdict =
  | { kind: "ok"; credential: ScimCredential }
  | { kind: "refused"; status: 401 | 403; detail: string; credential?: ScimCredential; cause?: "unauthorized" | "disabled" };

/** The 403 of every request to a disabled integration, Test Connection's included. */
export const INTEGRATION_DISABLED =
  "This provisioning integration is disabled in scim-edge, so every request is refused; switch it on (Provisioning in the console) to accept requests.";

/** The 401 of every token that is not the integration's. */
export const INVALID_TOKEN = "The bearer token is not valid for this provisioning integration.";

/**
 * Judges a row of `credentialStatement` for a SCIM request: one rule for the gate and for the
 * integration's writer, which checks the token in its own first batch.
 */
export function judgeCredential(row: Record<string, unknown> | undefined, expected: CredentialExpectation, now = Date.now()): CredentialVerdict {
  const credential = credentialOf(row);
  // One answer for unknown and expired tokens and tokens of another integration or tenant: no
  // oracle.
  if (
    !credential ||
    !digestsEqual(credential.tokenHash, expected.tokenHash) ||
    credential.tenantId !== expected.tenantId ||
    credential.integrationId !== expected.integrationId ||
    hasExpired(credential.expiresAt, now)
  ) {
    return { kind: "refused", status: 401, detail: INVALID_TOKEN, cause: "unauthorized" };
  }
  if (!credential.integrationEnabled) {
    return { kind: "refused", status: 403, detail: INTEGRATION_DISABLED, cause: "disabled" };
  }
  const known = { ...credential, integrationId: credential.integrationId };
  const { refusal } = permissionCheck(credential.permissions, expected.permissions.map((p) => p.split(":") as [Resource, Action]));
  return refusal ? { kind: "refused", status: 403, detail: refusal, credential: known } : { kind: "ok", credential: known };
}

/**
 * The `RESOURCE:ACTION` permissions `required` names, those of them `granted` lacks, and the
 * refusal that lack answers (one wording for single requests and /Bulk operations).
 */
export function permissionCheck(granted: string[], required: readonly (readonly [Resource, Action])[]): { wanted: string[]; refusal?: string } {
  const have = new Set(granted);
  const wanted = required.map(([resource, action]) => `${resource}:${action}`);
  const missing = wanted.filter((p) => !have.has(p));
  return missing.length === 0
    ? { wanted }
    : { wanted, refusal: `This integration's service account lacks ${missing.join(" and ")}; grant it through a role bound to the service account.` };
}
