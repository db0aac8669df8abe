/**
 * /Bulk (RFC 7644 §3.7): operations run in order, each exactly as its single request would run
 * (the same permission check, validation, write through the integration's Durable Object as one
 * batch, audit row), so one that fails never half-applies and the others are unaffected.
 * `bulkId` cross-references resolve to what earlier operations of the request created.
 */
import { groupEtag } from "../../iam/groups";
import { userEtag } from "../../iam/users";
import { LIMITS } from "../model/limits";
import { ScimError, scimErrorBody, type ScimType } from "../model/errors";
import { permissionCheck } from "../../iam/credentials";
import { scimBase, scimJson, type ScimContext } from "./context";
import { unwrap, WRITE_PERMISSIONS, writeContext, writer } from "./handoff";
import { readJson } from "./json";
import { recordRefusedWrite } from "./refused";

export const BULK_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
export const BULK_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

type Method = "POST" | "PUT" | "PATCH" | "DELETE";
type Endpoint = "Users" | "Groups";

/** One operation's answer in the BulkResponse. */
interface OperationResult {
  method: string;
  bulkId?: string;
  version?: string;
  location?: string;
  status: string;
  response?: unknown;
}

/** A refused operation: its status and SCIM error body, nothing changed. */
class OperationError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly scimType?: ScimType,
  ) {
    super(detail);
  }
}

const invalid = (detail: string, scimType: ScimType = "invalidSyntax") => new OperationError(400, detail, scimType);

function field(op: Record<string, unknown>, name: string): unknown {
  return Object.entries(op).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
}

/**
 * Reads the BulkRequest envelope; anything wrong with it as a whole is a 400 (or 413 past the
 * limits).
 */
function readEnvelope(body: unknown): { operations: Record<string, unknown>[]; failOnErrors?: number } {
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw new ScimError(400, "A bulk request must be a BulkRequest object.", "invalidSyntax");
  }
  const request = body as Record<string, unknown>;
  const schemas = field(request, "schemas");
  if (schemas !== undefined && !(Array.isArray(schemas) && schemas.includes(BULK_REQUEST_SCHEMA))) {
    throw new ScimError(400, `'schemas' must contain ${BULK_REQUEST_SCHEMA}.`, "invalidSyntax");
  }
  const operations = field(request, "Operations");
  if (!Array.isArray(operations) || operations.length === 0) {
    throw new ScimError(400, "'Operations' must be a non-empty array of bulk operations.", "invalidSyntax");
  }
  if (operations.length > LIMITS.maxBulkOperations) {
    throw new ScimError(413, `A bulk request carries at most ${LIMITS.maxBulkOperations} operations (bulk.maxOperations); this one has ${operations.length}.`);
  }
  if (operations.some((op) => !op || typeof op !== "object" || Array.isArray(op))) {
    throw new ScimError(400, "Every bulk operation must be an object.", "invalidSyntax");
  }
  const failOnErrors = field(request, "failOnErrors");
  if (failOnErrors !== undefined && failOnErrors !== null && !(Number.isInteger(failOnErrors) && (failOnErrors as number) >= 1)) {
    throw new ScimError(400, "'failOnErrors' must be a positive integer.", "invalidValue");
  }
  return { operations: operations as Record<string, unknown>[], ...(typeof failOnErrors === "number" ? { failOnErrors } : {}) };
}

/** Replaces every "bulkId:x" string in `value` with the id that bulkId created. */
function resolveBulkIds(value: unknown, created: Map<string, string>): unknown {
  if (typeof value === "string" && value.startsWith("bulkId:")) {
    const id = created.get(value.slice("bulkId:".length));
    if (id === undefined) {
      throw new OperationError(409, `'${value}' names no operation of this request that created a resource (missing, failed, or a circular reference).`, "invalidValue");
    }
    return id;
  }
  if (Array.isArray(value)) return value.map((v) => resolveBulkIds(v, created));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveBulkIds(v, created)]));
  }
  return value;
}

