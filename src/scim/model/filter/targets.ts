/**
 * Where each SCIM attribute lives in D1, for the filter compiler. Types and `caseExact` come from
 * the schema definition; the hot lookups (id, userName, externalId, displayName, emails.value,
 * manager, members.value, groups.value) resolve to indexed columns or row tables.
 */
import { sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import { groupMembers, groups, tenantUserEmails, tenantUsers, tenantUserValues } from "../../../db/schema";
import { uniqueAttributes, uniqueKey } from "../extensions";
import {
  ENTERPRISE_USER_SCHEMA,
  findAttribute,
  GROUP_SCHEMA,
  groupSchema,
  RESOURCE_TYPES,
  USER_SCHEMA,
  type AttributeDef,
  type ResourceTypeDef,
  type SchemaDef,
} from "../schemas";

const USER_RESOURCE = RESOURCE_TYPES.find((t) => t.id === "User")!;
import { checkParameterBudget, compileFilter, CostMeter, filterError, MAX_FILTER_PARAMETERS, UnknownAttributeError, type MultiTarget, type Resolver, type ScalarTarget, type Target } from "./compile";
import { least, size, times } from "../cost";
import type { AttrPath, Filter } from "./parse";

// Other views of the same tenant's users, under aliases. An alias interpolated into raw SQL
// renders as its bare name: the *Table constants spell out the FROM item.
const managed = alias(tenantUsers, "managed");
const managedTable = sql`${tenantUsers} as ${sql.identifier("managed")}`;
const boss = alias(tenantUsers, "boss");
const bossTable = sql`${tenantUsers} as ${sql.identifier("boss")}`;
const memberUser = alias(tenantUsers, "member_user");
const memberUserTable = sql`${tenantUsers} as ${sql.identifier("member_user")}`;

const scalar = (expr: SQL, def: Pick<AttributeDef, "type" | "caseExact">, extra: Partial<ScalarTarget> = {}): ScalarTarget => ({
  kind: "scalar",
  expr,
  type: def.type,
  caseExact: def.caseExact,
  ...extra,
});

/**
 * The probe of a lookup on `from` (ScalarTarget.probe): the tenant's rows the comparison matches.
 */
const rowsOf = (from: SQL, tenantColumn: SQL, tenantId: string) => (cond: SQL) => sql`select 1 from ${from} where ${tenantColumn} = ${tenantId} and ${cond}`;

/** JSON path of an attribute inside a view's profile; extension attributes nest under their URN. */
export function profilePath(schema: string, ...names: string[]): string {
  const prefix = schema === USER_SCHEMA ? "$" : `$."${schema}"`;
  return [prefix, ...names.map((n) => `"${n}"`)].join(".");
}

/**
 * A JSON path as an SQL string literal. Paths come from the schema definition, never from the
 * client, so they need no parameter: that keeps filters under D1's 100 bound parameters.
 */
function pathLiteral(path: string): SQL {
  return sql.raw(`'${path.replaceAll("'", "''")}'`);
}

/** Common attributes (RFC 7643 §3.1) outside any schema. */
function commonAttribute(
  path: AttrPath,
  columns: { id: SQL; externalId: SQL; created: SQL; lastModified: SQL; probe: (cond: SQL) => SQL },
  resourceType: string,
): Target | undefined {
  if (path.schema) return undefined;
  const name = path.attribute.toLowerCase();
  if (name === "id" && !path.subAttribute) return scalar(columns.id, { type: "string", caseExact: true }, { indexed: true, unique: true });
  if (name === "externalid" && !path.subAttribute) {
    return scalar(columns.externalId, { type: "string", caseExact: true }, { indexed: true, probe: columns.probe });
  }
  if (name === "meta") {
    switch (path.subAttribute?.toLowerCase()) {
      case "created":
        return scalar(columns.created, { type: "dateTime", caseExact: false }, { epochMs: true });
      case "lastmodified":
        return scalar(columns.lastModified, { type: "dateTime", caseExact: false }, { epochMs: true });
      case "resourcetype":
        return scalar(sql`${resourceType}`, { type: "string", caseExact: true });
      case undefined:
        return { kind: "complex", presence: sql`1` };
      default:
        filterError(`'meta.${path.subAttribute}' cannot be filtered; use meta.created, meta.lastModified or meta.resourceType.`);
    }
  }
  return undefined;
}

/** Finds the schema and attribute definition a path names; the URN must be one of `schemas`. */
function definitionOf(path: AttrPath, schemas: SchemaDef[]): { schema: SchemaDef; def: AttributeDef } {
  const candidates = path.schema ? schemas.filter((s) => s.id.toLowerCase() === path.schema!.toLowerCase()) : schemas;
  if (path.schema && candidates.length === 0) throw new UnknownAttributeError(`'${path.schema}' is not a schema of this resource.`);
  for (const schema of candidates) {
    const def = findAttribute(schema.attributes, path.attribute);
    if (def) return { schema, def };
  }
  throw new UnknownAttributeError(`'${path.attribute}' is not an attribute of this resource.`);
}

function subDefinition(def: AttributeDef, name: string): AttributeDef | undefined {
  return findAttribute(def.subAttributes, name);
}

/** A sub-attribute of a JSON array element (`j.value` of json_each). */
function jsonElement(def: AttributeDef, element: SQL) {
  return (name: string): ScalarTarget | undefined => {
    const sub = subDefinition(def, name);
    if (!sub) return undefined;
    return scalar(sql`json_extract(${element}, ${pathLiteral(`$."${sub.name}"`)})`, sub);
  };
}

function jsonArray(json: SQL, jsonPath: string, def: AttributeDef): MultiTarget {
  return {
    kind: "multi",
    exists: (cond) =>
      sql`exists (select 1 from json_each(${json}, ${pathLiteral(jsonPath)}) as j ${cond ? sql`where ${cond}` : sql``})`,
    sub: jsonElement(def, sql.raw("j.value")),
  };
}

/** Resolves a path inside the JSON profile for attributes without a dedicated column. */
function profileTarget(path: AttrPath, schema: SchemaDef, def: AttributeDef): Target {
  const profile = sql`${tenantUsers.profile}`;
  if (def.multiValued) return withSub(jsonArray(profile, profilePath(schema.id, def.name), def), path, def);
  if (def.type === "complex") {
    if (!path.subAttribute) {
      return { kind: "complex", presence: sql`(json_type(${profile}, ${pathLiteral(profilePath(schema.id, def.name))}) = 'object')` };
    }
    const sub = subDefinition(def, path.subAttribute);
    if (!sub) filterError(`'${def.name}' has no sub-attribute '${path.subAttribute}'.`);
    return scalar(sql`json_extract(${profile}, ${pathLiteral(profilePath(schema.id, def.name, sub.name))})`, sub, { cost: "json" });
  }
  if (path.subAttribute) filterError(`'${def.name}' has no sub-attributes.`);
  return scalar(sql`json_extract(${profile}, ${pathLiteral(profilePath(schema.id, def.name))})`, def, { cost: "json" });
}

/** Narrows a multi-valued target to one sub-attribute when the path names it (`emails.value`). */
function withSub(target: MultiTarget, path: AttrPath, def: AttributeDef): MultiTarget {
  if (!path.subAttribute) return target;
  const sub = target.sub(path.subAttribute);
  if (!sub) filterError(`'${def.name}' has no sub-attribute '${path.subAttribute}'.`);
  return { ...target, sub: (name) => (name.toLowerCase() === "value" ? sub : target.sub(name)) };
}

/**
 * A declared extension attribute with `uniqueness: server` (a string): every value of it in the
 * tenant is a row of tenant_user_values, so the attribute filters as a set of one, like the
 * manager, and `eq` is an index lookup.
 */
function uniqueTarget(tenantId: string, schema: SchemaDef, def: AttributeDef, path: AttrPath): MultiTarget {
  if (path.subAttribute) filterError(`'${def.name}' has no sub-attributes.`);
  const key = uniqueKey(schema, def);
  return {
    kind: "multi",
    exists: (cond) =>
      sql`${tenantUsers.userId} in (select ${tenantUserValues.userId} from ${tenantUserValues}
        where ${tenantUserValues.tenantId} = ${tenantId} and ${tenantUserValues.attribute} = ${key}${cond ? sql` and ${cond}` : sql``})`,
    sub: (name) =>
      name.toLowerCase() === "value" ? scalar(sql`${tenantUserValues.valueKey}`, def, { keyColumn: !def.caseExact, indexed: true, unique: true }) : undefined,
    set: { walks: size("uniqueValues") },
  };
}

/**
 * The resolver of a tenant's /Users: the query reads the tenant's views (`tenant_users`). `type`
 * carries the tenant's declared extensions when the request names one.
 */
export const userResolver = (tenantId: string, type: ResourceTypeDef = USER_RESOURCE): Resolver => (path) => {
  const common = commonAttribute(
    path,
    {
      id: sql`${tenantUsers.userId}`,
      externalId: sql`${tenantUsers.externalId}`,
      created: sql`${tenantUsers.createdAt}`,
      lastModified: sql`${tenantUsers.updatedAt}`,
      probe: rowsOf(sql`${tenantUsers}`, sql`${tenantUsers.tenantId}`, tenantId),
    },
    "User",
  );
  if (common) return common;
  const { schema, def } = definitionOf(path, [type.schema, ...type.extensions.map((e) => e.schema)]);
  if (schema.id === USER_SCHEMA) {
    switch (def.name) {
      case "userName":
        if (path.subAttribute) filterError("'userName' has no sub-attributes.");
        return scalar(sql`${tenantUsers.userNameKey}`, def, { keyColumn: true, indexed: true, unique: true });
      case "active":
        if (path.subAttribute) filterError("'active' has no sub-attributes.");
        return scalar(sql`${tenantUsers.active}`, def);
      case "password":
        return filterError("'password' cannot be filtered.");
      case "emails": {
        const target: MultiTarget = {
          kind: "multi",
          exists: (cond) =>
            sql`${tenantUsers.userId} in (select ${tenantUserEmails.userId} from ${tenantUserEmails}
              where ${tenantUserEmails.tenantId} = ${tenantId}${cond ? sql` and ${cond}` : sql``})`,
          sub: (name) => {
            const sub = subDefinition(def, name);
            switch (sub?.name) {
              case "value":
                return scalar(sql`${tenantUserEmails.valueKey}`, sub, {
                  keyColumn: true,
                  indexed: true,
                  probe: rowsOf(sql`${tenantUserEmails}`, sql`${tenantUserEmails.tenantId}`, tenantId),
                });
              case "type":
                return scalar(sql`${tenantUserEmails.type}`, sub);
              case "display":
                return scalar(sql`${tenantUserEmails.display}`, sub);
              case "primary":
                return scalar(sql`${tenantUserEmails.primary}`, sub);
              default:
                return undefined;
            }
          },
          set: { walks: size("emails") },
        };
        return withSub(target, path, def);
      }
      case "groups": {
        const target: MultiTarget = {
          kind: "multi",
          exists: (cond) =>
            sql`${tenantUsers.userId} in (select ${groupMembers.userId} from ${groupMembers} join ${groups} on ${groups.id} = ${groupMembers.groupId}
              where ${groupMembers.tenantId} = ${tenantId}${cond ? sql` and ${cond}` : sql``})`,
          sub: (name) => {
            const sub = subDefinition(def, name);
            switch (sub?.name) {
              case "value":
                // A group's members: at most every view (no probe: a group of 11 is no reason to
                // refuse).
                return scalar(sql`${groupMembers.groupId}`, { type: "string", caseExact: true }, {
                  indexed: true,
                  rowsPerValue: least(size("memberships"), size("views")),
                });
              case "display":
                return scalar(sql`${groups.displayNameKey}`, sub, { keyColumn: true });
              case "type":
                return scalar(sql`'direct'`, sub);
              default:
                return undefined;
            }
          },
          // Each membership and its group.
          set: { walks: times(2, size("memberships")) },
        };
        return withSub(target, path, def);
      }
    }
  }
  if (schema.id === ENTERPRISE_USER_SCHEMA && def.name === "manager") {
    // As a set of one: `user_id in (select … where manager_id = ?)` drives the query from the
    // (tenant, manager) index; a plain `manager_id = ?` lets SQLite walk the tenant instead.
    const target: MultiTarget = {
      kind: "multi",
      exists: (cond) =>
        sql`${tenantUsers.userId} in (select ${managed.userId} from ${managedTable}
          where ${managed.tenantId} = ${tenantId} and ${managed.managerId} is not null${cond ? sql` and ${cond}` : sql``})`,
      sub: (name) => {
        switch (name.toLowerCase()) {
          case "value":
            return scalar(sql`${managed.managerId}`, { type: "string", caseExact: true }, {
              indexed: true,
              probe: rowsOf(managedTable, sql`${managed.tenantId}`, tenantId),
            });
          case "displayname":
            // The manager as this tenant's view names them.
            return scalar(
              sql`(select ${boss.displayName} from ${bossTable}
                where ${boss.tenantId} = ${tenantId} and ${boss.userId} = ${managed.managerId})`,
              { type: "string", caseExact: false },
              // One seek in the manager's index entry per report.
              { cost: "column" },
            );
          case "$ref":
            return filterError("'manager.$ref' cannot be filtered; filter manager.value.");
          default:
            return undefined;
        }
      },
      // Every view with a manager, through the (tenant, manager) index.
      set: { walks: size("views") },
    };
    return withSub(target, path, def);
  }
  if (uniqueAttributes(type).some((u) => u.schema === schema && u.def === def)) return uniqueTarget(tenantId, schema, def, path);
  return profileTarget(path, schema, def);
};

/** The resolver of a tenant's /Groups: the query reads `groups`. */
export const groupResolver = (tenantId: string): Resolver => (path) => {
  const common = commonAttribute(
    path,
    {
      id: sql`${groups.id}`,
      externalId: sql`${groups.externalId}`,
      created: sql`${groups.createdAt}`,
      lastModified: sql`${groups.updatedAt}`,
      probe: rowsOf(sql`${groups}`, sql`${groups.tenantId}`, tenantId),
    },
    "Group",
  );
  if (common) return common;
  const { schema, def } = definitionOf(path, [groupSchema]);
  if (schema.id !== GROUP_SCHEMA) filterError(`'${path.attribute}' is not an attribute of Group.`);
  if (def.name === "displayName") {
    if (path.subAttribute) filterError("'displayName' has no sub-attributes.");
    return scalar(sql`${groups.displayNameKey}`, def, { keyColumn: true, indexed: true, unique: true });
  }
  // members
  const target: MultiTarget = {
    kind: "multi",
    exists: (cond) =>
      sql`${groups.id} in (select ${groupMembers.groupId} from ${groupMembers} join ${memberUserTable}
        on ${memberUser.tenantId} = ${groupMembers.tenantId} and ${memberUser.userId} = ${groupMembers.userId}
        where ${groupMembers.tenantId} = ${tenantId}${cond ? sql` and ${cond}` : sql``})`,
    sub: (name) => memberSub(def, name, tenantId),
    // Each membership and its member's view (found through its key).
    set: { walks: times(2, size("memberships")) },
  };
  return withSub(target, path, def);
};

/**
 * Sub-attributes of one membership row (`group_members` joined with the tenant's view of its user
 * as member_user).
 */
function memberSub(def: AttributeDef, name: string, tenantId: string): ScalarTarget | undefined {
  const sub = subDefinition(def, name);
  switch (sub?.name) {
    case "value":
      // A user's groups: at most the most groups one user has been in.
      return scalar(sql`${groupMembers.userId}`, { type: "string", caseExact: true }, { indexed: true, rowsPerValue: size("maxUserGroups") });
    case "display":
      // From the member's index entry (tenant_users_display_idx), not its profile.
      return scalar(sql`coalesce(${memberUser.displayName}, ${memberUser.userName})`, sub);
    case "type":
      return scalar(sql`'User'`, sub);
    default:
      return undefined;
  }
}

/**
 * The condition on a `group_members` row for a value filter on members (`members[display co
 * "x"]`), for deleting exactly the matching memberships, with what it reads per membership it
 * is evaluated on (in rows: the membership, and its member's view for each term that reads it).
 */
export function memberCondition(filter: Filter, tenantId: string): { where: SQL; rowsPerMember: (maxViewUnits: number) => number } {
  const def = findAttribute(groupSchema.attributes, "members")!;
  const meter = new CostMeter();
  const cond = compileFilter(filter, (path) => {
    if (path.schema || path.subAttribute) filterError("Inside members[...] name sub-attributes of members only.");
    const sub = memberSub(def, path.attribute, tenantId);
    if (!sub) filterError(`'members' has no sub-attribute '${path.attribute}'.`);
    return sub;
  }, meter);
  checkParameterBudget(cond, MAX_FILTER_PARAMETERS);
  return {
    where: sql`exists (select 1 from ${memberUserTable}
    where ${memberUser.tenantId} = ${groupMembers.tenantId} and ${memberUser.userId} = ${groupMembers.userId} and ${cond})`,
    rowsPerMember: (maxViewUnits) => 1 + meter.perRow.column + meter.indexed + meter.perRow.json * maxViewUnits,
  };
}
