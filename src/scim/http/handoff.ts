/**
 * The hand-off of a write to the integration's writer (src/scim/writer/): the authority it must
 * still hold when it commits, the call, and the refusal or result it answers. With the gate
 * (./gate.ts) and the writer, this is a token's whole path through a write.
 */
import { passedToken } from "./gate";
import type { ScimContext } from "./context";
import { addStats, type D1Stats } from "../../db/metered";
import { forgetPlacement } from "../../db/shards";
import { RETRY_AFTER_SECONDS } from "../../db/transient";
import type { Action, Resource } from "../../iam/permissions";
import type { WriteFailure } from "../../iam/writes";
import { describeError } from "../../observability";
import { ScimError } from "../model/errors";
import { integrationWriter, type IntegrationWriter, type WriteRequest } from "../writer/integration-writer";

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
  const request = { tenantId, integrationId, requestId: c.var.requestId, ifMatch: c.req.header("If-Match"), shard: c.var.shard };
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
    // A 503 may be a move under way, or over with this isolate still sending writes to the old
    // shard: the retry reads the tenant's placement again.
    if (f.status === 503) forgetPlacement(c.var.scope.tenantId);
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
