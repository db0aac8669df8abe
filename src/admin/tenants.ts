/** Admin API: /api/v1/tenants and /api/v1/shards (admin token only). */
import { createRoute } from "@hono/zod-openapi";
import { shardStores } from "./stores";
import { tenantMover } from "./tenant-mover";
import { DIRECTORY, shardNames } from "../db/shards";
import { startMove, type MoveState } from "../iam/tenant-moves";
import { createTenant, getTenant, leastLoaded, listTenants, shardLoads, type Tenant as TenantRow } from "../iam/tenants";
import { adminOnly } from "./access";
import { bearer, body, json, problems, type AdminApp } from "./app";
import { ProblemError } from "./problem";
import { IdParam, page, PageQuery } from "./schemas";
import { CreateTenant, MoveTenant, ShardList, Tenant } from "./tenant-schemas";
import { decodeCursor, pageOf } from "./pages";
import { iso, isoOrNull } from "./times";

function render(tenant: TenantRow) {
  const state = tenant.moveState as unknown as MoveState | null;
  return {
    id: tenant.id,
    name: tenant.name,
    createdAt: iso(tenant.createdAt),
    shard: tenant.shard,
    moving: tenant.moveTo
      ? {
          from: state?.from ?? tenant.shard,
          to: tenant.moveTo,
          step: state?.step ?? "settle",
          copied: tenant.moveCopied ?? 0,
          total: tenant.moveTotal,
          startedAt: isoOrNull(tenant.moveStartedAt),
          lastError: state?.lastError ? { at: iso(state.lastError.at), message: state.lastError.message } : null,
        }
      : null,
    ...(state?.step === "failed"
      ? { lastMoveFailed: state.reason ?? "failed", lastMoveFailedAt: isoOrNull(state.failedAt), ...(state.to ? { lastMoveTo: state.to } : {}) }
      : {}),
  };
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
      const { shard: named, ...input } = c.req.valid("json");
      const shards = shardStores(c);
      if (named !== undefined && !shards.some((s) => s.name === named)) {
        throw new ProblemError(400, `'${named}' is not a shard of this deployment (${shards.map((s) => s.name).join(", ")}).`, { field: "shard" });
      }
      const name = named ?? (shards.length === 1 ? shards[0]!.name : leastLoaded(await shardLoads(c.var.directory, shards)));
      const shard = shards.find((s) => s.name === name)!;
      const result = await createTenant(c.var.directory, { ...input, shard, actor: c.var.actor, requestId: c.var.requestId });
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
      const rows = await listTenants(c.var.directory, { limit: limit + 1, after: decodeCursor(cursor) });
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
      const tenant = await getTenant(c.var.directory, id);
      if (!tenant) throw new ProblemError(404, `Tenant '${id}' does not exist.`);
      return c.json(render(tenant), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/tenants/{id}/move",
      tags,
      summary: "Move a tenant to another shard",
      description:
        "Answers 202 and moves the tenant in the background: reads go on throughout; SCIM and admin writes are refused with 503 and Retry-After while its rows are copied, then go to the new shard. GET /api/v1/tenants/{id} shows the progress (`moving`).",
      security: bearer,
      middleware: [adminOnly()] as const,
      request: { params: IdParam, ...body(MoveTenant) },
      responses: { 202: json(Tenant, "The tenant, moving."), ...problems(400, 401, 403, 404, 409, 415) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { shard } = c.req.valid("json");
      const shards = shardNames(c.env);
      const refused = await startMove(c.var.directory, { tenantId: id, to: shard, shards, actor: c.var.actor, requestId: c.var.requestId });
      if (refused) throw new ProblemError(refused.status, refused.detail, refused.status === 400 ? { field: "shard" } : {});
      await tenantMover(c.env, id).start(id);
      const tenant = (await getTenant(c.var.directory, id))!;
      return c.json(render(tenant), 202, { Location: `/api/v1/tenants/${id}` });
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/shards",
      tags,
      summary: "List the shards",
      description: "The databases tenants are placed on, with their tenant counts and sizes. With one database it is also the directory.",
      security: bearer,
      middleware: [adminOnly()] as const,
      responses: { 200: json(ShardList, "The shards."), ...problems(401, 403) },
    }),
    async (c) => {
      const loads = await shardLoads(c.var.directory, shardStores(c));
      return c.json({ shards: loads.map((load) => ({ ...load, directory: load.name === DIRECTORY })) }, 200);
    },
  );
}
