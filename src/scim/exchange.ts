/**
 * The HTTP side every SCIM handler shares: the context type, absolute URLs, JSON in and out, and
 * the hand-off of writes to the integration's Durable Object (routes.ts and bulk.ts use it).
 */
import type { Context } from "hono";
import { passedToken, type ScimVariables } from "./gate";
import { publicBaseUrl } from "../config";
import { createDb } from "../db/client";
import { addStats, type D1Stats } from "../db/metered";
import { RETRY_AFTER_SECONDS } from "../db/transient";
import { recordAudit } from "../iam/audit";
import type { Action, Resource } from "../iam/permissions";
import type { WriteFailure } from "../iam/writes";
import { describeError } from "../observability";
import { SCIM_CONTENT_TYPE, ScimError } from "./errors";
import { integrationWriter, type IntegrationWriter, type WriteRequest } from "./integration-writer";
import type { ScimBase } from "./resources";

export type ScimContext = Context<{ Bindings: Env; Variables: ScimVariables }>;

/** The absolute base URL of this integration's SCIM endpoint. */
export function scimBase(c: ScimContext): ScimBase {
  const { tenantId, integrationId } = c.var.scope;
  return `${publicBaseUrl(c.env, c.req.url)}/api/v1/${tenantId}/integrations/${integrationId}/scim/v2`;
}

/** Sends a SCIM JSON document. */
export function scimJson(c: ScimContext, body: unknown, status: 200 | 201 = 200, headers: Record<string, string> = {}) {
  return c.body(JSON.stringify(body), status, { ...headers, "Content-Type": SCIM_CONTENT_TYPE });
}

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** How deep a request body may nest: far past any SCIM resource, short of any stack. */
export const MAX_JSON_DEPTH = 32;

/** The nesting depth of a parsed JSON value, measured without recursion. */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (!item || typeof item !== "object") continue;
    deepest = Math.max(deepest, depth);
    if (deepest > MAX_JSON_DEPTH) return deepest;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** Reads a JSON body: application/scim+json or application/json (any charset), else 415. */
export async function readJson(c: ScimContext): Promise<unknown> {
  const contentType = c.req.header("Content-Type");
  if (contentType && !JSON_MEDIA_TYPE.test(contentType.split(";")[0]!.trim())) {
    throw new ScimError(415, `Send the body as application/scim+json or application/json, not ${contentType}.`);
  }
  const text = await c.req.text();
  if (text.trim() === "") throw new ScimError(400, "The request body is empty; a JSON object is expected.", "invalidSyntax");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    // Only the position: the parser's message can quote the body, and bodies can hold passwords.
    const position = /position (\d+)/.exec(String((error as Error).message))?.[1];
    throw new ScimError(400, `The request body is not valid JSON${position ? ` (at character ${position})` : ""}.`, "invalidSyntax");
  }
  if (depthOf(body) > MAX_JSON_DEPTH) {
    throw new ScimError(400, `The request body nests deeper than ${MAX_JSON_DEPTH} levels; no SCIM resource does.`, "invalidSyntax");
  }
  return body;
}

/**
 * The write's context: tenant, integration and request for the audit log, and the authority
 * (token, integration, permissions) the write must still hold when it commits. A token the gate
 * has not checked in this request is handed over as `presented` when it passed lately in this
 * isolate (`passedToken`): the integration's writer then checks it in its own first batch, and
 * the write costs two D1 round trips. Any other token is checked here first, so a wrong one never
 * reaches the writer.
 */
export async function writeContext(c: ScimContext, permissions: string[] = c.var.requiredPermissions ?? []): Promise<WriteRequest> {
  const { tenantId, integrationId } = c.var.scope;
  const request = { tenantId, integrationId, requestId: c.var.requestId, ifMatch: c.req.header("If-Match") };
  const passed = c.var.credential ? undefined : passedToken(tenantId, integrationId, c.var.tokenHash);
  const known = passed ?? (c.var.credential ?? (await c.var.authenticate()));
  return {
    ...request,
    actor: { type: "SERVICE_ACCOUNT" as const, id: known.serviceAccountId },
    authority: { tokenId: known.tokenId, integrationId, serviceAccountId: known.serviceAccountId, permissions },
    ...(passed ? { presented: { tokenHash: c.var.tokenHash, permissions } } : {}),
  };
}

export type ScimWriter = Pick<
  IntegrationWriter,
  "createUser" | "replaceUser" | "patchUser" | "deleteUser" | "createGroup" | "replaceGroup" | "patchGroup" | "deleteGroup"
>;

/**
 * The integration's writer. Typed as the class: RPC's Serializable mapping erases `unknown`-typed
 * JSON. The object answers every refusal and defect as a result; a call that throws failed as a
 * call (the object was reset, aborted or unreachable mid-write), so whether it committed is
 * unknown: 503 with Retry-After, and the retry plans again from fresh state.
 */
