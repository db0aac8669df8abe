/** Admin API: /api/v1/tenants (admin token only). */
import { createRoute } from "@hono/zod-openapi";
import { createTenant, getTenant, listTenants, type Tenant as TenantRow } from "../iam/tenants";
import { adminOnly } from "./access";
import { bearer, body, json, problems, type AdminApp } from "./app";
import { ProblemError } from "./problem";
import { CreateTenant, IdParam, page, PageQuery, Tenant } from "./schemas";
import { decodeCursor, pageOf } from "./pages";
import { iso } from "./times";

function render(tenant: TenantRow) {
  return { id: tenant.id, name: tenant.name, createdAt: iso(tenant.createdAt) };
}

const tags = ["Tenants"];

/** Registers the tenant routes. */
export function registerTenants(app: AdminApp): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/tenants",
      tags,
      summary: "Create a tenant",
      security: bearer,
      middleware: [adminOnly()] as const,
      request: body(CreateTenant),
      responses: { 201: json(Tenant, "The tenant."), ...problems(400, 401, 403, 409, 415) },
    }),
    async (c) => {
      const input = c.req.valid("json");
      const result = await createTenant(c.var.db, { ...input, actor: c.var.actor, requestId: c.var.requestId });
      switch (result.kind) {
        case "created":
          return c.json(render(result.tenant), 201, { Location: `/api/v1/tenants/${result.tenant.id}` });
        case "exists":
          throw new ProblemError(409, `Tenant '${input.id}' already exists.`);
      }
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/tenants",
      tags,
      summary: "List tenants",
      security: bearer,
      middleware: [adminOnly()] as const,
      request: { query: PageQuery },
      responses: { 200: json(page(Tenant, "TenantPage"), "A page of tenants."), ...problems(400, 401, 403) },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const rows = await listTenants(c.var.db, { limit: limit + 1, after: decodeCursor(cursor) });
      return c.json(pageOf(rows, limit, render), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/tenants/{id}",
      tags,
      summary: "Read a tenant",
      security: bearer,
      middleware: [adminOnly()] as const,
      request: { params: IdParam },
      responses: { 200: json(Tenant, "The tenant."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const tenant = await getTenant(c.var.db, id);
      if (!tenant) throw new ProblemError(404, `Tenant '${id}' does not exist.`);
      return c.json(render(tenant), 200);
    },
  );
}
