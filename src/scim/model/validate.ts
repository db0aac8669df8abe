/**
 * Validation and normalization of incoming resources against the schema definition.
 *
 * Output is the canonical document: attribute names spelled as the schema spells them (input names
 * are case-insensitive), core attributes at the top, extension attributes under their URN,
 * `"True"`/`"False"` coerced to booleans (and nothing else coerced), nulls and empty arrays
 * dropped, unknown attributes and read-only or write-only ones (id, meta, groups, password) left
 * out. Values keep their case.
 */
import { LIMITS } from "./limits";
import { isExtensionKey } from "./extensions";
import { ScimError } from "./errors";
import { findAttribute, groupSchema, type AttributeDef, type ResourceTypeDef, type SchemaDef } from "./schemas";

export type Doc = Record<string, unknown>;

function invalid(detail: string): never {
  throw new ScimError(400, detail, "invalidValue");
}

/** Coerces Entra's string booleans (any case); anything else that is not a boolean is invalid. */
export function toBoolean(value: unknown, name: string): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "string") {
    const lower = value.trim().toLowerCase();
    if (lower === "true") return true;
    if (lower === "false") return false;
  }
  return invalid(`'${name}' must be a boolean (true or false), got ${JSON.stringify(value)}.`);
}

function scalar(def: AttributeDef, value: unknown, name: string): unknown {
  switch (def.type) {
    case "boolean":
      return toBoolean(value, name);
    case "string":
    case "reference":
    case "binary":
      // Exact: a number where a string belongs is a client's mapping mistake (a userName of 42),
      // refused rather than stored as text. Only what major directories are known to send is
      // coerced: Entra's "True"/"False" and a manager as a plain string.
      if (typeof value === "string") return value;
      return invalid(`'${name}' must be a string, got ${JSON.stringify(value)}.`);
    case "integer":
      if (typeof value === "number" && Number.isInteger(value)) return value;
      if (typeof value === "string" && /^-?\d+$/.test(value.trim())) return Number(value);
      return invalid(`'${name}' must be an integer, got ${JSON.stringify(value)}.`);
    case "decimal":
      if (typeof value === "number" && Number.isFinite(value)) return value;
      if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
      return invalid(`'${name}' must be a number, got ${JSON.stringify(value)}.`);
    case "dateTime":
      if (typeof value === "string" && !Number.isNaN(Date.parse(value))) return value;
      return invalid(`'${name}' must be an ISO 8601 dateTime, got ${JSON.stringify(value)}.`);
    case "complex":
      return complex(def, value, name);
  }
}

function writable(def: AttributeDef): boolean {
  return def.mutability !== "readOnly" && def.returned !== "never";
}

