/** Records of what happened: refusals at the SCIM gate, audit events, background jobs' leases. */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { createdAt } from "./columns";
import { integrations } from "./access";

/**
 * Why the SCIM gate refused a request: a token that is not the integration's, or it is disabled.
 */
export const REFUSAL_CAUSES = ["unauthorized", "disabled"] as const;

/**
 * Requests the SCIM gate refused, counted per integration, hour and cause: counters, not events,
 * so a caller without a token grows a count, never the table (one row per integration, hour and
 * cause; the daily run drops rows past the activity window). Keeps the latest reason given.
 */
export const integrationRefusals = sqliteTable(
  "integration_refusals",
  {
    integrationId: text("integration_id")
      .notNull()
      .references(() => integrations.id, { onDelete: "cascade" }),
    tenantId: text("tenant_id").notNull(),
    /** Start of the hour (epoch ms). */
    hour: integer("hour").notNull(),
    cause: text("cause", { enum: REFUSAL_CAUSES }).notNull(),
    count: integer("count").notNull(),
    lastAt: integer("last_at").notNull(),
    lastDetail: text("last_detail").notNull(),
  },
  (t) => [primaryKey({ columns: [t.integrationId, t.hour, t.cause] }), index("integration_refusals_hour_idx").on(t.hour)],
);

/** USER: a provisioned person signed in through Cloudflare Access (the id is their user id). */
export const ACTOR_TYPES = ["ADMIN", "SERVICE_ACCOUNT", "USER"] as const;

/** Append-only record of every write (and rejected SCIM write). Never holds a secret. */
export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    integrationId: text("integration_id"),
    actorType: text("actor_type", { enum: ACTOR_TYPES }).notNull(),
    actorId: text("actor_id"),
    action: text("action").notNull(),
    resourceType: text("resource_type").notNull(),
    resourceId: text("resource_id"),
    /**
     * The resource's name when the event was recorded (a user's userName in the tenant, a group's
     * displayName, a role's name…), null when it has none or it was not known; `resourceNameKey`
     * is its lowercase key, what the case-insensitive filter looks up.
     */
    resourceName: text("resource_name"),
    resourceNameKey: text("resource_name_key"),
    outcome: text("outcome", { enum: ["SUCCESS", "FAILURE"] }).notNull(),
    status: integer("status"),
    detail: text("detail"),
    diff: text("diff", { mode: "json" }).$type<Record<string, { before?: unknown; after?: unknown }>>(),
    requestId: text("request_id"),
    createdAt: createdAt(),
  },
  (t) => [
    index("audit_events_tenant_idx").on(t.tenantId, t.id),
    index("audit_events_resource_idx").on(t.tenantId, t.resourceType, t.resourceId),
    // A name's history within a tenant, newest first; events without a name are not indexed.
    index("audit_events_resource_name_idx")
      .on(t.tenantId, t.resourceNameKey, t.id)
      .where(sql`${t.resourceNameKey} is not null`),
    // An integration's activity by hour and outcome, read from the index alone (covering).
    index("audit_events_integration_activity_idx").on(t.integrationId, t.createdAt, t.resourceType, t.outcome, t.status),
  ],
);

/**
 * Leases of background jobs (the audit archiver): a job runs only while it holds its row's lease,
 * and every step that deletes checks the lease in its own batch, so two overlapping runs can
 * never both act. An expired lease is taken over, which resumes a run that died half-way.
 */
export const jobLeases = sqliteTable("job_leases", {
  name: text("name").primaryKey(),
  holder: text("holder").notNull(),
  expiresAt: integer("expires_at").notNull(),
});
