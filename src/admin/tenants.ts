/** Admin API: /api/v1/tenants. */
import { Hono } from "hono";
import { z } from "zod";
import type { AdminVariables } from "../auth/admin";
import { createTenant, getTenant, listTenants, RESERVED_TENANT_IDS, type Tenant } from "../iam/tenants";
import { ProblemError } from "./problem";
import { decodeCursor, input, iso, jsonBody, pageOf, pageQuery } from "./validation";

/** A tenant id: a lowercase DNS-style slug, so it is safe in URLs and unambiguous. */
export const tenantId = z
  .string()
  .max(63, "at most 63 characters")
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, "a lowercase slug: a-z, 0-9 and inner hyphens")
  .refine((id) => !RESERVED_TENANT_IDS.includes(id), { message: `reserved (${RESERVED_TENANT_IDS.join(", ")})` });

const createTenantBody = z.strictObject({
  id: tenantId,
  name: z.string().trim().min(1).max(200).optional(),
});

function render(tenant: Tenant) {
  return { id: tenant.id, name: tenant.name, createdAt: iso(tenant.createdAt) };
}

export const tenantRoutes = new Hono<{ Bindings: Env; Variables: AdminVariables }>()
  .post("/", jsonBody(createTenantBody), async (c) => {
    const result = await createTenant(c.var.db, c.req.valid("json"));
    switch (result.kind) {
      case "created":
        return c.json(render(result.tenant), 201, { Location: `/api/v1/tenants/${result.tenant.id}` });
      case "exists":
        throw new ProblemError(409, `Tenant '${c.req.valid("json").id}' already exists.`);
    }
  })
  .get("/", input("query", pageQuery), async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const rows = await listTenants(c.var.db, { limit: limit + 1, after: decodeCursor(cursor) });
    return c.json(pageOf(rows, limit, render));
  })
  .get("/:id", async (c) => {
    const tenant = await getTenant(c.var.db, c.req.param("id"));
    if (!tenant) throw new ProblemError(404, `Tenant '${c.req.param("id")}' does not exist.`);
    return c.json(render(tenant));
  });
