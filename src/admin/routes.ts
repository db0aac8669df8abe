/**
 * The admin JSON API under /api/v1: OpenAPI-described, behind the admin or a service-account token.
 */
import { adminAuth } from "./gate";
import { publicBaseUrl } from "../config";
import { createAdminApp } from "./app";
import { registerAudit } from "./audit";
import { registerAuthz } from "./authz";
import { registerBindings } from "./bindings";
import { registerDirectory } from "./directory";
import { registerIntegrations } from "./integrations";
import { registerMe } from "./me";
import { registerRoles } from "./roles";
import { registerScimSchemas } from "./scim-schemas";
import { registerServiceAccounts } from "./service-accounts";
import { registerTenants } from "./tenants";

export const adminRoutes = createAdminApp();

adminRoutes.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
  type: "http",
  scheme: "bearer",
  description:
    "The ADMIN_TOKEN secret, or a service account's API token (confined to its tenant and permissions). Behind Cloudflare Access (ACCESS_TEAM_DOMAIN and ACCESS_AUD set), a request without a bearer token may instead carry the Cf-Access-Jwt-Assertion header or CF_Authorization cookie of a provisioned person.",
});

// The description of the API is public: it holds no data.
adminRoutes.doc31("/openapi.json", (c) => ({
  openapi: "3.1.0",
  info: {
    title: "scim-edge admin API",
    version: "1.0.0",
    description: "Tenants, provisioning integrations, roles, bindings, service accounts, provisioned users and groups, and the audit log. Errors are application/problem+json.",
  },
  servers: [{ url: `${publicBaseUrl(c.env, c.req.url)}/api/v1` }],
}));

adminRoutes.use(adminAuth());
registerMe(adminRoutes);
registerTenants(adminRoutes);
registerDirectory(adminRoutes);
registerIntegrations(adminRoutes);
registerRoles(adminRoutes);
registerScimSchemas(adminRoutes);
registerBindings(adminRoutes);
registerServiceAccounts(adminRoutes);
registerAudit(adminRoutes);
registerAuthz(adminRoutes);
