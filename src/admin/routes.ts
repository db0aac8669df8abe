/** The admin JSON API under /api/v1, behind the admin token. */
import { Hono } from "hono";
import { adminAuth, type AdminVariables } from "../auth/admin";
import { integrationRoutes } from "./integrations";
import { tenantRoutes } from "./tenants";

export const adminRoutes = new Hono<{ Bindings: Env; Variables: AdminVariables }>()
  .use(adminAuth())
  .route("/tenants", tenantRoutes)
  .route("/:tenant/integrations", integrationRoutes);
