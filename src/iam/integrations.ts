/**
 * Provisioning integrations. Creating one does what Kestra does, in one batch: the tenant's
 * SCIMProvisioner role (created once, then reused), a service account, its binding to the role
 * and an API token whose secret is returned once and stored only as a hash.
 */
import { and, asc, eq, gt, sql } from "drizzle-orm";
import { violates } from "../db/constraints";
import type { Db, Statement } from "../db/client";
import { newId } from "../db/ids";
import {
  apiTokens,
  bindings,
  integrations,
  rolePermissions,
  roles,
  serviceAccounts,
  PROVISIONING_TYPES,
} from "../db/schema";
import { auditStatement, diffOf, type Actor } from "./audit";
import { permissionPairs, SCIM_PROVISIONER_PERMISSIONS, SCIM_PROVISIONER_ROLE } from "./permissions";
import { mintTokenFor, serviceAccountStatement } from "./service-accounts";
import { commit } from "./writes";
import { getTenant } from "./tenants";

export type ProvisioningType = (typeof PROVISIONING_TYPES)[number];

/** An integration as services return it; the admin API adds `endpoint` (it needs the URL). */
export interface Integration {
  id: string;
  tenantId: string;
  name: string;
  description: string | null;
  provisioningType: ProvisioningType;
  enabled: boolean;
  serviceAccountId: string;
  /**
   * The SCIMProvisioner role the service account is bound to (null if that binding was removed).
   */
  roleId: string | null;
  /** How many tokens its service account holds: rotation keeps exactly one. */
  tokenCount: number;
  /** The `RESOURCE:ACTION` pairs its service account's tenant-wide bindings grant. */
  grantedPermissions: string[];
  createdAt: number;
  updatedAt: number;
}

/** Who asked, for the audit log. */
export interface Context {
  actor: Actor;
  requestId?: string;
}

// Written out qualified: Drizzle drops table names from columns in a single-table selection,
// which would make this correlated subquery ambiguous.
const provisionerRoleId = sql<string | null>`(
  select b.role_id from bindings b join roles r on r.id = b.role_id
  where b.subject_type = 'SERVICE_ACCOUNT' and b.subject_id = "integrations"."service_account_id"
    and r.name = ${SCIM_PROVISIONER_ROLE}
  order by b.id limit 1)`;

const tokenCount = sql<number>`(
  select count(*) from api_tokens t where t.service_account_id = "integrations"."service_account_id")`;

const grantedPermissions = sql<string[]>`(
  select json_group_array(distinct rp.resource || ':' || rp.action)
  from bindings b join role_permissions rp on rp.role_id = b.role_id
  where b.subject_type = 'SERVICE_ACCOUNT' and b.subject_id = "integrations"."service_account_id"
    and b.namespace is null)`.mapWith((value: string | null) => (value ? (JSON.parse(value) as string[]) : []));

const integrationColumns = {
  id: integrations.id,
  tenantId: integrations.tenantId,
  name: integrations.name,
  description: integrations.description,
  provisioningType: integrations.provisioningType,
  enabled: integrations.enabled,
  serviceAccountId: integrations.serviceAccountId,
  roleId: provisionerRoleId,
  tokenCount,
  grantedPermissions,
  createdAt: integrations.createdAt,
  updatedAt: integrations.updatedAt,
};

/**
 * What keeps an integration from working although it may be enabled: no token, or a service
 * account short of the SCIMProvisioner permissions (its role was edited, say). Empty when healthy.
 * The admin API refuses to revoke its token or remove its binding; this catches every other way.
 */
export function integrationProblems(integration: Pick<Integration, "tokenCount" | "grantedPermissions">): string[] {
  const problems: string[] = [];
  if (integration.tokenCount === 0) problems.push("It has no token: every SCIM request is refused (401). Rotate its token to mint one.");
  const granted = new Set(integration.grantedPermissions);
  const missing = permissionPairs(SCIM_PROVISIONER_PERMISSIONS)
    .map(({ resource, action }) => `${resource}:${action}`)
    .filter((p) => !granted.has(p));
  if (missing.length > 0) {
    problems.push(
      `Its service account lacks ${missing.join(", ")}: the SCIM requests that need ${missing.length === 1 ? "it" : "them"} are refused (403). Give its ${SCIM_PROVISIONER_ROLE} role back these permissions.`,
    );
  }
  return problems;
}

export type CreateIntegrationResult =
  | { kind: "created"; integration: Integration; secretToken: string }
  | { kind: "tenant_not_found" };

