/** Refused and failed SCIM writes, in the audit log with their reasons. */
import type { ScimContext } from "./context";
import { createDb } from "../../db/client";
import { MOVING_DETAIL } from "../../db/moving";
import { recordAudit } from "../../iam/audit";
import { describeError } from "../../observability";

const WRITE_ACTIONS: Record<string, string> = { POST: "CREATE", PUT: "UPDATE", PATCH: "UPDATE", DELETE: "DELETE" };

/** The single write requests whose body names the resource: POST and PUT of a user or group. */
const SINGLE_WRITE = /\/(Users|Groups)(?:\/[^/]+)?$/i;

/**
 * The userName (users) or displayName (groups) the refused request's body carried, when the
 * handler already read that body: a body never read (refused before it, by the gate say) is not
 * read for a name, and neither is any store. A /Bulk operation's name is not known here (its
 * request's body is the whole bulk), nor a PATCH's (its operations name no resource): null.
 */
async function nameInBody(c: ScimContext, endpoint: "users" | "groups"): Promise<string | null> {
  const method = c.req.method.toUpperCase();
  const read = c.req.bodyCache.text;
  if ((method !== "POST" && method !== "PUT") || !read || !SINGLE_WRITE.test(c.req.path)) return null;
  try {
    const body: unknown = JSON.parse(await read);
    const name = body && typeof body === "object" ? (body as Record<string, unknown>)[endpoint === "users" ? "userName" : "displayName"] : undefined;
    return typeof name === "string" && name !== "" ? name : null;
  } catch {
    // Not JSON (the refusal itself, likely): no name.
    return null;
  }
}

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
  // A request whose token did not hold is nobody's refused write. A write paused by a move
  // cannot be recorded either: the tenant's shard refuses its every write until the switch.
  if (!c.var.credential || refused.detail === MOVING_DETAIL) return;
  const { tenantId, integrationId, serviceAccountId } = c.var.credential;
  const resourceName = await nameInBody(c, endpoint);
  // Through the ungated binding: a refusal by the gate itself (a missing permission) is recorded
  // too.
  const recorded = recordAudit(createDb(c.var.d1), {
    tenantId,
    integrationId,
    actor: { type: "SERVICE_ACCOUNT", id: serviceAccountId },
    action,
    resourceType: endpoint === "users" ? "USER" : "GROUP",
    resourceId: refused.id ?? null,
    resourceName,
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
