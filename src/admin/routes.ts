/** The admin JSON API under /api/v1, behind the admin token. */
import { Hono } from "hono";
import { adminAuth, type AdminVariables } from "../auth/admin";
import { getTenant } from "../iam/tenants";
import { globalUserRoutes, groupRoutes, tenantUserRoutes } from "./directory";
import { integrationRoutes } from "./integrations";
import { ProblemError } from "./problem";
import { tenantRoutes } from "./tenants";

/** Everything under /api/v1/{tenant}: the tenant must exist. */
const tenantScoped = new Hono<{ Bindings: Env; Variables: AdminVariables & { tenantId: string } }>()
  .use(async function requireTenant(c, next) {
    const tenantId = c.req.param("tenant") ?? "";
    if (!(await getTenant(c.var.db, tenantId))) throw new ProblemError(404, `Tenant '${tenantId}' does not exist.`);
    c.set("tenantId", tenantId);
    await next();
  })
  .route("/integrations", integrationRoutes)
  .route("/users", tenantUserRoutes)
  .route("/groups", groupRoutes);

export const adminRoutes = new Hono<{ Bindings: Env; Variables: AdminVariables }>()
  .use(adminAuth())
  .route("/tenants", tenantRoutes)
  .route("/users", globalUserRoutes)
  .route("/:tenant", tenantScoped);
