/**
 * PATCH paths (RFC 7644 §3.5.2): `attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub`, each
 * optionally URN-qualified, resolved once against the resource type so that what follows works on
 * attribute definitions, not strings. Read-only attributes are refused here, before anything runs.
 */
import { ScimError } from "../errors";
import { isExtensionKey } from "../extensions";
import { parseFilter, type Filter } from "../filter/parse";
import { findAttribute, type AttributeDef, type ResourceTypeDef, type SchemaDef } from "../schemas";

/** A resolved PATCH path. `def` undefined means a whole extension (`urn:…:enterprise:2.0:User`). */
export interface PatchPath {
  text: string;
  schema: SchemaDef;
  def?: AttributeDef;
  filter?: Filter;
  sub?: AttributeDef;
  /**
   * Set for a path under an extension URN the tenant has not declared: applied to the data kept
   * as sent, without types (the whole extension, or one attribute of it).
   */
  undeclared?: string;
}

const EXTERNAL_ID: AttributeDef = {
  name: "externalId",
  type: "string",
  multiValued: false,
  description: "An identifier for the resource as defined by the provisioning client.",
  required: false,
  caseExact: true,
  mutability: "readWrite",
  returned: "default",
  uniqueness: "none",
};

const READ_ONLY_COMMON = new Set(["id", "meta", "schemas"]);

export function invalidPath(detail: string): never {
  throw new ScimError(400, detail, "invalidPath");
}

/** The core schema of the type, then its extensions. */
export function schemasOf(type: ResourceTypeDef): SchemaDef[] {
  return [type.schema, ...type.extensions.map((e) => e.schema)];
}

/** Splits a URN-qualified attribute by the longest known schema URN prefix (`2.0` has a dot). */
function splitUrn(type: ResourceTypeDef, text: string): { schema?: SchemaDef; rest: string } {
  const lower = text.toLowerCase();
  const match = schemasOf(type)
    .filter((s) => lower === s.id.toLowerCase() || lower.startsWith(`${s.id.toLowerCase()}:`))
    .sort((a, b) => b.id.length - a.id.length)[0];
  if (match) return { schema: match, rest: text.slice(match.id.length + 1) };
  return { rest: text };
}

/** Resolves a PATCH path string against the resource type. */
export function parsePatchPath(type: ResourceTypeDef, text: string): PatchPath {
  const trimmed = text.trim();
  if (!trimmed) invalidPath("The path is empty.");
  let attrText = trimmed;
  let filter: Filter | undefined;
  let subText: string | undefined;
  const open = trimmed.indexOf("[");
  if (open >= 0) {
    const close = trimmed.lastIndexOf("]");
    if (close < open) invalidPath(`'${trimmed}': '[' is not closed.`);
    attrText = trimmed.slice(0, open);
    try {
      filter = parseFilter(trimmed.slice(open + 1, close));
    } catch (error) {
      if (error instanceof ScimError) throw new ScimError(400, `Path '${trimmed}': ${error.detail}`, "invalidFilter");
      throw error;
    }
    const after = trimmed.slice(close + 1);
    if (after) {
      if (!/^\.[A-Za-z$][\w$-]*$/.test(after)) invalidPath(`'${trimmed}': expected '.subAttribute' after ']'.`);
      subText = after.slice(1);
    }
  }
  const { schema: urnSchema, rest } = splitUrn(type, attrText);
  if (!urnSchema && isExtensionKey(attrText)) {
    // An extension the tenant has not declared: its data is kept as sent, so paths into it work
    // on that data (without types, and without value filters, which need them).
    if (filter || subText !== undefined) invalidPath(`'${trimmed}': '[...]' needs a declared schema extension (declare it in the admin API).`);
    return { text: trimmed, schema: type.schema, undeclared: attrText };
  }
  if (urnSchema && rest === "" && !filter) {
    if (urnSchema === type.schema) invalidPath(`'${trimmed}' names the core schema, not an attribute.`);
    return { text: trimmed, schema: urnSchema };
  }
  const parts = rest.split(".");
  if (parts.length > 2 || parts.some((p) => !/^[A-Za-z$][\w$-]*$/.test(p))) invalidPath(`'${trimmed}' is not an attribute path.`);
  if (parts.length === 2) {
    if (subText !== undefined) invalidPath(`'${trimmed}' has two sub-attributes.`);
    subText = parts[1];
  }
  const name = parts[0]!;
  if (!urnSchema || urnSchema === type.schema) {
    if (READ_ONLY_COMMON.has(name.toLowerCase())) {
      throw new ScimError(400, `'${name}' is read-only and cannot be modified.`, "mutability");
    }
    if (name.toLowerCase() === "externalid" && subText === undefined && !filter) {
      return { text: trimmed, schema: type.schema, def: EXTERNAL_ID };
    }
  }
  // An unqualified name is looked up in the core schema, then in the extensions (Entra sends
  // plain `manager` for the enterprise manager).
  const candidates = urnSchema ? [urnSchema] : schemasOf(type);
  for (const schema of candidates) {
    const def = findAttribute(schema.attributes, name);
    if (!def) continue;
    let sub: AttributeDef | undefined;
    if (subText !== undefined) {
      sub = findAttribute(def.subAttributes, subText);
      if (!sub) invalidPath(`'${def.name}' has no sub-attribute '${subText}'.`);
    }
    // A singular complex attribute takes a value filter too (`manager[value eq "x"]`): it selects
    // the attribute when it matches, for remove (add and replace refuse it: operations.ts).
    if (filter && !def.multiValued && def.type !== "complex") invalidPath(`'${def.name}' is not multi-valued; it cannot be filtered with '[...]'.`);
    if (def.mutability === "readOnly" || sub?.mutability === "readOnly") {
      throw new ScimError(400, `'${sub ? `${def.name}.${sub.name}` : def.name}' is read-only and cannot be modified.`, "mutability");
    }
    return { text: trimmed, schema, def, filter, sub };
  }
  return invalidPath(`'${trimmed}' is not an attribute of ${type.name}.`);
}
