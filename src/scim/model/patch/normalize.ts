/**
 * Reads a PatchOp body (RFC 7644 §3.5.2) into operations on resolved paths, whatever the dialect:
 * Entra's two (op names in any case, path-less values with dotted or URN-qualified keys) and
 * Okta's (the resource's `id` echoed back in a path-less value). What follows only deals with
 * paths, so a path-less `add`/`replace` becomes one operation per key.
 */
import { ScimError } from "../errors";
import { PATCH_OP_SCHEMA, type ResourceTypeDef } from "../schemas";
import type { Doc } from "../validate";
import { parsePatchPath, type PatchPath } from "./path";

export type PatchOpName = "add" | "replace" | "remove";

export interface PatchOperation {
  op: PatchOpName;
  path?: PatchPath;
  value?: unknown;
}

/** The largest number of operations one PATCH may carry. */
export const MAX_PATCH_OPERATIONS = 1000;

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
