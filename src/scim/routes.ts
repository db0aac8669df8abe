/**
 * SCIM 2.0 endpoints of one provisioning integration, mounted under
 * /api/v1/{tenant}/integrations/{integrationId}/scim/v2. Everything passes the gate first.
 */
import { Hono, type Context } from "hono";
import { scimAuth, type ScimVariables } from "../auth/scim";
import { publicBaseUrl } from "../config";
import { membersOfGroups, queryGroups } from "../iam/groups";
import { groupsOfUsers, queryTenantUsers } from "../iam/users";
import { resourceType, resourceTypes, schemaDocument, schemaDocuments, serviceProviderConfig } from "./discovery";
import { SCIM_CONTENT_TYPE, ScimError } from "./errors";
import { groupResolver, userResolver } from "./filter/targets";
import { isReturned, project } from "./projection";
import { planList, type ListParameters } from "./query";
import { renderGroup, renderUser, type ScimBase } from "./resources";
import { ALL_SCHEMAS, LIST_RESPONSE_SCHEMA, RESOURCE_TYPES, type ResourceTypeDef } from "./schemas";

type ScimContext = Context<{ Bindings: Env; Variables: ScimVariables }>;

const USER_TYPE = RESOURCE_TYPES.find((t) => t.id === "User")!;
const GROUP_TYPE = RESOURCE_TYPES.find((t) => t.id === "Group")!;

/** The absolute base URL of this integration's SCIM endpoint. */
function scimBase(c: ScimContext): ScimBase {
  const { tenantId, integrationId } = c.var.credential;
  return `${publicBaseUrl(c.env, c.req.url)}/api/v1/${tenantId}/integrations/${integrationId}/scim/v2`;
}

/** Sends a SCIM JSON document. */
export function scimJson(c: ScimContext, body: unknown, status: 200 | 201 = 200, headers: Record<string, string> = {}) {
  return c.body(JSON.stringify(body), status, { ...headers, "Content-Type": SCIM_CONTENT_TYPE });
}

function listResponse(startIndex: number, total: number, resources: Record<string, unknown>[]) {
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults: total,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}

async function listUsers(c: ScimContext, params: ListParameters) {
  const plan = planList(USER_TYPE, userResolver, params);
  const { tenantId } = c.var.credential;
  const { total, rows } = await queryTenantUsers(c.var.db, tenantId, {
    where: plan.where,
    orderBy: plan.orderBy,
    offset: plan.startIndex - 1,
    limit: plan.count,
  });
  const groups = isReturned(plan.projection, USER_TYPE, "groups")
    ? await groupsOfUsers(c.var.db, tenantId, rows.map((r) => r.id))
    : undefined;
  const base = scimBase(c);
  const resources = rows.map((row) => project(renderUser(row, base, groups?.get(row.id) ?? []), plan.projection, USER_TYPE));
  return scimJson(c, listResponse(plan.startIndex, total, resources));
}

async function listGroups(c: ScimContext, params: ListParameters) {
  const plan = planList(GROUP_TYPE, groupResolver, params);
  const { total, rows } = await queryGroups(c.var.db, c.var.credential.tenantId, {
    where: plan.where,
    orderBy: plan.orderBy,
    offset: plan.startIndex - 1,
    limit: plan.count,
  });
  // Entra asks with excludedAttributes=members: then members are not even read.
  const members = isReturned(plan.projection, GROUP_TYPE, "members")
    ? await membersOfGroups(c.var.db, rows.map((r) => r.id))
    : undefined;
  const base = scimBase(c);
  const resources = rows.map((row) =>
    project(renderGroup(row, base, members ? (members.get(row.id) ?? []) : undefined), plan.projection, GROUP_TYPE),
  );
  return scimJson(c, listResponse(plan.startIndex, total, resources));
}

/** RFC 7644 §4: discovery endpoints do not filter. */
function refuseFilter(c: ScimContext): void {
  if (c.req.query("filter") !== undefined) {
    throw new ScimError(403, "Discovery endpoints do not support filtering (RFC 7644 §4).");
  }
}

function findType(id: string): ResourceTypeDef {
  const type = RESOURCE_TYPES.find((t) => t.id.toLowerCase() === id.toLowerCase());
  if (!type) throw new ScimError(404, `No resource type '${id}'; this server serves User and Group.`);
  return type;
}

export const scimRoutes = new Hono<{ Bindings: Env; Variables: ScimVariables }>()
  .use(scimAuth())
  .get("/ServiceProviderConfig", (c) => scimJson(c, serviceProviderConfig(scimBase(c))))
  .get("/ResourceTypes", (c) => {
    refuseFilter(c);
    return scimJson(c, resourceTypes(scimBase(c)));
  })
  .get("/ResourceTypes/:id", (c) => scimJson(c, resourceType(findType(c.req.param("id")), scimBase(c))))
  .get("/Schemas", (c) => {
    refuseFilter(c);
    return scimJson(c, schemaDocuments(scimBase(c)));
  })
  .get("/Schemas/:id", (c) => {
    const id = c.req.param("id");
    const schema = ALL_SCHEMAS.find((s) => s.id.toLowerCase() === id.toLowerCase());
    if (!schema) throw new ScimError(404, `No schema '${id}'.`);
    return scimJson(c, schemaDocument(schema, scimBase(c)));
  })
  .get("/Users", (c) => listUsers(c, c.req.query()))
  .get("/Groups", (c) => listGroups(c, c.req.query()))
  .all("*", (c) => {
    throw new ScimError(404, `No SCIM endpoint for ${c.req.method} ${c.req.path.replace(/^.*\/scim\/v2/, "") || "/"}.`);
  });
