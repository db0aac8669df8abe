/** Who may call which admin route: the admin token everywhere, service accounts by permission. */
import type { MiddlewareHandler } from "hono";
import type { AdminVariables, Principal } from "./gate";
import type { Db } from "../db/client";
import { holdingsOf } from "../iam/authz";
import { describeHolding, outranking, tenantWide, type Made, type Maker, type Outranking } from "../iam/outrank";
import { permissionPairs, type Action, type Permissions, type Resource } from "../iam/permissions";
import { memberByEmail } from "../iam/sign-in";
import { getTenant } from "../iam/tenants";
import { ProblemError } from "./problem";
import { iso } from "./times";

type AdminMiddleware = MiddlewareHandler<{ Bindings: Env; Variables: AdminVariables }>;

/** Routes outside any tenant (tenant management, the global user view): the admin token only. */
export function adminOnly(): AdminMiddleware {
  return async function adminOnlyMiddleware(c, next) {
    if (c.var.principal.kind !== "admin") {
      throw new ProblemError(403, "Only the admin token can use this route; service-account tokens are confined to their tenant.");
    }
    await next();
  };
}

export interface TenantAccessOptions {
  /**
   * The handler's own query answers 404 for a tenant that does not exist (it finds nothing in
   * it and changes nothing), so the separate tenant lookup, a D1 round trip, is skipped.
   */
  existenceCheckedByHandler?: boolean;
}

/**
 * Routes under /api/v1/{tenant}: a service account must belong to that tenant and hold
 * `resource:action` through its bindings (read on every request: no stale grant); a person signed
 * in through Access must be a user this tenant provisioned, active, holding it through their
 * bindings or their groups'. Then the tenant must exist (404). Sets `tenantId`.
 */
export function tenantAccess(resource: Resource, action: Action, options: TenantAccessOptions = {}): AdminMiddleware {
  return async function tenantAccessMiddleware(c, next) {
    const tenantId = c.req.param("tenant") ?? "";
    const principal = c.var.principal;
    if (principal.kind === "service-account") {
      // Checked before the tenant lookup, so a token cannot probe which tenants exist.
      if (principal.credential.tenantId !== tenantId) {
        throw new ProblemError(403, `This token belongs to tenant '${principal.credential.tenantId}' and cannot act on another tenant.`);
      }
      if (!principal.credential.permissions.includes(`${resource}:${action}`)) {
        throw new ProblemError(403, `This service account lacks ${resource}:${action}; grant it through a role binding.`);
      }
    }
    if (principal.kind === "user") {
      // The same answer for a tenant that does not exist and one that does not know the person.
      const found = await memberByEmail(c.var.db, c.var.shard, tenantId, principal.email);
      if (found.kind === "unknown") throw new ProblemError(403, `You (${principal.email}) are not a user of tenant '${tenantId}': its identity provider has not provisioned you.`);
      if (found.kind === "ambiguous") {
        throw new ProblemError(403, `Two users of tenant '${tenantId}' match ${principal.email} (one's userName, another's work email); ask an administrator to fix the directory.`);
      }
      if (!found.member.active) throw new ProblemError(403, `Your user in tenant '${tenantId}' is deactivated.`);
      if (!found.member.permissions.includes(`${resource}:${action}`)) {
        throw new ProblemError(403, `You lack ${resource}:${action} in tenant '${tenantId}'; an administrator can bind a role to you or to one of your groups.`);
      }
      c.set("principal", { ...principal, member: found.member });
      c.set("actor", { type: "USER", id: found.member.userId });
      c.set("tenantId", tenantId);
      return next(); // the person is a user of the tenant: it exists
    }
    // A service account's token proves its tenant exists (tokens go with their tenant); only
    // the admin token needs the lookup, unless the handler's own query answers for it.
    if (principal.kind === "admin" && !options.existenceCheckedByHandler && !(await getTenant(c.var.db, tenantId))) {
      throw new ProblemError(404, `Tenant '${tenantId}' does not exist.`);
    }
    c.set("tenantId", tenantId);
    await next();
  };
}

/**
 * A service account (or a person signed in through Access) may act only on what is no stronger
 * than itself: it may not create, edit, bind or unbind a role carrying a permission it lacks.
 * Otherwise a provisioning token with BINDINGS:CREATE could bind itself to any role. Compared
 * tenant-wide (a role grants wherever it is bound) by the one rule, `outranking`. The admin token
 * is not limited.
 *
 * @param permissions what the target grants, as a map or as `RESOURCE:ACTION` strings.
 */
