/**
 * Audit events' names beyond the API: the migration that names the events recorded before names
 * were (users' and groups' current names, by id within the tenant), and the archive, whose
 * lines from before names still read (as null) and whose named lines the export filters alike.
 */
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { asc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { auditEvents } from "../../src/db/schema";
import { listAuditEvents } from "../../src/iam/audit";
import { archiveAuditEvents, archivedRecord, dayPrefix } from "../../src/iam/audit-archive";
import { call, newIntegration, scim } from "../support/helpers";

const DAY = 86_400_000;

/** A UUIDv7 of the given millisecond, as the service would have made it then. */
function idAt(ms: number): string {
  const hex = ms.toString(16).padStart(12, "0") + Array.from(crypto.getRandomValues(new Uint8Array(10)), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

describe("the migration naming earlier events", () => {
  /** Events as the schema before names stored them: [id, tenant, type, resource id]. */
  const EVENTS = [
    ["e1", "t-one", "USER", "u-ada"],
    ["e2", "t-two", "USER", "u-ada"],
    ["e3", "t-one", "GROUP", "g-eng"],
    // The same group id in another tenant's event (a refused write's path, say): not its group.
    ["e4", "t-two", "GROUP", "g-eng"],
    ["e5", "t-one", "USER", "u-gone"],
    ["e6", "t-one", "ROLE", "u-ada"],
    ["e7", "t-one", "USER", null],
  ] as const;

  it("gives user and group events their current name in the event's tenant, and no other event a name", async () => {
    const all = env.TEST_MIGRATIONS;
    const named = all.findIndex((m) => m.name === "0018_audit_resource_names.sql");
    expect(named).toBeGreaterThan(0);
    await applyD1Migrations(env.MIGRATION_DB, all.slice(0, named));
    for (const statement of [
      `INSERT INTO tenants (id, name, created_at) VALUES ('t-one', 'One', 1), ('t-two', 'Two', 2)`,
      `INSERT INTO users (id, user_name, user_name_key, created_at, updated_at) VALUES ('u-ada', 'Ada@Example.com', 'ada@example.com', 1, 1)`,
      // Renamed in t-one since: its events get the name it has now.
      `INSERT INTO tenant_users (tenant_id, user_id, user_name, user_name_key, created_at, updated_at) VALUES
        ('t-one', 'u-ada', 'Ada.L@Example.com', 'ada.l@example.com', 1, 5),
        ('t-two', 'u-ada', 'ada@two.example', 'ada@two.example', 2, 2)`,
      `INSERT INTO groups (id, tenant_id, display_name, display_name_key, created_at, updated_at) VALUES ('g-eng', 't-one', 'Engineering', 'engineering', 3, 3)`,
      ...EVENTS.map(
        ([id, tenant, type, resource], i) =>
          `INSERT INTO audit_events (id, tenant_id, actor_type, action, resource_type, resource_id, outcome, created_at)
           VALUES ('${id}', '${tenant}', 'ADMIN', 'CREATE', '${type}', ${resource === null ? "NULL" : `'${resource}'`}, 'SUCCESS', ${10 + i})`,
      ),
    ]) {
      await env.MIGRATION_DB.prepare(statement).run();
    }
    await applyD1Migrations(env.MIGRATION_DB, all);

    const db = createDb(env.MIGRATION_DB);
    const rows = await db
      .select({ id: auditEvents.id, name: auditEvents.resourceName, key: auditEvents.resourceNameKey })
      .from(auditEvents)
      .orderBy(asc(auditEvents.id));
    expect(rows).toEqual([
      { id: "e1", name: "Ada.L@Example.com", key: "ada.l@example.com" },
      { id: "e2", name: "ada@two.example", key: "ada@two.example" },
      { id: "e3", name: "Engineering", key: "engineering" },
      { id: "e4", name: null, key: null },
      { id: "e5", name: null, key: null },
      { id: "e6", name: null, key: null },
      { id: "e7", name: null, key: null },
    ]);
    // And the filter finds them by it.
    const found = await listAuditEvents(db, "t-one", { resourceName: "ADA.L@example.COM", limit: 10 });
    expect(found.map((e) => e.id)).toEqual(["e1"]);
  });
});

describe("the archive", () => {
  it("reads lines archived before names as nameless, in the same shape, and filters archived names like D1's", async () => {
    const db = createDb(env.DB);
    const i = await newIntegration();
    const user = await scim(i, "POST", "/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "Ada@Example.com" });
    expect(user.status).toBe(201);
    // Everything of this tenant moves to the archive: the events are made old first.
    await db.update(auditEvents).set({ createdAt: Date.now() - 100 * DAY }).where(eq(auditEvents.tenantId, i.tenant));
    expect((await archiveAuditEvents(db, env.AUDIT_ARCHIVE, { retentionDays: 90 })).kind).toBe("done");

    // An object an earlier version wrote, its lines without resourceName.
    const at = Date.now() - 200 * DAY;
    const old = {
      id: idAt(at),
      tenant: i.tenant,
      integrationId: null,
      actor: { type: "ADMIN", id: null },
      action: "CREATE",
      resourceType: "USER",
      resourceId: "u-old",
      outcome: "SUCCESS",
      status: null,
      detail: null,
      diff: null,
      requestId: null,
      createdAt: new Date(at).toISOString(),
    };
    const gzip = new Blob([JSON.stringify(old) + "\n"]).stream().pipeThrough(new CompressionStream("gzip"));
    await env.AUDIT_ARCHIVE.put(`${dayPrefix(i.tenant, at)}${old.id}_${old.id}.ndjson.gz`, await new Response(gzip).arrayBuffer());

    const exported = async (query: string) => {
      const res = await call("GET", `/api/v1/${i.tenant}/audit-logs/export${query}`, { token: env.ADMIN_TOKEN });
      return res.text.split("\n").filter(Boolean);
    };
    const lines = await exported("?resourceType=USER");
    expect(lines).toHaveLength(2);
    const oldLine = JSON.parse(lines[0]!);
    expect(oldLine).toEqual({ ...old, resourceName: null });
    // In its place, after resourceId, as every other line has it.
    expect(Object.keys(oldLine)).toEqual(Object.keys(JSON.parse(lines[1]!)));
    expect(JSON.parse(lines[1]!)).toMatchObject({ resourceId: user.json.id, resourceName: "Ada@Example.com" });

    // The name filter reads the archive too, ignoring case; the nameless line never matches.
    const byName = (await exported("?resourceName=ada%40example.com")).map((l) => JSON.parse(l).resourceId);
    expect(byName).toEqual([user.json.id]);
    expect(archivedRecord(JSON.stringify({ ...old, resourceName: "x" })).resourceName).toBe("x");
  });
});
