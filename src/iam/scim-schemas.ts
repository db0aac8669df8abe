/**
 * A tenant's declared SCIM schema extensions (the definitions, as plain data: their meaning is the
 * SCIM engine's). Declaring or removing one is audited; removing keeps the values users hold.
 */
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { violates } from "../db/constraints";
import { commitGuards, scimSchemas, tenantUsers, tenantUserValues } from "../db/schema";
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

/**
 * The query of a tenant's declarations, in URN order (unsent: a write batches it with its other
 * reads).
 */
export function declaredSchemasQuery(db: Db, tenantId: string) {
  return db.select(columns).from(scimSchemas).where(eq(scimSchemas.tenantId, tenantId)).orderBy(asc(scimSchemas.urnKey));
}

/** A tenant's declarations, in URN order. */
export async function listDeclaredSchemas(db: Db, tenantId: string): Promise<DeclaredSchema[]> {
  return declaredSchemasQuery(db, tenantId);
}

/**
 * Declarations one tenant may hold, and the bytes of definition JSON (attributes, name and
 * description) they may take in all: every request naming a declared URN reads them, and
 * `/Schemas` lists them (SECURITY.md, "Limits").
 */
export const DECLARATION_LIMITS = {
  perTenant: 20,
  bytesPerTenant: 262_144,
  /**
   * Attributes one declaration may make unique: each is a full walk of the tenant's users when it
   * becomes unique.
   */
  uniquePerDeclaration: 10,
  /**
   * Rows one PUT or DELETE may walk to build or drop unique indexes: the tenant's users times the
   * attributes whose uniqueness changes. Issue 20 measured 405 users of 60 KB × 100 attributes at
   * 1.6–1.8 s, about 40 µs a row, so this keeps a rebuild near 100 ms even at the 64 KiB a profile
   * may take.
   */
  indexRowsPerRequest: 2_000,
} as const;

/** A declared unique attribute, as the index of its values needs it. */
export interface UniqueAttribute {
  /** `<urn>:<attr>`, lowercased. */
  attribute: string;
  /** Where the value sits in a view's profile JSON. */
  jsonPath: string;
  /**
   * The attribute's type: how its value key is computed (`uniqueValueKey` in
   * src/scim/model/extensions.ts).
   */
  type: string;
  caseExact: boolean;
}

/** The outcome of a PUT: refusals carry what the message needs. */
export type PutDeclarationResult =
  | { kind: "created" | "updated" | "unchanged"; schema: DeclaredSchema }
  | { kind: "not_unique" }
  | { kind: "too_many"; limit: number }
  | { kind: "too_large"; limit: number; used: number; size: number }
  | { kind: "rebuild_too_large"; limit: number; users: number; attributes: string[] }
  /** Passed the limits only with declarations committed since this PUT read them. */
  | { kind: "over_limits"; perTenant: number; bytesPerTenant: number };

/** UTF-8 bytes of a declaration's definition, as `declarationBytes` counts the stored one. */
function definitionBytes(input: { name: string; description: string | null; attributes: unknown[] }): number {
  const encoder = new TextEncoder();
  return encoder.encode(JSON.stringify(input.attributes)).length + encoder.encode(input.name).length + encoder.encode(input.description ?? "").length;
}

/** The stored declaration's size in SQL (the attributes column holds JSON.stringify's text). */
const declarationBytes = sql<number>`length(cast(${scimSchemas.attributes} as blob)) + length(cast(${scimSchemas.name} as blob)) + coalesce(length(cast(${scimSchemas.description} as blob)), 0)`;

/** JSON equality that ignores the order of object keys (a stored definition against a new one). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((v, i) => sameJson(v, (b as unknown[])[i]));
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** What decides an attribute's index rows: another signature means other rows. */
const signature = (u: UniqueAttribute) => JSON.stringify([u.attribute, u.jsonPath, u.type, u.caseExact]);

/**
 * Declares (or replaces the declaration of) one extension, in one batch with the indexes of the
 * attributes whose uniqueness changed built from the values users already hold (values that are
 * not unique refuse the declaration, and change nothing). A declaration equal to the stored one
 * writes nothing. `uniqueOf` gives a declaration's unique attributes (the stored one's included).
 */
