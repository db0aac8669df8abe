/** Rendering stored rows as SCIM resources (RFC 7643 §4), with `meta` and absolute locations. */
import type { Group, Member } from "../../iam/group-reads";
import type { TenantUser } from "../../iam/user-reads";
import { userEtag, type UserFields } from "../../iam/users";
import type { Doc } from "./validate";
import { declaredUniqueAttributes, isExtensionKey, uniqueKey, uniqueValueKey } from "./extensions";
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA, userSchema, type ResourceTypeDef } from "./schemas";

/**
 * Base URL of one integration's SCIM endpoint, e.g.
 * https://host/api/v1/acme/integrations/ID/scim/v2.
 */
export type ScimBase = string;

const iso = (ms: number) => new Date(ms).toISOString();

/** Weak ETag of a group. */
export function groupVersion(group: Pick<Group, "version">): string {
  return `W/"${group.version}"`;
}

/** Renders a user; `user.groups` (the tenant's memberships of the user) when they were loaded. */
export function renderUser(user: TenantUser, base: ScimBase): Record<string, unknown> {
  const groups = user.groups;
  const profile = user.profile;
  const resource: Record<string, unknown> = { schemas: [USER_SCHEMA], id: user.id };
  if (user.externalId !== null) resource.externalId = user.externalId;
  resource.userName = user.userName;
  // Core attributes in schema order, for a stable, readable document.
  for (const def of userSchema.attributes) {
    if (def.name === "userName" || def.name === "active" || def.name === "groups" || def.name === "password") continue;
    const value = profile[def.name];
    if (value !== undefined && value !== null) resource[def.name] = value;
  }
  resource.active = user.active;
  if (groups && groups.length > 0) {
    resource.groups = groups.map((g) => ({ value: g.id, $ref: `${base}/Groups/${g.id}`, display: g.displayName, type: "direct" }));
  }
  const enterprise = profile[ENTERPRISE_USER_SCHEMA] as Record<string, unknown> | undefined;
  if (enterprise && Object.keys(enterprise).length > 0) {
    const ext: Record<string, unknown> = { ...enterprise };
    const manager = ext.manager as Record<string, unknown> | undefined;
    if (manager && typeof manager.value === "string") {
      // Entra fails to deserialize a string manager: always an object; $ref only while it resolves
      // (a manager whose access was revoked keeps its value and loses the link).
      ext.manager = user.managerResolved ? { ...manager, $ref: `${base}/Users/${manager.value}` } : { value: manager.value };
    }
    resource.schemas = [USER_SCHEMA, ENTERPRISE_USER_SCHEMA];
    resource[ENTERPRISE_USER_SCHEMA] = ext;
  }
  // The tenant's own extensions, declared or not: stored as validated (or as sent), returned as
  // stored.
  for (const [key, value] of Object.entries(profile)) {
    if (isExtensionKey(key) && value && typeof value === "object") {
      resource[key] = value;
      resource.schemas = [...(resource.schemas as string[]), key];
    }
  }
  resource.meta = {
    resourceType: "User",
    created: iso(user.createdAt),
    lastModified: iso(user.updatedAt),
    location: `${base}/Users/${user.id}`,
    version: userEtag(user),
  };
  return resource;
}

/** Renders a group; `members` is omitted when not loaded (e.g. `excludedAttributes=members`). */
export function renderGroup(group: Group, base: ScimBase, members?: Member[]): Record<string, unknown> {
  const resource: Record<string, unknown> = { schemas: [GROUP_SCHEMA], id: group.id };
  if (group.externalId !== null) resource.externalId = group.externalId;
  resource.displayName = group.displayName;
  if (members) {
    resource.members = members.map((m) => ({ value: m.userId, $ref: `${base}/Users/${m.userId}`, display: m.display, type: "User" }));
  }
  resource.meta = {
    resourceType: "Group",
    created: iso(group.createdAt),
    lastModified: iso(group.updatedAt),
    location: `${base}/Groups/${group.id}`,
    version: groupVersion(group),
  };
  return resource;
}

// ---- documents ↔ rows ----------------------------------------------------------------------

/** A user as a canonical document (what PATCH operates on). */
export function userDoc(user: TenantUser): Doc {
  return {
    ...(user.externalId !== null ? { externalId: user.externalId } : {}),
    userName: user.userName,
    ...user.profile,
    active: user.active,
  };
}

/**
 * Splits a canonical user document into the fields a tenant's view keeps. With the tenant's
 * `type`, the values of its declared unique attributes come along, to be kept unique.
 */
export function userFields(doc: Doc, externalId: string | null, type?: ResourceTypeDef): UserFields {
  const { userName, active, externalId: _ignored, ...profile } = doc;
  const enterprise = profile[ENTERPRISE_USER_SCHEMA] as Doc | undefined;
  const managerValue = (enterprise?.manager as Doc | undefined)?.value;
  const managerId = typeof managerValue === "string" && managerValue !== "" ? managerValue : null;
  if (enterprise) {
    // The manager is stored as its id; $ref is built on the way out, displayName is read-only.
    const { manager: _manager, ...rest } = enterprise;
    if (managerId) profile[ENTERPRISE_USER_SCHEMA] = { ...rest, manager: { value: managerId } };
    else if (Object.keys(rest).length > 0) profile[ENTERPRISE_USER_SCHEMA] = rest;
    else delete profile[ENTERPRISE_USER_SCHEMA];
  }
  const emails = ((profile.emails as Doc[] | undefined) ?? [])
    .filter((e) => typeof e.value === "string")
    .map((e) => ({
      value: e.value as string,
      type: (e.type as string | undefined) ?? null,
      display: (e.display as string | undefined) ?? null,
      primary: e.primary === true,
    }));
  const unique = type ? declaredUniqueAttributes(type) : [];
  return {
    userName: userName as string,
    profile,
    emails,
    managerId,
    externalId,
    active: active === undefined ? true : (active as boolean),
    ...(unique.length > 0
      ? {
          uniqueValues: unique.flatMap(({ schema, def }) => {
            const valueKey = uniqueValueKey(def, (profile[schema.id] as Doc | undefined)?.[def.name]);
            return valueKey === undefined ? [] : [{ attribute: uniqueKey(schema, def), valueKey }];
          }),
        }
      : {}),
  };
}

/** A group's attributes as a canonical document (members are rows, never in here). */
export function groupDoc(group: Group): Doc {
  return { ...(group.externalId !== null ? { externalId: group.externalId } : {}), displayName: group.displayName };
}
