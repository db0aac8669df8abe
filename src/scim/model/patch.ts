/**
 * PATCH (RFC 7644 §3.5.2) in two steps: normalization, which turns either Entra dialect (and
 * Okta's, and the RFC's) into a list of operations on resolved paths; and application, which runs
 * them on a canonical resource document in memory. Group members never pass through here as a
 * whole: `splitMemberOperations` peels them off so that they become row inserts and deletes.
 *
 * Dialect differences absorbed here: op names in any case; `"True"`/`"False"` for booleans; a
 * path-less value whose keys are dotted (`name.givenName`) or URN-qualified; `Remove` of a
 * multi-valued attribute with a `value` array removing only those elements; `add`/`replace` on a
 * value-filtered path that matches nothing creating the element.
 */
import { ScimError } from "./errors";
import { isExtensionKey } from "./extensions";
import { parseFilter, type CompareOp, type CompareValue, type Filter } from "./filter/parse";
import { findAttribute, PATCH_OP_SCHEMA, type AttributeDef, type ResourceTypeDef, type SchemaDef } from "./schemas";
import { attributeValue, checkRequired, checkStoredSize, type Doc } from "./validate";

export type PatchOpName = "add" | "replace" | "remove";

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

export interface PatchOperation {
  op: PatchOpName;
  path?: PatchPath;
  value?: unknown;
}

/** The largest number of operations one PATCH may carry. */
export const MAX_PATCH_OPERATIONS = 1000;

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

function invalidPath(detail: string): never {
  throw new ScimError(400, detail, "invalidPath");
}

function schemasOf(type: ResourceTypeDef): SchemaDef[] {
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
    // the attribute when it matches, for remove (applyOne refuses it for add and replace).
    if (filter && !def.multiValued && def.type !== "complex") invalidPath(`'${def.name}' is not multi-valued; it cannot be filtered with '[...]'.`);
    if (def.mutability === "readOnly" || sub?.mutability === "readOnly") {
      throw new ScimError(400, `'${sub ? `${def.name}.${sub.name}` : def.name}' is read-only and cannot be modified.`, "mutability");
    }
    return { text: trimmed, schema, def, filter, sub };
  }
  return invalidPath(`'${trimmed}' is not an attribute of ${type.name}.`);
}

/**
 * Reads a PatchOp body into operations. Path-less add/replace values are expanded into one
 * operation per key, so that what follows only deals with paths.
 */
export function normalizePatch(type: ResourceTypeDef, body: unknown): PatchOperation[] {
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw new ScimError(400, "The request body must be a PatchOp JSON object.", "invalidSyntax");
  }
  const request = body as Doc;
  const schemas = request.schemas;
  if (schemas !== undefined && !(Array.isArray(schemas) && schemas.some((s) => typeof s === "string" && s.toLowerCase() === PATCH_OP_SCHEMA.toLowerCase()))) {
    throw new ScimError(400, `'schemas' must contain ${PATCH_OP_SCHEMA}.`, "invalidSyntax");
  }
  const key = Object.keys(request).find((k) => k.toLowerCase() === "operations");
  const operations = key ? request[key] : undefined;
  if (!Array.isArray(operations) || operations.length === 0) {
    throw new ScimError(400, "'Operations' must be a non-empty array.", "invalidSyntax");
  }
  if (operations.length > MAX_PATCH_OPERATIONS) {
    throw new ScimError(400, `At most ${MAX_PATCH_OPERATIONS} operations per PATCH; got ${operations.length}.`, "invalidValue");
  }
  const out: PatchOperation[] = [];
  operations.forEach((raw, index) => {
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
      throw new ScimError(400, `Operations[${index}] must be an object.`, "invalidSyntax");
    }
    const entries = Object.fromEntries(Object.entries(raw as Doc).map(([k, v]) => [k.toLowerCase(), v]));
    const op = typeof entries.op === "string" ? entries.op.toLowerCase() : undefined;
    if (op !== "add" && op !== "replace" && op !== "remove") {
      throw new ScimError(400, `Operations[${index}].op must be add, replace or remove; got ${JSON.stringify(entries.op)}.`, "invalidSyntax");
    }
    const pathText = entries.path;
    if (pathText !== undefined && pathText !== null && typeof pathText !== "string") {
      throw new ScimError(400, `Operations[${index}].path must be a string.`, "invalidPath");
    }
    if (pathText) {
      out.push(unassigningActive(type, { op, path: parsePatchPath(type, pathText), value: entries.value }));
      return;
    }
    if (op === "remove") throw new ScimError(400, `Operations[${index}]: remove needs a path.`, "noTarget");
    const value = entries.value;
    if (!value || typeof value !== "object" || Array.isArray(value)) {
      throw new ScimError(400, `Operations[${index}]: ${op} without a path needs an object value.`, "invalidValue");
    }
    for (const [attribute, attributeValue] of Object.entries(value as Doc)) {
      const lower = attribute.toLowerCase();
      // Echoed resource fields that are not changes (Okta sends the id back).
      if (lower === "schemas" || lower === "meta" || lower === "id") continue;
      out.push(unassigningActive(type, { op, path: parsePatchPath(type, attribute), value: attributeValue }));
    }
  });
  return out;
}

