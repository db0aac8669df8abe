/** Bearer authentication of the admin JSON API with the `ADMIN_TOKEN` secret. */
import type { MiddlewareHandler } from "hono";
import { ProblemError } from "../admin/problem";
import type { BaseVariables } from "../app-env";
import type { Actor } from "../iam/audit";
import { bearerToken, secretMatches } from "./tokens";

/** What the middleware tells later handlers: who is acting. */
export type AdminVariables = BaseVariables & { actor: Actor };

export interface AdminAuthOptions {
  /** Where the expected token comes from; defaults to the `ADMIN_TOKEN` binding. */
  expectedToken?: (env: Env) => string | undefined;
}

/** Rejects requests that do not carry the admin token (401), comparing in constant time. */
export function adminAuth(
  options: AdminAuthOptions = {},
): MiddlewareHandler<{ Bindings: Env; Variables: AdminVariables }> {
  const expectedToken = options.expectedToken ?? ((env: Env) => env.ADMIN_TOKEN);
  return async function adminAuthMiddleware(c, next) {
    const expected = expectedToken(c.env);
    if (!expected) {
      throw new ProblemError(503, "The admin API is disabled: the ADMIN_TOKEN secret is not configured.");
    }
    const presented = bearerToken(c.req.header("Authorization"));
    if (!presented || !(await secretMatches(presented, expected))) {
      c.header("WWW-Authenticate", 'Bearer realm="scim-edge admin"');
      throw new ProblemError(
        401,
        presented ? "The bearer token is not valid for the admin API." : "Send the admin token as 'Authorization: Bearer <ADMIN_TOKEN>'.",
      );
    }
    c.set("actor", { type: "ADMIN" });
    await next();
  };
}
