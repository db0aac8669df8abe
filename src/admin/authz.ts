/**
 * Admin API: authorization decisions for applications (`POST /{tenant}/authz/check`) and a user's
 * effective permissions (`GET /{tenant}/users/{id}/permissions`). Both read the bindings as they
 * are at this request, in one D1 round trip, and change nothing (so nothing is audited).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { checkAccess, effectivePermissions, isValidNamespace, MAX_CHECKS, MAX_NAMESPACE_LENGTH } from "../iam/authz";
import { ACTIONS, RESOURCES } from "../iam/permissions";
import { tenantAccess } from "./access";
import { bearer, body, json, problems, type AdminApp } from "./app";
import { ProblemError } from "./problem";
import { TenantIdParams, TenantParam } from "./schemas";

const tags = ["Authorization"];

const Namespace = z
  .string()
  .max(MAX_NAMESPACE_LENGTH)
  .refine(isValidNamespace, { message: "a namespace: dot-separated segments of letters, digits, _ and -, e.g. company.team.data" })
  .openapi({ example: "company.team.data" });

const Subject = z
  .union([
    z.object({ type: z.literal("USER"), id: z.string().min(1).max(200) }).strict(),
    z.object({ type: z.literal("USER"), userName: z.string().min(1).max(1000) }).strict(),
    z.object({ type: z.literal("SERVICE_ACCOUNT"), id: z.string().min(1).max(200) }).strict(),
  ], { error: 'one of {"type":"USER","id":…}, {"type":"USER","userName":…} or {"type":"SERVICE_ACCOUNT","id":…}' })
  .openapi("AuthzSubject", {
    description: 'A user by id or by this tenant\'s userName (case-insensitive), or a service account: `{"type":"USER","id"}`, `{"type":"USER","userName"}`, `{"type":"SERVICE_ACCOUNT","id"}`.',
  });

const Check = z
  .object({
    resource: z.enum(RESOURCES),
    action: z.enum(ACTIONS),
    namespace: Namespace.optional().openapi({ description: "Absent: only tenant-wide bindings satisfy the check." }),
  })
  .strict();

export const AuthzRequest = z
  .object({ subject: Subject, checks: z.array(Check).min(1).max(MAX_CHECKS) })
  .openapi("AuthzRequest", {
    example: { subject: { type: "USER", userName: "ada@example.com" }, checks: [{ resource: "FLOWS", action: "UPDATE", namespace: "company.team.data" }] },
  });

const Grant = z
  .object({
    bindingId: z.string(),
    roleId: z.string(),
    roleName: z.string(),
    namespace: z.string().nullable().openapi({ description: "The binding's namespace; null: tenant-wide." }),
    via: z.object({ type: z.enum(["USER", "GROUP", "SERVICE_ACCOUNT"]), id: z.string(), displayName: z.string().optional() }),
  })
  .openapi("Grant", { description: "A binding that allows it, and whom it is bound to (the user, one of the user's groups, or the service account)." });

const CheckResult = z
  .object({
    resource: z.enum(RESOURCES),
    action: z.enum(ACTIONS),
    namespace: z.string().nullable(),
    allowed: z.boolean(),
    grants: z.array(Grant).openapi({ description: "Every binding that allows it; empty when denied." }),
    reason: z.enum(["inactive", "no_tenant_access"]).optional().openapi({ description: "Why the subject is denied everything: inactive in the tenant, or without access to it." }),
  })
  .openapi("AuthzResult");

export const AuthzResponse = z
  .object({ subject: z.object({ type: z.enum(["USER", "SERVICE_ACCOUNT"]), id: z.string() }), results: z.array(CheckResult) })
  .openapi("AuthzResponse");

export const EffectivePermissions = z
  .object({
    user: z.object({ id: z.string(), userName: z.string(), active: z.boolean() }),
    reason: z.enum(["inactive"]).optional(),
    permissions: z.array(
      z.object({ resource: z.enum(RESOURCES), action: z.enum(ACTIONS), namespace: z.string().nullable().openapi({ description: "null: tenant-wide." }), grants: z.array(Grant) }),
    ),
  })
  .openapi("EffectivePermissions");

/** Registers the decision API and the effective-permissions route. */
export function registerAuthz(app: AdminApp): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/{tenant}/authz/check",
      tags,
      summary: "Decide whether a user or service account may act",
      description:
        "Answers each check in the order asked, with every binding that allows it. A tenant-wide binding grants in every namespace; a binding on `a.b` grants in `a.b` and `a.b.*` (not `a.bc`); " +
        "a check without namespace needs a tenant-wide binding. A user's grants come from bindings on the user and on the groups the user is a member of in this tenant; a user inactive in the tenant or without access to it is denied everything (`reason`). " +
        "No cache: a deactivation, a member removal or a SCIM DELETE counts on the very next call. One D1 round trip, whatever the number of groups, bindings and members.",
      security: bearer,
      // The decision finds no subject in a tenant that does not exist: a 404 without a lookup of
      // its own.
      middleware: [tenantAccess("BINDINGS", "READ", { existenceCheckedByHandler: true })] as const,
      request: { params: TenantParam, ...body(AuthzRequest) },
      responses: { 200: json(AuthzResponse, "The decisions, in the order asked."), ...problems(400, 401, 403, 404, 415) },
    }),
    async (c) => {
      const { subject, checks } = c.req.valid("json");
      const decided = await checkAccess(c.var.db, c.var.tenantId, subject, checks);
      if (decided.kind === "not_found") {
        const name = "userName" in subject ? `User '${subject.userName}'` : `${subject.type === "USER" ? "User" : "Service account"} '${subject.id}'`;
        throw new ProblemError(404, `${name} does not exist in tenant '${c.var.tenantId}'.`);
      }
      return c.json({ subject: decided.subject, results: decided.results }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/{tenant}/users/{id}/permissions",
      tags,
      summary: "A user's effective permissions, each with the bindings that grant it",
      description: "One entry per granted (resource, action, namespace), sorted; an inactive user has none (`reason: inactive`).",
      security: bearer,
      middleware: [tenantAccess("BINDINGS", "READ", { existenceCheckedByHandler: true })] as const,
      request: { params: TenantIdParams },
      responses: { 200: json(EffectivePermissions, "The permissions."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const result = await effectivePermissions(c.var.db, c.var.tenantId, id);
      if (result.kind === "not_found") throw new ProblemError(404, `User '${id}' has no access to tenant '${c.var.tenantId}'.`);
      const { kind: _, ...rest } = result;
      return c.json(rest, 200);
    },
  );
}
