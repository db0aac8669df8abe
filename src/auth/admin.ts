/**
 * Bearer authentication of the admin JSON API: the `ADMIN_TOKEN` secret (everything), or a
 * service account's API token (its own tenant, within what its bindings allow). Both are
 * compared as SHA-256 digests in constant time.
 */
import type { MiddlewareHandler } from "hono";
import { ProblemError } from "../admin/problem";
import type { BaseVariables } from "../app-env";
import type { Actor } from "../iam/audit";
import { findCredential, hasExpired, LAST_USED_RESOLUTION_MS, touchToken, type Credential } from "../iam/service-accounts";
import { bearerToken, digestsEqual, secretMatches, sha256Hex } from "./tokens";

/** Who is calling: the administrator, or a service account confined to its tenant. */
export type Principal = { kind: "admin" } | { kind: "service-account"; credential: Credential };

/** What the middleware tells later handlers. `tenantId` is set by the tenant-scoped access check. */
export type AdminVariables = BaseVariables & { actor: Actor; principal: Principal; tenantId: string };

export interface AdminAuthOptions {
  /** Where the expected admin token comes from; defaults to the `ADMIN_TOKEN` binding. */
  expectedToken?: (env: Env) => string | undefined;
}

/** Rejects requests without a valid admin or service-account token (401). */
export function adminAuth(options: AdminAuthOptions = {}): MiddlewareHandler<{ Bindings: Env; Variables: AdminVariables }> {
  const expectedToken = options.expectedToken ?? ((env: Env) => env.ADMIN_TOKEN);
  const unauthorized = (detail: string) => new ProblemError(401, detail, {}, { "WWW-Authenticate": 'Bearer realm="scim-edge admin"' });
  return async function adminAuthMiddleware(c, next) {
    const presented = bearerToken(c.req.header("Authorization"));
    if (!presented) throw unauthorized("Send the admin token (or a service account's API token) as 'Authorization: Bearer <token>'.");
    const expected = expectedToken(c.env);
    if (expected && (await secretMatches(presented, expected))) {
      c.set("principal", { kind: "admin" });
      c.set("actor", { type: "ADMIN" });
      return next();
    }
    const hash = await sha256Hex(presented);
    const credential = await findCredential(c.var.db, hash);
    if (!credential || !digestsEqual(credential.tokenHash, hash)) throw unauthorized("The bearer token is not valid for the admin API.");
    const now = Date.now();
    // Only the token's holder can present it, so saying it expired tells nobody else anything.
    if (hasExpired(credential.expiresAt, now)) throw unauthorized("The bearer token has expired.");
    if (credential.integrationId !== null && !credential.integrationEnabled) {
      throw new ProblemError(403, "This token's provisioning integration is disabled.");
    }
    if (credential.lastUsedAt === null || credential.lastUsedAt < now - LAST_USED_RESOLUTION_MS) {
      c.executionCtx.waitUntil(touchToken(c.var.db, credential.tokenId, now).catch(() => undefined));
    }
    c.set("principal", { kind: "service-account", credential });
    c.set("actor", { type: "SERVICE_ACCOUNT", id: credential.serviceAccountId });
    return next();
  };
}
