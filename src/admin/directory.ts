/** Admin API: provisioned users and groups (read-only: they are written over SCIM). */
import { Hono } from "hono";
import type { AdminVariables } from "../auth/admin";
import { countMembers, getGroup, listGroups, listMembers, type GroupSummary } from "../iam/groups";
import { getGlobalUser, listTenantUsers, type TenantUser } from "../iam/users";
import { ProblemError } from "./problem";
import { decodeCursor, encodeCursor, input, iso, pageOf, pageQuery } from "./validation";

type TenantVariables = AdminVariables & { tenantId: string };

function renderTenantUser(user: TenantUser) {
  return {
    id: user.id,
    userName: user.userName,
    displayName: (user.profile.displayName as string | undefined) ?? null,
    externalId: user.externalId,
    active: user.active,
    createdAt: iso(user.createdAt),
    updatedAt: iso(user.updatedAt),
  };
}

function renderGroup(group: GroupSummary) {
  return {
    id: group.id,
    displayName: group.displayName,
    externalId: group.externalId,
    memberCount: group.memberCount,
    createdAt: iso(group.createdAt),
    updatedAt: iso(group.updatedAt),
  };
}

/** /api/v1/users/{id}: a global user and the tenants it can access. */
export const globalUserRoutes = new Hono<{ Bindings: Env; Variables: AdminVariables }>().get("/:id", async (c) => {
  const user = await getGlobalUser(c.var.db, c.req.param("id"));
  if (!user) throw new ProblemError(404, `User '${c.req.param("id")}' does not exist.`);
  return c.json({
    id: user.id,
    userName: user.userName,
    displayName: (user.profile.displayName as string | undefined) ?? null,
    emails: (user.profile.emails as unknown[] | undefined) ?? [],
    createdAt: iso(user.createdAt),
    updatedAt: iso(user.updatedAt),
    tenants: user.tenants.map((t) => ({ tenant: t.tenantId, externalId: t.externalId, active: t.active, since: iso(t.createdAt) })),
  });
});

/** /api/v1/{tenant}/users. */
export const tenantUserRoutes = new Hono<{ Bindings: Env; Variables: TenantVariables }>().get("/", input("query", pageQuery), async (c) => {
  const { limit, cursor } = c.req.valid("query");
  const rows = await listTenantUsers(c.var.db, c.var.tenantId, { limit: limit + 1, after: decodeCursor(cursor) });
  return c.json(pageOf(rows, limit, renderTenantUser));
});

/** /api/v1/{tenant}/groups and /api/v1/{tenant}/groups/{id} (members paged with ?limit&cursor). */
export const groupRoutes = new Hono<{ Bindings: Env; Variables: TenantVariables }>()
  .get("/", input("query", pageQuery), async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const rows = await listGroups(c.var.db, c.var.tenantId, { limit: limit + 1, after: decodeCursor(cursor) });
    return c.json(pageOf(rows, limit, renderGroup));
  })
  .get("/:id", input("query", pageQuery), async (c) => {
    const group = await getGroup(c.var.db, c.var.tenantId, c.req.param("id"));
    if (!group) throw new ProblemError(404, `Group '${c.req.param("id")}' does not exist in tenant '${c.var.tenantId}'.`);
    const { limit, cursor } = c.req.valid("query");
    const [members, total] = await Promise.all([
      listMembers(c.var.db, group.id, { limit: limit + 1, after: decodeCursor(cursor) }),
      countMembers(c.var.db, group.id),
    ]);
    const more = members.length > limit;
    const page = more ? members.slice(0, limit) : members;
    return c.json({
      ...renderGroup({ ...group, memberCount: total }),
      members: page,
      ...(more ? { nextCursor: encodeCursor(page[page.length - 1]!.id) } : {}),
    });
  });