/**
 * A User's `active` left unassigned (removed, RFC 7644 §3.5.2.2, or replaced with null) means
 * inactive here (RFC 7643 §4.1.1 leaves it to the server): the operation becomes `replace` with
 * false, so it is stored and answered as false, never read back as the default true.
 */
function unassigningActive(type: ResourceTypeDef, op: PatchOperation): PatchOperation {
  const path = op.path;
  if (type.id !== "User" || path?.schema !== type.schema || path.def?.name !== "active") return op;
  const unassigns = op.op === "remove" || (op.op === "replace" && (op.value === null || op.value === undefined));
  return unassigns ? { op: "replace", path, value: false } : op;
}

/** Operations on group members, kept apart so they become row changes. */
export type MemberOperation =
  | { kind: "add"; ids: string[] }
  | { kind: "remove"; ids: string[] }
  | { kind: "removeWhere"; filter: Filter }
  | { kind: "removeAll" }
  | { kind: "replace"; ids: string[] };

/** Reads member ids from a members value: `[{value: id}, …]`, a single object, or bare ids. */
export function memberIds(value: unknown, where: string): string[] {
  const items = value === null || value === undefined ? [] : Array.isArray(value) ? value : [value];
  return items.map((item, i) => {
    const id = typeof item === "string" ? item : item && typeof item === "object" ? (item as Doc).value : undefined;
    if (typeof id !== "string" || id === "") {
      throw new ScimError(400, `${where}[${i}] must be a member object with a 'value' (the user id).`, "invalidValue");
    }
    return id;
  });
}

/** The member ids a filter names when it is `value eq "id"` or an `or` of those; otherwise undefined. */
function memberIdsNamed(filter: Filter): string[] | undefined {
  if (filter.kind === "or") {
    const parts = filter.filters.map(memberIdsNamed);
    return parts.every((p) => p !== undefined) ? parts.flat() as string[] : undefined;
  }
  const byValue =
    filter.kind === "compare" && filter.op === "eq" && typeof filter.value === "string" && filter.value !== "" &&
    !filter.path.schema && !filter.path.subAttribute && filter.path.attribute.toLowerCase() === "value";
  return byValue ? [filter.value as string] : undefined;
}

/** Splits a group PATCH into attribute operations and member operations, in order. */
export function splitMemberOperations(ops: PatchOperation[]): { attributes: PatchOperation[]; members: MemberOperation[] } {
  const attributes: PatchOperation[] = [];
  const members: MemberOperation[] = [];
  for (const op of ops) {
    if (op.path?.def?.name !== "members") {
      attributes.push(op);
      continue;
    }
    const path = op.path;
    if (path.sub) invalidPath(`'${path.text}': address members as a whole or with members[value eq "id"].`);
    if (op.op === "remove") {
      // Entra's and Okta's `members[value eq "id"]` (or several, joined by `or`) names members by
      // id: removed by key, as a `value` list is, not walked as a filter.
      const ids = path.filter && memberIdsNamed(path.filter);
      if (ids) members.push({ kind: "remove", ids });
      else if (path.filter) members.push({ kind: "removeWhere", filter: path.filter });
      else if (op.value !== undefined && op.value !== null) members.push({ kind: "remove", ids: memberIds(op.value, "value") });
      else members.push({ kind: "removeAll" });
    } else if (path.filter) {
      invalidPath(`'${path.text}': ${op.op} members without a filter, with the members in 'value'.`);
    } else if (op.op === "add") {
      members.push({ kind: "add", ids: memberIds(op.value, "value") });
    } else {
      members.push({ kind: "replace", ids: memberIds(op.value, "value") });
    }
  }
  return { attributes, members };
}

// ---- application -------------------------------------------------------------------------

