/**
 * Admin API: /api/v1/{tenant}/service-accounts and their tokens (never a secret or a hash, but
 * once).
 */
import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import {
  createServiceAccount,
  createToken,
  deleteServiceAccount,
  deleteToken,
  getServiceAccount,
  listServiceAccounts,
  updateServiceAccount,
  type AccountRefusal,
  type ServiceAccount as AccountRow,
} from "../iam/service-accounts";
import { holdingsOf } from "../iam/authz";
import { assertNotOutranked, assertNotSelf, tenantAccess } from "./access";
import { bearer, body, json, problems, type AdminApp, type AdminEnv } from "./app";
import { managedByIntegration, ProblemError } from "./problem";
import {
  CreatedToken,
  CreateServiceAccount,
  CreateToken,
  page,
  PageQuery,
  PatchServiceAccount,
  ServiceAccount,
  TenantIdParams,
  TenantParam,
  TokenParams,
} from "./schemas";
import { decodeCursor, pageOf } from "./pages";
import { iso, isoOrNull } from "./times";

function render(account: AccountRow) {
  return {
    id: account.id,
    tenant: account.tenantId,
    name: account.name,
    description: account.description,
    integrationId: account.integrationId,
    createdAt: iso(account.createdAt),
    tokens: account.tokens.map((t) => ({
      id: t.id,
      createdAt: iso(t.createdAt),
      lastUsedAt: isoOrNull(t.lastUsedAt),
      lastFour: t.lastFour,
      expiresAt: isoOrNull(t.expiresAt),
    })),
  };
}

function notFound(id: string, tenantId: string): never {
  throw new ProblemError(404, `Service account '${id}' does not exist in tenant '${tenantId}'.`);
}

/** The answer to a refused change: 404, or 409 for an account its integration manages. */
function refuse(refusal: AccountRefusal, id: string, tenantId: string): never {
  switch (refusal.kind) {
    case "not_found":
      return notFound(id, tenantId);
    case "integration_managed":
      throw new ProblemError(
        409,
        `Service account '${id}' belongs to the provisioning integration '${refusal.integrationId}': manage it through the integration (/api/v1/${tenantId}/integrations/${refusal.integrationId}, POST …/token to rotate its token).`,
        { integrationId: refusal.integrationId },
      );
  }
}

/**
 * For a caller other than the admin token acting on an account: not its own (a token minting its
 * successor would outlive its expiry), and not one that outranks it (`assertNotOutranked`), nor,
 * with `token`, minting a token that outlives the caller's.
 */
async function guardTarget(c: Context<AdminEnv>, id: string, what: string, token?: { expiresAt: number | null }): Promise<void> {
  if (c.var.principal.kind === "admin") return;
  const target = await getServiceAccount(c.var.db, c.var.tenantId, id);
  if (!target) notFound(id, c.var.tenantId);
  assertNotSelf(c.var.principal, target.id, what, "service account");
  await guardRank(c, id, `Service account '${target.name}'`, token);
}

/**
 * `assertNotOutranked` for service account `id` (holding nothing when it is gone: the route answers
 * 404).
 */
async function guardRank(c: Context<AdminEnv>, id: string, what: string, token?: { expiresAt: number | null }): Promise<void> {
  await assertNotOutranked(
    c.var.db,
    c.var.tenantId,
    c.var.principal,
    async () => ({ holdings: (await holdingsOf(c.var.db, c.var.tenantId, { type: "SERVICE_ACCOUNT", id })) ?? [], ...(token ? { token } : {}) }),
    { what, token: "the new token", hint: "Set expiresAt no later than this token's expiry." },
  );
}

const tags = ["Service accounts"];
const MANAGED_NOTE = "An integration's service account is managed through its integration (409).";

