/** The audit log: every write records an event in the same batch as the change. */
import type { Db, Statement } from "../db/client";
import { newId } from "../db/ids";
import { auditEvents } from "../db/schema";

export type AuditDiff = Record<string, { before?: unknown; after?: unknown }>;

/** Who did it: the admin token holder, or a service account (an integration's, say). */
export type Actor = { type: "ADMIN" } | { type: "SERVICE_ACCOUNT"; id: string };

export interface AuditInput {
  tenantId: string;
  integrationId?: string | null;
  actor: Actor;
  action: string;
  resourceType: string;
  resourceId?: string | null;
  outcome?: "SUCCESS" | "FAILURE";
  status?: number;
  detail?: string;
  diff?: AuditDiff;
  requestId?: string;
}

/** Plans the insert of one audit event; the caller adds it to the batch of the change. */
export function auditStatement(db: Db, event: AuditInput, now: number = Date.now()): Statement {
  return db.insert(auditEvents).values({
    id: newId(now),
    tenantId: event.tenantId,
    integrationId: event.integrationId ?? null,
    actorType: event.actor.type,
    actorId: event.actor.type === "SERVICE_ACCOUNT" ? event.actor.id : null,
    action: event.action,
    resourceType: event.resourceType,
    resourceId: event.resourceId ?? null,
    outcome: event.outcome ?? "SUCCESS",
    status: event.status ?? null,
    detail: event.detail ?? null,
    diff: event.diff ?? null,
    requestId: event.requestId ?? null,
    createdAt: now,
  });
}

/** Returns the changed keys of two flat records as a before/after diff. */
export function diffOf(before: Record<string, unknown>, after: Record<string, unknown>): AuditDiff {
  const diff: AuditDiff = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) {
      diff[key] = { before: before[key], after: after[key] };
    }
  }
  return diff;
}
