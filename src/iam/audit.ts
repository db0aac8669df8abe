/** The audit log: every write records an event in the same batch as the change. */
import { and, desc, eq, getTableColumns, gte, lt, sql, type SQL } from "drizzle-orm";
import type { AnySQLiteTable } from "drizzle-orm/sqlite-core";
import type { Db, Statement } from "../db/client";
import { newId } from "../db/ids";
import { auditEvents } from "../db/schema";
import { caseKey } from "./user-reads";

export type AuditDiff = Record<string, { before?: unknown; after?: unknown }>;

/**
 * Who did it: the admin token holder, a service account (an integration's, say), or a person signed
 * in through Access.
 */
export type Actor = { type: "ADMIN" } | { type: "SERVICE_ACCOUNT"; id: string } | { type: "USER"; id: string };

export interface AuditInput {
  tenantId: string;
  integrationId?: string | null;
  actor: Actor;
  action: string;
  resourceType: string;
  resourceId?: string | null;
  /**
   * The resource's name at the time of the event: a user's userName in the tenant, a group's
   * displayName, a role's, service account's, integration's, tenant's or schema's name; null for
   * what has none (bindings, tokens) or when it is not known (most refused writes).
   */
  resourceName?: string | null;
  outcome?: "SUCCESS" | "FAILURE";
  status?: number;
  detail?: string;
  diff?: AuditDiff;
  requestId?: string;
}

/** Plans the insert of one audit event; the caller adds it to the batch of the change. */
export function auditStatement(db: Db, event: AuditInput, now: number = Date.now()): Statement {
  return db.insert(auditEvents).values(auditRow(event, now));
}

/**
 * At most `max` characters of a text, and when cut a visible marker saying how much is missing:
 * a refused request's path or message (a 1 MiB /Bulk path, say) cannot make a large row.
 */
export function excerpt(text: string, max: number): string {
  if (text.length <= max) return text;
  // Never keep half of a surrogate pair.
  const end = /[\uD800-\uDBFF]/.test(text[max - 1]!) ? max - 1 : max;
  return `${text.slice(0, end)}…[${text.length - end} more characters]`;
}

/**
 * The key the `resourceName` filter looks up: the name in lowercase, as userName and displayName
 * keys are (`caseKey`), so a name is found whatever case it is asked in.
 */
export const resourceNameKey = (name: string): string => caseKey(name);

function auditRow(event: AuditInput, now: number) {
  const name = event.resourceName == null ? null : excerpt(event.resourceName, AUDIT_LIMITS.resourceNameChars);
  return {
    id: newId(now),
    tenantId: event.tenantId,
    integrationId: event.integrationId ?? null,
    actorType: event.actor.type,
    actorId: event.actor.type === "ADMIN" ? null : event.actor.id,
    action: event.action,
    resourceType: event.resourceType,
    resourceId: event.resourceId == null ? null : excerpt(event.resourceId, AUDIT_LIMITS.resourceIdChars),
    resourceName: name,
    resourceNameKey: name === null ? null : resourceNameKey(name),
    outcome: event.outcome ?? "SUCCESS",
    status: event.status ?? null,
    detail: event.detail == null ? null : excerpt(event.detail, AUDIT_LIMITS.detailChars),
    diff: event.diff ?? null,
    requestId: event.requestId ?? null,
    createdAt: now,
  } satisfies typeof auditEvents.$inferInsert;
}

/**
 * Plans the insert of one audit event that happens only if `table` has a row matching `where`
 * when the batch runs: for changes whose own insert is conditional.
 */
export function auditStatementIf(
  db: Db,
  event: AuditInput,
  guard: { table: AnySQLiteTable; where: SQL },
  now: number = Date.now(),
): Statement {
  const row: Record<string, unknown> = auditRow(event, now);
  // INSERT … SELECT lists the table's columns in table order: select the constants in that order.
  const constants = Object.fromEntries(
    Object.keys(getTableColumns(auditEvents)).map((key) => {
      const value = row[key] ?? null;
      return [key, sql`${value === null || typeof value !== "object" ? value : JSON.stringify(value)}`.as(key)];
    }),
  ) as Record<keyof typeof auditEvents.$inferInsert, SQL.Aliased>;
  return db.insert(auditEvents).select(db.select(constants).from(guard.table).where(guard.where).limit(1));
}

/** Records one event on its own (a refused request, which has no change to ride with). */
export async function recordAudit(db: Db, event: AuditInput, now: number = Date.now()): Promise<void> {
  await db.batch([auditStatement(db, event, now)]);
}

/**
 * How much of a change an audit event keeps: a multi-valued attribute with more values than
 * `sample` is summarised (counts of values before, after, added and removed, and the first few
 * added and removed), and any other value longer than `valueBytes` of JSON is cut. An event's
 * diff therefore stays within a few KiB however large the resource (SECURITY.md, "Limits").
 * Its resource id (a refused write's path segment, which the client chose), its resource name (a
 * refused write's userName, say) and its detail keep `resourceIdChars`, `resourceNameChars` and
 * `detailChars` characters at most (`excerpt`).
 */
export const AUDIT_LIMITS = { sample: 5, valueBytes: 1024, resourceIdChars: 512, resourceNameChars: 512, detailChars: 1024 } as const;

