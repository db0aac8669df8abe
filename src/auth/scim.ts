/**
 * The SCIM gate: every request under …/{tenant}/integrations/{id}/scim/v2 must carry the API token
 * of that integration's service account, and the integration must be enabled.
 */
import type { MiddlewareHandler } from "hono";
import type { BaseVariables } from "../app-env";
import { findCredential, hasExpired, LAST_USED_RESOLUTION_MS, touchToken, type Credential } from "../iam/service-accounts";
import { type Action, type Resource } from "../iam/permissions";
import { ScimError } from "../scim/errors";
import { tenantsEnabled } from "../config";
import { bearerToken, digestsEqual, sha256Hex } from "./tokens";

/** What the gate tells later handlers: the verified credential (tenant, integration, account). */
export type ScimVariables = BaseVariables & {
  credential: Credential & { integrationId: string };
  /** The `RESOURCE:ACTION` permissions the route required: a write re-checks them at commit. */
  requiredPermissions?: string[];
};

export interface ScimAuthOptions {
  /** Realm named in `WWW-Authenticate`. */
  realm?: string;
}

/** Authenticates a SCIM request; rejections are SCIM error bodies (401, or 403 when disabled). */
export function scimAuth(
  options: ScimAuthOptions = {},
): MiddlewareHandler<{ Bindings: Env; Variables: ScimVariables }> {
  const challenge = `Bearer realm="${options.realm ?? "scim-edge"}"`;
  const unauthorized = (detail: string) => new ScimError(401, detail, undefined, { "WWW-Authenticate": challenge });
  return async function scimAuthMiddleware(c, next) {
    if (!tenantsEnabled(c.env)) {
      throw new ScimError(
        403,
        "SCIM provisioning needs multi-tenancy, which is disabled on this server (TENANTS_ENABLED=false; Kestra's kestra.ee.tenants.enabled).",
      );
    }
    const presented = bearerToken(c.req.header("Authorization"));
    if (!presented) throw unauthorized("Send the integration's secret token as 'Authorization: Bearer <token>'.");
    const hash = await sha256Hex(presented);
    const credential = await findCredential(c.var.db, hash);
    const now = Date.now();
    // One answer for unknown and expired tokens and tokens of another integration or tenant: no oracle.
    if (
      !credential ||
      !digestsEqual(credential.tokenHash, hash) ||
      credential.tenantId !== c.req.param("tenant") ||
      credential.integrationId !== c.req.param("integrationId") ||
      hasExpired(credential.expiresAt, now)
    ) {
      throw unauthorized("The bearer token is not valid for this provisioning integration.");
    }
    if (!credential.integrationEnabled) {
      throw new ScimError(403, "This provisioning integration is disabled; enable it in scim-edge to accept requests.");
    }
    if (credential.lastUsedAt === null || credential.lastUsedAt < now - LAST_USED_RESOLUTION_MS) {
      c.executionCtx.waitUntil(touchToken(c.var.db, credential.tokenId, now).catch(() => undefined));
    }
    c.set("credential", { ...credential, integrationId: credential.integrationId });
    await next();
  };
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

/**
 * Refuses (403, nothing changed) unless the integration's service account holds every listed
 * permission through its bindings. Permissions come with the token lookup: never cached.
 */
export function requirePermission(
  ...required: (readonly [Resource, Action])[]
): MiddlewareHandler<{ Bindings: Env; Variables: ScimVariables }> {
  return async function requirePermissionMiddleware(c, next) {
    const { wanted, refusal } = permissionCheck(c.var.credential.permissions, required);
    if (refusal) throw new ScimError(403, refusal);
    c.set("requiredPermissions", wanted);
    await next();
  };
}
