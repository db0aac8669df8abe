/**
 * The audit log names what it touched (issue 23, item 4): each event keeps the resource's name as
 * it was when the event was recorded, the list and the export answer it, and `resourceName`
 * filters by it, ignoring case, within the tenant, through its index.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { auditEventsQuery } from "../../src/iam/audit";
import { exportPageQuery } from "../../src/iam/audit-export";
import { admin, call, newIntegration, newTenant, scim, type TestIntegration } from "../support/helpers";

const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const EXT = "urn:ietf:params:scim:schemas:extension:Contoso:2.0:User";

interface Event {
  action: string;
  resourceType: string;
  resourceId: string | null;
  resourceName: string | null;
  outcome: string;
  status: number | null;
}

/** Every event of the tenant's audit log (newest first), through the API, with `query`. */
async function events(tenant: string, query = ""): Promise<Event[]> {
  const res = await admin("GET", `/${tenant}/audit-logs?limit=200${query}`);
  expect(res.status).toBe(200);
  return res.json.results;
}

const named = (list: Event[]) => list.map((e) => [e.resourceType, e.action, e.resourceName]);

const rename = (path: string, value: unknown) => ({ schemas: [PATCH], Operations: [{ op: "replace", path, value }] });

async function newUser(i: TestIntegration, userName: string): Promise<string> {
  const res = await scim(i, "POST", "/Users", { schemas: [USER], userName });
  expect(res.status).toBe(201);
  return res.json.id;
}

describe("an event's name", () => {
  it("is the user's userName when the event happened: a rename leaves the earlier events their name", async () => {
    const i = await newIntegration();
    const id = await newUser(i, "Ada@Example.com");
    expect((await scim(i, "PATCH", `/Users/${id}`, rename("userName", "ada.lovelace@example.com"))).status).toBe(200);
    expect((await scim(i, "PATCH", `/Users/${id}`, rename("active", false))).status).toBe(200);
    expect((await scim(i, "DELETE", `/Users/${id}`)).status).toBe(204);
    expect(named(await events(i.tenant, `&resourceId=${id}`))).toEqual([
      ["USER", "DELETE", "ada.lovelace@example.com"],
      ["USER", "UPDATE", "ada.lovelace@example.com"],
      // The rename's event carries the new name; its diff, the old one.
      ["USER", "UPDATE", "ada.lovelace@example.com"],
      ["USER", "CREATE", "Ada@Example.com"],
    ]);
  });

  it("is the group's displayName when the event happened", async () => {
    const i = await newIntegration();
    const member = await newUser(i, "grace@example.com");
    const created = await scim(i, "POST", "/Groups", { schemas: [GROUP], displayName: "Engineering" });
    expect(created.status).toBe(201);
    const id = created.json.id;
    expect((await scim(i, "PATCH", `/Groups/${id}`, rename("displayName", "Platform"))).status).toBe(204);
    const add = { schemas: [PATCH], Operations: [{ op: "add", path: "members", value: [{ value: member }] }] };
    expect((await scim(i, "PATCH", `/Groups/${id}`, add)).status).toBe(204);
    expect((await scim(i, "DELETE", `/Groups/${id}`)).status).toBe(204);
    expect(named(await events(i.tenant, `&resourceId=${id}`))).toEqual([
      ["GROUP", "DELETE", "Platform"],
      ["GROUP", "UPDATE", "Platform"],
      ["GROUP", "UPDATE", "Platform"],
      ["GROUP", "CREATE", "Engineering"],
    ]);
  });

  it("is the name of a tenant, integration, service account, role or SCIM schema; bindings and tokens have none", async () => {
    const tenant = await newTenant("names");
    const i = await newIntegration(tenant, { name: "Entra ID" });
    expect((await admin("PATCH", `/${tenant}/integrations/${i.id}`, { name: "Entra (prod)" })).status).toBe(200);
    expect((await admin("POST", `/${tenant}/integrations/${i.id}/token`)).status).toBe(200);
    const role = await admin("POST", `/${tenant}/roles`, { name: "Viewers", permissions: { USERS: ["READ"] } });
    expect(role.status).toBe(201);
    expect((await admin("PATCH", `/${tenant}/roles/${role.json.id}`, { name: "Readers" })).status).toBe(200);
    const account = await admin("POST", `/${tenant}/service-accounts`, { name: "backup-bot" });
    expect(account.status).toBe(201);
    const binding = await admin("POST", `/${tenant}/bindings`, { roleId: role.json.id, subjectType: "SERVICE_ACCOUNT", subjectId: account.json.id });
    expect(binding.status).toBe(201);
    expect((await admin("POST", `/${tenant}/service-accounts/${account.json.id}/tokens`, {})).status).toBe(201);
    expect((await admin("DELETE", `/${tenant}/service-accounts/${account.json.id}`)).status).toBe(204);
    const schema = { name: "ContosoUser", attributes: [{ name: "costCenter", type: "string" }] };
    expect((await admin("PUT", `/${tenant}/scim-schemas/${encodeURIComponent(EXT)}`, schema)).status).toBe(201);
    expect((await admin("DELETE", `/${tenant}/scim-schemas/${encodeURIComponent(EXT)}`)).status).toBe(204);
    expect((await admin("DELETE", `/${tenant}/integrations/${i.id}`)).status).toBe(204);

    expect(named(await events(tenant)).reverse()).toEqual([
      ["TENANT", "CREATE", tenant],
      ["INTEGRATION", "CREATE", "Entra ID"],
      ["SERVICE_ACCOUNT", "CREATE", "scim-Entra ID"],
      ["BINDING", "CREATE", null],
      ["API_TOKEN", "CREATE", null],
      ["INTEGRATION", "UPDATE", "Entra (prod)"],
      ["INTEGRATION", "ROTATE_TOKEN", "Entra (prod)"],
      ["ROLE", "CREATE", "Viewers"],
      ["ROLE", "UPDATE", "Readers"],
      ["SERVICE_ACCOUNT", "CREATE", "backup-bot"],
      ["BINDING", "CREATE", null],
      ["API_TOKEN", "CREATE", null],
      ["SERVICE_ACCOUNT", "DELETE", "backup-bot"],
      ["BINDING", "DELETE", null],
      ["API_TOKEN", "DELETE", null],
      ["SCIM_SCHEMA", "CREATE", "ContosoUser"],
      ["SCIM_SCHEMA", "DELETE", "ContosoUser"],
      // The integration's account keeps the name it was created with.
      ["SERVICE_ACCOUNT", "DELETE", "scim-Entra ID"],
      ["BINDING", "DELETE", null],
      ["API_TOKEN", "DELETE", null],
      ["INTEGRATION", "DELETE", "Entra (prod)"],
    ]);
  });

  it("of a refused write is the name its body carried, when the request was read; never another request's", async () => {
    const i = await newIntegration();
    const id = await newUser(i, "ada@example.com");
    // A duplicate: the handler read the body, so its userName is known.
    expect((await scim(i, "POST", "/Users", { schemas: [USER], userName: "ADA@example.com" })).status).toBe(409);
    expect((await scim(i, "POST", "/Groups", { schemas: [GROUP], displayName: "G", members: [{ value: "nobody" }] })).status).toBe(400);
    expect((await scim(i, "PUT", "/Users/missing-id", { schemas: [USER], userName: "ghost@example.com" })).status).toBe(404);
    // Refused before its body was read (its media type), a PATCH (no name in it), a /Bulk operation.
    const text = await call("POST", `${i.scimPath}/Users`, { token: i.token, body: JSON.stringify({ userName: "x@example.com" }), headers: { "Content-Type": "text/plain" } });
    expect(text.status).toBe(415);
    expect((await scim(i, "PATCH", `/Users/${id}`, rename("userName", 42))).status).toBe(400);
    const bulk = await scim(i, "POST", "/Bulk", { schemas: [BULK], Operations: [{ method: "POST", path: "/Users", bulkId: "a", data: { schemas: [USER], userName: "ada@example.com" } }] });
    expect(bulk.json.Operations[0].status).toBe("409");

    const refused = (await events(i.tenant, "&outcome=FAILURE")).reverse();
    expect(refused.map((e) => [e.status, e.resourceName])).toEqual([
      [409, "ADA@example.com"],
      [400, "G"],
      [404, "ghost@example.com"],
      [415, null],
      [400, null],
      [409, null],
    ]);
  });
});

