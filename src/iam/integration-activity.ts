/**
 * Provisioning health of an integration, from its audit events: SCIM writes per hour by outcome,
 * the last hour's refusal rate, and when the identity provider was last heard from; and from the
 * gate's counters, the requests it refused per hour (a wrong token, a disabled integration),
 * which never reach the audit log.
 *
 * One D1 round trip: the integration (with its token's last use) and the aggregates in one batch,
 * every aggregate read from the covering index `audit_events_integration_activity_idx`
 * (integration, time, resource type, outcome, status), never the tenant's other events.
 */
import { and, desc, eq, gte, inArray, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { auditEvents, integrationRefusals, integrations, type REFUSAL_CAUSES } from "../db/schema";

export type RefusalCause = (typeof REFUSAL_CAUSES)[number];

const HOUR_MS = 3_600_000;
/** The longest window the activity endpoint shows (its `days` query). */
export const MAX_ACTIVITY_DAYS = 31;
/** SCIM writes are the integration's events on users and groups (its admin events are not). */
const SCIM_RESOURCES = ["USER", "GROUP"];

/**
 * Requests the SCIM gate refused, by cause: 401 (a token that is not the integration's) and 403
 * (disabled).
 */
export interface GateRefusals {
  unauthorized: number;
  disabled: number;
}

export interface HourOfActivity extends GateRefusals {
  /** Start of the hour (epoch ms). */
  start: number;
  succeeded: number;
  refused: number;
  failed: number;
}

export interface IntegrationActivity {
  from: number;
  to: number;
  /** Every hour of the window, oldest first, zeros included. */
  hours: HourOfActivity[];
  totals: { succeeded: number; refused: number; failed: number } & GateRefusals;
  /** The 60 minutes before `to`. */
  lastHour: { writes: number; refused: number; failed: number };
  /** The gate's refusals in the current clock hour (counted per hour). */
  thisHour: GateRefusals & { start: number };
  /** The latest request the gate refused, with the reason it was given. */
  lastRefusal: { at: number; cause: RefusalCause; detail: string } | null;
  /**
   * Refusals and failures in the last hour exceed a fifth of its writes (Entra quarantines apps
   * that keep failing).
   */
  unhealthy: boolean;
  /** Last authenticated request with the integration's token (minute resolution), any method. */
  lastContactAt: number | null;
  lastWriteAt: number | null;
}

// 4xx: the service refused what the client sent; 5xx (or no status): the service failed.
const succeeded = sql<number>`coalesce(sum(${auditEvents.outcome} = 'SUCCESS'), 0)`;
const refused = sql<number>`coalesce(sum(${auditEvents.outcome} = 'FAILURE' and ${auditEvents.status} between 400 and 499), 0)`;
const failed = sql<number>`coalesce(sum(${auditEvents.outcome} = 'FAILURE' and (${auditEvents.status} is null or ${auditEvents.status} >= 500)), 0)`;

/**
 * The activity of one integration of a tenant over the last `days` days (hour buckets), or
 * undefined when the tenant has no such integration.
 */
export async function integrationActivity(
  db: Db,
  tenantId: string,
  integrationId: string,
  window: { days: number; now?: number },
): Promise<IntegrationActivity | undefined> {
  const now = window.now ?? Date.now();
  const to = Math.floor(now / HOUR_MS) * HOUR_MS + HOUR_MS; // end of the current hour
  const from = to - window.days * 24 * HOUR_MS;
  const ofIntegration = (since: number) =>
    and(eq(auditEvents.integrationId, integrationId), gte(auditEvents.createdAt, since), inArray(auditEvents.resourceType, SCIM_RESOURCES));
  // Constants inlined: D1 binds JS numbers as REAL, which would turn this into float division.
  const hour = sql<number>`(${auditEvents.createdAt} / ${sql.raw(String(HOUR_MS))}) * ${sql.raw(String(HOUR_MS))}`;
  const refusalsOf = and(eq(integrationRefusals.tenantId, tenantId), eq(integrationRefusals.integrationId, integrationId));
  const [found, byHour, lastHour, lastWrite, gateByHour, latest] = await db.batch([
    db
      .select({
        id: integrations.id,
        // Written out qualified: Drizzle drops table names in a single-table selection, which
        // would compare api_tokens' column with itself (every token's last use).
        lastContactAt: sql<number | null>`(select max(t.last_used_at) from api_tokens t where t.service_account_id = "integrations"."service_account_id")`,
      })
      .from(integrations)
      .where(and(eq(integrations.tenantId, tenantId), eq(integrations.id, integrationId))),
    db.select({ start: hour, succeeded, refused, failed }).from(auditEvents).where(ofIntegration(from)).groupBy(hour),
    db.select({ succeeded, refused, failed }).from(auditEvents).where(ofIntegration(now - HOUR_MS)),
    db
      .select({ at: auditEvents.createdAt })
      .from(auditEvents)
      .where(and(eq(auditEvents.integrationId, integrationId), inArray(auditEvents.resourceType, SCIM_RESOURCES)))
      .orderBy(desc(auditEvents.createdAt))
      .limit(1),
    db
      .select({ start: integrationRefusals.hour, cause: integrationRefusals.cause, count: integrationRefusals.count })
      .from(integrationRefusals)
      .where(and(refusalsOf, gte(integrationRefusals.hour, from))),
    db
      .select({ at: integrationRefusals.lastAt, cause: integrationRefusals.cause, detail: integrationRefusals.lastDetail })
      .from(integrationRefusals)
      .where(refusalsOf)
      .orderBy(desc(integrationRefusals.lastAt))
      .limit(1),
  ]);
  const integration = found[0];
  if (!integration) return undefined;

  const counted = new Map(byHour.map((h) => [Number(h.start), h]));
  const atGate = new Map<number, GateRefusals>();
  for (const row of gateByHour) {
    const hourOf = atGate.get(Number(row.start)) ?? { unauthorized: 0, disabled: 0 };
    hourOf[row.cause] += Number(row.count);
    atGate.set(Number(row.start), hourOf);
  }
  const hours: HourOfActivity[] = [];
  const totals = { succeeded: 0, refused: 0, failed: 0, unauthorized: 0, disabled: 0 };
  for (let start = from; start < to; start += HOUR_MS) {
    const h = counted.get(start);
    const gate = atGate.get(start) ?? { unauthorized: 0, disabled: 0 };
    const entry = { start, succeeded: Number(h?.succeeded ?? 0), refused: Number(h?.refused ?? 0), failed: Number(h?.failed ?? 0), ...gate };
    totals.succeeded += entry.succeeded;
    totals.refused += entry.refused;
    totals.failed += entry.failed;
    totals.unauthorized += entry.unauthorized;
    totals.disabled += entry.disabled;
    hours.push(entry);
  }
  const current = to - HOUR_MS;
  const recent = lastHour[0] ?? { succeeded: 0, refused: 0, failed: 0 };
  const last = { writes: Number(recent.succeeded) + Number(recent.refused) + Number(recent.failed), refused: Number(recent.refused), failed: Number(recent.failed) };
  return {
    from,
    to,
    hours,
    totals,
    lastHour: last,
    thisHour: { start: current, ...(atGate.get(current) ?? { unauthorized: 0, disabled: 0 }) },
    lastRefusal: latest[0] ? { at: Number(latest[0].at), cause: latest[0].cause, detail: latest[0].detail } : null,
    unhealthy: last.writes > 0 && (last.refused + last.failed) * 5 > last.writes,
    lastContactAt: integration.lastContactAt === null ? null : Number(integration.lastContactAt),
    lastWriteAt: lastWrite[0]?.at ?? null,
  };
}

/**
 * Counts a request the SCIM gate refused, in its integration's row for this hour and cause. Only
 * an integration the tenant has is counted (the row comes from it), so a caller inventing
 * tenants or ids grows nothing, and one hammering a real integration grows a count, not the table.
 */
export async function countRefusal(
  db: Db,
  refusal: { tenantId: string; integrationId: string; cause: RefusalCause; detail: string },
  now: number = Date.now(),
): Promise<void> {
  // Inlined: D1 binds JS numbers as REAL, and the hour is part of the key.
  const hour = sql.raw(String(Math.floor(now / HOUR_MS) * HOUR_MS));
  await db.run(sql`
    insert into integration_refusals (integration_id, tenant_id, hour, cause, count, last_at, last_detail)
    select id, tenant_id, ${hour}, ${refusal.cause}, 1, ${sql.raw(String(Math.floor(now)))}, ${refusal.detail}
    from integrations where id = ${refusal.integrationId} and tenant_id = ${refusal.tenantId}
    on conflict (integration_id, hour, cause) do update
      set count = count + 1, last_at = excluded.last_at, last_detail = excluded.last_detail`);
}

/** Drops the gate's counters older than the longest activity window (the daily run calls it). */
export async function pruneRefusals(db: Db, now: number = Date.now()): Promise<void> {
  await db.delete(integrationRefusals).where(lt(integrationRefusals.hour, now - MAX_ACTIVITY_DAYS * 24 * HOUR_MS - HOUR_MS));
}