function compareValues(op: CompareOp, actual: unknown, expected: CompareValue, caseExact: boolean): boolean {
  if (actual === undefined || actual === null) return op === "ne";
  if (typeof expected === "string" && typeof actual === "string") {
    const a = caseExact ? actual : actual.toLowerCase();
    const e = caseExact ? expected : expected.toLowerCase();
    switch (op) {
      case "eq": return a === e;
      case "ne": return a !== e;
      case "co": return a.includes(e);
      case "sw": return a.startsWith(e);
      case "ew": return a.endsWith(e);
      case "gt": return a > e;
      case "ge": return a >= e;
      case "lt": return a < e;
      case "le": return a <= e;
    }
  }
  if (typeof actual === "boolean" && typeof expected === "string") {
    return compareValues(op, actual, expected.toLowerCase() === "true", caseExact);
  }
  switch (op) {
    case "eq": return actual === expected;
    case "ne": return actual !== expected;
    case "gt": return (actual as number) > (expected as number);
    case "ge": return (actual as number) >= (expected as number);
    case "lt": return (actual as number) < (expected as number);
    case "le": return (actual as number) <= (expected as number);
    default: return false;
  }
}

/** Evaluates a value filter against one element of a multi-valued complex attribute. */
export function elementMatches(filter: Filter, element: unknown, def: AttributeDef): boolean {
  const item = element && typeof element === "object" ? (element as Doc) : { value: element };
  switch (filter.kind) {
    case "and": return filter.filters.every((f) => elementMatches(f, element, def));
    case "or": return filter.filters.some((f) => elementMatches(f, element, def));
    case "not": return !elementMatches(filter.filter, element, def);
    case "valuePath": return invalidPath("Value filters cannot be nested.");
    case "present":
    case "compare": {
      if (filter.path.schema || filter.path.subAttribute) invalidPath(`'${filter.path.attribute}' inside '[...]' must be a sub-attribute of '${def.name}'.`);
      const sub = findAttribute(def.subAttributes, filter.path.attribute);
      if (!sub) invalidPath(`'${def.name}' has no sub-attribute '${filter.path.attribute}'.`);
      const actual = item[sub.name];
      if (filter.kind === "present") return actual !== undefined && actual !== null && actual !== "";
      return compareValues(filter.op, actual, filter.value, sub.caseExact);
    }
  }
}

/** The sub-attribute values a filter pins with `eq` (`type eq "work"`): the seed of a new element. */
function equalities(filter: Filter, def: AttributeDef): Doc | undefined {
  if (filter.kind === "compare" && filter.op === "eq" && !filter.path.subAttribute) {
    const sub = findAttribute(def.subAttributes, filter.path.attribute);
    return sub ? { [sub.name]: filter.value } : undefined;
  }
  if (filter.kind === "and") {
    const parts = filter.filters.map((f) => equalities(f, def));
    if (parts.some((p) => p === undefined)) return undefined;
    return Object.assign({}, ...parts) as Doc;
  }
  return undefined;
}

/**
 * The identity of a multi-valued element for an `add`: its `value` (strings ignoring case), or
 * the whole element when it has none. Two elements are the same when their keys are equal, so a
 * merge looks elements up in a Map: linear in the values, whatever their number.
 */
function elementKey(e: unknown): string {
  if (e && typeof e === "object" && "value" in (e as Doc)) {
    const v = (e as Doc).value;
    return typeof v === "string" ? `s:${v.toLowerCase()}` : `v:${JSON.stringify(v)}`;
  }
  return `e:${JSON.stringify(e)}`;
}

/**
 * When an operation makes an element primary, the others stop being so (RFC 7643 §2.4: at most
 * one primary), whatever their order.
 */
function preferPrimary(elements: unknown[], touched: Set<unknown>): unknown[] {
  const claims = [...touched].some((e) => e && typeof e === "object" && (e as Doc).primary === true);
  if (!claims) return elements;
  return elements.map((e) => {
    if (touched.has(e) || !e || typeof e !== "object" || (e as Doc).primary !== true) return e;
    const { primary: _dropped, ...rest } = e as Doc;
    return rest;
  });
}

function containerFor(doc: Doc, path: PatchPath, type: ResourceTypeDef, create: boolean): Doc | undefined {
  if (path.schema === type.schema) return doc;
  const existing = doc[path.schema.id];
  if (existing && typeof existing === "object") return existing as Doc;
  if (!create) return undefined;
  const fresh: Doc = {};
  doc[path.schema.id] = fresh;
  return fresh;
}