export function assertWithinCallerGrants(principal: Principal, permissions: Permissions | string[], what: string): void {
  const held = heldPermissions(principal);
  if (!held) return;
  const wanted = Array.isArray(permissions) ? permissions : permissionPairs(permissions).map(({ resource, action }) => `${resource}:${action}`);
  refuseIf(principal, outranking({ holdings: tenantWide(held), expiresAt: null }, { holdings: tenantWide(new Set(wanted)) }), { what });
}

/** What the caller holds in the route's tenant; undefined for the admin token (everything). */
export function heldPermissions(principal: Principal): Set<string> | undefined {
  switch (principal.kind) {
    case "admin":
      return undefined;
    case "service-account":
      return new Set(principal.credential.permissions);
    case "user":
      return new Set(principal.member?.permissions ?? []);
  }
}

/** How a refusal of `outranking` names things. */
export interface OutrankWording {
  /** What carries the authority: "Service account 'ci'", "Integration 'Entra ID'". */
  what: string;
  /** The token the action would mint: "the new token", "its new token". */
  token?: string;
  /** Said after a refusal for outliving: how to get what was asked. */
  hint?: string;
}

/**
 * No token outlives or outranks its maker (`outranking`, src/iam/outrank.ts): refuses with 403
 * when `made` (loaded only for a caller it limits) holds a permission, on any namespace, that
 * the caller's bindings (namespaced ones included) do not cover, or would mint a token outliving
 * the caller's. A service-account token is limited in both; a person signed in through Access
 * in what they hold (their session is not a token that mints); the admin token in neither.
 */
export async function assertNotOutranked(
  db: Db,
  tenantId: string,
  principal: Principal,
  made: () => Promise<Made> | Made,
  wording: OutrankWording,
): Promise<void> {
  const maker = await makerOf(db, tenantId, principal);
  if (!maker) return;
  refuseIf(principal, outranking(maker, await made()), wording);
}

/** The caller as `outranking` sees it; undefined for the admin token. */
async function makerOf(db: Db, tenantId: string, principal: Principal): Promise<Maker | undefined> {
  switch (principal.kind) {
    case "admin":
      return undefined;
    case "service-account": {
      const holdings = await holdingsOf(db, tenantId, { type: "SERVICE_ACCOUNT", id: principal.credential.serviceAccountId });
      return { holdings: holdings ?? [], expiresAt: principal.credential.expiresAt };
    }
    case "user": {
      const holdings = principal.member ? await holdingsOf(db, tenantId, { type: "USER", id: principal.member.userId }) : undefined;
      return { holdings: holdings ?? [], expiresAt: null };
    }
  }
}

function refuseIf(principal: Principal, refusal: Outranking | undefined, wording: OutrankWording): void {
  if (!refusal) return;
  if (refusal.kind === "stronger") {
    const who = principal.kind === "user" ? "you do" : "this service account does";
    throw new ProblemError(403, `${wording.what} carries ${refusal.excess.map(describeHolding).join(", ")}, which ${who} not hold.`);
  }
  const until = refusal.tokenExpiresAt === null ? "never expire" : `expire at ${iso(refusal.tokenExpiresAt)}`;
  throw new ProblemError(
    403,
    `This token expires at ${iso(refusal.makerExpiresAt)}; ${wording.token ?? "the token it makes"} would ${until}, and a token must expire no later than the token that makes it.${wording.hint ? ` ${wording.hint}` : ""}`,
    { callerExpiresAt: iso(refusal.makerExpiresAt) },
  );
}

/**
 * A service account may not act on itself: rotate, change or delete the integration it
 * authenticates as, nor change, delete or mint tokens for its own account (a token minting its
 * successor would outlive any expiry).
 *
 * @param target what `serviceAccountId` stands for in the refusal: its integration or its account.
 */
export function assertNotSelf(principal: Principal, serviceAccountId: string, what: string, target: "integration" | "service account" = "integration"): void {
  if (principal.kind === "service-account" && principal.credential.serviceAccountId === serviceAccountId) {
    throw new ProblemError(403, `A token cannot ${what} its own ${target}; use the admin token.`);
  }
}
