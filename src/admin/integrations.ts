/** Admin API: /api/v1/{tenant}/integrations (Kestra's Administration → IAM → Provisioning). */
import { createRoute } from "@hono/zod-openapi";
import { publicBaseUrl, tenantsDisabled, tenantsEnabled } from "../config";
import { scimEndpoint } from "../scim/http/paths";
import { integrationActivity } from "../iam/integration-activity";
import {
  createIntegration,
  deleteIntegration,
  getIntegration,
  integrationProblems,
  listIntegrations,
  rotateIntegrationToken,
  updateIntegration,
  type Integration as IntegrationRow,
} from "../iam/integrations";
import type { Context } from "hono";
import { holdingsOf } from "../iam/authz";
import { tenantWide } from "../iam/outrank";
import { permissionPairs, SCIM_PROVISIONER_PERMISSIONS, SCIM_PROVISIONER_ROLE } from "../iam/permissions";
import { getRoleByName } from "../iam/roles";
import { assertNotOutranked, assertNotSelf, tenantAccess } from "./access";
import { bearer, body, json, problems, type AdminApp, type AdminEnv } from "./app";
import { ProblemError } from "./problem";
import { ActivityQuery, CreatedIntegration, CreateIntegration, Integration, IntegrationActivity, page, PageQuery, PatchIntegration, SecretToken, TenantIdParams, TenantParam } from "./schemas";
import { decodeCursor, pageOf } from "./pages";
import { iso } from "./times";

/** Renders an integration with its absolute SCIM endpoint (the Tenant URL to paste into Entra). */
function render(integration: IntegrationRow, baseUrl: string) {
  return {
    id: integration.id,
    tenant: integration.tenantId,
    name: integration.name,
    description: integration.description,
    provisioningType: integration.provisioningType,
    enabled: integration.enabled,
    endpoint: scimEndpoint(baseUrl, integration.tenantId, integration.id),
    serviceAccountId: integration.serviceAccountId,
    roleId: integration.roleId,
    problems: integrationProblems(integration),
    createdAt: iso(integration.createdAt),
    updatedAt: iso(integration.updatedAt),
  };
}

/**
 * For a caller other than the admin token acting on an integration: not its own, and not one whose
 * account outranks it (rotating would hand the caller a stronger token; `assertNotOutranked`).
 * `rotating`: the action mints the integration a new token, which never expires.
 */
async function guardTarget(c: Context<AdminEnv>, id: string, what: string, rotating = false): Promise<void> {
  if (c.var.principal.kind === "admin") return;
  const target = await getIntegration(c.var.db, c.var.tenantId, id);
  if (!target) notFound(id, c.var.tenantId);
  assertNotSelf(c.var.principal, target.serviceAccountId, what);
  await assertNotOutranked(
    c.var.db,
    c.var.tenantId,
    c.var.principal,
    async () => ({
      holdings: (await holdingsOf(c.var.db, c.var.tenantId, { type: "SERVICE_ACCOUNT", id: target.serviceAccountId })) ?? [],
      ...(rotating ? { token: { expiresAt: null } } : {}),
    }),
    { what: `Integration '${target.name}'`, token: "its new token", hint: NEVER_EXPIRES },
  );
}

/**
 * Why an expiring token cannot create or rotate an integration: the integration's token would
 * outlive it.
 */
const NEVER_EXPIRES = "An integration's token never expires: create or rotate integrations with a token that does not expire, or with the admin token.";

function notFound(id: string, tenantId: string): never {
  throw new ProblemError(404, `Integration '${id}' does not exist in tenant '${tenantId}'.`);
}

const tags = ["Provisioning integrations"];

