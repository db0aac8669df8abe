/** Refused and failed SCIM writes, in the audit log with their reasons. */
import type { ScimContext } from "./context";
import { createDb } from "../../db/client";
import { recordAudit } from "../../iam/audit";
import { describeError } from "../../observability";

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
  // Through the ungated binding: a refusal by the gate itself (a missing permission) is recorded
  // too.
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