/** Registers the service account routes. */
export function registerServiceAccounts(app: AdminApp): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/{tenant}/service-accounts",
      tags,
      summary: "Create a service account",
      description: "An identity for an application: bind roles to it (POST /{tenant}/bindings), then mint its tokens. It starts with neither.",
      security: bearer,
      middleware: [tenantAccess("SERVICE_ACCOUNTS", "CREATE")] as const,
      request: { params: TenantParam, ...body(CreateServiceAccount) },
      responses: { 201: json(ServiceAccount, "The service account."), ...problems(400, 401, 403, 404, 415) },
    }),
    async (c) => {
      const input = c.req.valid("json");
      const result = await createServiceAccount(c.var.db, { tenantId: c.var.tenantId, actor: c.var.actor, requestId: c.var.requestId }, input);
      return c.json(render(result.account), 201, { Location: `/api/v1/${c.var.tenantId}/service-accounts/${result.account.id}` });
    },
  );

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
      if (!account) notFound(id, c.var.tenantId);
      return c.json(render(account), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/{tenant}/service-accounts/{id}",
      tags,
      summary: "Rename or describe a service account",
      description: `\`description: null\` clears it. ${MANAGED_NOTE}`,
      security: bearer,
      middleware: [tenantAccess("SERVICE_ACCOUNTS", "UPDATE")] as const,
      request: { params: TenantIdParams, ...body(PatchServiceAccount) },
      responses: { 200: json(ServiceAccount, "The service account."), ...problems(400, 401, 403, 404, 409, 415) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await guardTarget(c, id, "change");
      const result = await updateServiceAccount(c.var.db, { tenantId: c.var.tenantId, actor: c.var.actor, requestId: c.var.requestId }, { id, ...c.req.valid("json") });
      if (result.kind !== "updated") refuse(result, id, c.var.tenantId);
      return c.json(render(result.account), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/{tenant}/service-accounts/{id}",
      tags,
      summary: "Delete a service account",
      description: `Its tokens stop working and its bindings go, in one batch. ${MANAGED_NOTE}`,
      security: bearer,
      middleware: [tenantAccess("SERVICE_ACCOUNTS", "DELETE")] as const,
      request: { params: TenantIdParams },
      responses: { 204: { description: "Deleted." }, ...problems(401, 403, 404, 409) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await guardTarget(c, id, "delete");
      const result = await deleteServiceAccount(c.var.db, { tenantId: c.var.tenantId, actor: c.var.actor, requestId: c.var.requestId }, id);
      if (result.kind !== "deleted") refuse(result, id, c.var.tenantId);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/{tenant}/service-accounts/{id}/tokens",
      tags,
      summary: "Mint a token",
      description:
        "The secret is in this response only (only its hash is stored). It works within the account's bindings until `expiresAt` " +
        "(in the future, at most 730 days ahead; absent: until revoked). A service-account caller cannot mint for its own account, " +
        "for an account holding anything its own bindings do not cover (namespaced bindings included), nor a token outliving its own. " +
        MANAGED_NOTE,
      security: bearer,
      middleware: [tenantAccess("SERVICE_ACCOUNTS", "CREATE")] as const,
      request: { params: TenantIdParams, ...body(CreateToken, { required: false }) },
      responses: { 201: json(CreatedToken, "The token with its secret."), ...problems(400, 401, 403, 404, 409, 415) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const requested = c.req.valid("json").expiresAt;
      const expiresAt = requested === undefined || requested === null ? null : Date.parse(requested);
      await guardTarget(c, id, "mint tokens for", { expiresAt });
      const result = await createToken(c.var.db, { tenantId: c.var.tenantId, actor: c.var.actor, requestId: c.var.requestId }, { serviceAccountId: id, expiresAt });
      switch (result.kind) {
        case "created": {
          const { token } = result;
          return c.json(
            { id: token.id, secretToken: token.secretToken, lastFour: token.lastFour, createdAt: iso(token.createdAt), expiresAt: isoOrNull(token.expiresAt) },
            201,
            { "Cache-Control": "no-store" },
          );
        }
        case "invalid_expiry":
          throw new ProblemError(400, `expiresAt: ${result.detail}`);
        default:
          return refuse(result, id, c.var.tenantId);
      }
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/{tenant}/service-accounts/{id}/tokens/{tokenId}",
      tags,
      summary: "Revoke a token",
      description: "The token stops working on the next request. An integration's token is refused (409): rotate it through the integration.",
      security: bearer,
      middleware: [tenantAccess("SERVICE_ACCOUNTS", "DELETE")] as const,
      request: { params: TokenParams },
      responses: { 204: { description: "Revoked." }, ...problems(401, 403, 404, 409) },
    }),
    async (c) => {
      const { id, tokenId } = c.req.valid("param");
      await guardRank(c, id, `Service account '${id}'`);
      const result = await deleteToken(c.var.db, { tenantId: c.var.tenantId, actor: c.var.actor, requestId: c.var.requestId }, { serviceAccountId: id, tokenId });
      switch (result.kind) {
        case "deleted":
          return c.body(null, 204);
        case "not_found":
          throw new ProblemError(404, `Token '${tokenId}' of service account '${id}' does not exist in tenant '${c.var.tenantId}'.`);
        case "integration_managed":
          throw managedByIntegration(`Token '${tokenId}'`, c.var.tenantId, result);
      }
    },
  );
}