export async function putDeclaredSchema(
  db: Db,
  ctx: WriteContext,
  input: { urn: string; name: string; description: string | null; attributes: unknown[] },
  uniqueOf: (declared: Pick<DeclaredSchema, "urn" | "name" | "description" | "attributes">) => UniqueAttribute[],
  now = Date.now(),
): Promise<PutDeclarationResult> {
  const key = input.urn.toLowerCase();
  // One round trip: this declaration, every declaration's size, and the tenant's users counted up
  // to one past the rebuild bound (an index walk that stops there).
  const [found, sizes, [walked]] = await db.batch([
    db
      .select(columns)
      .from(scimSchemas)
      .where(and(eq(scimSchemas.tenantId, ctx.tenantId), eq(scimSchemas.urnKey, key))),
    db.select({ urnKey: scimSchemas.urnKey, bytes: declarationBytes }).from(scimSchemas).where(eq(scimSchemas.tenantId, ctx.tenantId)),
    db
      .select({ users: sql<number>`count(*)` })
      .from(
        db
          .select({ one: sql`1`.as("one") })
          .from(tenantUsers)
          .where(eq(tenantUsers.tenantId, ctx.tenantId))
          .limit(DECLARATION_LIMITS.indexRowsPerRequest + 1)
          .as("walked"),
      ),
  ]);
  const current = found[0];
  if (current && current.urn === input.urn && current.name === input.name && current.description === input.description && sameJson(current.attributes, input.attributes)) {
    return { kind: "unchanged", schema: current };
  }
  const others = sizes.filter((s) => s.urnKey !== key);
  if (!current && others.length >= DECLARATION_LIMITS.perTenant) return { kind: "too_many", limit: DECLARATION_LIMITS.perTenant };
  const used = others.reduce((sum, s) => sum + Number(s.bytes), 0);
  const size = definitionBytes(input);
  // A replacement that does not grow passes even in a tenant over the limits (declared before
  // them).
  const grows = !current || size > Number(sizes.find((s) => s.urnKey === key)?.bytes ?? 0);
  if (grows && used + size > DECLARATION_LIMITS.bytesPerTenant) return { kind: "too_large", limit: DECLARATION_LIMITS.bytesPerTenant, used, size };

  // Only attributes whose uniqueness (or what decides their keys) changed touch the index.
  const before = current ? uniqueOf(current) : [];
  const after = uniqueOf(input);
  const kept = new Set(before.map(signature).filter((s) => after.some((u) => signature(u) === s)));
  const build = after.filter((u) => !kept.has(signature(u)));
  const drop = before.filter((u) => !kept.has(signature(u)) && !build.some((b) => b.attribute === u.attribute)).map((u) => u.attribute);
  const users = Number(walked?.users ?? 0);
  if (build.length > 0 && users * build.length > DECLARATION_LIMITS.indexRowsPerRequest) {
    return { kind: "rebuild_too_large", limit: DECLARATION_LIMITS.indexRowsPerRequest, users, attributes: build.map((u) => u.attribute) };
  }

  const schema: DeclaredSchema = { ...input, createdAt: current?.createdAt ?? now, updatedAt: now };
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
        resourceName: input.name,
        diff: {
          name: { before: current?.name, after: input.name },
          attributes: { before: current ? current.attributes.length : undefined, after: input.attributes.length },
        },
      },
      now,
    ),
    // The limits checked above, again inside the batch: declarations sent at the same time
    // cannot pass them together.
    ...(grows ? limitGuardStatements(db, ctx.tenantId) : []),
    ...dropIndexStatements(db, ctx.tenantId, drop),
    ...buildIndexStatements(db, ctx.tenantId, build),
  ];
  try {
    await commit(db, statements as Parameters<typeof commit>[1]);
  } catch (error) {
    if (violates(error, "UNIQUE", "PRIMARY KEY")) return { kind: "not_unique" };
    if (violates(error, "NOT NULL") && /commit_guards\.ok/.test(`${String((error as Error)?.message)} ${String((error as Error)?.cause)}`)) {
      return { kind: "over_limits", perTenant: DECLARATION_LIMITS.perTenant, bytesPerTenant: DECLARATION_LIMITS.bytesPerTenant };
    }
    throw error;
  }
  return { kind: current ? "updated" : "created", schema };
}

/**
 * A row of commit_guards that is NULL (refused by NOT NULL, rolling the batch back) when the
 * tenant's declarations, this one written, pass the count or size limit; then the table is
 * emptied again, as `authorizedAtCommit` leaves it.
 */
function limitGuardStatements(db: Db, tenantId: string) {
  const within = sql`(select count(*) <= ${DECLARATION_LIMITS.perTenant} and coalesce(sum(${declarationBytes}), 0) <= ${DECLARATION_LIMITS.bytesPerTenant}
    from ${scimSchemas} where ${scimSchemas.tenantId} = ${tenantId})`;
  return [db.insert(commitGuards).values({ ok: sql`case when ${within} then 1 end` }), db.delete(commitGuards)];
}

