/** Admin API: /api/v1/{tenant}/integrations (Kestra's Administration → IAM → Provisioning). */
import { Hono } from "hono";
import { z } from "zod";
import type { AdminVariables } from "../auth/admin";
import { publicBaseUrl, tenantsEnabled } from "../config";
import { integrationWriter } from "../iam/integration-writer";
import { createIntegration, getIntegration, listIntegrations, type Integration } from "../iam/integrations";
import { ProblemError } from "./problem";
import { decodeCursor, input, iso, jsonBody, pageOf, pageQuery } from "./validation";

const name = z.string().trim().min(1, "must not be empty").max(200);
const description = z.string().max(2000).nullable();

const createBody = z.strictObject({
  name,
  description: description.optional(),
  provisioningType: z.literal("SCIM_2_0", { error: "only SCIM_2_0 is supported" }).default("SCIM_2_0"),
  enabled: z.boolean().default(true),
});

const patchBody = z
  .strictObject({ name: name.optional(), description: description.optional(), enabled: z.boolean().optional() })
  .refine((patch) => Object.keys(patch).length > 0, { message: "give at least one of name, description, enabled" });

type Variables = AdminVariables & { tenantId: string };

/** Renders an integration with its absolute SCIM endpoint (the Tenant URL to paste into Entra). */
function render(integration: Integration, baseUrl: string) {
  return {
    id: integration.id,
    tenant: integration.tenantId,
    name: integration.name,
    description: integration.description,
    provisioningType: integration.provisioningType,
    enabled: integration.enabled,
    endpoint: `${baseUrl}/api/v1/${integration.tenantId}/integrations/${integration.id}/scim/v2`,
    serviceAccountId: integration.serviceAccountId,
    roleId: integration.roleId,
    createdAt: iso(integration.createdAt),
    updatedAt: iso(integration.updatedAt),
  };
}

function notFound(id: string, tenantId: string): never {
  throw new ProblemError(404, `Integration '${id}' does not exist in tenant '${tenantId}'.`);
}

/** /api/v1/{tenant}/integrations; the tenant is checked by the enclosing router. */
export const integrationRoutes = new Hono<{ Bindings: Env; Variables: Variables }>()
  .post("/", jsonBody(createBody), async (c) => {
    if (!tenantsEnabled(c.env)) {
      throw new ProblemError(
        403,
        "Provisioning integrations need multi-tenancy, which is disabled on this server: set TENANTS_ENABLED to \"true\" (Kestra's kestra.ee.tenants.enabled).",
      );
    }
    const body = c.req.valid("json");
    const result = await createIntegration(c.var.db, {
      ...body,
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
  })
  .get("/", input("query", pageQuery), async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const rows = await listIntegrations(c.var.db, c.var.tenantId, { limit: limit + 1, after: decodeCursor(cursor) });
    const baseUrl = publicBaseUrl(c.env, c.req.url);
    return c.json(pageOf(rows, limit, (row) => render(row, baseUrl)));
  })
  .get("/:id", async (c) => {
    const integration = await getIntegration(c.var.db, c.var.tenantId, c.req.param("id"));
    if (!integration) notFound(c.req.param("id"), c.var.tenantId);
    return c.json(render(integration, publicBaseUrl(c.env, c.req.url)));
  })
  .patch("/:id", jsonBody(patchBody), async (c) => {
    const id = c.req.param("id");
    const result = await integrationWriter(c.env, id).updateIntegration({
      tenantId: c.var.tenantId,
      id,
      patch: c.req.valid("json"),
      actor: c.var.actor,
      requestId: c.var.requestId,
    });
    switch (result.kind) {
      case "updated":
        return c.json(render(result.integration, publicBaseUrl(c.env, c.req.url)));
      case "not_found":
        return notFound(id, c.var.tenantId);
    }
  })
  .delete("/:id", async (c) => {
    const id = c.req.param("id");
    const result = await integrationWriter(c.env, id).deleteIntegration({
      tenantId: c.var.tenantId,
      id,
      actor: c.var.actor,
      requestId: c.var.requestId,
    });
    switch (result.kind) {
      case "deleted":
        return c.body(null, 204);
      case "not_found":
        return notFound(id, c.var.tenantId);
    }
  })
  .post("/:id/token", async (c) => {
    const id = c.req.param("id");
    const result = await integrationWriter(c.env, id).rotateToken({
      tenantId: c.var.tenantId,
      id,
      actor: c.var.actor,
      requestId: c.var.requestId,
    });
    switch (result.kind) {
      case "rotated":
        return c.json({ secretToken: result.secretToken }, 200, { "Cache-Control": "no-store" });
      case "not_found":
        return notFound(id, c.var.tenantId);
    }
  });
