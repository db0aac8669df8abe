/** Admin API: /api/v1/{tenant}/service-accounts and their tokens (never a secret or a hash). */
import { createRoute } from "@hono/zod-openapi";
import { deleteToken, getServiceAccount, listServiceAccounts, permissionsOf, type ServiceAccount as AccountRow } from "../iam/service-accounts";
import { assertWithinCallerGrants, tenantAccess } from "./access";
import { bearer, json, problems, type AdminApp } from "./app";
import { ProblemError } from "./problem";
import { page, PageQuery, ServiceAccount, TenantIdParams, TenantParam, TokenParams } from "./schemas";
import { decodeCursor, iso, pageOf } from "./validation";

function render(account: AccountRow) {
  return {
    id: account.id,
    tenant: account.tenantId,
    name: account.name,
    description: account.description,
    integrationId: account.integrationId,
    createdAt: iso(account.createdAt),
    tokens: account.tokens.map((t) => ({ id: t.id, createdAt: iso(t.createdAt), lastUsedAt: t.lastUsedAt === null ? null : iso(t.lastUsedAt), lastFour: t.lastFour })),
  };
}

const tags = ["Service accounts"];

/** Registers the service account routes. */
export function registerServiceAccounts(app: AdminApp): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/{tenant}/service-accounts",
      tags,
      summary: "List service accounts with their tokens",
      security: bearer,
      middleware: [tenantAccess("SERVICE_ACCOUNTS", "READ")] as const,
      request: { params: TenantParam, query: PageQuery },
      responses: { 200: json(page(ServiceAccount, "ServiceAccountPage"), "A page of service accounts."), ...problems(400, 401, 403, 404) },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const rows = await listServiceAccounts(c.var.db, c.var.tenantId, { limit: limit + 1, after: decodeCursor(cursor) });
      return c.json(pageOf(rows, limit, render), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/{tenant}/service-accounts/{id}",
      tags,
      summary: "Read a service account with its tokens",
      security: bearer,
      middleware: [tenantAccess("SERVICE_ACCOUNTS", "READ")] as const,
      request: { params: TenantIdParams },
      responses: { 200: json(ServiceAccount, "The service account."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const account = await getServiceAccount(c.var.db, c.var.tenantId, id);
      if (!account) throw new ProblemError(404, `Service account '${id}' does not exist in tenant '${c.var.tenantId}'.`);
      return c.json(render(account), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/{tenant}/service-accounts/{id}/tokens/{tokenId}",
      tags,
      summary: "Revoke a token",
      description: "The token stops working on the next request. An integration whose token is revoked needs a rotation to work again.",
      security: bearer,
      middleware: [tenantAccess("SERVICE_ACCOUNTS", "DELETE")] as const,
      request: { params: TokenParams },
      responses: { 204: { description: "Revoked." }, ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { id, tokenId } = c.req.valid("param");
      assertWithinCallerGrants(c.var.principal, await permissionsOf(c.var.db, c.var.tenantId, id), `Service account '${id}'`);
      const result = await deleteToken(c.var.db, { tenantId: c.var.tenantId, actor: c.var.actor, requestId: c.var.requestId }, { serviceAccountId: id, tokenId });
      switch (result.kind) {
        case "deleted":
          return c.body(null, 204);
        case "not_found":
          throw new ProblemError(404, `Token '${tokenId}' of service account '${id}' does not exist in tenant '${c.var.tenantId}'.`);
      }
    },
  );
}
