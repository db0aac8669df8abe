/**
 * Authentication of the admin JSON API: the `ADMIN_TOKEN` secret (everything), a service
 * account's API token (its own tenant, within what its bindings allow), both compared as SHA-256
 * digests in constant time; or, when `ACCESS_TEAM_DOMAIN` and `ACCESS_AUD` are set, a person
 * signed in through Cloudflare Access (their verified email, resolved per tenant by
 * `tenantAccess` to the user that tenant provisioned). A bearer token, when sent, wins.
 */
import type { Context, MiddlewareHandler } from "hono";
import { ProblemError } from "./problem";
import { tenantStores } from "./stores";
import type { BaseVariables } from "../app-env";
import type { Actor } from "../iam/audit";
import { findCredential, hasExpired, LAST_USED_RESOLUTION_MS, touchToken, type Credential } from "../iam/credentials";
import type { TenantMember } from "../iam/sign-in";
import type { Db } from "../db/client";
import { isSharded } from "../db/shards";
import { accessTokenFrom, verifyAccessJwt } from "../auth/access-jwt";
import { bearerToken, digestsEqual, secretMatches, sha256Hex } from "../auth/tokens";

/**
 * Who is calling: the administrator, a service account confined to its tenant, or a person
 * signed in through Cloudflare Access (`member`: who they are in the tenant of the route, set by
 * `tenantAccess`).
 */
export type Principal =
  | { kind: "admin" }
  | { kind: "service-account"; credential: Credential }
  | { kind: "user"; email: string; member?: TenantMember };

/**
 * What the middleware tells later handlers. `tenantId` is set by the tenant-scoped access check.
 */
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
    const assertion = presented ? undefined : accessAssertion(c.env, c.req.raw.headers);
    if (assertion) {
      await signInThroughAccess(c.env, c.req.raw, assertion, (email) => c.set("principal", { kind: "user", email }));
      return next();
    }
    if (!presented) throw unauthorized("Send the admin token (or a service account's API token) as 'Authorization: Bearer <token>'.");
    const expected = expectedToken(c.env);
    if (expected && (await secretMatches(presented, expected))) {
      c.set("principal", { kind: "admin" });
      c.set("actor", { type: "ADMIN" });
      return next();
    }
    const hash = await sha256Hex(presented);
    const { credential, db } = await credentialOf(c, hash);
    if (!credential || !digestsEqual(credential.tokenHash, hash)) throw unauthorized("The bearer token is not valid for the admin API.");
    const now = Date.now();
    // Only the token's holder can present it, so saying it expired tells nobody else anything.
    if (hasExpired(credential.expiresAt, now)) throw unauthorized("The bearer token has expired.");
    if (credential.integrationId !== null && !credential.integrationEnabled) {
      throw new ProblemError(403, "This token's provisioning integration is disabled.");
    }
    if (credential.lastUsedAt === null || credential.lastUsedAt < now - LAST_USED_RESOLUTION_MS) {
      c.executionCtx.waitUntil(touchToken(db, credential.tokenId, now).catch(() => undefined));
    }
    c.set("principal", { kind: "service-account", credential });
    c.set("actor", { type: "SERVICE_ACCOUNT", id: credential.serviceAccountId });
    return next();
  };
}

/**
 * A service account's token row, and the database it is in: the shard of the path's tenant, or,
 * on the routes of no tenant in a sharded deployment, whichever database holds it (all asked at
 * once; a hash names one token).
 */
async function credentialOf(c: Context<{ Bindings: Env; Variables: AdminVariables }>, hash: string): Promise<{ credential?: Credential; db: Db }> {
  if (c.var.placement || !isSharded(c.env)) return { credential: await findCredential(c.var.db, hash), db: c.var.db };
  const stores = tenantStores(c);
  const found = await Promise.all(stores.map(({ db }) => findCredential(db, hash)));
  const at = found.findIndex((credential) => credential !== undefined);
  return at < 0 ? { db: c.var.db } : { credential: found[at], db: stores[at]!.db };
}

/** The Access assertion of a request, when Access sign-in is configured and one was sent. */
function accessAssertion(env: Env, headers: Headers): string | undefined {
  if (!env.ACCESS_TEAM_DOMAIN?.trim() || !env.ACCESS_AUD?.trim()) return undefined;
  return accessTokenFrom(headers);
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Verifies an Access assertion (401 naming the failed check, never echoing the token) and, for
 * a change, that it comes from this origin: Access adds its assertion to any request the browser
 * sends with the Access cookie, a cross-site one included.
 */
async function signInThroughAccess(env: Env, request: Request, assertion: string, signedIn: (email: string) => void): Promise<void> {
  const result = await verifyAccessJwt(assertion, { teamDomain: env.ACCESS_TEAM_DOMAIN!.trim(), audience: env.ACCESS_AUD!.trim() });
  if (!result.ok) {
    throw new ProblemError(401, `Cloudflare Access sign-in failed (${result.check}): ${result.detail}`, { check: result.check }, {
      "WWW-Authenticate": 'Bearer realm="scim-edge admin"',
    });
  }
  if (!SAFE_METHODS.has(request.method.toUpperCase())) sameOriginChange(request);
  signedIn(result.claims.email);
}

/**
 * A change riding on the Access cookie must prove it was sent by this origin's own pages (403
 * otherwise): every header it carries must name this origin, and it must carry one that does,
 * `Origin` or, without it, `Sec-Fetch-Site: same-origin`. Browsers send `Origin` on every
 * POST/PATCH/PUT/DELETE, so only a request that is not a browser's (where CSRF cannot happen,
 * but nothing vouches for it either) lacks both; it is refused rather than trusted.
 */
function sameOriginChange(request: Request): void {
  const own = new URL(request.url).origin;
  const origin = request.headers.get("Origin");
  const site = request.headers.get("Sec-Fetch-Site");
  if ((origin !== null && origin !== own) || (site !== null && site !== "same-origin" && site !== "none")) {
    throw new ProblemError(403, "A change signed in through Cloudflare Access must come from this console's own origin.");
  }
  if (origin === null && site !== "same-origin") {
    throw new ProblemError(
      403,
      `A change signed in through Cloudflare Access must carry 'Origin: ${own}' (or 'Sec-Fetch-Site: same-origin'); this request carried ${site === null ? "neither" : `no Origin and 'Sec-Fetch-Site: ${site}'`}.`,
      { missing: "Origin" },
    );
  }
}
