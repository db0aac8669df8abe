/** Roles: named sets of permissions (resource × action) within a tenant. */
import { and, asc, eq, gt, inArray } from "drizzle-orm";
import type { Db, Statement } from "../db/client";
import { chunk, MAX_BOUND_PARAMETERS } from "../db/chunk";
import { violates } from "../db/constraints";
import { newId } from "../db/ids";
import { bindings, rolePermissions, roles } from "../db/schema";
import { auditStatement, diffOf } from "./audit";
import { permissionPairs, type Action, type Permissions, type Resource } from "./permissions";
import { commit, type WriteContext } from "./writes";

export interface Role {
  id: string;
  tenantId: string;
  name: string;
  description: string | null;
  permissions: Permissions;
  createdAt: number;
  updatedAt: number;
}

type RoleRow = typeof roles.$inferSelect;

/** Resources and actions in a stable order, so equal permission sets compare (and audit) equal. */
export function normalizePermissions(permissions: Permissions): Permissions {
  const out: Permissions = {};
  for (const resource of Object.keys(permissions).sort() as Resource[]) {
    const actions = [...new Set(permissions[resource] ?? [])].sort();
    if (actions.length > 0) out[resource] = actions;
  }
  return out;
}

async function withPermissions(db: Db, rows: RoleRow[]): Promise<Role[]> {
  if (rows.length === 0) return [];
  const pairs: (typeof rolePermissions.$inferSelect)[] = [];
  for (const ids of chunk(rows.map((r) => r.id), MAX_BOUND_PARAMETERS)) {
    pairs.push(...(await db.select().from(rolePermissions).where(inArray(rolePermissions.roleId, ids))));
  }
  return rows.map((row) => {
    const permissions: Permissions = {};
    for (const p of pairs.filter((p) => p.roleId === row.id)) {
      (permissions[p.resource as Resource] ??= []).push(p.action as Action);
    }
    return { ...row, permissions: normalizePermissions(permissions) };
  });
}

/** Lists a tenant's roles in creation order. */
export async function listRoles(db: Db, tenantId: string, page: { limit: number; after?: string }): Promise<Role[]> {
  const rows = await db
    .select()
    .from(roles)
    .where(and(eq(roles.tenantId, tenantId), page.after ? gt(roles.id, page.after) : undefined))
    .orderBy(asc(roles.id))
    .limit(page.limit);
  return withPermissions(db, rows);
}

/** Returns one role of a tenant with its permissions, or undefined. */
export async function getRole(db: Db, tenantId: string, id: string): Promise<Role | undefined> {
  const row = await db.select().from(roles).where(and(eq(roles.tenantId, tenantId), eq(roles.id, id))).get();
  return row ? (await withPermissions(db, [row]))[0] : undefined;
}

/** Returns a tenant's role of that name, or undefined. */
export async function getRoleByName(db: Db, tenantId: string, name: string): Promise<Role | undefined> {
  const row = await db.select().from(roles).where(and(eq(roles.tenantId, tenantId), eq(roles.name, name))).get();
  return row ? (await withPermissions(db, [row]))[0] : undefined;
}

function permissionInserts(db: Db, roleId: string, permissions: Permissions): Statement[] {
  const rows = permissionPairs(permissions).map((p) => ({ roleId, ...p }));
  // 3 bound values a row: 33 rows a statement stay under D1's 100 parameters.
  const statements: Statement[] = [];
  for (let i = 0; i < rows.length; i += 33) statements.push(db.insert(rolePermissions).values(rows.slice(i, i + 33)).onConflictDoNothing());
  return statements;
}


export type CreateRoleResult = { kind: "created"; role: Role } | { kind: "exists" };

