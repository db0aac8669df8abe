/**
 * SCIM paths as clients write them (README, "SCIM support", tolerances): endpoint names in any
 * case (`/users`, `/USERS`, `/serviceproviderconfig`) and a trailing slash (`/Users/`,
 * `/Users/{id}/`) route like the canonical path. Ids and everything else keep their spelling.
 */
import { getPath } from "hono/utils/url";

const ENDPOINTS = ["Users", "Groups", "ServiceProviderConfig", "ResourceTypes", "Schemas", "Bulk", "Me", ".search"];
const CANONICAL = new Map(ENDPOINTS.map((name) => [name.toLowerCase(), name]));
const SCIM_PATH = /^(\/api\/v1\/[^/]+\/integrations\/[^/]+\/scim\/v2)(\/.*)?$/;

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