/** Registers the integration routes. */
export function registerIntegrations(app: AdminApp): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/{tenant}/integrations",
      tags,
      summary: "Create a provisioning integration",
      description:
        "Creates, in one batch, the tenant's SCIMProvisioner role (once), a service account, its binding and an API token. The secret token is in this response only. " +
        "Its token never expires, so a caller whose own token expires is refused (403), as is one that does not hold all of SCIMProvisioner.",
      security: bearer,
      middleware: [tenantAccess("INTEGRATIONS", "CREATE")] as const,
      request: { params: TenantParam, ...body(CreateIntegration) },
      responses: { 201: json(CreatedIntegration, "The integration with its endpoint and secret token."), ...problems(400, 401, 403, 404, 415) },
    }),
    async (c) => {
      // The new integration's token gets SCIMProvisioner tenant-wide and never expires: the
      // caller must hold all of it, and not expire itself.
      await assertNotOutranked(
        c.var.db,
        c.var.tenantId,
        c.var.principal,
        async () => {
          const provisioner = await getRoleByName(c.var.db, c.var.tenantId, SCIM_PROVISIONER_ROLE);
          const grants = provisioner?.permissions ?? SCIM_PROVISIONER_PERMISSIONS;
          return { holdings: tenantWide(permissionPairs(grants).map(({ resource, action }) => `${resource}:${action}`)), token: { expiresAt: null } };
        },
        { what: `A new integration's ${SCIM_PROVISIONER_ROLE} role`, token: "the new integration's token", hint: NEVER_EXPIRES },
      );
      if (!tenantsEnabled(c.env)) {
        throw new ProblemError(403, tenantsDisabled("A provisioning integration"));
      }
      const result = await createIntegration(c.var.db, {
        ...c.req.valid("json"),
        tenantId: c.var.tenantId,
        actor: c.var.actor,
        requestId: c.var.requestId,
      });
      switch (result.kind) {
        case "created": {
          const view = render(result.integration, publicBaseUrl(c.env, c.req.url));
          return c.json({ ...view, secretToken: result.secretToken }, 201, {
            Location: `/api/v1/${view.tenant}/integrations/${view.id}`,
            "Cache-Control": "no-store",
          });
        }
        case "tenant_not_found":
          throw new ProblemError(404, `Tenant '${c.var.tenantId}' does not exist.`);
      }
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/{tenant}/integrations",
      tags,
      summary: "List provisioning integrations",
      security: bearer,
      middleware: [tenantAccess("INTEGRATIONS", "READ")] as const,
      request: { params: TenantParam, query: PageQuery },
      responses: { 200: json(page(Integration, "IntegrationPage"), "A page of integrations."), ...problems(400, 401, 403, 404) },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const rows = await listIntegrations(c.var.db, c.var.tenantId, { limit: limit + 1, after: decodeCursor(cursor) });
      const baseUrl = publicBaseUrl(c.env, c.req.url);
      return c.json(pageOf(rows, limit, (row) => render(row, baseUrl)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/{tenant}/integrations/{id}",
      tags,
      summary: "Read a provisioning integration",
      security: bearer,
      middleware: [tenantAccess("INTEGRATIONS", "READ")] as const,
      request: { params: TenantIdParams },
      responses: { 200: json(Integration, "The integration (never its token)."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const integration = await getIntegration(c.var.db, c.var.tenantId, id);
      if (!integration) notFound(id, c.var.tenantId);
      return c.json(render(integration, publicBaseUrl(c.env, c.req.url)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/{tenant}/integrations/{id}",
      tags,
      summary: "Rename, describe, enable or disable an integration",
      security: bearer,
      middleware: [tenantAccess("INTEGRATIONS", "UPDATE")] as const,
      request: { params: TenantIdParams, ...body(PatchIntegration) },
      responses: { 200: json(Integration, "The integration."), ...problems(400, 401, 403, 404, 415) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await guardTarget(c, id, "change");
      // Straight to D1, never queued behind the integration's SCIM writes: each of those re-checks
      // the token, the enabled flag and the permissions inside its own commit batch.
      const result = await updateIntegration(c.var.db, {
        tenantId: c.var.tenantId,
        id,
        patch: c.req.valid("json"),
        actor: c.var.actor,
        requestId: c.var.requestId,
      });
      switch (result.kind) {
        case "updated":
          return c.json(render(result.integration, publicBaseUrl(c.env, c.req.url)), 200);
        case "not_found":
          return notFound(id, c.var.tenantId);
      }
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/{tenant}/integrations/{id}",
      tags,
      summary: "Delete an integration",
      description: "Its service account, tokens and bindings go; the users and groups it provisioned stay.",
      security: bearer,
      middleware: [tenantAccess("INTEGRATIONS", "DELETE")] as const,
      request: { params: TenantIdParams },
      responses: { 204: { description: "Deleted." }, ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await guardTarget(c, id, "delete");
      const result = await deleteIntegration(c.var.db, { tenantId: c.var.tenantId, id, actor: c.var.actor, requestId: c.var.requestId });
      switch (result.kind) {
        case "deleted":
          return c.body(null, 204);
        case "not_found":
          return notFound(id, c.var.tenantId);
      }
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/{tenant}/integrations/{id}/token",
      tags,
      summary: "Rotate an integration's secret token",
      description:
        "The old token stops working on the next request. The new secret is in this response only; it never expires, so a caller whose own token expires is refused (403).",
      security: bearer,
      middleware: [tenantAccess("INTEGRATIONS", "UPDATE")] as const,
      request: { params: TenantIdParams },
      responses: { 200: json(SecretToken, "The new secret token."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await guardTarget(c, id, "rotate the token of", true);
      const result = await rotateIntegrationToken(c.var.db, { tenantId: c.var.tenantId, id, actor: c.var.actor, requestId: c.var.requestId });
      switch (result.kind) {
        case "rotated":
          return c.json({ secretToken: result.secretToken }, 200, { "Cache-Control": "no-store" });
        case "not_found":
          return notFound(id, c.var.tenantId);
      }
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/{tenant}/integrations/{id}/activity",
      tags,
      summary: "Provisioning health: SCIM writes per hour by outcome",
      description:
        "From the audit log, in one indexed query: the integration's SCIM writes per hour (succeeded, refused with a 4xx, failed with a 5xx), " +
        "the last hour's refusal rate (`unhealthy` when refusals and failures exceed a fifth of its writes), and the token's last use.",
      security: bearer,
      middleware: [tenantAccess("INTEGRATIONS", "READ")] as const,
      request: { params: TenantIdParams, query: ActivityQuery },
      responses: { 200: json(IntegrationActivity, "The activity."), ...problems(400, 401, 403, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const activity = await integrationActivity(c.var.db, c.var.tenantId, id, { days: c.req.valid("query").days });
      if (!activity) return notFound(id, c.var.tenantId);
      const at = (ms: number | null) => (ms === null ? null : iso(ms));
      return c.json(
        {
          integrationId: id,
          ...activity,
          from: iso(activity.from),
          to: iso(activity.to),
          hours: activity.hours.map((h) => ({ ...h, start: iso(h.start) })),
          lastContactAt: at(activity.lastContactAt),
          lastWriteAt: at(activity.lastWriteAt),
          thisHour: { ...activity.thisHour, start: iso(activity.thisHour.start) },
          lastRefusal: activity.lastRefusal && { ...activity.lastRefusal, at: iso(activity.lastRefusal.at) },
        },
        200,
      );
    },
  );
}