describe("the resourceName filter", () => {
  it("matches the whole name in any case, within the tenant only", async () => {
    const i = await newIntegration();
    const ada = await newUser(i, "Ada@Example.com");
    await newUser(i, "ada@example.com.evil");
    await newUser(i, "bada@example.com");
    const group = await scim(i, "POST", "/Groups", { schemas: [GROUP], displayName: "ADA@example.com" });
    expect(group.status).toBe(201);
    // Another tenant with a user and a group of the same name.
    const other = await newIntegration();
    await newUser(other, "ada@example.com");
    expect((await scim(other, "POST", "/Groups", { schemas: [GROUP], displayName: "ada@example.com" })).status).toBe(201);

    const found = await events(i.tenant, "&resourceName=aDa%40EXAMPLE.com");
    expect(found.map((e) => [e.resourceType, e.resourceId, e.resourceName])).toEqual([
      ["GROUP", group.json.id, "ADA@example.com"],
      ["USER", ada, "Ada@Example.com"],
    ]);
    expect(await events(i.tenant, "&resourceName=ada%40example")).toEqual([]);
    expect(await events(i.tenant, "&resourceName=ada%40example.com&resourceType=USER")).toHaveLength(1);
    // The other tenant sees its own two, never these.
    const theirs = await events(other.tenant, "&resourceName=ADA%40example.com");
    expect(theirs.map((e) => e.resourceType)).toEqual(["GROUP", "USER"]);

    // Paged through the same index: one event a page, in order.
    const first = await admin("GET", `/${i.tenant}/audit-logs?limit=1&resourceName=ada%40example.com`);
    expect(first.json.results).toHaveLength(1);
    const second = await admin("GET", `/${i.tenant}/audit-logs?limit=1&resourceName=ada%40example.com&cursor=${encodeURIComponent(first.json.nextCursor)}`);
    expect(second.json.results[0].resourceId).toBe(ada);

    expect((await admin("GET", `/${i.tenant}/audit-logs?resourceName=`)).status).toBe(400);
  });

  it("is an index search within the tenant, never a walk of it, in the list and the export", async () => {
    const db = createDb(env.DB);
    const plan = async (query: { sql: string; params: unknown[] }) => {
      const rows = await env.DB.prepare(`explain query plan ${query.sql}`)
        .bind(...query.params)
        .all<{ detail: string }>();
      return rows.results.map((r) => r.detail).join(" | ");
    };
    const INDEX = "SEARCH audit_events USING INDEX audit_events_resource_name_idx (tenant_id=? AND resource_name_key=?";
    for (const query of [
      { resourceName: "Ada@Example.com", limit: 51 },
      { resourceName: "Ada@Example.com", before: "01a22664-25e4-711a-b0ac-e168edcf6b85", limit: 51 },
      { resourceName: "Ada@Example.com", resourceType: "USER", after: 0, limit: 51 },
      { resourceName: "Ada@Example.com", integrationId: "i", outcome: "FAILURE" as const, limit: 51 },
    ]) {
      const detail = await plan(auditEventsQuery(db, "t", query).toSQL());
      expect(detail).toContain(INDEX);
      expect(detail).not.toContain("TEMP B-TREE");
    }
    const exported = await plan(exportPageQuery(db, "t", { from: 0, to: Date.now(), resourceName: "Ada@Example.com" }, "01a22664-25e4-711a-b0ac-e168edcf6b85").toSQL());
    expect(exported).toContain(INDEX);
    expect(exported).not.toContain("TEMP B-TREE");
  });
});