/** Creates an integration with its role, service account, binding and token, in one batch. */
export async function createIntegration(
  db: Db,
  input: {
    tenantId: string;
    name: string;
    description?: string | null;
    provisioningType: ProvisioningType;
    enabled: boolean;
  } & Context,
  now: number = Date.now(),
): Promise<CreateIntegrationResult> {
  if (!(await getTenant(db, input.tenantId))) return { kind: "tenant_not_found" };
  const id = newId(now);
  const serviceAccountId = newId(now);
  const candidateRoleId = newId(now);
  const bindingId = newId(now);
  const accountName = `scim-${input.name}`.slice(0, 200);
  const token = await mintTokenFor(db, { tenantId: input.tenantId, serviceAccountId }, now);
  // The role may be created by a concurrent first integration of the tenant: insert it only if
  // absent, give it permissions only if this batch's row won, and bind by name, not by id.
  const roleByName = sql`(select ${roles.id} from ${roles} where ${roles.tenantId} = ${input.tenantId} and ${roles.name} = ${SCIM_PROVISIONER_ROLE})`;
  const statements: Statement[] = [
    db
      .insert(roles)
      .values({
        id: candidateRoleId,
        tenantId: input.tenantId,
        name: SCIM_PROVISIONER_ROLE,
        description: "Created for SCIM provisioning integrations: manage groups, users and bindings.",
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoNothing(),
    ...permissionPairs(SCIM_PROVISIONER_PERMISSIONS).map(({ resource, action }) =>
      db
        .insert(rolePermissions)
        .select(
          db
            .select({ roleId: roles.id, resource: sql<string>`${resource}`.as("resource"), action: sql<string>`${action}`.as("action") })
            .from(roles)
            .where(eq(roles.id, candidateRoleId)),
        )
        .onConflictDoNothing(),
    ),
    serviceAccountStatement(
      db,
      {
        id: serviceAccountId,
        tenantId: input.tenantId,
        name: accountName,
        description: `Service account of the provisioning integration ${id}.`,
      },
      now,
    ),
    db.insert(bindings).values({
      id: bindingId,
      tenantId: input.tenantId,
      roleId: roleByName,
      subjectType: "SERVICE_ACCOUNT",
      subjectId: serviceAccountId,
      namespace: null,
      createdAt: now,
    }),
    token.statement,
    db.insert(integrations).values({
      id,
      tenantId: input.tenantId,
      name: input.name,
      description: input.description ?? null,
      provisioningType: input.provisioningType,
      enabled: input.enabled,
      serviceAccountId,
      createdAt: now,
      updatedAt: now,
    }),
    ...[
      {
        resourceType: "INTEGRATION",
        resourceId: id,
        resourceName: input.name,
        diff: diffOf({}, { name: input.name, description: input.description ?? null, enabled: input.enabled }),
      },
      { resourceType: "SERVICE_ACCOUNT", resourceId: serviceAccountId, resourceName: accountName, diff: diffOf({}, { integrationId: id }) },
      { resourceType: "BINDING", resourceId: bindingId, diff: { binding: { after: { role: SCIM_PROVISIONER_ROLE, subjectType: "SERVICE_ACCOUNT", subjectId: serviceAccountId } } } },
      { resourceType: "API_TOKEN", resourceId: token.id, diff: diffOf({}, { serviceAccountId }) },
    ].map((event) =>
      auditStatement(db, { tenantId: input.tenantId, integrationId: id, actor: input.actor, action: "CREATE", requestId: input.requestId, ...event }, now),
    ),
  ];
  await db.batch(statements as [Statement, ...Statement[]]);
  const integration = await getIntegration(db, input.tenantId, id);
  if (!integration) throw new Error(`integration ${id} vanished right after its creation`);
  return { kind: "created", integration, secretToken: token.secretToken };
}

/** Returns one integration of a tenant, or undefined. */
export async function getIntegration(db: Db, tenantId: string, id: string): Promise<Integration | undefined> {
  return db
    .select(integrationColumns)
    .from(integrations)
    .where(and(eq(integrations.tenantId, tenantId), eq(integrations.id, id)))
    .get();
}

/** Lists a tenant's integrations in creation order, `limit` at a time after the `after` id. */
export async function listIntegrations(
  db: Db,
  tenantId: string,
  page: { limit: number; after?: string },
): Promise<Integration[]> {
  return db
    .select(integrationColumns)
    .from(integrations)
    .where(and(eq(integrations.tenantId, tenantId), page.after ? gt(integrations.id, page.after) : undefined))
    .orderBy(asc(integrations.id))
    .limit(page.limit);
}

export interface IntegrationPatch {
  name?: string;
  description?: string | null;
  enabled?: boolean;
}

export type UpdateIntegrationResult = { kind: "updated"; integration: Integration } | { kind: "not_found" };

/** Changes name, description or enabled flag; audited with a before/after diff. */
export async function updateIntegration(
  db: Db,
  input: { tenantId: string; id: string; patch: IntegrationPatch } & Context,
  now: number = Date.now(),
): Promise<UpdateIntegrationResult> {
  const current = await getIntegration(db, input.tenantId, input.id);
  if (!current) return { kind: "not_found" };
  const before = { name: current.name, description: current.description, enabled: current.enabled };
  const after = { ...before, ...input.patch };
  const diff = diffOf(before, after);
  if (Object.keys(diff).length > 0) {
    await db.batch([
      db
        .update(integrations)
        .set({ ...input.patch, updatedAt: now })
        .where(and(eq(integrations.tenantId, input.tenantId), eq(integrations.id, input.id))),
      auditStatement(
        db,
        {
          tenantId: input.tenantId,
          integrationId: input.id,
          actor: input.actor,
          action: "UPDATE",
          resourceType: "INTEGRATION",
          resourceId: input.id,
          resourceName: after.name,
          diff,
          requestId: input.requestId,
        },
        now,
      ),
    ]);
  }
  const integration = await getIntegration(db, input.tenantId, input.id);
  return integration ? { kind: "updated", integration } : { kind: "not_found" };
}

export type RotateTokenResult = { kind: "rotated"; secretToken: string } | { kind: "not_found" };

/** Replaces the integration's token: the old one stops working with this batch. */
export async function rotateIntegrationToken(
  db: Db,
  input: { tenantId: string; id: string } & Context,
  now: number = Date.now(),
): Promise<RotateTokenResult> {
  const current = await getIntegration(db, input.tenantId, input.id);
  if (!current) return { kind: "not_found" };
  const token = await mintTokenFor(db, { tenantId: input.tenantId, serviceAccountId: current.serviceAccountId }, now);
  // Admin changes are not queued (src/admin/integrations.ts): a delete that commits between the
  // read and this batch takes the service account, whose new token then fails its foreign key.
  const rotated = await db.batch([
    db.delete(apiTokens).where(eq(apiTokens.serviceAccountId, current.serviceAccountId)),
    token.statement,
    auditStatement(
      db,
      {
        tenantId: input.tenantId,
        integrationId: input.id,
        actor: input.actor,
        action: "ROTATE_TOKEN",
        resourceType: "INTEGRATION",
        resourceId: input.id,
        resourceName: current.name,
        requestId: input.requestId,
      },
      now,
    ),
  ]).then(
    () => true,
    (error: unknown) => {
      if (violates(error, "FOREIGN KEY")) return false;
      throw error;
    },
  );
  return rotated ? { kind: "rotated", secretToken: token.secretToken } : { kind: "not_found" };
}

export type DeleteIntegrationResult = { kind: "deleted" } | { kind: "not_found" };

/**
 * Deletes the integration with its service account, tokens and bindings. Users and groups it
 * provisioned stay: they belong to the tenant, not to the integration.
 */
export async function deleteIntegration(
  db: Db,
  input: { tenantId: string; id: string } & Context,
  now: number = Date.now(),
): Promise<DeleteIntegrationResult> {
  const current = await getIntegration(db, input.tenantId, input.id);
  if (!current) return { kind: "not_found" };
  const sa = current.serviceAccountId;
  // One round trip: what goes with the integration, and its account's name for the audit log.
  const [boundIds, tokenIds, [account]] = await db.batch([
    db.select({ id: bindings.id }).from(bindings).where(and(eq(bindings.subjectType, "SERVICE_ACCOUNT"), eq(bindings.subjectId, sa))),
    db.select({ id: apiTokens.id }).from(apiTokens).where(eq(apiTokens.serviceAccountId, sa)),
    db.select({ name: serviceAccounts.name }).from(serviceAccounts).where(eq(serviceAccounts.id, sa)),
  ]);
  const cascade = [
    { resourceType: "SERVICE_ACCOUNT", resourceId: sa, resourceName: account?.name ?? null },
    ...boundIds.map((b) => ({ resourceType: "BINDING", resourceId: b.id })),
    ...tokenIds.map((t) => ({ resourceType: "API_TOKEN", resourceId: t.id })),
  ].map((event) => auditStatement(db, { tenantId: input.tenantId, integrationId: input.id, actor: input.actor, action: "DELETE", requestId: input.requestId, ...event }, now));
  await commit(db, [
    ...cascade,
    db.delete(integrations).where(eq(integrations.id, input.id)),
    db.delete(apiTokens).where(eq(apiTokens.serviceAccountId, sa)),
    db.delete(bindings).where(and(eq(bindings.subjectType, "SERVICE_ACCOUNT"), eq(bindings.subjectId, sa))),
    db.delete(serviceAccounts).where(eq(serviceAccounts.id, sa)),
    auditStatement(
      db,
      {
        tenantId: input.tenantId,
        integrationId: input.id,
        actor: input.actor,
        action: "DELETE",
        resourceType: "INTEGRATION",
        resourceId: input.id,
        resourceName: current.name,
        diff: diffOf({ name: current.name, enabled: current.enabled }, {}),
        requestId: input.requestId,
      },
      now,
    ),
  ]);
  return { kind: "deleted" };
}
