/**
 * Runs PATCH operations on a canonical resource document in memory, then re-validates the result:
 * a PATCH is atomic, so the operations work on a copy, and a refusal anywhere leaves the stored
 * resource as it was. Each operation's path is resolved once to where it lands (the `Target`),
 * then `add`, `remove` or `replace` (operations.ts) runs there; a whole extension and an
 * undeclared extension's data are handled before that, as they have no attribute definition.
 */
import { ScimError } from "../errors";
import { isExtensionKey } from "../extensions";
import type { ResourceTypeDef } from "../schemas";
import { attributeValue, checkRequired, checkStoredSize, type Doc } from "../validate";
import type { PatchOpName, PatchOperation } from "./normalize";
import { add, remove, replace, type Target } from "./operations";
import { invalidPath, parsePatchPath, schemasOf, type PatchPath } from "./path";

const OPERATIONS = { add, remove, replace } satisfies Record<PatchOpName, (target: Target, value: unknown) => void>;

/**
 * Applies operations to a copy of `doc` (canonical, with `externalId` at the top) and returns
 * the result re-validated: types coerced, empties dropped, required attributes present.
 */
export function applyPatch(type: ResourceTypeDef, doc: Doc, ops: PatchOperation[]): Doc {
  const next = structuredClone(doc);
  for (const op of ops) applyOne(next, op, type);
  return tidy(type, next);
}

function applyOne(doc: Doc, op: PatchOperation, type: ResourceTypeDef): void {
  const path = op.path!;
  if (path.undeclared !== undefined) return applyUndeclared(doc, op, path.undeclared);
  if (!path.def) return applyExtension(doc, op, type);
  const target = resolve(doc, path, type, op.op !== "remove");
  if (target) OPERATIONS[op.op](target, op.value);
}

/**
 * Where a path with an attribute lands. The extension's object is created for add and replace;
 * a remove under an extension the document lacks has nothing to do (undefined).
 */
function resolve(doc: Doc, path: PatchPath, type: ResourceTypeDef, create: boolean): Target | undefined {
  const def = path.def!;
  let container: Doc | undefined = doc;
  if (path.schema !== type.schema) {
    const existing = doc[path.schema.id];
    if (existing && typeof existing === "object") container = existing as Doc;
    else if (create) container = doc[path.schema.id] = {};
    else container = undefined;
  }
  return container && { container, key: def.name, def, filter: path.filter, sub: path.sub, label: path.text };
}

/** The whole extension: add and replace set each attribute of the value, remove drops it. */
function applyExtension(doc: Doc, op: PatchOperation, type: ResourceTypeDef): void {
  const path = op.path!;
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
