/**
 * Audit retention: the archive run (D1 → R2, verified, resumable, never twice at once), the
 * export over D1 and the archive, and the scheduled handler. Runs archive every tenant's events
 * of this file's database, so each test checks its own tenant only.
 */
import { createScheduledController } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { and, eq, like } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { auditEvents, jobLeases } from "../../src/db/schema";
import { archiveAuditEvents, readArchiveObject } from "../../src/iam/audit-archive";
import { admin, call, newIntegration, newTenant, scim } from "../support/helpers";

const db = createDb(env.DB);
const DAY = 86_400_000;

/** A UUIDv7 of the given millisecond, as the service would have made it then. */
function idAt(ms: number): string {
  const hex = ms.toString(16).padStart(12, "0") + Array.from(crypto.getRandomValues(new Uint8Array(10)), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Inserts `count` events of `tenantId`, one per `stepMs`, the first `ageMs` ago. */
async function seedEvents(tenantId: string, count: number, ageMs: number, stepMs = 60_000, extra: Partial<typeof auditEvents.$inferInsert> = {}) {
  const start = Date.now() - ageMs;
  const rows = Array.from({ length: count }, (_, i) => ({
    id: idAt(start + i * stepMs),
    tenantId,
    integrationId: null,
    actorType: "ADMIN" as const,
    action: i % 2 ? "UPDATE" : "CREATE",
    resourceType: i % 3 ? "USER" : "GROUP",
    resourceId: `r-${i}`,
    outcome: "SUCCESS" as const,
    detail: i === 0 ? '=HYPERLINK("http://evil.example")' : null,
    diff: { n: { before: i, after: i + 1 } },
    createdAt: start + i * stepMs,
    ...extra,
  }));
  for (let i = 0; i < rows.length; i += 8) await db.insert(auditEvents).values(rows.slice(i, i + 8));
  return rows;
}

/** How many of the events `seedEvents` made for the tenant are still in D1. */
async function d1Count(tenantId: string): Promise<number> {
  return (await db.select({ id: auditEvents.id }).from(auditEvents).where(and(eq(auditEvents.tenantId, tenantId), like(auditEvents.resourceId, "r-%")))).length;
}

async function archivedObjects(tenantId: string) {
  const listing = await env.AUDIT_ARCHIVE.list({ prefix: `audit/${tenantId}/` });
  return listing.objects;
}

/** The export's lines; `seededOnly` drops the tenant's own creation event. */
async function exportAll(tenantId: string, query = "", seededOnly = true) {
  const res = await call("GET", `/api/v1/${tenantId}/audit-logs/export${query}`, { token: env.ADMIN_TOKEN });
  const lines = res.text.split("\n").filter(Boolean);
  return { ...res, lines: seededOnly ? lines.filter((l) => JSON.parse(l).resourceType !== "TENANT") : lines };
}

describe("the archive run", () => {
  it("moves events older than the retention to gzip'd NDJSON per tenant and day, verified, then deletes exactly those", async () => {
    const tenant = await newTenant("arc");
    const old = await seedEvents(tenant, 30, 100 * DAY, DAY / 3); // ~10 days of events, 100 days ago
    const recent = await seedEvents(tenant, 5, 2 * DAY);
    const report = await archiveAuditEvents(db, env.AUDIT_ARCHIVE, { retentionDays: 90, batchSize: 7 });
    expect(report).toMatchObject({ kind: "done" });

    // Only the old events left D1; the recent ones stay.
    const left = await db.select({ id: auditEvents.id }).from(auditEvents).where(and(eq(auditEvents.tenantId, tenant), like(auditEvents.resourceId, "r-%")));
    expect(left.map((r) => r.id).sort()).toEqual(recent.map((r) => r.id).sort());

    // Every old event is in exactly one object, under its own day.
    const objects = await archivedObjects(tenant);
    const seen: string[] = [];
    for (const object of objects) {
      expect(object.key).toMatch(new RegExp(`^audit/${tenant}/\\d{4}/\\d{2}/\\d{2}/[0-9a-f-]{36}_[0-9a-f-]{36}\\.ndjson\\.gz$`));
      const events = await readArchiveObject((await env.AUDIT_ARCHIVE.get(object.key))!.body);
      for (const event of events) {
        const day = new Date(event.createdAt).toISOString().slice(0, 10).replaceAll("-", "/");
        expect(object.key).toContain(`/${day}/`);
        expect(event.tenant).toBe(tenant);
      }
      seen.push(...events.map((e) => e.id));
    }
    expect(seen.sort()).toEqual(old.map((r) => r.id).sort());
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("with retention 0 archives everything older than the run, and the list is then empty while the export has every event once", async () => {
    const integration = await newIntegration();
    for (let i = 0; i < 4; i++) expect((await scim(integration, "POST", "/Users", { userName: `u${i}@example.com` })).status).toBe(201);
    expect((await scim(integration, "POST", "/Users", { userName: "u0@example.com" })).status).toBe(409); // a refusal, recorded
    const before = await exportAll(integration.tenant, "", false);
    expect(before.status).toBe(200);
    const events = before.lines.map((l) => JSON.parse(l));
    expect(events.length).toBeGreaterThanOrEqual(6);

    const report = await archiveAuditEvents(db, env.AUDIT_ARCHIVE, { retentionDays: 0, now: Date.now() + 1 });
    expect(report.kind).toBe("done");
    expect((await admin("GET", `/${integration.tenant}/audit-logs`)).json.results).toEqual([]);
    const after = await exportAll(integration.tenant, "", false);
    expect(after.lines.map((l) => JSON.parse(l))).toEqual(events);
  });

  it("resumes a run that stopped between writing and deleting, without writing any event twice", async () => {
    const tenant = await newTenant("resume");
    const rows = await seedEvents(tenant, 12, 200 * DAY, 3_600_000);
    await expect(
      archiveAuditEvents(db, env.AUDIT_ARCHIVE, {
        retentionDays: 90,
        batchSize: 100,
        afterObjectsWritten: async () => {
          throw new Error("the isolate died here");
        },
      }),
    ).rejects.toThrow("died");
    expect(await d1Count(tenant)).toBe(12); // nothing deleted
    const firstObjects = await archivedObjects(tenant);
    expect(firstObjects.length).toBeGreaterThan(0);

    const report = await archiveAuditEvents(db, env.AUDIT_ARCHIVE, { retentionDays: 90 });
    expect(report).toMatchObject({ kind: "done" });
    if (report.kind !== "busy") expect(report.resumed).toBeGreaterThanOrEqual(12);
    expect(await d1Count(tenant)).toBe(0);
    expect((await archivedObjects(tenant)).map((o) => o.key)).toEqual(firstObjects.map((o) => o.key)); // no new object
    const exported = (await exportAll(tenant)).lines.map((l) => JSON.parse(l).id);
    expect(exported).toEqual(rows.map((r) => r.id));
  });

  it("does not run while another run holds the lease, and a run that lost its lease deletes nothing", async () => {
    const tenant = await newTenant("lease");
    await seedEvents(tenant, 6, 120 * DAY);
    await db.insert(jobLeases).values({ name: "audit-archive", holder: "other-run", expiresAt: Date.now() + 60_000 });
    expect(await archiveAuditEvents(db, env.AUDIT_ARCHIVE, { retentionDays: 90 })).toEqual({ kind: "busy", holder: "other-run" });
    expect(await d1Count(tenant)).toBe(6);

    // An expired lease is taken over; the run is then overtaken half-way by another (its lease
    // stolen after it wrote its objects): it must not delete.
    await db.update(jobLeases).set({ expiresAt: Date.now() - 1 }).where(eq(jobLeases.name, "audit-archive"));
    const report = await archiveAuditEvents(db, env.AUDIT_ARCHIVE, {
      retentionDays: 90,
      holder: "slow-run",
      afterObjectsWritten: async () => {
        await db.update(jobLeases).set({ holder: "newer-run", expiresAt: Date.now() + 60_000 }).where(eq(jobLeases.name, "audit-archive"));
      },
    });
    expect(report.kind).toBe("lease_lost");
    expect(await d1Count(tenant)).toBe(6);
    // The newer run's lease is left alone by the slow run's release.
    expect((await db.select().from(jobLeases).where(eq(jobLeases.name, "audit-archive")).get())?.holder).toBe("newer-run");
    await db.delete(jobLeases).where(eq(jobLeases.name, "audit-archive"));

    expect((await archiveAuditEvents(db, env.AUDIT_ARCHIVE, { retentionDays: 90 })).kind).toBe("done");
    expect(await d1Count(tenant)).toBe(0);
    const ids = (await exportAll(tenant)).lines.map((l) => JSON.parse(l).id);
    expect(ids).toHaveLength(6);
    expect(new Set(ids).size).toBe(6);
  });

  it("runs from the Cron Trigger with AUDIT_RETENTION_DAYS, and refuses a malformed setting", async () => {
    const tenant = await newTenant("cron");
    await seedEvents(tenant, 3, 40 * DAY);
    await seedEvents(tenant, 2, 10 * DAY);
    const run = async (days: string) => {
      const controller = createScheduledController({ scheduledTime: new Date(), cron: "17 3 * * *" });
      const worker = (await import("../../src/index")).default;
      await worker.scheduled(controller, { ...env, AUDIT_RETENTION_DAYS: days });
    };
    await expect(run("thirty")).rejects.toThrow("AUDIT_RETENTION_DAYS");
    expect(await d1Count(tenant)).toBe(5);
    await run("30");
    expect(await d1Count(tenant)).toBe(2);
  });
});

describe("the export", () => {
  it("streams the range in order from the archive and D1, with the list's filters, as NDJSON or CSV", async () => {
    const tenant = await newTenant("exp");
    const archived = await seedEvents(tenant, 10, 300 * DAY, DAY);
    const live = await seedEvents(tenant, 4, 3 * DAY, 3_600_000);
    await archiveAuditEvents(db, env.AUDIT_ARCHIVE, { retentionDays: 90 });
    expect(await d1Count(tenant)).toBe(4);

    const all = await exportAll(tenant);
    expect(all.headers.get("content-type")).toContain("application/x-ndjson");
    expect(all.headers.get("content-disposition")).toContain(`attachment; filename="audit-${tenant}-`);
    expect(all.lines.map((l) => JSON.parse(l).id)).toEqual([...archived, ...live].map((r) => r.id));
    // The same fields as the list.
    const listed = (await admin("GET", `/${tenant}/audit-logs?limit=1`)).json.results[0];
    expect(Object.keys(JSON.parse(all.lines.at(-1)!)).sort()).toEqual(Object.keys(listed).sort());

    // A range inside the archive, and one spanning both sources.
    const from = new Date(archived[3]!.createdAt).toISOString();
    const to = new Date(archived[6]!.createdAt).toISOString();
    expect((await exportAll(tenant, `?from=${from}&to=${to}`)).lines.map((l) => JSON.parse(l).id)).toEqual(archived.slice(3, 6).map((r) => r.id));
    const span = await exportAll(tenant, `?from=${new Date(archived[8]!.createdAt).toISOString()}&to=${new Date(live[2]!.createdAt).toISOString()}`);
    expect(span.lines.map((l) => JSON.parse(l).id)).toEqual([archived[8], archived[9], live[0], live[1]].map((r) => r!.id));

    // Filters.
    const groups = await exportAll(tenant, "?resourceType=GROUP&action=CREATE");
    const expected = [...archived, ...live].filter((r) => r.resourceType === "GROUP" && r.action === "CREATE").map((r) => r.id);
    expect(groups.lines.map((l) => JSON.parse(l).id)).toEqual(expected);

    // CSV: a header, one row per event, formulas defused, quotes doubled.
    const csv = await call("GET", `/api/v1/${tenant}/audit-logs/export?format=csv`, { token: env.ADMIN_TOKEN });
    expect(csv.headers.get("content-type")).toContain("text/csv");
    const rows = csv.text.trimEnd().split("\r\n");
    expect(rows[0]).toBe("id,createdAt,tenant,integrationId,actorType,actorId,action,resourceType,resourceId,resourceName,outcome,status,detail,diff,requestId");
    expect(rows).toHaveLength(16); // header, 14 seeded events, the tenant's creation
    expect(rows[1]).toContain(`"'=HYPERLINK(""http://evil.example"")"`);
    expect(rows[1]).toContain(`"{""n"":{""before"":0,""after"":1}}"`);
  });

  it("answers bad ranges and formats with a problem, and needs AUDIT_LOGS:READ", async () => {
    const integration = await newIntegration();
    const bad = async (query: string) => {
      const res = await call("GET", `/api/v1/${integration.tenant}/audit-logs/export${query}`, { token: env.ADMIN_TOKEN });
      expect(res.status, query).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      return res.json.detail as string;
    };
    expect(await bad("?format=xml")).toContain("format");
    expect(await bad("?from=yesterday")).toContain("from");
    expect(await bad("?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z")).toContain("from must be before to");
    // The integration's provisioner holds no AUDIT_LOGS:READ.
    const denied = await call("GET", `/api/v1/${integration.tenant}/audit-logs/export`, { token: integration.token });
    expect(denied.status).toBe(403);
    // Another tenant's archive is not reachable through this tenant's export.
    const other = await newTenant("other");
    await seedEvents(other, 2, 200 * DAY);
    await archiveAuditEvents(db, env.AUDIT_ARCHIVE, { retentionDays: 90 });
    expect((await exportAll(integration.tenant)).lines.every((l) => JSON.parse(l).tenant === integration.tenant)).toBe(true);
  });
});

describe("integration activity", () => {
  it("counts SCIM writes per hour by outcome from the audit log, flags a refusal rate over a fifth, and reports the last contact", async () => {
    const integration = await newIntegration();
    const path = `/${integration.tenant}/integrations/${integration.id}/activity?days=2`;
    const quiet = await admin("GET", path);
    expect(quiet.status).toBe(200);
    expect(quiet.json.hours).toHaveLength(48);
    expect(quiet.json.totals).toEqual({ succeeded: 0, refused: 0, failed: 0, unauthorized: 0, disabled: 0 });
    expect(quiet.json.unhealthy).toBe(false);
    expect(quiet.json.lastWriteAt).toBeNull();
    expect(quiet.json.lastContactAt).toBeNull(); // other integrations' tokens (used by earlier tests) do not count

    for (let i = 0; i < 6; i++) expect((await scim(integration, "POST", "/Users", { userName: `a${i}@example.com` })).status).toBe(201);
    expect((await scim(integration, "GET", "/Users")).status).toBe(200); // reads are not writes
    const activity = await admin("GET", path);
    expect(activity.json.totals).toEqual({ succeeded: 6, refused: 0, failed: 0, unauthorized: 0, disabled: 0 });
    expect(activity.json.unhealthy).toBe(false);
    expect(activity.json.hours.at(-1)).toMatchObject({ succeeded: 6, refused: 0, failed: 0 });
    expect(Date.parse(activity.json.lastContactAt)).toBeGreaterThan(Date.now() - 120_000);

    // Two refusals among eight writes: a quarter, over a fifth.
    expect((await scim(integration, "POST", "/Users", { userName: "a0@example.com" })).status).toBe(409);
    expect((await scim(integration, "PATCH", "/Users/nope", { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [] })).status).toBeGreaterThanOrEqual(400);
    const unhealthy = await admin("GET", path);
    expect(unhealthy.json.lastHour).toEqual({ writes: 8, refused: 2, failed: 0 });
    expect(unhealthy.json.unhealthy).toBe(true);
    // The warning's link: the audit list filtered to those refusals.
    const refusals = await admin("GET", `/${integration.tenant}/audit-logs?integrationId=${integration.id}&outcome=FAILURE&after=${new Date(Date.now() - 3_600_000).toISOString()}`);
    expect(refusals.json.results).toHaveLength(2);

    expect((await admin("GET", `/${integration.tenant}/integrations/${integration.id}/activity?days=0`)).status).toBe(400);
    const elsewhere = await newTenant("elsewhere");
    expect((await admin("GET", `/${elsewhere}/integrations/${integration.id}/activity`)).status).toBe(404);
  });

  it("reads the integration's events through the covering index, not the tenant's", async () => {
    const plan = await env.DB.prepare(
      "explain query plan select (created_at / 3600000) * 3600000, sum(outcome = 'SUCCESS') from audit_events where integration_id = ? and created_at >= ? and resource_type in ('USER','GROUP') group by 1",
    )
      .bind("x", 0)
      .all<{ detail: string }>();
    expect(plan.results.map((r) => r.detail).join(" | ")).toContain("USING COVERING INDEX audit_events_integration_activity_idx");
  });

  it("answers one D1 round trip", async () => {
    const integration = await newIntegration();
    const logs: string[] = [];
    const original = console.log;
    console.log = (line: string) => logs.push(line);
    try {
      await exports.default.fetch(`https://scim.test/api/v1/${integration.tenant}/integrations/${integration.id}/activity`, { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } });
    } finally {
      console.log = original;
    }
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.route?.endsWith("/activity"));
    // Auth by the admin token reads nothing; the tenant check is one round trip, the activity one more.
    expect(line?.d1?.roundTrips).toBeLessThanOrEqual(2);
  });
});
