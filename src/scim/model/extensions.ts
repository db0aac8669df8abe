/**
 * A tenant's own schema extensions of the User (Entra's `urn:ietf:params:scim:schemas:extension:
 * <Name>:2.0:User`, Okta's custom attributes). Declared ones validate, project and filter like
 * the enterprise extension; data under an undeclared extension URN is kept as sent (bounded by
 * the resource size cap) and answered back, never dropped.
 */
import type { Db } from "../../db/client";
import { listDeclaredSchemas, type DeclaredSchema } from "../../iam/scim-schemas";
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, PATCH_OP_SCHEMA, RESOURCE_TYPES, USER_SCHEMA, type AttributeDef, type ResourceTypeDef, type SchemaDef } from "./schemas";

const USER_TYPE = RESOURCE_TYPES.find((t) => t.id === "User")!;

/** URNs this server defines itself: never a tenant's extension. */
export const BUILT_IN_URNS = new Set(
  [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, PATCH_OP_SCHEMA].map((u) => u.toLowerCase()),
);

/** A declaration as the schema definition the SCIM engine works with. */
export function schemaOf(declared: DeclaredSchema): SchemaDef {
  return { id: declared.urn, name: declared.name, description: declared.description ?? "", attributes: declared.attributes as AttributeDef[] };
}

/** The User resource type of a tenant: the built-in extensions and the tenant's declared ones. */
export function userTypeWith(declared: SchemaDef[]): ResourceTypeDef {
  if (declared.length === 0) return USER_TYPE;
  return { ...USER_TYPE, extensions: [...USER_TYPE.extensions, ...declared.map((schema) => ({ schema, required: false }))] };
}

/**
 * Whether a request mentions a schema URN this server does not define (in a body, a PATCH path,
 * a filter or a projection): only then is the tenant's declaration read, so requests in the
 * built-in schemas (every Entra lookup) cost no extra round trip.
 */
export function mentionsOtherSchemas(...parts: unknown[]): boolean {
  for (const part of parts) {
    if (part === undefined || part === null) continue;
    const text = typeof part === "string" ? part : JSON.stringify(part);
    for (const match of text.matchAll(/urn:[A-Za-z0-9][A-Za-z0-9-]*:[^\s",\]\[)(]*/gi)) {
      const urn = match[0].toLowerCase();
      if (![...BUILT_IN_URNS].some((known) => urn === known || urn.startsWith(`${known}:`)) && !urn.startsWith("urn:ietf:params:scim:api:")) return true;
    }
  }
  return false;
}

/** The tenant's declared extensions, as schema definitions (one read). */
export async function declaredSchemas(db: Db, tenantId: string): Promise<SchemaDef[]> {
  return (await listDeclaredSchemas(db, tenantId)).map(schemaOf);
}

/** The tenant's User type, reading its declarations only when the request needs them. */
export async function userTypeFor(db: Db, tenantId: string, ...request: unknown[]): Promise<ResourceTypeDef> {
  if (!mentionsOtherSchemas(...request)) return USER_TYPE;
  return userTypeWith(await declaredSchemas(db, tenantId));
}

/**
 * Simple types a declared attribute may be unique in (RFC 7643 §2.2 allows any simple type; a
 * binary value "has no uniqueness", §2.3.6).
 */
export const UNIQUE_TYPES: ReadonlySet<AttributeDef["type"]> = new Set(["string", "reference", "integer", "decimal", "boolean", "dateTime"]);

/**
 * Declared single-valued attributes with `uniqueness: server`, of any simple type: each value a
 * user holds is a row of tenant_user_values, whose primary key keeps it unique per tenant.
 */
export function declaredUniqueAttributes(type: ResourceTypeDef): { schema: SchemaDef; def: AttributeDef }[] {
  return type.extensions
    .filter((e) => !BUILT_IN_URNS.has(e.schema.id.toLowerCase()))
    .flatMap((e) => e.schema.attributes.filter((def) => def.uniqueness !== "none" && !def.multiValued && UNIQUE_TYPES.has(def.type)).map((def) => ({ schema: e.schema, def })));
}

/**
 * The declared unique attributes whose index rows also answer filters: strings and references,
 * whose value key compares as the value itself. A number's or boolean's key is its JSON text,
 * which would not order as the number does, so those filter on the view's JSON instead.
 */
export function uniqueAttributes(type: ResourceTypeDef): { schema: SchemaDef; def: AttributeDef }[] {
  return declaredUniqueAttributes(type).filter(({ def }) => def.type === "string" || def.type === "reference");
}

/**
 * The key a value of a declared unique attribute is indexed under, or undefined when the value
 * is not of the attribute's type (nothing to index). Exact: a number or boolean as its JSON text
 * (`42`, `1.5`, `true`), a dateTime as written; only a case-insensitive string is lowercased.
 * `putDeclaredSchema`'s rebuild computes the same keys in SQL.
 */
export function uniqueValueKey(def: AttributeDef, value: unknown): string | undefined {
  switch (def.type) {
    case "string":
    case "reference":
      return typeof value === "string" ? (def.caseExact ? value : value.toLowerCase()) : undefined;
    case "dateTime":
      return typeof value === "string" ? value : undefined;
    case "integer":
    case "decimal":
      return typeof value === "number" && Number.isFinite(value) ? JSON.stringify(value) : undefined;
    case "boolean":
      return typeof value === "boolean" ? JSON.stringify(value) : undefined;
    default:
      return undefined;
  }
}

/** The key a declared unique attribute's value is indexed under. */
export function uniqueKey(schema: SchemaDef, def: AttributeDef): string {
  return `${schema.id}:${def.name}`.toLowerCase();
}

/** Whether a top-level key of a resource names an extension URN (declared or not). */
export function isExtensionKey(key: string): boolean {
  return /^urn:/i.test(key) && !BUILT_IN_URNS.has(key.toLowerCase());
}
