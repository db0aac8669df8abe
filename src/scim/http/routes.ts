/**
 * SCIM 2.0 endpoints of one provisioning integration, mounted under
 * /api/v1/{tenant}/integrations/{integrationId}/scim/v2. Everything passes the gate first.
 */
import { DrizzleQueryError } from "drizzle-orm";
import { Hono } from "hono";
import { requirePermission as can, scimAuth, type ScimVariables } from "./gate";
import { getGroup, groupWithMembers, memberCounts, membersOfGroups, queryGroups, type Group, type Member } from "../../iam/group-reads";
import { groupEtag } from "../../iam/groups";
import { getTenantUser, queryTenantUsers, type TenantUser } from "../../iam/user-reads";
import { userEtag } from "../../iam/users";
import { etagMatches } from "../../iam/writes";
import { listOf, resourceType, schemaDocument, serviceProviderConfig } from "../model/discovery";
import { LIMITS } from "../model/limits";
import { declaredSchemas, userTypeFor, userTypeWith } from "../model/extensions";
import { bulk } from "./bulk";
import { ScimError } from "../model/errors";
import { scimBase, scimJson, type ScimContext } from "./context";
import { unwrap, WRITE_PERMISSIONS, writeContext, writer } from "./handoff";
import { readJson } from "./json";
import { recordRefusedWrite } from "./refused";
import { unassignedWhenUnknown } from "../model/filter/compile";
import { costOfAll } from "../model/cost";
import { groupResolver, userResolver } from "../model/filter/targets";
import { isReturned, parseProjection, project, type Projection } from "../model/projection";
import { pageQuery, planList, userReadCost, type ListParameters, type ListQueryPlan } from "../model/query";
import { renderGroup, renderUser } from "../model/resources";
import { ALL_SCHEMAS, LIST_RESPONSE_SCHEMA, RESOURCE_TYPES, SEARCH_REQUEST_SCHEMA, type ResourceTypeDef, type SchemaDef } from "../model/schemas";

const GROUP_TYPE = RESOURCE_TYPES.find((t) => t.id === "Group")!;

function listResponse(startIndex: number, total: number, resources: Record<string, unknown>[]) {
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults: total,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}

/**
 * The tenant's User type for this request: its declared extensions are read only when the
 * request names a schema URN this server does not define (Entra's lookups never do).
 */
function userType(c: ScimContext, ...request: unknown[]): Promise<ResourceTypeDef> {
  return userTypeFor(c.var.db, c.var.scope.tenantId, c.req.query("attributes"), c.req.query("excludedAttributes"), ...request);
}

/**
 * A page of the tenant's users as `plan` asks, with their groups when the projection returns them.
 */
function usersPage(c: ScimContext, type: ResourceTypeDef, plan: ListQueryPlan, offset?: number, limit?: number) {
  const withGroups = isReturned(plan.projection, type, "groups");
  return queryTenantUsers(c.var.db, c.var.scope.tenantId, { ...pageQuery(plan, offset, limit), withGroups });
}

async function listUsers(c: ScimContext, params: ListParameters) {
  const type = await userType(c, params);
  const plan = planList(type, userResolver(c.var.scope.tenantId, type), params);
  c.var.price(plan.cost);
  const { total, rows } = await usersPage(c, type, plan);
  const base = scimBase(c);
  const resources = rows.map((row) => project(renderUser(row, base), plan.projection, type));
  return scimJson(c, listResponse(plan.startIndex, total, resources));
}

/**
 * The groups of a response with their members, within LIMITS.maxMembersPerResponse: a list stops
 * before the group that would pass the budget (clients page on from `itemsPerPage`), and a group
 * larger than the budget by itself comes without `members` (README, "SCIM support").
 */
type Shown = { group: Group; members?: Member[] };

async function withMembers(c: ScimContext, rows: Group[]): Promise<Shown[]> {
  if (rows.length === 0) return [];
  const counts = await memberCounts(c.var.db, rows.map((r) => r.id), LIMITS.maxMembersPerResponse + 1);
  const shown: { group: Group; withMembers: boolean }[] = [];
  let budget = LIMITS.maxMembersPerResponse;
  for (const group of rows) {
    const n = counts.get(group.id) ?? 0;
    if (n > LIMITS.maxMembersPerResponse) {
      shown.push({ group, withMembers: false });
      continue;
    }
    if (n > budget) break;
    budget -= n;
    shown.push({ group, withMembers: true });
  }
  const members = await membersOfGroups(c.var.db, shown.filter((s) => s.withMembers && (counts.get(s.group.id) ?? 0) > 0).map((s) => s.group.id));
  return shown.map((s) => (s.withMembers ? { group: s.group, members: members.get(s.group.id) ?? [] } : { group: s.group }));
}