/** What an operation targets: `/Users`, `/Groups/{id}` (any case; an id may be "bulkId:x"). */
function target(method: Method, path: unknown, created: Map<string, string>): { endpoint: Endpoint; id?: string } {
  if (typeof path !== "string") throw invalid("'path' must be a string such as /Users or /Groups/{id}.");
  const match = /^\/?(users|groups)(?:\/([^/]+))?\/?$/i.exec(path.trim());
  if (!match) throw invalid(`'${path}' is not a path of this server's bulk endpoint (/Users, /Users/{id}, /Groups, /Groups/{id}).`, "invalidPath");
  const endpoint: Endpoint = match[1]!.toLowerCase() === "users" ? "Users" : "Groups";
  let decoded: string | undefined;
  try {
    decoded = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
  } catch {
    throw invalid(`'${path}' is not a valid path (bad percent-encoding).`, "invalidPath");
  }
  const id = decoded === undefined ? undefined : (resolveBulkIds(decoded, created) as string);
  if (method === "POST" && id !== undefined) throw invalid(`POST goes to /${endpoint}, not to one ${endpoint === "Users" ? "user" : "group"}.`, "invalidPath");
  if (method !== "POST" && id === undefined) throw invalid(`${method} needs a resource: /${endpoint}/{id}.`, "invalidPath");
  return { endpoint, ...(id !== undefined ? { id } : {}) };
}

/** Runs one operation through the integration's writer, as its single request would. */
async function runOperation(c: ScimContext, op: Record<string, unknown>, created: Map<string, string>, duplicate: boolean): Promise<OperationResult> {
  const methodText = field(op, "method");
  const method = typeof methodText === "string" ? (methodText.toUpperCase() as Method) : undefined;
  if (!method || !["POST", "PUT", "PATCH", "DELETE"].includes(method)) throw invalid("'method' must be POST, PUT, PATCH or DELETE.");
  const bulkId = field(op, "bulkId");
  if (bulkId !== undefined && (typeof bulkId !== "string" || bulkId === "")) throw invalid("'bulkId' must be a non-empty string.");
  if (method === "POST" && bulkId === undefined) throw invalid("A POST operation needs a 'bulkId' (RFC 7644 §3.7).");
  if (duplicate) throw invalid(`bulkId '${String(bulkId)}' is used twice in this request.`, "uniqueness");
  const version = field(op, "version");
  if (version !== undefined && typeof version !== "string") throw invalid("'version' must be an ETag string.");
  const { endpoint, id } = target(method, field(op, "path"), created);
  const data = method === "DELETE" ? undefined : resolveBulkIds(field(op, "data"), created);
  if (method !== "DELETE" && (data === undefined || data === null)) throw invalid(`${method} needs 'data'.`);

  const { wanted, refusal } = permissionCheck((await c.var.authenticate()).permissions, WRITE_PERMISSIONS[endpoint][method]);
  if (refusal) throw new OperationError(403, refusal);
  const write = { ...(await writeContext(c, wanted)), ifMatch: version, body: data };
  const base = scimBase(c);
  const answer = (status: number, resourceId: string, etag?: string): OperationResult => ({
    method,
    ...(typeof bulkId === "string" ? { bulkId } : {}),
    ...(etag ? { version: etag } : {}),
    location: `${base}/${endpoint}/${resourceId}`,
    status: String(status),
  });
  const w = writer(c);
  if (endpoint === "Users") {
    if (method === "DELETE") {
      await unwrap(c, await w.deleteUser({ ...write, id: id! }));
      return answer(204, id!);
    }
    const result = await unwrap(c, method === "POST" ? await w.createUser(write) : method === "PUT" ? await w.replaceUser({ ...write, id: id! }) : await w.patchUser({ ...write, id: id! }));
    return answer(method === "POST" ? 201 : 200, result.user.id, userEtag(result.user));
  }
  if (method === "DELETE") {
    await unwrap(c, await w.deleteGroup({ ...write, id: id! }));
    return answer(204, id!);
  }
  const result = await unwrap(c, method === "POST" ? await w.createGroup(write) : method === "PUT" ? await w.replaceGroup({ ...write, id: id! }) : await w.patchGroup({ ...write, id: id! }));
  return answer(method === "POST" ? 201 : method === "PATCH" ? 204 : 200, result.group.id, groupEtag(result.group));
}

