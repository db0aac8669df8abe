/** The permission catalogue: what a role can grant (resource × action). */

export const RESOURCES = [
  "USERS",
  "GROUPS",
  "BINDINGS",
  "ROLES",
  "SERVICE_ACCOUNTS",
  "INTEGRATIONS",
  "AUDIT_LOGS",
  "TENANT_ACCESS",
  "FLOWS",
  "EXECUTIONS",
  "NAMESPACES",
  "SECRETS",
  "KVSTORE",
] as const;
export type Resource = (typeof RESOURCES)[number];

export const ACTIONS = ["CREATE", "READ", "UPDATE", "DELETE"] as const;
export type Action = (typeof ACTIONS)[number];

export type Permissions = Partial<Record<Resource, Action[]>>;

/** Name of the role every provisioning integration's service account is bound to. */
export const SCIM_PROVISIONER_ROLE = "SCIMProvisioner";

/**
 * Exactly Kestra's SCIMProvisioner: no USERS:DELETE, because a SCIM DELETE of a user only
 * revokes this tenant's access (users are global).
 */
export const SCIM_PROVISIONER_PERMISSIONS: Permissions = {
  GROUPS: ["CREATE", "READ", "UPDATE", "DELETE"],
  USERS: ["CREATE", "READ", "UPDATE"],
  BINDINGS: ["CREATE", "READ", "UPDATE", "DELETE"],
};

/** Flattens a permissions map into (resource, action) pairs. */
export function permissionPairs(permissions: Permissions): { resource: Resource; action: Action }[] {
  return Object.entries(permissions).flatMap(([resource, actions]) =>
    (actions ?? []).map((action) => ({ resource: resource as Resource, action })),
  );
}