/** A value as the audit log keeps it. */
function kept(value: unknown): unknown {
  const json = JSON.stringify(value);
  if (json === undefined || json.length <= AUDIT_LIMITS.valueBytes) return value;
  return { truncated: true, bytes: json.length, start: json.slice(0, 200) };
}

/** Summarises a change of a large multi-valued attribute in linear time. */
function arrayChange(before: unknown[], after: unknown[]): { before: unknown; after: unknown } {
  const beforeKeys = new Set(before.map((v) => JSON.stringify(v)));
  const afterKeys = new Set(after.map((v) => JSON.stringify(v)));
  const added = after.filter((v) => !beforeKeys.has(JSON.stringify(v)));
  const removed = before.filter((v) => !afterKeys.has(JSON.stringify(v)));
  const summary = (values: unknown[], sample: unknown[], changed: "added" | "removed") => ({
    count: values.length,
    [changed]: { count: sample.length, first: sample.slice(0, AUDIT_LIMITS.sample).map(kept) },
  });
  return { before: summary(before, removed, "removed"), after: summary(after, added, "added") };
}

/**
 * Whether two JSON values are the same value: objects compare by their members whatever the
 * order of their keys (a client resending an extension with its keys reordered changed nothing),
 * arrays element by element. Members that are undefined count as absent, as in JSON.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  }
  const present = (o: object) => Object.entries(o).filter(([, v]) => v !== undefined);
  const [x, y] = [present(a), present(b)];
  if (x.length !== y.length) return false;
  const other = b as Record<string, unknown>;
  return x.every(([key, value]) => Object.hasOwn(other, key) && sameValue(value, other[key]));
}

/** Returns the changed keys of two flat records as a before/after diff, bounded (AUDIT_LIMITS). */
export function diffOf(before: Record<string, unknown>, after: Record<string, unknown>): AuditDiff {
  const diff: AuditDiff = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const [b, a] = [before[key], after[key]];
    if (sameValue(b, a)) continue;
    const large = (v: unknown) => Array.isArray(v) && v.length > AUDIT_LIMITS.sample;
    if (large(b) || large(a)) diff[key] = arrayChange(Array.isArray(b) ? b : [], Array.isArray(a) ? a : []);
    else diff[key] = { before: kept(b), after: kept(a) };
  }
  return diff;
}

export type AuditEvent = typeof auditEvents.$inferSelect;

/** An event as the API lists it, exports it and the archive stores it (one line of NDJSON). */
export interface AuditRecord {
  id: string;
  tenant: string;
  integrationId: string | null;
  actor: { type: AuditEvent["actorType"]; id: string | null };
  action: string;
  resourceType: string;
  resourceId: string | null;
  /** Absent from lines archived before names were recorded: readers take it for null. */
  resourceName: string | null;
  outcome: AuditEvent["outcome"];
  status: number | null;
  detail: string | null;
  diff: AuditDiff | null;
  requestId: string | null;
  createdAt: string;
}

/** The record of a stored event. */
export function auditRecord(event: AuditEvent): AuditRecord {
  return {
    id: event.id,
    tenant: event.tenantId,
    integrationId: event.integrationId,
    actor: { type: event.actorType, id: event.actorId },
    action: event.action,
    resourceType: event.resourceType,
    resourceId: event.resourceId,
    resourceName: event.resourceName,
    outcome: event.outcome,
    status: event.status,
    detail: event.detail,
    diff: event.diff,
    requestId: event.requestId,
    createdAt: new Date(event.createdAt).toISOString(),
  };
}

export interface AuditQuery {
  integrationId?: string;
  resourceType?: string;
  resourceId?: string;
  /** Only events of resources of this name, in any case (the resource-name index). */
  resourceName?: string;
  action?: string;
  outcome?: "SUCCESS" | "FAILURE";
  /** Only events at or after this time (epoch ms). */
  after?: number;
  /** Cursor: only events older than this id. */
  before?: string;
  limit: number;
}

/** A tenant's audit events, newest first. */
export async function listAuditEvents(db: Db, tenantId: string, query: AuditQuery): Promise<AuditEvent[]> {
  return auditEventsQuery(db, tenantId, query);
}

/** The query `listAuditEvents` runs, unrun (tests read its plan). */
export function auditEventsQuery(db: Db, tenantId: string, query: AuditQuery) {
  return db
    .select()
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.tenantId, tenantId),
        query.integrationId ? eq(auditEvents.integrationId, query.integrationId) : undefined,
        query.resourceType ? eq(auditEvents.resourceType, query.resourceType) : undefined,
        query.resourceId ? eq(auditEvents.resourceId, query.resourceId) : undefined,
        query.resourceName ? eq(auditEvents.resourceNameKey, resourceNameKey(query.resourceName)) : undefined,
        query.action ? eq(auditEvents.action, query.action) : undefined,
        query.outcome ? eq(auditEvents.outcome, query.outcome) : undefined,
        query.after !== undefined ? gte(auditEvents.createdAt, query.after) : undefined,
        query.before ? lt(auditEvents.id, query.before) : undefined,
      ),
    )
    .orderBy(desc(auditEvents.id))
    .limit(query.limit);
}
