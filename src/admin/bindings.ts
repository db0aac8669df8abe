/** Admin API: /api/v1/{tenant}/bindings (immutable: delete and create to change one). */
import { createRoute } from "@hono/zod-openapi";
import { createBinding, deleteBinding, getBinding, listBindings, type Binding as BindingRow } from "../iam/bindings";
import { getRole } from "../iam/roles";
import { assertWithinCallerGrants, tenantAccess } from "./access";
import { bearer, body, json, problems, type AdminApp } from "./app";
import { managedByIntegration, ProblemError } from "./problem";
import { Binding, BindingQuery, CreateBinding, page, TenantIdParams, TenantParam } from "./schemas";
import { decodeCursor, pageOf } from "./pages";
import { iso } from "./times";

function render(binding: BindingRow) {
  return {
    id: binding.id,
    tenant: binding.tenantId,
    roleId: binding.roleId,
    roleName: binding.roleName,
    subjectType: binding.subjectType,
    subjectId: binding.subjectId,
    subjectName: binding.subjectName,
    integrationId: binding.integrationId,
    namespace: binding.namespace,
    createdAt: iso(binding.createdAt),
  };
}

const tags = ["Bindings"];

/** Registers the binding routes. */
export function registerBindings(app: AdminApp): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/{tenant}/bindings",
      tags,
      summary: "List bindings, optionally by role or subject",
      security: bearer,
      middleware: [tenantAccess("BINDINGS", "READ")] as const,
      request: { params: TenantParam, query: BindingQuery },
      responses: { 200: json(page(Binding, "BindingPage"), "A page of bindings."), ...problems(400, 401, 403, 404) },
    }),
    async (c) => {
      const { limit, cursor, roleId, subjectType, subjectId } = c.req.valid("query");
      const rows = await listBindings(c.var.db, c.var.tenantId, { roleId, subjectType, subjectId }, { limit: limit + 1, after: decodeCursor(cursor) });
      return c.json(pageOf(rows, limit, render), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/{tenant}/bindings",
      tags,
      summary: "Bind a role to a user, group or service account",
      security: bearer,
      middleware: [tenantAccess("BINDINGS", "CREATE")] as const,
      request: { params: TenantParam, ...body(CreateBinding) },
      responses: { 201: json(Binding, "The binding."), ...problems(400, 401, 403, 404, 409, 415) },
    }),
    async (c) => {
      const input = c.req.valid("json");
      const role = await getRole(c.var.db, c.var.tenantId, input.roleId);
      if (!role) throw new ProblemError(404, `Role '${input.roleId}' does not exist in tenant '${c.var.tenantId}'.`);
      assertWithinCallerGrants(c.var.principal, role.permissions, `Binding role '${role.name}'`);
      const ctx = { tenantId: c.var.tenantId, actor: c.var.actor, requestId: c.var.requestId };
      const result = await createBinding(c.var.db, ctx, input);
      switch (result.kind) {
        case "created":
          return c.json(render(result.binding), 201, { Location: `/api/v1/${c.var.tenantId}/bindings/${result.binding.id}` });
        case "role_not_found":
          throw new ProblemError(404, `Role '${input.roleId}' does not exist in tenant '${c.var.tenantId}'.`);
        case "subject_not_found":
          throw new ProblemError(404, `No ${input.subjectType} '${input.subjectId}' in tenant '${c.var.tenantId}'.`);
        case "exists":
          throw new ProblemError(409, `This role is already bound to this subject (binding '${result.id}').`, { bindingId: result.id });
      }
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/{tenant}/bindings/{id}",
      tags,
      summary: "Read a binding",
      security: bearer,
      middleware: [tenantAccess("BINDINGS", "READ")] as const,
      request: { params: TenantIdParams },
      responses: { 200: json(Binding, "The binding."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const binding = await getBinding(c.var.db, c.var.tenantId, id);
      if (!binding) throw new ProblemError(404, `Binding '${id}' does not exist in tenant '${c.var.tenantId}'.`);
      return c.json(render(binding), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/{tenant}/bindings/{id}",
      tags,
      summary: "Delete a binding",
      description: "A provisioning integration's SCIMProvisioner binding is refused (409): delete the integration instead.",
      security: bearer,
      middleware: [tenantAccess("BINDINGS", "DELETE")] as const,
      request: { params: TenantIdParams },
      responses: { 204: { description: "Deleted." }, ...problems(401, 403, 404, 409) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const binding = await getBinding(c.var.db, c.var.tenantId, id);
      if (binding) {
        const role = await getRole(c.var.db, c.var.tenantId, binding.roleId);
        if (role) assertWithinCallerGrants(c.var.principal, role.permissions, `The binding of role '${role.name}'`);
      }
      const result = await deleteBinding(c.var.db, { tenantId: c.var.tenantId, actor: c.var.actor, requestId: c.var.requestId }, id);
      switch (result.kind) {
        case "deleted":
          return c.body(null, 204);
        case "not_found":
          throw new ProblemError(404, `Binding '${id}' does not exist in tenant '${c.var.tenantId}'.`);
        case "integration_managed":
          throw managedByIntegration(`Binding '${id}'`, c.var.tenantId, result);
      }
    },
  );
}