/** Records a refused operation in the audit log, as the single request's refusal would be. */
async function auditRefusal(c: ScimContext, op: Record<string, unknown>, error: OperationError): Promise<void> {
  const path = /^\/?(users|groups)(?:\/([^/]+))?/i.exec(String(field(op, "path") ?? ""));
  if (!path) return;
  await recordRefusedWrite(c, { method: String(field(op, "method") ?? ""), endpoint: path[1]!, id: path[2], status: error.status, detail: `bulk: ${error.detail}` });
}

/** The bulkIds an operation refers to ("bulkId:x" in its path or data). */
function referencesOf(op: Record<string, unknown>): string[] {
  const out: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === "string" && value.startsWith("bulkId:")) out.push(value.slice("bulkId:".length));
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === "object") Object.values(value).forEach(walk);
  };
  walk(field(op, "data"));
  const path = field(op, "path");
  if (typeof path === "string") for (const match of path.matchAll(/bulkId:([^/?#]+)/g)) out.push(decodeURIComponentSafe(match[1]!));
  return out;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * POST /Bulk. Operations run in request order, except that one referring to a bulkId a later POST
 * of the request defines waits until that POST has run (RFC 7644 §3.7.2: the server resolves
 * references in any order); references that can never resolve (circular, or to a failed POST)
 * fail their operation with 409. Answers come in request order.
 */
export async function bulk(c: ScimContext): Promise<Response> {
  const { operations, failOnErrors } = readEnvelope(await readJson(c));
  const created = new Map<string, string>();
  const results = new Map<number, OperationResult>();
  // Who defines each bulkId: the first POST naming it (a later one is a duplicate).
  const definedBy = new Map<string, number>();
  const duplicates = new Set<number>();
  operations.forEach((op, index) => {
    const bulkId = field(op, "bulkId");
    if (typeof bulkId !== "string") return;
    if (definedBy.has(bulkId)) duplicates.add(index);
    else definedBy.set(bulkId, index);
  });
  let errors = 0;
  let pending = operations.map((_, index) => index);
  const stopped = () => failOnErrors !== undefined && errors >= failOnErrors;

  const run = async (index: number) => {
    const op = operations[index]!;
    try {
      const result = await runOperation(c, op, created, duplicates.has(index));
      const bulkId = field(op, "bulkId");
      if (typeof bulkId === "string" && result.status === "201") created.set(bulkId, result.location!.slice(result.location!.lastIndexOf("/") + 1));
      results.set(index, result);
    } catch (caught) {
      // Whatever one operation throws is that operation's answer: the ones before it committed
      // and are answered, the ones after it still run.
      const error =
        caught instanceof OperationError
          ? caught
          : caught instanceof ScimError
            ? new OperationError(caught.status, caught.detail, caught.scimType)
            : new OperationError(400, "The operation could not be read (a malformed path or data).", "invalidSyntax");
      errors++;
      await auditRefusal(c, op, error);
      const method = field(op, "method");
      const bulkId = field(op, "bulkId");
      results.set(index, {
        method: typeof method === "string" ? method.toUpperCase() : String(method),
        ...(typeof bulkId === "string" ? { bulkId } : {}),
        status: String(error.status),
        response: scimErrorBody(error.status, error.detail, error.scimType),
      });
    }
  };

  while (pending.length > 0 && !stopped()) {
    const waiting: number[] = [];
    for (const index of pending) {
      // RFC 7644 §3.7.3: past failOnErrors errors, the rest is not performed (nor answered).
      if (stopped()) break;
      const waitsFor = referencesOf(operations[index]!).some((ref) => {
        const definer = definedBy.get(ref);
        return !created.has(ref) && definer !== undefined && definer !== index && !results.has(definer);
      });
      if (waitsFor) waiting.push(index);
      else await run(index);
    }
    // Nothing ran this round: what is left waits on itself (a cycle). Run it to fail it.
    if (waiting.length === pending.length) {
      for (const index of waiting) if (!stopped()) await run(index);
      break;
    }
    pending = waiting;
  }
  const answered = [...results.entries()].sort(([a], [b]) => a - b).map(([, result]) => result);
  return scimJson(c, { schemas: [BULK_RESPONSE_SCHEMA], Operations: answered });
}
