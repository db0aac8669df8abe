/** Bindings: a role granted to a user, a group or a service account, optionally in a namespace. */
import { and, eq, gt, isNull, sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { violates } from "../db/constraints";
import { newId } from "../db/ids";
import { bindings, groups, integrations, roles, serviceAccounts, tenantUsers, type SubjectType } from "../db/schema";
import { SCIM_PROVISIONER_ROLE } from "./permissions";
import { auditStatement, auditStatementIf } from "./audit";
import { commit, type WriteContext } from "./writes";

/**
 * A binding as read: with its role's name and its subject's (the user's userName in this tenant,
 * the group's displayName or the service account's name; null only if the subject is gone).
 */
export type Binding = typeof bindings.$inferSelect & {
  roleName: string;
  subjectName: string | null;
  /** The integration whose own SCIMProvisioner binding this is (it owns it), or null. */
  integrationId: string | null;
  /** That integration's name, for a refusal that names it. */
  integrationName: string | null;
};

const bindingColumns = {
  id: bindings.id,
  tenantId: bindings.tenantId,
  roleId: bindings.roleId,
  subjectType: bindings.subjectType,
  subjectId: bindings.subjectId,
  namespace: bindings.namespace,
  createdAt: bindings.createdAt,
  roleName: roles.name,
  subjectName: sql<string | null>`coalesce(${tenantUsers.userName}, ${groups.displayName}, ${serviceAccounts.name})`,
  integrationId: integrations.id,
  integrationName: integrations.name,
};

/**
 * Bindings with their role and subject, in one query: each subject table is joined on its key
 * (at most one of the three matches a binding, by its subject type).
 */
function bindingsWithNames(db: Db) {
  return db
    .select(bindingColumns)
    .from(bindings)
    .innerJoin(roles, eq(roles.id, bindings.roleId))
    .leftJoin(
      tenantUsers,
      and(eq(bindings.subjectType, "USER"), eq(tenantUsers.tenantId, bindings.tenantId), eq(tenantUsers.userId, bindings.subjectId)),
    )
    .leftJoin(groups, and(eq(bindings.subjectType, "GROUP"), eq(groups.id, bindings.subjectId), eq(groups.tenantId, bindings.tenantId)))
    .leftJoin(
      serviceAccounts,
      and(eq(bindings.subjectType, "SERVICE_ACCOUNT"), eq(serviceAccounts.id, bindings.subjectId), eq(serviceAccounts.tenantId, bindings.tenantId)),
    )
    // What makes an integration work: its account's tenant-wide SCIMProvisioner binding.
    .leftJoin(
      integrations,
      and(
        eq(bindings.subjectType, "SERVICE_ACCOUNT"),
        isNull(bindings.namespace),
        eq(roles.name, SCIM_PROVISIONER_ROLE),
        eq(integrations.serviceAccountId, bindings.subjectId),
        eq(integrations.tenantId, bindings.tenantId),
      ),
    );
}

export interface BindingFilter {
  roleId?: string;
  subjectType?: SubjectType;
  subjectId?: string;
}

/** Lists a tenant's bindings, optionally by role or subject, in creation order. */
export async function listBindings(db: Db, tenantId: string, filter: BindingFilter, page: { limit: number; after?: string }): Promise<Binding[]> {
  return bindingsWithNames(db)
    .where(
      and(
        eq(bindings.tenantId, tenantId),
        filter.roleId ? eq(bindings.roleId, filter.roleId) : undefined,
        filter.subjectType ? eq(bindings.subjectType, filter.subjectType) : undefined,
        filter.subjectId ? eq(bindings.subjectId, filter.subjectId) : undefined,
        page.after ? gt(bindings.id, page.after) : undefined,
      ),
    )
    .orderBy(bindings.id)
    .limit(page.limit);
}

/** Returns one binding of a tenant, or undefined. */
export async function getBinding(db: Db, tenantId: string, id: string): Promise<Binding | undefined> {
  return bindingsWithNames(db)
    .where(and(eq(bindings.tenantId, tenantId), eq(bindings.id, id)))
    .get();
}

/** The condition "this subject exists in this tenant", for each kind of subject. */
function subjectExists(tenantId: string, subjectType: SubjectType, subjectId: string): SQL {
  switch (subjectType) {
    case "USER":
      return sql`exists (select 1 from ${tenantUsers} where ${tenantUsers.tenantId} = ${tenantId} and ${tenantUsers.userId} = ${subjectId})`;
    case "GROUP":
      return sql`exists (select 1 from ${groups} where ${groups.tenantId} = ${tenantId} and ${groups.id} = ${subjectId})`;
    case "SERVICE_ACCOUNT":
      return sql`exists (select 1 from ${serviceAccounts} where ${serviceAccounts.tenantId} = ${tenantId} and ${serviceAccounts.id} = ${subjectId})`;
  }
}

export type CreateBindingResult =
  | { kind: "created"; binding: Binding }
  | { kind: "role_not_found" }
  | { kind: "subject_not_found" }
  | { kind: "exists"; id: string };

/**
 * Binds a role to a subject. The insert itself requires role and subject to exist in the tenant,
 * so a subject removed at the same moment cannot leave a dangling binding.
 */
export async function createBinding(
  db: Db,
  ctx: WriteContext,
  input: { roleId: string; subjectType: SubjectType; subjectId: string; namespace?: string | null },
  now = Date.now(),
): Promise<CreateBindingResult> {
  const role = await db.select({ id: roles.id }).from(roles).where(and(eq(roles.tenantId, ctx.tenantId), eq(roles.id, input.roleId))).get();
  if (!role) return { kind: "role_not_found" };
  const namespace = input.namespace ?? null;
  const sameBinding = () =>
    db
      .select({ id: bindings.id })
      .from(bindings)
      .where(
        and(
          eq(bindings.tenantId, ctx.tenantId),
          eq(bindings.roleId, input.roleId),
          eq(bindings.subjectType, input.subjectType),
          eq(bindings.subjectId, input.subjectId),
          namespace === null ? sql`${bindings.namespace} is null` : eq(bindings.namespace, namespace),
        ),
      )
      .get();
  const same = await sameBinding();
  if (same) return { kind: "exists", id: same.id };
  const subject = await db.get<{ found: number }>(sql`select ${subjectExists(ctx.tenantId, input.subjectType, input.subjectId)} as found`);
  if (!subject?.found) return { kind: "subject_not_found" };
  const id = newId(now);
  const values = {
    id: sql`${id}`.as("id"),
    tenantId: sql`${ctx.tenantId}`.as("tenant_id"),
    roleId: roles.id,
    subjectType: sql`${input.subjectType}`.as("subject_type"),
    subjectId: sql`${input.subjectId}`.as("subject_id"),
    namespace: sql`${namespace}`.as("namespace"),
    createdAt: sql`${now}`.as("created_at"),
  };
  // Checked above, and again by the insert itself: a subject removed meanwhile inserts nothing
  // (and audits nothing), instead of leaving a dangling binding.
  try {
    await commit(db, [
    db
      .insert(bindings)
      .select(
        db
          .select(values)
          .from(roles)
          .where(and(eq(roles.tenantId, ctx.tenantId), eq(roles.id, input.roleId), subjectExists(ctx.tenantId, input.subjectType, input.subjectId))),
      ),
    auditStatementIf(
      db,
      {
        ...ctx,
        action: "CREATE",
        resourceType: "BINDING",
        resourceId: id,
        diff: { binding: { after: { roleId: input.roleId, subjectType: input.subjectType, subjectId: input.subjectId, namespace } } },
      },
      { table: bindings, where: eq(bindings.id, id) },
      now,
    ),
  ]);
  } catch (error) {
    // The same binding was created meanwhile (the unique index): answer as if it had been found.
    if (violates(error, "UNIQUE")) {
      const again = await sameBinding();
      if (again) return { kind: "exists", id: again.id };
    }
    throw error;
  }
  const binding = await getBinding(db, ctx.tenantId, id);
  return binding ? { kind: "created", binding } : { kind: "subject_not_found" };
}

export type DeleteBindingResult =
  | { kind: "deleted" }
  | { kind: "not_found" }
  | { kind: "integration_managed"; integrationId: string; integrationName: string };

/**
 * Deletes a binding (bindings are immutable: delete and create to change one). The binding that
 * makes a provisioning integration work (its service account's tenant-wide SCIMProvisioner
 * binding) is refused: removing it would break provisioning while the integration shows enabled.
 */
export async function deleteBinding(db: Db, ctx: WriteContext, id: string, now = Date.now()): Promise<DeleteBindingResult> {
  const current = await getBinding(db, ctx.tenantId, id);
  if (!current) return { kind: "not_found" };
  if (current.integrationId !== null) {
    return { kind: "integration_managed", integrationId: current.integrationId, integrationName: current.integrationName ?? current.integrationId };
  }
  await commit(db, [
    db.delete(bindings).where(eq(bindings.id, id)),
    auditStatement(
      db,
      {
        ...ctx,
        action: "DELETE",
        resourceType: "BINDING",
        resourceId: id,
        diff: { binding: { before: { roleId: current.roleId, subjectType: current.subjectType, subjectId: current.subjectId, namespace: current.namespace } } },
      },
      now,
    ),
  ]);
  return { kind: "deleted" };
}