/**
 * Groups as a list shows them: with their members (within the budget) when the projection returns
 * them.
 */
async function renderGroups(c: ScimContext, rows: Group[], projection: Projection): Promise<Record<string, unknown>[]> {
  // Entra asks with excludedAttributes=members: then members are not even read.
  const shown = isReturned(projection, GROUP_TYPE, "members") ? await withMembers(c, rows) : rows.map((group): Shown => ({ group }));
  const base = scimBase(c);
  return shown.map(({ group, members }) => project(renderGroup(group, base, members), projection, GROUP_TYPE));
}

async function listGroups(c: ScimContext, params: ListParameters) {
  const plan = planList(GROUP_TYPE, groupResolver(c.var.scope.tenantId), params);
  c.var.price(plan.cost);
  const { total, rows } = await queryGroups(c.var.db, c.var.scope.tenantId, pageQuery(plan));
  return scimJson(c, listResponse(plan.startIndex, total, await renderGroups(c, rows, plan.projection)));
}

/** RFC 7644 §4: discovery endpoints do not filter. */
function refuseFilter(c: ScimContext): void {
  if (c.req.query("filter") !== undefined) {
    throw new ScimError(403, "Discovery endpoints do not support filtering (RFC 7644 §4).");
  }
}

const declaredOf = (c: ScimContext) => declaredSchemas(c.var.db, c.var.scope.tenantId);

async function resourceTypesOf(c: ScimContext): Promise<ResourceTypeDef[]> {
  const declared = await declaredOf(c);
  return RESOURCE_TYPES.map((t) => (t.id === "User" ? userTypeWith(declared) : t));
}

async function schemasOf(c: ScimContext): Promise<SchemaDef[]> {
  return [...ALL_SCHEMAS, ...(await declaredOf(c))];
}

function findType(types: ResourceTypeDef[], id: string): ResourceTypeDef {
  const type = types.find((t) => t.id.toLowerCase() === id.toLowerCase());
  if (!type) throw new ScimError(404, `No resource type '${id}'; this server serves User and Group.`);
  return type;
}

function projectionOf(c: ScimContext, type: ResourceTypeDef) {
  return parseProjection(type, c.req.query("attributes"), c.req.query("excludedAttributes"));
}

/**
 * Sends a user. Writes parse the projection before committing, so a bad one changes nothing.
 * Its groups come with it: reads and updates load them in the user's query, and a user just
 * given access to the tenant has none.
 */
function sendUser(c: ScimContext, user: TenantUser, status: 200 | 201, type: ResourceTypeDef, projection = projectionOf(c, type)) {
  const resource = renderUser(user, scimBase(c));
  const meta = resource.meta as { location: string; version: string };
  return scimJson(c, project(resource, projection, type), status, {
    ETag: meta.version,
    ...(status === 201 ? { Location: meta.location } : {}),
  });
}

/** Sends a group; `known` members (a create's, as the write read them) spare reading them again. */
async function sendGroup(c: ScimContext, group: Group, status: 200 | 201, projection = projectionOf(c, GROUP_TYPE), known?: Member[]) {
  const wanted = isReturned(projection, GROUP_TYPE, "members");
  const members = !wanted ? undefined : known && known.length <= LIMITS.maxMembersPerResponse ? known : (await withMembers(c, [group]))[0]?.members;
  const resource = renderGroup(group, scimBase(c), members);
  const meta = resource.meta as { location: string; version: string };
  return scimJson(c, project(resource, projection, GROUP_TYPE), status, {
    ETag: meta.version,
    ...(status === 201 ? { Location: meta.location } : {}),
  });
}

/** If-None-Match on a read: 304 when the client already has this version. */
function notModified(c: ScimContext, etag: string): Response | undefined {
  const header = c.req.header("If-None-Match");
  if (header && etagMatches(header, etag)) return c.body(null, 304, { ETag: etag });
  return undefined;
}

/** A /.search body: a SearchRequest (RFC 7644 §3.4.3). */
async function searchParameters(c: ScimContext): Promise<ListParameters> {
  const body = await readJson(c);
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw new ScimError(400, "A search body must be a SearchRequest object.", "invalidSyntax");
  }
  const params = Object.fromEntries(Object.entries(body as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), v]));
  const schemas = params.schemas;
  if (schemas !== undefined && !(Array.isArray(schemas) && schemas.includes(SEARCH_REQUEST_SCHEMA))) {
    throw new ScimError(400, `'schemas' must contain ${SEARCH_REQUEST_SCHEMA}.`, "invalidSyntax");
  }
  return {
    filter: params.filter,
    startIndex: params.startindex,
    count: params.count,
    sortBy: params.sortby,
    sortOrder: params.sortorder,
    attributes: params.attributes,
    excludedAttributes: params.excludedattributes,
  };
}

