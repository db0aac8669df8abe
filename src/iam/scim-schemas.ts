/**
 * A tenant's declared SCIM schema extensions (the definitions, as plain data: their meaning is the
 * SCIM engine's). Declaring or removing one is audited; removing keeps the values users hold.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { violates } from "../db/constraints";
import { scimSchemas, tenantUsers, tenantUserValues } from "../db/schema";
import { auditStatement } from "./audit";
import { commit, type WriteContext } from "./writes";

export interface DeclaredSchema {
  urn: string;
  name: string;
  description: string | null;
  attributes: unknown[];
  createdAt: number;
  updatedAt: number;
}

const columns = {
  urn: scimSchemas.urn,
  name: scimSchemas.name,
  description: scimSchemas.description,
  attributes: scimSchemas.attributes,
  createdAt: scimSchemas.createdAt,
  updatedAt: scimSchemas.updatedAt,
};

/** The query of a tenant's declarations, in URN order (unsent: a write batches it with its other reads). */
export function declaredSchemasQuery(db: Db, tenantId: string) {
  return db.select(columns).from(scimSchemas).where(eq(scimSchemas.tenantId, tenantId)).orderBy(asc(scimSchemas.urnKey));
}

/** A tenant's declarations, in URN order. */
export async function listDeclaredSchemas(db: Db, tenantId: string): Promise<DeclaredSchema[]> {
  return declaredSchemasQuery(db, tenantId);
}

/** A declared unique attribute, as the index of its values needs it. */
export interface UniqueAttribute {
  /** `<urn>:<attr>`, lowercased. */
  attribute: string;
  /** Where the value sits in a view's profile JSON. */
  jsonPath: string;
  caseExact: boolean;
}

/**
 * Declares (or replaces the declaration of) one extension, in one batch with the index of its
 * unique attributes rebuilt from the values users already hold: values that are not unique
 * refuse the declaration (and change nothing).
 */
export async function putDeclaredSchema(
  db: Db,
  ctx: WriteContext,
  input: { urn: string; name: string; description: string | null; attributes: unknown[]; unique: UniqueAttribute[] },
  now = Date.now(),
): Promise<{ kind: "created" | "updated"; schema: DeclaredSchema } | { kind: "not_unique" }> {
  const key = input.urn.toLowerCase();
  const current = await db
    .select(columns)
    .from(scimSchemas)
    .where(and(eq(scimSchemas.tenantId, ctx.tenantId), eq(scimSchemas.urnKey, key)))
    .get();
  const { unique, ...declaration } = input;
  const schema: DeclaredSchema = { ...declaration, createdAt: current?.createdAt ?? now, updatedAt: now };
  const statements = [
    db
      .insert(scimSchemas)
      .values({ tenantId: ctx.tenantId, urnKey: key, ...schema })
      .onConflictDoUpdate({
        target: [scimSchemas.tenantId, scimSchemas.urnKey],
        set: { urn: input.urn, name: input.name, description: input.description, attributes: input.attributes, updatedAt: now },
      }),
    auditStatement(
      db,
      {
        ...ctx,
        action: current ? "UPDATE" : "CREATE",
        resourceType: "SCIM_SCHEMA",
        resourceId: input.urn,
        diff: {
          name: { before: current?.name, after: input.name },
          attributes: { before: current ? current.attributes.length : undefined, after: input.attributes.length },
        },
      },
      now,
    ),
    ...uniqueIndexStatements(db, ctx.tenantId, key, unique),
  ];
  try {
    await commit(db, statements as Parameters<typeof commit>[1]);
  } catch (error) {
    if (violates(error, "UNIQUE", "PRIMARY KEY")) return { kind: "not_unique" };
    throw error;
  }
  return { kind: current ? "updated" : "created", schema };
}

/** Drops the extension's value index and rebuilds it for its unique attributes from the views. */
function uniqueIndexStatements(db: Db, tenantId: string, urnKey: string, unique: UniqueAttribute[]) {
  return [
    db
      .delete(tenantUserValues)
      .where(and(eq(tenantUserValues.tenantId, tenantId), sql`substr(${tenantUserValues.attribute}, 1, ${urnKey.length + 1}) = ${`${urnKey}:`}`)),
    ...unique.map((u) => {
      const value = sql`json_extract(${tenantUsers.profile}, ${u.jsonPath})`;
      return db.insert(tenantUserValues).select(
        db
          .select({
            tenantId: tenantUsers.tenantId,
            attribute: sql<string>`${u.attribute}`.as("attribute"),
            valueKey: sql<string>`${u.caseExact ? value : sql`lower(${value})`}`.as("value_key"),
            userId: tenantUsers.userId,
          })
          .from(tenantUsers)
          .where(and(eq(tenantUsers.tenantId, tenantId), sql`json_type(${tenantUsers.profile}, ${u.jsonPath}) = 'text'`)),
      );
    }),
  ];
}

/**
 * Removes a declaration. The values users hold under it stay (answered back as undeclared data);
 * only its uniqueness index goes, since nothing declares the attributes unique any more.
 */
export async function deleteDeclaredSchema(db: Db, ctx: WriteContext, urn: string, now = Date.now()): Promise<{ kind: "deleted" | "not_found" }> {
  const key = urn.toLowerCase();
  const current = await db
    .select({ urn: scimSchemas.urn })
    .from(scimSchemas)
    .where(and(eq(scimSchemas.tenantId, ctx.tenantId), eq(scimSchemas.urnKey, key)))
    .get();
  if (!current) return { kind: "not_found" };
  await commit(db, [
    db.delete(scimSchemas).where(and(eq(scimSchemas.tenantId, ctx.tenantId), eq(scimSchemas.urnKey, key))),
    db
      .delete(tenantUserValues)
      .where(and(eq(tenantUserValues.tenantId, ctx.tenantId), sql`substr(${tenantUserValues.attribute}, 1, ${key.length + 1}) = ${`${key}:`}`)),
    auditStatement(db, { ...ctx, action: "DELETE", resourceType: "SCIM_SCHEMA", resourceId: current.urn }, now),
  ]);
  return { kind: "deleted" };
}