/** Finds a top-level key of `doc` spelled `name` in any case. */
function keyOf(doc: Doc, name: string): string | undefined {
  return Object.keys(doc).find((k) => k.toLowerCase() === name.toLowerCase());
}

/**
 * Applies an operation under an undeclared extension. The path names the whole extension when the
 * user holds data under exactly that URN, or when an add or replace brings an object (a path-less
 * PATCH's `{"urn:…:User": {…}}`); otherwise it names one attribute, after the last ':' (Entra's
 * `urn:…:CustomExt:2.0:User:costCenter`).
 */
function applyUndeclared(doc: Doc, op: PatchOperation, path: string): void {
  const isObject = (v: unknown): v is Doc => !!v && typeof v === "object" && !Array.isArray(v);
  const whole = keyOf(doc, path);
  if (whole !== undefined || (op.op !== "remove" && isObject(op.value))) {
    const key = whole ?? path;
    if (op.op === "remove") {
      delete doc[key];
      return;
    }
    if (!isObject(op.value)) throw new ScimError(400, `'${path}' takes an object value.`, "invalidValue");
    const current = doc[key];
    doc[key] = op.op === "add" && isObject(current) ? { ...current, ...op.value } : op.value;
    return;
  }
  const colon = path.lastIndexOf(":");
  const attribute = path.slice(colon + 1);
  if (!/^[A-Za-z$][\w$-]*$/.test(attribute)) invalidPath(`'${path}' is not an attribute path.`);
  const urn = keyOf(doc, path.slice(0, colon)) ?? path.slice(0, colon);
  const container: Doc = isObject(doc[urn]) ? (doc[urn] as Doc) : {};
  const name = keyOf(container, attribute) ?? attribute;
  if (op.op === "remove") delete container[name];
  else container[name] = op.value;
  if (Object.keys(container).length > 0) doc[urn] = container;
  else delete doc[urn];
}

