/** Admin API: provisioned users and groups (read-only here: they are written over SCIM). */
import { createRoute } from "@hono/zod-openapi";
import { countMembers, getGroup, listGroups, listMembers, type GroupSummary as GroupRow } from "../iam/group-reads";
import { getGlobalUser, getGlobalUserAcrossShards, getTenantUser, listTenantUsers, userCursor, type TenantUser as TenantUserRow } from "../iam/user-reads";
import { adminOnly, tenantAccess } from "./access";
import { bearer, json, problems, type AdminApp } from "./app";
import { ProblemError } from "./problem";
import { GlobalUser, GroupDetail, GroupSummary, IdParam, page, PageQuery, TenantIdParams, TenantParam, TenantUser, TenantUserDetail, UserQuery } from "./schemas";
import { decodeCursor, pageOf } from "./pages";
import { shardDb } from "./stores";
import { iso } from "./times";
import { isSharded } from "../db/shards";

function renderTenantUser(user: TenantUserRow) {
  return {
    id: user.id,
    userName: user.userName,
    displayName: (user.profile.displayName as string | undefined) ?? null,
    externalId: user.externalId,
    active: user.active,
    groups: user.groups ?? [],
    createdAt: iso(user.createdAt),
    updatedAt: iso(user.updatedAt),
  };
}

/** The string parts of a SCIM name (formatted, givenName…), or null when the tenant sent none. */
function nameOf(name: unknown): Record<string, string> | null {
  if (!name || typeof name !== "object") return null;
  const parts = Object.entries(name).filter((entry): entry is [string, string] => typeof entry[1] === "string");
  return parts.length ? Object.fromEntries(parts) : null;
}

/** SCIM emails as sent, keeping value, type and primary (the profile is the tenant's own JSON). */
function emailsOf(emails: unknown): { value: string; type?: string; primary?: boolean }[] {
  if (!Array.isArray(emails)) return [];
  return emails.flatMap((email: Record<string, unknown> | null) =>
    typeof email?.value === "string"
      ? [{ value: email.value, ...(typeof email.type === "string" ? { type: email.type } : {}), ...(email.primary === true ? { primary: true } : {}) }]
      : [],
  );
}

function renderGroup(group: GroupRow) {
  return {
    id: group.id,
    displayName: group.displayName,
    externalId: group.externalId,
    memberCount: group.memberCount,
    createdAt: iso(group.createdAt),
    updatedAt: iso(group.updatedAt),
  };
}

/** Registers the user and group views. */
export function registerDirectory(app: AdminApp): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/users/{id}",
      tags: ["Users"],
      summary: "Read a global user with each tenant's own view of it (operator only)",
      security: bearer,
      middleware: [adminOnly()] as const,
      request: { params: IdParam },
      responses: { 200: json(GlobalUser, "The user."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const user = isSharded(c.env) ? await getGlobalUserAcrossShards(c.var.directory, shardDb(c), id) : await getGlobalUser(c.var.db, id);
      if (!user) throw new ProblemError(404, `User '${id}' does not exist.`);
      return c.json(
        {
          id: user.id,
          userName: user.userName,
          createdAt: iso(user.createdAt),
          updatedAt: iso(user.updatedAt),
          tenants: user.views.map(({ profile: { displayName, emails, ...attributes }, ...view }) => ({
            tenant: view.tenantId,
            tenantName: view.tenantName,
            userName: view.userName,
            displayName: typeof displayName === "string" ? displayName : null,
            emails: Array.isArray(emails) ? emails : [],
            externalId: view.externalId,
            active: view.active,
            attributes,
            since: iso(view.createdAt),
            updatedAt: iso(view.updatedAt),
          })),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/{tenant}/users",
      tags: ["Users"],
      summary: "List the users with access to a tenant",
      security: bearer,
      middleware: [tenantAccess("USERS", "READ")] as const,
      request: { params: TenantParam, query: UserQuery },
      responses: { 200: json(page(TenantUser, "TenantUserPage"), "A page of users, each with its groups."), ...problems(400, 401, 403, 404) },
    }),
    async (c) => {
      const { limit, cursor, search } = c.req.valid("query");
      const rows = await listTenantUsers(c.var.db, c.var.tenantId, { limit: limit + 1, after: decodeCursor(cursor), search: search || undefined });
      // User ids are random: the list resumes from the last user's time and id.
      return c.json(pageOf(rows, limit, renderTenantUser, userCursor), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/{tenant}/users/{id}",
      tags: ["Users"],
      summary: "Read a user as this tenant sees it: its profile, state and groups here",
      security: bearer,
      middleware: [tenantAccess("USERS", "READ")] as const,
      request: { params: TenantIdParams },
      responses: { 200: json(TenantUserDetail, "The user, as this tenant provisioned it."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const user = await getTenantUser(c.var.db, c.var.tenantId, id, { withGroups: true });
      if (!user) throw new ProblemError(404, `User '${id}' has no access to tenant '${c.var.tenantId}'.`);
      return c.json({ ...renderTenantUser(user), name: nameOf(user.profile.name), emails: emailsOf(user.profile.emails) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/{tenant}/groups",
      tags: ["Groups"],
      summary: "List a tenant's groups with their member counts",
      security: bearer,
      middleware: [tenantAccess("GROUPS", "READ")] as const,
      request: { params: TenantParam, query: PageQuery },
      responses: { 200: json(page(GroupSummary, "GroupPage"), "A page of groups."), ...problems(400, 401, 403, 404) },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const rows = await listGroups(c.var.db, c.var.tenantId, { limit: limit + 1, after: decodeCursor(cursor) });
      return c.json(pageOf(rows, limit, renderGroup), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/{tenant}/groups/{id}",
      tags: ["Groups"],
      summary: "Read a group with a page of its members",
      security: bearer,
      middleware: [tenantAccess("GROUPS", "READ")] as const,
      request: { params: TenantIdParams, query: PageQuery },
      responses: { 200: json(GroupDetail, "The group; `nextCursor` pages its members."), ...problems(400, 401, 403, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const group = await getGroup(c.var.db, c.var.tenantId, id);
      if (!group) throw new ProblemError(404, `Group '${id}' does not exist in tenant '${c.var.tenantId}'.`);
      const { limit, cursor } = c.req.valid("query");
      const [members, total] = await Promise.all([
        listMembers(c.var.db, group.id, { limit: limit + 1, after: decodeCursor(cursor) }),
        countMembers(c.var.db, group.id),
      ]);
      // Members are in user id order: the page resumes from the last member's id.
      const { results, ...next } = pageOf(members, limit, (member) => member);
      return c.json({ ...renderGroup({ ...group, memberCount: total }), members: results, ...next }, 200);
    },
  );
}