/** Root /.search: Users then Groups, paged as one list. */
async function searchAll(c: ScimContext) {
  const params = await searchParameters(c);
  const type = await userType(c, params);
  const userPlan = planList(type, unassignedWhenUnknown(userResolver(c.var.scope.tenantId, type)), params);
  const groupPlan = planList(GROUP_TYPE, unassignedWhenUnknown(groupResolver(c.var.scope.tenantId)), params);
  // The filter runs against both types: the request pays both.
  c.var.price(costOfAll(userPlan.cost, groupPlan.cost));
  const tenantId = c.var.scope.tenantId;
  const offset = userPlan.startIndex - 1;
  const users = await usersPage(c, type, userPlan, offset);
  const groupOffset = Math.max(0, offset - users.total);
  // Groups follow the last user: none while a page of large users stopped short of it.
  const usersLeft = users.total - offset - users.rows.length;
  const groupLimit = usersLeft > 0 ? 0 : Math.max(0, userPlan.count - users.rows.length);
  const groups = await queryGroups(c.var.db, tenantId, pageQuery(groupPlan, groupOffset, groupLimit));
  const base = scimBase(c);
  const resources = [
    ...users.rows.map((u) => project(renderUser(u, base), userPlan.projection, type)),
    ...(await renderGroups(c, groups.rows, groupPlan.projection)),
  ];
  return scimJson(c, listResponse(userPlan.startIndex, users.total + groups.total, resources));
}

/** Audits the refusal of a single write (a /Bulk request audits each operation itself). */
async function auditRejectedWrites(c: ScimContext, next: () => Promise<void>) {
  await next();
  const target = /\/(Users|Groups)(?:\/([^/]+))?$/.exec(c.req.path);
  if (!target || target[2] === ".search" || c.req.method === "GET" || c.res.status < 400) return;
  // A write refused before any query (bad JSON, say) is audited only once its token is known.
  await c.var.authenticate().catch(() => undefined);
  if (!c.var.credential) return;
  // A refusal from inside a query arrives wrapped by Drizzle (src/errors.ts unwraps it alike).
  const refusal = c.error instanceof DrizzleQueryError ? c.error.cause : c.error;
  const detail = refusal instanceof ScimError ? refusal.detail : `HTTP ${c.res.status}`;
  await recordRefusedWrite(c, { method: c.req.method, endpoint: target[1]!, id: target[2], status: c.res.status, detail });
}