function applyOne(doc: Doc, op: PatchOperation, type: ResourceTypeDef): void {
  const path = op.path!;
  if (path.undeclared !== undefined) return applyUndeclared(doc, op, path.undeclared);
  const def = path.def;
  if (!def) {
    // The whole extension: add/replace merge its attributes, remove drops it.
    if (op.op === "remove") {
      delete doc[path.schema.id];
      return;
    }
    if (!op.value || typeof op.value !== "object" || Array.isArray(op.value)) {
      throw new ScimError(400, `'${path.text}' takes an object value.`, "invalidValue");
    }
    for (const [key, value] of Object.entries(op.value as Doc)) {
      // The extension's own `schemas` echoed inside its value is not an attribute: ignored.
      if (key.toLowerCase() === "schemas") continue;
      applyOne(doc, { op: op.op, path: parsePatchPath(type, `${path.schema.id}:${key}`), value }, type);
    }
    return;
  }
  const container = containerFor(doc, path, type, op.op !== "remove");
  if (!container) return;
  const current = container[def.name];
  const label = path.text;

  if (!def.multiValued && path.filter) {
    if (op.op !== "remove") invalidPath(`'${label}': '${def.name}' is single-valued; a value filter selects it only to remove it.`);
    // Removed when it matches, left alone when it does not (RFC 7644 §3.5.2.2: no match, no change).
    if (current === undefined || current === null || !elementMatches(path.filter, current, def)) return;
    if (path.sub) {
      if (typeof current === "object") delete (current as Doc)[path.sub.name];
    } else {
      delete container[def.name];
    }
    return;
  }

  if (op.op === "remove") {
    if (!def.multiValued) {
      if (path.sub) {
        if (current && typeof current === "object") delete (current as Doc)[path.sub.name];
      } else {
        delete container[def.name];
      }
      return;
    }
    const elements = Array.isArray(current) ? current : [];
    if (path.filter) {
      if (path.sub) {
        for (const e of elements) if (elementMatches(path.filter, e, def) && e && typeof e === "object") delete (e as Doc)[path.sub.name];
      } else {
        container[def.name] = elements.filter((e) => !elementMatches(path.filter!, e, def));
      }
    } else if (path.sub) {
      for (const e of elements) if (e && typeof e === "object") delete (e as Doc)[path.sub.name];
    } else if (op.value !== undefined && op.value !== null) {
      // Entra's default dialect: remove only the listed elements.
      const listed = attributeValue(def, op.value, label) as unknown[] | undefined;
      const removed = new Set((listed ?? []).map(elementKey));
      container[def.name] = elements.filter((e) => !removed.has(elementKey(e)));
    } else {
      delete container[def.name];
    }
    return;
  }

  // add and replace
  if (path.filter) {
    const elements = Array.isArray(current) ? [...current] : [];
    const value = path.sub ? attributeValue(path.sub, op.value, label) : attributeValue({ ...def, multiValued: false }, op.value, label);
    const touched = new Set<unknown>();
    const next = elements.map((e) => {
      if (!elementMatches(path.filter!, e, def)) return e;
      const changed = path.sub ? { ...(e as Doc), [path.sub.name]: value } : op.op === "replace" ? value : { ...(e as Doc), ...(value as Doc) };
      touched.add(changed);
      return changed;
    });
    if (touched.size === 0) {
      // Entra: a filtered path that matches nothing creates the element it describes.
      const seed = equalities(path.filter, def);
      if (!seed) throw new ScimError(400, `'${label}' matches no value, and its filter does not describe one to create.`, "noTarget");
      const created = path.sub ? { ...seed, [path.sub.name]: value } : { ...seed, ...(value as Doc) };
      touched.add(created);
      next.push(created);
    }
    container[def.name] = attributeValue(def, preferPrimary(next, touched), def.name);
    return;
  }
  if (path.sub) {
    const value = attributeValue(path.sub, op.value, label);
    if (def.multiValued) {
      const elements = Array.isArray(current) ? current : [];
      container[def.name] = elements.length > 0
        ? elements.map((e) => ({ ...(e as Doc), [path.sub!.name]: value }))
        : value === undefined ? undefined : [{ [path.sub.name]: value }];
    } else {
      container[def.name] = { ...((current as Doc | undefined) ?? {}), [path.sub.name]: value };
    }
    return;
  }
  const value = attributeValue(def, op.value, label);
  if (value === undefined) {
    if (op.op === "replace") delete container[def.name];
    return;
  }
  if (def.multiValued) {
    const items = value as unknown[];
    if (op.op === "replace") {
      container[def.name] = items;
    } else {
      const existing = Array.isArray(current) ? current : [];
      const merged = [...existing];
      const positions = new Map<string, number>();
      merged.forEach((e, at) => {
        const key = elementKey(e);
        if (!positions.has(key)) positions.set(key, at);
      });
      const touched = new Set<unknown>();
      for (const item of items) {
        const key = elementKey(item);
        const at = positions.get(key);
        const next = at !== undefined ? { ...(merged[at] as Doc), ...(item as Doc) } : item;
        if (at !== undefined) merged[at] = next;
        else positions.set(key, merged.push(next) - 1);
        touched.add(next);
      }
      container[def.name] = preferPrimary(merged, touched);
    }
  } else if (def.type === "complex" && current && typeof current === "object") {
    // add and replace of a singular complex attribute both merge sub-attributes (RFC 7644 §3.5.2).
    container[def.name] = { ...(current as Doc), ...(value as Doc) };
  } else {
    container[def.name] = value;
  }
}

/**
 * Applies operations to a copy of `doc` (canonical, with `externalId` at the top) and returns
 * the result re-validated: types coerced, empties dropped, required attributes present.
 */
export function applyPatch(type: ResourceTypeDef, doc: Doc, ops: PatchOperation[]): Doc {
  const next = structuredClone(doc);
  for (const op of ops) applyOne(next, op, type);
  return tidy(type, next);
}

/** Drops empty values and extensions, and re-validates every attribute of the document. */
function tidy(type: ResourceTypeDef, doc: Doc): Doc {
  const out: Doc = {};
  if (typeof doc.externalId === "string" && doc.externalId !== "") out.externalId = doc.externalId;
  for (const schema of schemasOf(type)) {
    const source = schema === type.schema ? doc : (doc[schema.id] as Doc | undefined);
    if (!source) continue;
    const target: Doc = schema === type.schema ? out : {};
    for (const def of schema.attributes) {
      if (def.mutability === "readOnly" || def.returned === "never") continue;
      const value = attributeValue(def, source[def.name]);
      if (value !== undefined) target[def.name] = value;
    }
    if (schema !== type.schema && Object.keys(target).length > 0) out[schema.id] = target;
  }
  // Data under extensions the tenant has not declared is kept as sent.
  for (const [key, value] of Object.entries(doc)) {
    if (isExtensionKey(key) && !schemasOf(type).some((s) => s.id.toLowerCase() === key.toLowerCase()) && value && typeof value === "object") out[key] = value;
  }
  checkRequired(type, out);
  checkStoredSize(type, out);
  return out;
}