export function writer(c: ScimContext): ScimWriter {
  const stub = integrationWriter(c.env, c.var.scope.integrationId) as unknown as ScimWriter;
  return new Proxy(stub, {
    get(target, prop) {
      return (...args: unknown[]) =>
        (target as unknown as Record<PropertyKey, (...a: unknown[]) => Promise<unknown>>)[prop]!(...args).catch((error: unknown) => {
          console.error(JSON.stringify({ level: "warn", requestId: c.var.requestId, message: "the integration's writer failed", error: describeError(error) }));
          throw new ScimError(
            503,
            `The integration's writer was interrupted; the write may or may not have been applied. Retry after ${RETRY_AFTER_SECONDS} s.`,
            undefined,
            { "Retry-After": String(RETRY_AFTER_SECONDS) },
          );
        });
    },
  });
}

/**
 * Turns a refused write into the SCIM error it means. A writer that checked the token hands its
 * credential row back: the gate takes it as its own lookup (and refuses as it would have).
 */
export async function unwrap<R extends { kind: string }>(c: ScimContext, result: R): Promise<Exclude<R, { kind: "error" }>> {
  // The object's D1 work belongs to this request's log line.
  addStats(c.var.d1Stats, (result as { d1?: D1Stats }).d1);
  const checked = result as { tokenChecked?: boolean; credentialRow?: Record<string, unknown> };
  if (checked.tokenChecked) await c.var.acceptCredential(checked.credentialRow);
  if (result.kind === "error") {
    const f = result as unknown as WriteFailure;
    throw new ScimError(f.status, f.detail, f.scimType, f.retryAfter ? { "Retry-After": String(f.retryAfter) } : {});
  }
  return result as Exclude<R, { kind: "error" }>;
}

/**
 * What each SCIM write needs from the integration's service account: the single routes and every
 * operation of a /Bulk request check the same table. A user's DELETE revokes tenant access (and
 * the user's bindings), hence USERS:UPDATE, not USERS:DELETE.
 */
export const WRITE_PERMISSIONS = {
  Users: {
    POST: [["USERS", "CREATE"]],
    PUT: [["USERS", "UPDATE"]],
    PATCH: [["USERS", "UPDATE"]],
    DELETE: [["USERS", "UPDATE"], ["BINDINGS", "DELETE"]],
  },
  Groups: {
    POST: [["GROUPS", "CREATE"]],
    PUT: [["GROUPS", "UPDATE"]],
    PATCH: [["GROUPS", "UPDATE"]],
    DELETE: [["GROUPS", "DELETE"], ["BINDINGS", "DELETE"]],
  },
} as const satisfies Record<"Users" | "Groups", Record<"POST" | "PUT" | "PATCH" | "DELETE", readonly (readonly [Resource, Action])[]>>;

const WRITE_ACTIONS: Record<string, string> = { POST: "CREATE", PUT: "UPDATE", PATCH: "UPDATE", DELETE: "DELETE" };

/**
 * Records a refused (4xx) or failed (5xx) SCIM write in the audit log with its error detail, so
 * an admin sees why Entra reports failures and the Provisioning page can chart them; a single
 * request and a /Bulk operation are recorded alike. Successful writes are audited in their own
 * batch. A failure's record is best-effort, after the answer: the store that failed the write
 * may fail its record too, and that must not change what the client is told.
 */
export async function recordRefusedWrite(
  c: ScimContext,
  refused: { method: string; endpoint: string; id?: string; status: number; detail: string },
): Promise<void> {
  const action = WRITE_ACTIONS[refused.method.toUpperCase()];
  const endpoint = refused.endpoint.toLowerCase();
  if (!action || (endpoint !== "users" && endpoint !== "groups") || refused.status < 400) return;
  // A request whose token did not hold is nobody's refused write.
  if (!c.var.credential) return;
  const { tenantId, integrationId, serviceAccountId } = c.var.credential;
  // Through the ungated binding: a refusal by the gate itself (a missing permission) is recorded too.
  const recorded = recordAudit(createDb(c.var.d1), {
    tenantId,
    integrationId,
    actor: { type: "SERVICE_ACCOUNT", id: serviceAccountId },
    action,
    resourceType: endpoint === "users" ? "USER" : "GROUP",
    resourceId: refused.id ?? null,
    outcome: "FAILURE",
    status: refused.status,
    detail: refused.detail,
    requestId: c.var.requestId,
  });
  if (refused.status < 500) return recorded;
  c.executionCtx.waitUntil(
    recorded.catch((err) => console.error(JSON.stringify({ level: "warn", requestId: c.var.requestId, message: "failed write not audited", error: describeError(err) }))),
  );
}