/** Creates a role; `exists` when the tenant has a role of that name. */
export async function createRole(
  db: Db,
  ctx: WriteContext,
  input: { name: string; description?: string | null; permissions: Permissions },
  now = Date.now(),
): Promise<CreateRoleResult> {
  const id = newId(now);
  try {
    await commit(db, [
      db.insert(roles).values({ id, tenantId: ctx.tenantId, name: input.name, description: input.description ?? null, createdAt: now, updatedAt: now }),
      ...permissionInserts(db, id, input.permissions),
      auditStatement(
        db,
        { ...ctx, action: "CREATE", resourceType: "ROLE", resourceId: id, resourceName: input.name, diff: diffOf({}, { name: input.name, permissions: input.permissions }) },
        now,
      ),
    ]);
  } catch (error) {
    if (violates(error, "UNIQUE")) return { kind: "exists" };
    throw error;
  }
  return { kind: "created", role: (await getRole(db, ctx.tenantId, id))! };
}

export type UpdateRoleResult = { kind: "updated"; role: Role } | { kind: "not_found" } | { kind: "exists" };

/** Renames, re-describes or replaces the permissions of a role (the whole set, when given). */
export async function updateRole(
  db: Db,
  ctx: WriteContext,
  input: { id: string; name?: string; description?: string | null; permissions?: Permissions },
  now = Date.now(),
): Promise<UpdateRoleResult> {
  const current = await getRole(db, ctx.tenantId, input.id);
  if (!current) return { kind: "not_found" };
  const before = { name: current.name, description: current.description, permissions: current.permissions };
  const after = {
    name: input.name ?? current.name,
    description: input.description !== undefined ? input.description : current.description,
    permissions: input.permissions ? normalizePermissions(input.permissions) : current.permissions,
  };
  const diff = diffOf(before, after);
  if (Object.keys(diff).length === 0) return { kind: "updated", role: current };
  try {
    await commit(db, [
      db.update(roles).set({ name: after.name, description: after.description, updatedAt: now }).where(eq(roles.id, current.id)),
      ...(input.permissions
        ? [db.delete(rolePermissions).where(eq(rolePermissions.roleId, current.id)), ...permissionInserts(db, current.id, input.permissions)]
        : []),
      auditStatement(db, { ...ctx, action: "UPDATE", resourceType: "ROLE", resourceId: current.id, resourceName: after.name, diff }, now),
    ]);
  } catch (error) {
    if (violates(error, "UNIQUE")) return { kind: "exists" };
    // Deleted meanwhile: its new permission rows would point at nothing.
    if (violates(error, "FOREIGN KEY")) {
      return { kind: "not_found" };
    }
    throw error;
  }
  const role = await getRole(db, ctx.tenantId, current.id);
  return role ? { kind: "updated", role } : { kind: "not_found" };
}

export type DeleteRoleResult = { kind: "deleted" } | { kind: "not_found" } | { kind: "bound"; bindings: number };

/** Deletes a role that nothing is bound to; a bound role is refused. */
export async function deleteRole(db: Db, ctx: WriteContext, id: string, now = Date.now()): Promise<DeleteRoleResult> {
  const current = await getRole(db, ctx.tenantId, id);
  if (!current) return { kind: "not_found" };
  const bound = await db.select({ id: bindings.id }).from(bindings).where(eq(bindings.roleId, id));
  if (bound.length > 0) return { kind: "bound", bindings: bound.length };
  try {
    await commit(db, [
      db.delete(rolePermissions).where(eq(rolePermissions.roleId, id)),
      db.delete(roles).where(eq(roles.id, id)),
      auditStatement(
        db,
        { ...ctx, action: "DELETE", resourceType: "ROLE", resourceId: id, resourceName: current.name, diff: diffOf({ name: current.name, permissions: current.permissions }, {}) },
        now,
      ),
    ]);
  } catch (error) {
    // A binding created since the check: bindings.role_id has no cascade, so the delete fails.
    if (violates(error, "FOREIGN KEY")) {
      return { kind: "bound", bindings: 1 };
    }
    throw error;
  }
  return { kind: "deleted" };
}
