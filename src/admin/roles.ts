/** Admin API: /api/v1/{tenant}/roles. */
import { createRoute } from "@hono/zod-openapi";
import { SCIM_PROVISIONER_ROLE } from "../iam/permissions";
import { createRole, deleteRole, getRole, listRoles, updateRole, type Role as RoleRow } from "../iam/roles";
import { assertWithinCallerGrants, tenantAccess } from "./access";
import { bearer, body, json, problems, type AdminApp } from "./app";
import { ProblemError } from "./problem";
import { CreateRole, page, PageQuery, PatchRole, Role, TenantIdParams, TenantParam } from "./schemas";
import { decodeCursor, pageOf } from "./pages";
import { iso } from "./times";

function render(role: RoleRow) {
  return {
    id: role.id,
    tenant: role.tenantId,
    name: role.name,
    description: role.description,
    permissions: role.permissions,
    createdAt: iso(role.createdAt),
    updatedAt: iso(role.updatedAt),
  };
}

const tags = ["Roles"];
const notFound = (id: string, tenant: string): never => {
  throw new ProblemError(404, `Role '${id}' does not exist in tenant '${tenant}'.`);
};

/** Registers the role routes. */
export function registerRoles(app: AdminApp): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/{tenant}/roles",
      tags,
      summary: "List roles",
      security: bearer,
      middleware: [tenantAccess("ROLES", "READ")] as const,
      request: { params: TenantParam, query: PageQuery },
      responses: { 200: json(page(Role, "RolePage"), "A page of roles."), ...problems(400, 401, 403, 404) },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const rows = await listRoles(c.var.db, c.var.tenantId, { limit: limit + 1, after: decodeCursor(cursor) });
      return c.json(pageOf(rows, limit, render), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/{tenant}/roles",
      tags,
      summary: "Create a role",
      security: bearer,
      middleware: [tenantAccess("ROLES", "CREATE")] as const,
      request: { params: TenantParam, ...body(CreateRole) },
      responses: { 201: json(Role, "The role."), ...problems(400, 401, 403, 404, 409, 415) },
    }),
    async (c) => {
      const input = c.req.valid("json");
      assertWithinCallerGrants(c.var.principal, input.permissions, "This role");
      const result = await createRole(c.var.db, { tenantId: c.var.tenantId, actor: c.var.actor, requestId: c.var.requestId }, input);
      switch (result.kind) {
        case "created":
          return c.json(render(result.role), 201, { Location: `/api/v1/${c.var.tenantId}/roles/${result.role.id}` });
        case "exists":
          throw new ProblemError(409, `A role named '${input.name}' already exists in tenant '${c.var.tenantId}'.`);
      }
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/{tenant}/roles/{id}",
      tags,
      summary: "Read a role",
      security: bearer,
      middleware: [tenantAccess("ROLES", "READ")] as const,
      request: { params: TenantIdParams },
      responses: { 200: json(Role, "The role."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const role = await getRole(c.var.db, c.var.tenantId, id);
      if (!role) return notFound(id, c.var.tenantId);
      return c.json(render(role), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/{tenant}/roles/{id}",
      tags,
      summary: "Rename a role or replace its permissions",
      description: "`permissions`, when given, replaces the whole set. SCIMProvisioner can be edited like any role; the change counts on the next request.",
      security: bearer,
      middleware: [tenantAccess("ROLES", "UPDATE")] as const,
      request: { params: TenantIdParams, ...body(PatchRole) },
      responses: { 200: json(Role, "The role."), ...problems(400, 401, 403, 404, 409, 415) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const input = c.req.valid("json");
      const current = await getRole(c.var.db, c.var.tenantId, id);
      if (!current) return notFound(id, c.var.tenantId);
      // Integrations bind to the role of this name: moving the name would move their grants.
      if (input.name !== undefined && input.name !== current.name && (current.name === SCIM_PROVISIONER_ROLE || input.name === SCIM_PROVISIONER_ROLE)) {
        throw new ProblemError(409, `${SCIM_PROVISIONER_ROLE} is the role every provisioning integration is bound to; it cannot be renamed, nor another role renamed to it.`);
      }
      assertWithinCallerGrants(c.var.principal, current.permissions, `Role '${current.name}'`);
      if (input.permissions) assertWithinCallerGrants(c.var.principal, input.permissions, "The new permission set");
      const result = await updateRole(c.var.db, { tenantId: c.var.tenantId, actor: c.var.actor, requestId: c.var.requestId }, { id, ...input });
      switch (result.kind) {
        case "updated":
          return c.json(render(result.role), 200);
        case "not_found":
          return notFound(id, c.var.tenantId);
        case "exists":
          throw new ProblemError(409, `A role named '${input.name}' already exists in tenant '${c.var.tenantId}'.`);
      }
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/{tenant}/roles/{id}",
      tags,
      summary: "Delete a role that is not bound",
      security: bearer,
      middleware: [tenantAccess("ROLES", "DELETE")] as const,
      request: { params: TenantIdParams },
      responses: { 204: { description: "Deleted." }, ...problems(401, 403, 404, 409) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const current = await getRole(c.var.db, c.var.tenantId, id);
      if (!current) return notFound(id, c.var.tenantId);
      assertWithinCallerGrants(c.var.principal, current.permissions, `Role '${current.name}'`);
      const result = await deleteRole(c.var.db, { tenantId: c.var.tenantId, actor: c.var.actor, requestId: c.var.requestId }, id);
      switch (result.kind) {
        case "deleted":
          return c.body(null, 204);
        case "not_found":
          return notFound(id, c.var.tenantId);
        case "bound":
          throw new ProblemError(409, `Role '${id}' is still bound (${result.bindings} binding${result.bindings === 1 ? "" : "s"}); delete its bindings first.`);
      }
    },
  );
}