describe("the export", () => {
  it("carries each event's name, in NDJSON and CSV, and filters by it like the list", async () => {
    const i = await newIntegration();
    const id = await newUser(i, "=cmd|' /C calc'!A0");
    await newUser(i, "alan@example.com");
    expect((await scim(i, "PATCH", `/Users/${id}`, rename("userName", "Ada@Example.com"))).status).toBe(200);

    const ndjson = await call("GET", `/api/v1/${i.tenant}/audit-logs/export?resourceName=ada%40example.COM`, { token: env.ADMIN_TOKEN });
    const lines = ndjson.text.split("\n").filter(Boolean).map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.action, l.resourceId, l.resourceName])).toEqual([["UPDATE", id, "Ada@Example.com"]]);
    // The same event as the list answers it.
    expect(lines[0]).toEqual((await events(i.tenant, "&resourceName=Ada%40Example.com"))[0]);

    const csv = await call("GET", `/api/v1/${i.tenant}/audit-logs/export?format=csv&resourceType=USER`, { token: env.ADMIN_TOKEN });
    const [header, ...rows] = csv.text.trimEnd().split("\r\n");
    const column = header!.split(",").indexOf("resourceName");
    expect(column).toBe(header!.split(",").indexOf("resourceId") + 1);
    expect(rows).toHaveLength(3);
    // A name is a client's text: one that starts like a formula is defused as any cell is.
    expect(rows[0]).toContain(`,"'=cmd|' /C calc'!A0",`);
    expect(rows[1]).toContain(",alan@example.com,");
    expect(rows[2]).toContain(",Ada@Example.com,");
  });

  it("is named by its range, or until the day it ends when no start was given", async () => {
    const tenant = await newTenant("file");
    const name = async (query: string) => {
      const res = await call("GET", `/api/v1/${tenant}/audit-logs/export${query}`, { token: env.ADMIN_TOKEN });
      expect(res.status).toBe(200);
      return /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1];
    };
    // Named by today: the day before the call or the one after it, should it straddle midnight.
    const day = () => new Date().toISOString().slice(0, 10);
    const [before, got, after] = [day(), await name(""), day()];
    expect([`audit-${tenant}-until-${before}.ndjson`, `audit-${tenant}-until-${after}.ndjson`]).toContain(got);
    expect(await name("?format=csv&to=2026-03-01T00:00:00Z")).toBe(`audit-${tenant}-until-2026-02-28.csv`);
    expect(await name("?from=2026-02-01T00:00:00Z&to=2026-03-01T00:00:00Z")).toBe(`audit-${tenant}-2026-02-01-2026-02-28.ndjson`);
    expect(await name("?from=2026-02-01T00:00:00Z&to=2026-02-02T00:00:00Z")).toBe(`audit-${tenant}-2026-02-01.ndjson`);
    expect(await name("?from=2026-02-01T10:00:00Z&to=2026-02-01T11:00:00Z")).toBe(`audit-${tenant}-2026-02-01.ndjson`);
  });
});
