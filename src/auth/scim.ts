/**
 * The SCIM gate: every request under …/{tenant}/integrations/{id}/scim/v2 must carry the API token
 * of that integration's service account, and the integration must be enabled.
 */
import type { MiddlewareHandler } from "hono";
import type { BaseVariables } from "../app-env";
import { createDb } from "../db/client";
import { piggyback } from "../db/piggyback";
import { credentialOf, credentialStatement, hasExpired, LAST_USED_RESOLUTION_MS, touchToken, type Credential } from "../iam/service-accounts";
import type { Action, Resource } from "../iam/permissions";
import { ScimError } from "../scim/errors";
import { tenantsEnabled } from "../config";
import { bearerToken, digestsEqual, sha256Hex } from "./tokens";

/** What the gate tells later handlers. */
export type ScimVariables = BaseVariables & {
  /** The tenant and integration the URL names: what queries are scoped to before the token is checked. */
  scope: { tenantId: string; integrationId: string };
  /** The token's credential, once looked up and found valid (its permissions may still fall short); read it through `authenticate`. */
  credential?: Credential & { integrationId: string };
  /**
   * Checks the token now unless a query already did, and answers the credential; throws the
   * refusal (401/403). A write awaits it before anything reaches the integration's writer.
   */
  authenticate: () => Promise<Credential & { integrationId: string }>;
  /** The `RESOURCE:ACTION` permissions the route required: checked with the token, and again at a write's commit. */
  requiredPermissions?: string[];
};

export interface ScimAuthOptions {
  /** Realm named in `WWW-Authenticate`. */
  realm?: string;
}

/**
 * Authenticates a SCIM request; rejections are SCIM error bodies (401, or 403 when disabled or
 * a permission is missing). The token's lookup rides in the same D1 batch as the request's first
 * query (one round trip for a lookup, src/db/piggyback.ts) and is checked before that query's
 * rows are used; a request that makes no query has it checked on its own before it is answered.
 */
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
    const scope = { tenantId: c.req.param("tenant") ?? "", integrationId: c.req.param("integrationId") ?? "" };
    const gate = piggyback(c.var.d1, {
      statement: credentialStatement(c.var.d1, hash),
      check(result) {
        const credential = credentialOf((result.results as Record<string, unknown>[] | undefined)?.[0]);
        const now = Date.now();
        // One answer for unknown and expired tokens and tokens of another integration or tenant: no oracle.
        if (
          !credential ||
          !digestsEqual(credential.tokenHash, hash) ||
          credential.tenantId !== scope.tenantId ||
          credential.integrationId !== scope.integrationId ||
          hasExpired(credential.expiresAt, now)
        ) {
          throw unauthorized("The bearer token is not valid for this provisioning integration.");
        }
        if (!credential.integrationEnabled) {
          throw new ScimError(403, "This provisioning integration is disabled; enable it in scim-edge to accept requests.");
        }
        if (credential.lastUsedAt === null || credential.lastUsedAt < now - LAST_USED_RESOLUTION_MS) {
          c.executionCtx.waitUntil(touchToken(createDb(c.env.DB), credential.tokenId, now).catch(() => undefined));
        }
        // Known from here (a write refused for a missing permission is still audited as this integration's).
        c.set("credential", { ...credential, integrationId: credential.integrationId });
        const { refusal } = permissionCheck(credential.permissions, (c.var.requiredPermissions ?? []).map((p) => p.split(":") as [Resource, Action]));
        if (refusal) throw new ScimError(403, refusal);
      },
    });
    c.set("scope", scope);
    c.set("db", createDb(gate.binding));
    c.set("authenticate", async () => {
      await gate.settle();
      return c.var.credential!; // the settled check set it, or threw
    });
    await next();
    // A request that made no query (discovery, or input refused before reading) is answered
    // only once its token holds: otherwise its answer becomes the refusal.
    await gate.settle();
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
 * Refuses (403, nothing changed or returned) unless the integration's service account holds every
 * listed permission through its bindings. Permissions come with the token lookup: never cached.
 */
export function requirePermission(
  ...required: (readonly [Resource, Action])[]
): MiddlewareHandler<{ Bindings: Env; Variables: ScimVariables }> {
  return async function requirePermissionMiddleware(c, next) {
    // Checked with the token, when it is looked up (with the first query, or on its own).
    c.set("requiredPermissions", required.map(([resource, action]) => `${resource}:${action}`));
    await next();
  };
}