export const scimRoutes = new Hono<{ Bindings: Env; Variables: ScimVariables }>()
  .use(scimAuth())
  .use(auditRejectedWrites)
  // Discovery needs a valid token and no permission: the token's lookup then reads none.
  .use("/ServiceProviderConfig", can())
  .use("/ResourceTypes/*", can())
  .use("/Schemas/*", can())
  .get("/ServiceProviderConfig", (c) => scimJson(c, serviceProviderConfig(scimBase(c))))
  // Discovery includes the tenant's declared extensions (one read).
  .get("/ResourceTypes", async (c) => {
    refuseFilter(c);
    return scimJson(c, listOf((await resourceTypesOf(c)).map((t) => resourceType(t, scimBase(c)))));
  })
  .get("/ResourceTypes/:id", async (c) => scimJson(c, resourceType(findType(await resourceTypesOf(c), c.req.param("id")), scimBase(c))))
  .get("/Schemas", async (c) => {
    refuseFilter(c);
    return scimJson(c, listOf((await schemasOf(c)).map((s) => schemaDocument(s, scimBase(c)))));
  })
  .get("/Schemas/:id", async (c) => {
    const id = c.req.param("id");
    const schema = (await schemasOf(c)).find((s) => s.id.toLowerCase() === id.toLowerCase());
    if (!schema) throw new ScimError(404, `No schema '${id}'.`);
    return scimJson(c, schemaDocument(schema, scimBase(c)));
  })
  .post("/.search", can(["USERS", "READ"], ["GROUPS", "READ"]), (c) => searchAll(c))
  // Each operation is checked against the permission its single request needs.
  .post("/Bulk", (c) => bulk(c))
  // Users: DELETE revokes tenant access (and the user's bindings), hence USERS:UPDATE, not
  // USERS:DELETE.
  .get("/Users", can(["USERS", "READ"]), (c) => listUsers(c, c.req.query()))
  .post("/Users/.search", can(["USERS", "READ"]), async (c) => listUsers(c, await searchParameters(c)))
  .post("/Users", can(...WRITE_PERMISSIONS.Users.POST), async (c) => {
    const type = await userType(c);
    const projection = projectionOf(c, type);
    const result = await unwrap(c, await writer(c).createUser({ ...(await writeContext(c)), body: await readJson(c) }));
    return sendUser(c, result.user, 201, type, projection);
  })
  .get("/Users/:id", can(["USERS", "READ"]), async (c) => {
    const type = await userType(c);
    const projection = projectionOf(c, type);
    const withGroups = isReturned(projection, type, "groups");
    c.var.price(userReadCost(withGroups));
    const user = await getTenantUser(c.var.db, c.var.scope.tenantId, c.req.param("id"), { withGroups });
    if (!user) throw new ScimError(404, `User '${c.req.param("id")}' not found.`);
    return notModified(c, userEtag(user)) ?? sendUser(c, user, 200, type, projection);
  })
  .put("/Users/:id", can(...WRITE_PERMISSIONS.Users.PUT), async (c) => {
    const type = await userType(c);
    const projection = projectionOf(c, type);
    const result = await unwrap(c, await writer(c).replaceUser({ ...(await writeContext(c)), id: c.req.param("id"), body: await readJson(c) }));
    return sendUser(c, result.user, 200, type, projection);
  })
  .patch("/Users/:id", can(...WRITE_PERMISSIONS.Users.PATCH), async (c) => {
    const type = await userType(c);
    const projection = projectionOf(c, type);
    const result = await unwrap(c, await writer(c).patchUser({ ...(await writeContext(c)), id: c.req.param("id"), body: await readJson(c) }));
    return sendUser(c, result.user, 200, type, projection);
  })
  .delete("/Users/:id", can(...WRITE_PERMISSIONS.Users.DELETE), async (c) => {
    await unwrap(c, await writer(c).deleteUser({ ...(await writeContext(c)), id: c.req.param("id") }));
    return c.body(null, 204);
  })
  // Groups
  .get("/Groups", can(["GROUPS", "READ"]), (c) => listGroups(c, c.req.query()))
  .post("/Groups/.search", can(["GROUPS", "READ"]), async (c) => listGroups(c, await searchParameters(c)))
  .post("/Groups", can(...WRITE_PERMISSIONS.Groups.POST), async (c) => {
    const projection = projectionOf(c, GROUP_TYPE);
    const result = await unwrap(c, await writer(c).createGroup({ ...(await writeContext(c)), body: await readJson(c) }));
    return sendGroup(c, result.group, 201, projection, result.members);
  })
  .get("/Groups/:id", can(["GROUPS", "READ"]), async (c) => {
    const projection = projectionOf(c, GROUP_TYPE);
    const id = c.req.param("id");
    // With its members, in the same round trip (a group past the response's member budget is
    // sent without them, as sendGroup decides).
    const read = isReturned(projection, GROUP_TYPE, "members")
      ? await groupWithMembers(c.var.db, c.var.scope.tenantId, id, LIMITS.maxMembersPerResponse)
      : await getGroup(c.var.db, c.var.scope.tenantId, id).then((group) => group && { group, members: undefined });
    if (!read) throw new ScimError(404, `Group '${id}' not found.`);
    return notModified(c, groupEtag(read.group)) ?? sendGroup(c, read.group, 200, projection, read.members);
  })
  .put("/Groups/:id", can(...WRITE_PERMISSIONS.Groups.PUT), async (c) => {
    const projection = projectionOf(c, GROUP_TYPE);
    const result = await unwrap(c, await writer(c).replaceGroup({ ...(await writeContext(c)), id: c.req.param("id"), body: await readJson(c) }));
    return sendGroup(c, result.group, 200, projection);
  })
  .patch("/Groups/:id", can(...WRITE_PERMISSIONS.Groups.PATCH), async (c) => {
    const projection = projectionOf(c, GROUP_TYPE);
    const result = await unwrap(c, await writer(c).patchGroup({ ...(await writeContext(c)), id: c.req.param("id"), body: await readJson(c) }));
    // Entra expects 204: thousands of members are not sent back unless asked for.
    if (c.req.query("attributes") === undefined) return c.body(null, 204, { ETag: groupEtag(result.group) });
    return sendGroup(c, result.group, 200, projection);
  })
  .delete("/Groups/:id", can(...WRITE_PERMISSIONS.Groups.DELETE), async (c) => {
    await unwrap(c, await writer(c).deleteGroup({ ...(await writeContext(c)), id: c.req.param("id") }));
    return c.body(null, 204);
  })
  .all("*", (c) => {
    throw new ScimError(404, `No SCIM endpoint for ${c.req.method} ${c.req.path.replace(/^.*\/scim\/v2/, "") || "/"}.`);
  });