/**
 * The value key of a unique attribute in SQL, as `uniqueValueKey` computes it in JS: a number's
 * or boolean's JSON text (the profile holds JSON.stringify's text, and `->` answers it as
 * stored), a dateTime as written, a string lowercased unless case-exact.
 */
function valueKeySql(u: UniqueAttribute) {
  const profile = sql`${tenantUsers.profile}`;
  const jsonType = sql`json_type(${profile}, ${u.jsonPath})`;
  switch (u.type) {
    case "integer":
    case "decimal":
      return { key: sql`${profile} -> ${u.jsonPath}`, holds: sql`${jsonType} in ('integer', 'real')` };
    case "boolean":
      return { key: sql`${profile} -> ${u.jsonPath}`, holds: sql`${jsonType} in ('true', 'false')` };
    case "dateTime":
      return { key: sql`json_extract(${profile}, ${u.jsonPath})`, holds: sql`${jsonType} = 'text'` };
    default: {
      const value = sql`json_extract(${profile}, ${u.jsonPath})`;
      return { key: u.caseExact ? value : sql`lower(${value})`, holds: sql`${jsonType} = 'text'` };
    }
  }
}

/**
 * Builds the index of attributes that became unique from the values users hold: their keys'
 * rows go first (compared exactly: another extension's `<urn>:sub:…` keys are not this one's).
 */
function buildIndexStatements(db: Db, tenantId: string, build: UniqueAttribute[]) {
  if (build.length === 0) return [];
  return [
    db.delete(tenantUserValues).where(and(eq(tenantUserValues.tenantId, tenantId), inArray(tenantUserValues.attribute, build.map((u) => u.attribute)))),
    ...build.map((u) => {
      const { key, holds } = valueKeySql(u);
      return db.insert(tenantUserValues).select(
        db
          .select({
            tenantId: tenantUsers.tenantId,
            attribute: sql<string>`${u.attribute}`.as("attribute"),
            valueKey: sql<string>`${key}`.as("value_key"),
            userId: tenantUsers.userId,
          })
          .from(tenantUsers)
          .where(and(eq(tenantUsers.tenantId, tenantId), holds)),
      );
    }),
  ];
}

/**
 * Drops the index rows of attributes no longer unique, at most the rebuild bound of them per
 * request. Rows left over (a tenant past the bound) are inert: nothing reads the index of an
 * attribute that is not unique, a user's next write replaces its rows, and declaring the
 * attribute unique again drops them first.
 */
function dropIndexStatements(db: Db, tenantId: string, attributes: string[]) {
  if (attributes.length === 0) return [];
  return [
    db.delete(tenantUserValues).where(
      sql`rowid in (${db
        .select({ rowid: sql`rowid` })
        .from(tenantUserValues)
        .where(and(eq(tenantUserValues.tenantId, tenantId), inArray(tenantUserValues.attribute, attributes)))
        .limit(DECLARATION_LIMITS.indexRowsPerRequest)})`,
    ),
  ];
}

/**
 * Removes a declaration. The values users hold under it stay (answered back as undeclared data);
 * only its uniqueness index goes, since nothing declares the attributes unique any more.
 */
export async function deleteDeclaredSchema(
  db: Db,
  ctx: WriteContext,
  urn: string,
  uniqueOf: (declared: Pick<DeclaredSchema, "urn" | "name" | "description" | "attributes">) => UniqueAttribute[],
  now = Date.now(),
): Promise<{ kind: "deleted" | "not_found" }> {
  const key = urn.toLowerCase();
  const current = await db
    .select(columns)
    .from(scimSchemas)
    .where(and(eq(scimSchemas.tenantId, ctx.tenantId), eq(scimSchemas.urnKey, key)))
    .get();
  if (!current) return { kind: "not_found" };
  await commit(db, [
    db.delete(scimSchemas).where(and(eq(scimSchemas.tenantId, ctx.tenantId), eq(scimSchemas.urnKey, key))),
    ...dropIndexStatements(db, ctx.tenantId, uniqueOf(current).map((u) => u.attribute)),
    auditStatement(db, { ...ctx, action: "DELETE", resourceType: "SCIM_SCHEMA", resourceId: current.urn, resourceName: current.name }, now),
  ]);
  return { kind: "deleted" };
}