function complex(def: AttributeDef, value: unknown, name: string): Doc | undefined {
  // A bare string for a singular complex attribute with a `value` (Entra's manager on the URN
  // path).
  if (typeof value === "string" && !def.multiValued && findAttribute(def.subAttributes, "value")) {
    return value === "" ? undefined : { value };
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    return invalid(`'${name}' must be an object with sub-attributes, got ${JSON.stringify(value)}.`);
  }
  const out: Doc = {};
  for (const [key, raw] of Object.entries(value)) {
    const sub = findAttribute(def.subAttributes, key);
    if (!sub || !writable(sub) || raw === null || raw === undefined) continue;
    out[sub.name] = scalar(sub, raw, `${name}.${sub.name}`);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Validates one attribute value; undefined means "unassigned". */
export function attributeValue(def: AttributeDef, value: unknown, name = def.name): unknown {
  if (value === null || value === undefined) return undefined;
  if (!def.multiValued) {
    if (Array.isArray(value)) {
      // A one-element array for a singular attribute is a common client slip; more is an error.
      if (value.length === 0) return undefined;
      if (value.length === 1) return attributeValue(def, value[0], name);
      return invalid(`'${name}' is single-valued, got an array of ${value.length}.`);
    }
    return scalar(def, value, name);
  }
  const items = (Array.isArray(value) ? value : [value])
    .filter((v) => v !== null && v !== undefined)
    .map((v, i) => scalar(def, v, `${name}[${i}]`))
    .filter((v) => v !== undefined);
  if (items.length === 0) return undefined;
  // Group members are rows, bounded by their own limits, not values of a stored document.
  if (items.length > LIMITS.maxValuesPerAttribute && !isMembers(def)) {
    invalid(`'${name}' would hold ${items.length} values; an attribute holds at most ${LIMITS.maxValuesPerAttribute}.`);
  }
  // At most one primary (RFC 7643 §2.4): keep the first one that says so.
  let primarySeen = false;
  for (const item of items) {
    if (item && typeof item === "object" && (item as Doc).primary === true) {
      if (primarySeen) (item as Doc).primary = false;
      primarySeen = true;
    }
  }
  return items;
}

function schemasOf(type: ResourceTypeDef): SchemaDef[] {
  return [type.schema, ...type.extensions.map((e) => e.schema)];
}

/** Finds which extension a top-level key names (URN keys compare case-insensitively). */
function extensionFor(type: ResourceTypeDef, key: string): SchemaDef | undefined {
  return type.extensions.find((e) => e.schema.id.toLowerCase() === key.toLowerCase())?.schema;
}

export interface ValidatedResource {
  /** Canonical attributes (core at the top, extensions under their URN). */
  doc: Doc;
  /** `externalId`, kept apart: it is a common attribute, not part of any schema. */
  externalId: string | null;
}

/**
 * Validates a POST/PUT body. Read-only attributes are ignored (RFC 7643 §2.2), unknown ones are
 * dropped, required ones must be present.
 */
export function validateResource(type: ResourceTypeDef, body: unknown): ValidatedResource {
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw new ScimError(400, "The request body must be a JSON object (a SCIM resource).", "invalidSyntax");
  }
  const doc: Doc = {};
  let externalId: string | null = null;
  for (const [key, raw] of Object.entries(body as Doc)) {
    const lower = key.toLowerCase();
    if (lower === "externalid") {
      if (raw !== null && raw !== undefined) externalId = scalar({ type: "string" } as AttributeDef, raw, "externalId") as string;
      continue;
    }
    const ext = extensionFor(type, key);
    if (!ext && isExtensionKey(key)) {
      // An extension the tenant has not declared: kept as sent (within the resource size cap) and
      // answered back, never silently dropped; validated once the tenant declares it.
      if (raw === null || raw === undefined) continue;
      if (typeof raw !== "object" || Array.isArray(raw)) invalid(`'${key}' must be an object.`);
      if (Object.keys(raw as Doc).length > 0) doc[key] = raw;
      continue;
    }
    if (ext) {
      if (raw === null || raw === undefined) continue;
      if (typeof raw !== "object" || Array.isArray(raw)) invalid(`'${ext.id}' must be an object.`);
      const extDoc: Doc = {};
      for (const [subKey, subRaw] of Object.entries(raw as Doc)) {
        const def = findAttribute(ext.attributes, subKey);
        if (!def || !writable(def)) continue;
        const value = attributeValue(def, subRaw, `${ext.id}:${def.name}`);
        if (value !== undefined) extDoc[def.name] = value;
      }
      if (Object.keys(extDoc).length > 0) doc[ext.id] = extDoc;
      continue;
    }
    const def = findAttribute(type.schema.attributes, key);
    if (!def || !writable(def)) continue;
    const value = attributeValue(def, raw);
    if (value !== undefined) doc[def.name] = value;
  }
  checkRequired(type, doc);
  checkStoredSize(type, { ...doc, externalId });
  return { doc, externalId };
}

/** A group's `members` are rows, never values of the resource's stored document. */
const GROUP_MEMBERS = findAttribute(groupSchema.attributes, "members");
const isMembers = (def: AttributeDef) => def === GROUP_MEMBERS;

/**
 * Refuses (413) a resource whose attributes would take more than LIMITS.maxResourceBytes stored.
 */
export function checkStoredSize(type: ResourceTypeDef, doc: Doc): void {
  // Group members are rows; only what is stored as the resource's document counts.
  const stored = type.id === "Group" ? { ...doc, members: undefined } : doc;
  const bytes = new TextEncoder().encode(JSON.stringify(stored)).length;
  if (bytes > LIMITS.maxResourceBytes) {
    throw new ScimError(
      413,
      `The ${type.name}'s attributes would take ${bytes} bytes stored; a resource holds at most ${LIMITS.maxResourceBytes}. Nothing was changed.`,
    );
  }
}

/** Throws when a required attribute is missing or blank. */
export function checkRequired(type: ResourceTypeDef, doc: Doc): void {
  for (const schema of schemasOf(type)) {
    const container = schema === type.schema ? doc : (doc[schema.id] as Doc | undefined);
    // An extension's required attributes bind only users that carry the extension.
    if (schema !== type.schema && container === undefined && !type.extensions.some((e) => e.schema === schema && e.required)) continue;
    for (const def of schema.attributes) {
      if (!def.required) continue;
      const value = container?.[def.name];
      if (value === undefined || (typeof value === "string" && value.trim() === "")) {
        invalid(`'${def.name}' is required.`);
      }
    }
  }
}
