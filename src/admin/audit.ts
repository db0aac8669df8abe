/**
 * Admin API: /api/v1/{tenant}/audit-logs, newest first, and its export over a range, oldest first.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { auditRecord, listAuditEvents } from "../iam/audit";
import { exportAuditEvents, exportStream } from "../iam/audit-export";
import { describeError } from "../observability";
import { tenantAccess } from "./access";
import { bearer, json, problems, type AdminApp } from "./app";
import { AuditEvent, AuditExportQuery, AuditQuery, page, TenantParam } from "./schemas";
import { decodeCursor, pageOf } from "./pages";

const tags = ["Audit log"];

const CONTENT_TYPES = { ndjson: "application/x-ndjson; charset=utf-8", csv: "text/csv; charset=utf-8" } as const;

const day = (at: number) => new Date(at).toISOString().slice(0, 10);

/**
 * The days an export's file is named by: its first and last (UTC) day, one day when they are
 * the same, or `until-` its last day when no start was given (everything until today is not
 * "from 1970-01-01"). `to` is exclusive: an export to midnight ends the day before.
 */
export function exportDays(from: number | undefined, to: number): string {
  const last = day(Math.max(to - 1, from ?? 0));
  if (from === undefined) return `until-${last}`;
  const first = day(from);
  return first === last ? first : `${first}-${last}`;
}

/** Registers the audit log routes. */
export function registerAudit(app: AdminApp): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/{tenant}/audit-logs",
      tags,
      summary: "Read the audit log, newest first",
      description: "Every SCIM and admin write, and every refused or failed SCIM write with its error detail. Events older than the retention period are in the archive: see the export.",
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
      return c.json(pageOf(rows, limit, auditRecord), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/{tenant}/audit-logs/export",
      tags,
      summary: "Export the audit log over a time range, oldest first",
      description:
        "Streams every event of the range that matches the filters, from D1 and from the R2 archive alike, in id (time) order, each once. " +
        "NDJSON lines are the list's events; CSV has one header row and the same fields (`diff` as JSON; text starting with = + - @ is prefixed with ' so spreadsheets do not run it). " +
        "A failure after the first byte cuts the transfer rather than ending it early as if complete. " +
        "The file is named `audit-{tenant}-{first day}-{last day}` (UTC), `audit-{tenant}-{day}` for one day, or `audit-{tenant}-until-{last day}` without `from`.",
      security: bearer,
      middleware: [tenantAccess("AUDIT_LOGS", "READ")] as const,
      request: { params: TenantParam, query: AuditExportQuery },
      responses: {
        200: {
          description: "The events.",
          content: { [CONTENT_TYPES.ndjson]: { schema: z.string() }, [CONTENT_TYPES.csv]: { schema: z.string() } },
        },
        ...problems(400, 401, 403, 404),
      },
    }),
    async (c) => {
      const { from, to, format, ...filter } = c.req.valid("query");
      const range = { from: from === undefined ? 0 : Date.parse(from), to: to === undefined ? Date.now() : Date.parse(to) };
      const events = exportAuditEvents(c.var.db, c.env.AUDIT_ARCHIVE, c.var.tenantId, { ...range, ...filter });
      const requestId = c.var.requestId;
      const stream = exportStream(events, format, (err) =>
        console.error(JSON.stringify({ level: "error", requestId, message: "audit export cut short", error: describeError(err) })),
      );
      const name = `audit-${c.var.tenantId}-${exportDays(from === undefined ? undefined : range.from, range.to)}.${format}`;
      return c.body(stream, 200, {
        "Content-Type": CONTENT_TYPES[format],
        "Content-Disposition": `attachment; filename="${name}"`,
        "Cache-Control": "no-store",
      }) as never;
    },
  );
}
