/**
 * Where the SCIM endpoint lives, written once: the route it is mounted on, the Tenant URL an
 * admin pastes into the identity provider, and the test for "is this a SCIM request".
 *
 * SCIM paths as clients write them (README, "SCIM support", tolerances): endpoint names in any
 * case (`/users`, `/USERS`, `/serviceproviderconfig`) and a trailing slash (`/Users/`,
 * `/Users/{id}/`) route like the canonical path. Ids and everything else keep their spelling.
 */
import { getPath } from "hono/utils/url";

/** The route every SCIM endpoint hangs under (Hono's parameters: `tenant`, `integrationId`). */
export const SCIM_MOUNT = "/api/v1/:tenant/integrations/:integrationId/scim/v2";

/** The absolute Tenant URL of one integration's SCIM endpoint, from the service's base URL. */
export function scimEndpoint(baseUrl: string, tenantId: string, integrationId: string): string {
  return `${baseUrl}${SCIM_MOUNT.replace(":tenant", tenantId).replace(":integrationId", integrationId)}`;
}

const ENDPOINTS = ["Users", "Groups", "ServiceProviderConfig", "ResourceTypes", "Schemas", "Bulk", "Me", ".search"];
const CANONICAL = new Map(ENDPOINTS.map((name) => [name.toLowerCase(), name]));
// SCIM_MOUNT as a pattern: its parameters match one segment each.
const MOUNT_PATTERN = SCIM_MOUNT.replace(/:\w+/g, "[^/]+");
const SCIM_PATH = new RegExp(`^(${MOUNT_PATTERN})(/.*)?$`);

/**
 * True when the path is the SCIM endpoint or under it: such a request is answered in SCIM's error
 * format.
 */
export function isScimPath(path: string): boolean {
  return SCIM_PATH.test(path);
}

/** The path a request routes by: Hono's own, with the SCIM part made canonical. */
export function canonicalPath(request: Request): string {
  const path = getPath(request);
  const match = SCIM_PATH.exec(path);
  if (!match) return path;
  const segments = (match[2] ?? "").split("/").slice(1);
  if (segments.length > 1 && segments[segments.length - 1] === "") segments.pop();
  if (segments[0] !== undefined) segments[0] = CANONICAL.get(segments[0].toLowerCase()) ?? segments[0];
  // Users/.search and Groups/.search; an id is never ".search" (ids are UUIDs).
  if (segments[1] !== undefined && segments[1].toLowerCase() === ".search") segments[1] = ".search";
  return `${match[1]}${segments.length ? `/${segments.join("/")}` : ""}`;
}
