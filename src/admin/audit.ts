/** Admin API: /api/v1/{tenant}/audit-logs, newest first. */
import { createRoute } from "@hono/zod-openapi";
import { listAuditEvents, type AuditEvent as AuditRow } from "../iam/audit";
import { tenantAccess } from "./access";
import { bearer, json, problems, type AdminApp } from "./app";
import { AuditEvent, AuditQuery, page, TenantParam } from "./schemas";
import { decodeCursor, iso, pageOf } from "./validation";

function render(event: AuditRow) {
  return {
    id: event.id,
    tenant: event.tenantId,
    integrationId: event.integrationId,
    actor: { type: event.actorType, id: event.actorId },
    action: event.action,
    resourceType: event.resourceType,
    resourceId: event.resourceId,
    outcome: event.outcome,
    status: event.status,
    detail: event.detail,
    diff: event.diff,
    requestId: event.requestId,
    createdAt: iso(event.createdAt),
  };
}

/** Registers the audit log route. */
export function registerAudit(app: AdminApp): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/{tenant}/audit-logs",
      tags: ["Audit log"],
      summary: "Read the audit log, newest first",
      description: "Every SCIM and admin write, and every refused SCIM write with its error detail.",
      security: bearer,
      middleware: [tenantAccess("AUDIT_LOGS", "READ")] as const,
      request: { params: TenantParam, query: AuditQuery },
      responses: { 200: json(page(AuditEvent, "AuditEventPage"), "A page of events."), ...problems(400, 401, 403, 404) },
    }),
    async (c) => {
      const { limit, cursor, after, ...filter } = c.req.valid("query");
      const rows = await listAuditEvents(c.var.db, c.var.tenantId, {
        ...filter,
        after: after === undefined ? undefined : Date.parse(after),
        before: decodeCursor(cursor),
        limit: limit + 1,
      });
      return c.json(pageOf(rows, limit, render), 200);
    },
  );
}
