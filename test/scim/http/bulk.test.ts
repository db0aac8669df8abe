/**
 * /Bulk (RFC 7644 §3.7) with the payloads of the RFC's examples: bulkId cross-references,
 * failOnErrors, per-operation version, status and location, limits, permissions and audit.
 */
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client";
import { auditEvents } from "../../../src/db/schema";
import { admin, newIntegration, scim } from "../../support/helpers";

const db = createDb(env.DB);
const BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

describe("POST /Bulk", () => {
  it("creates a group whose members are users created in the same request (bulkId references)", async () => {
    const i = await newIntegration();
    const res = await scim(i, "POST", "/Bulk", {
      schemas: [BULK],
      Operations: [
        { method: "POST", path: "/Users", bulkId: "qwerty", data: { schemas: [USER], userName: "Alice" } },
        { method: "POST", path: "/Users", bulkId: "ytrewq", data: { schemas: [USER], userName: "Bob" } },
        { method: "POST", path: "/Groups", bulkId: "group", data: { schemas: [GROUP], displayName: "Tour Guides", members: [{ type: "User", value: "bulkId:qwerty" }, { type: "User", value: "bulkId:ytrewq" }] } },
        { method: "PATCH", path: "/Users/bulkId:qwerty", data: { schemas: [PATCH], Operations: [{ op: "replace", path: "title", value: "Guide" }] } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.json.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]);
    const ops = res.json.Operations as { method: string; bulkId?: string; status: string; location: string; version: string }[];
    expect(ops.map((o) => [o.method, o.bulkId, o.status])).toEqual([
      ["POST", "qwerty", "201"],
      ["POST", "ytrewq", "201"],
      ["POST", "group", "201"],
      ["PATCH", undefined, "200"],
    ]);
    const alice = ops[0]!.location.split("/").pop()!;
    expect(ops[0]!.location).toBe(`${i.endpoint}/Users/${alice}`);
    expect(ops[0]!.version).toMatch(/^W\/"\d+"$/);
    const group = await scim(i, "GET", ops[2]!.location.slice(i.endpoint.length));
    expect(group.json.members.map((m: { display: string }) => m.display).sort()).toEqual(["Alice", "Bob"]);
    expect((await scim(i, "GET", `/Users/${alice}`)).json.title).toBe("Guide");
    // Each operation wrote its own audit row, as its single request would.
    const events = await db.select().from(auditEvents).where(and(eq(auditEvents.tenantId, i.tenant), eq(auditEvents.integrationId, i.id)));
    const scimEvents = events.filter((e) => e.resourceType === "USER" || e.resourceType === "GROUP");
    expect(scimEvents.map((e) => `${e.action} ${e.resourceType}`).sort()).toEqual(["CREATE GROUP", "CREATE USER", "CREATE USER", "UPDATE USER"]);
  });

  it("resolves forward references and answers in request order; a cycle fails its operations with 409", async () => {
    const i = await newIntegration();
    const res = await scim(i, "POST", "/Bulk", {
      schemas: [BULK],
      Operations: [
        { method: "POST", path: "/Groups", bulkId: "g", data: { displayName: "Forward", members: [{ value: "bulkId:later" }] } },
        { method: "POST", path: "/Users", bulkId: "later", data: { userName: "later@example.com" } },
        { method: "POST", path: "/Users", bulkId: "a", data: { schemas: [USER, ENT], userName: "cycle-a@example.com", [ENT]: { manager: { value: "bulkId:b" } } } },
        { method: "POST", path: "/Users", bulkId: "b", data: { schemas: [USER, ENT], userName: "cycle-b@example.com", [ENT]: { manager: { value: "bulkId:a" } } } },
      ],
    });
    expect(res.json.Operations.map((o: { bulkId: string; status: string }) => `${o.bulkId} ${o.status}`)).toEqual(["g 201", "later 201", "a 409", "b 409"]);
    const group = await scim(i, "GET", res.json.Operations[0].location.slice(i.endpoint.length));
    expect(group.json.members.map((m: { display: string }) => m.display)).toEqual(["later@example.com"]);
  });

  it("answers each operation on its own: a failed one changes nothing and the others go on; failOnErrors stops early", async () => {
    const i = await newIntegration();
    const taken = (await scim(i, "POST", "/Users", { schemas: [USER], userName: "taken@example.com" })).json;
    const res = await scim(i, "POST", "/Bulk", {
      schemas: [BULK],
      Operations: [
        { method: "POST", path: "/Users", bulkId: "dup", data: { schemas: [USER], userName: "taken@example.com" } },
        { method: "PUT", path: `/Users/${taken.id}`, version: 'W/"999"', data: { schemas: [USER], userName: "taken@example.com", title: "lost" } },
        { method: "PATCH", path: `/Users/${taken.id}`, version: taken.meta.version, data: { schemas: [PATCH], Operations: [{ op: "replace", path: "title", value: "kept" }] } },
        { method: "POST", path: "/Groups", bulkId: "g", data: { displayName: "Refs", members: [{ value: "bulkId:dup" }] } },
        { method: "DELETE", path: "/Users/nope" },
      ],
    });
    const statuses = res.json.Operations.map((o: { status: string }) => o.status);
    expect(statuses).toEqual(["409", "412", "200", "409", "404"]);
    expect(res.json.Operations[0].response).toMatchObject({ scimType: "uniqueness", status: "409" });
    expect(res.json.Operations[3].response.detail).toContain("bulkId:dup");
    expect((await scim(i, "GET", `/Users/${taken.id}`)).json.title).toBe("kept");
    expect((await scim(i, "GET", "/Groups")).json.totalResults).toBe(0);

    const stopped = await scim(i, "POST", "/Bulk", {
      schemas: [BULK],
      failOnErrors: 1,
      Operations: [
        { method: "POST", path: "/Users", bulkId: "a", data: { userName: "taken@example.com" } },
        { method: "POST", path: "/Users", bulkId: "b", data: { userName: "never@example.com" } },
      ],
    });
    expect(stopped.json.Operations.map((o: { status: string }) => o.status)).toEqual(["409"]);
    expect((await scim(i, "GET", `/Users?filter=${encodeURIComponent('userName eq "never@example.com"')}`)).json.totalResults).toBe(0);
  });

  it("checks each operation against the permission its single request needs", async () => {
    const i = await newIntegration();
    const group = (await scim(i, "POST", "/Groups", { displayName: "Stays" })).json;
    await admin("PATCH", `/${i.tenant}/roles/${i.roleId}`, { permissions: { GROUPS: ["CREATE", "READ", "UPDATE"], USERS: ["CREATE", "READ", "UPDATE"], BINDINGS: ["CREATE", "READ", "UPDATE", "DELETE"] } });
    const res = await scim(i, "POST", "/Bulk", {
      schemas: [BULK],
      Operations: [
        { method: "DELETE", path: `/Groups/${group.id}` },
        { method: "POST", path: "/Users", bulkId: "ok", data: { userName: "allowed@example.com" } },
      ],
    });
    expect(res.json.Operations.map((o: { status: string }) => o.status)).toEqual(["403", "201"]);
    expect(res.json.Operations[0].response.detail).toContain("GROUPS:DELETE");
    expect((await scim(i, "GET", `/Groups/${group.id}`)).status).toBe(200);
    const refused = await db.select().from(auditEvents).where(and(eq(auditEvents.tenantId, i.tenant), eq(auditEvents.outcome, "FAILURE")));
    expect(refused).toEqual([expect.objectContaining({ action: "DELETE", resourceType: "GROUP", resourceId: group.id, status: 403 })]);
  });

  it("refuses requests past the advertised limits with 413, and malformed ones with 400", async () => {
    const i = await newIntegration();
    const config = (await scim(i, "GET", "/ServiceProviderConfig")).json.bulk;
    expect(config).toEqual({ supported: true, maxOperations: 100, maxPayloadSize: 1_048_576 });
    const many = Array.from({ length: config.maxOperations + 1 }, (_, k) => ({ method: "POST", path: "/Users", bulkId: `u${k}`, data: { userName: `u${k}@example.com` } }));
    const tooMany = await scim(i, "POST", "/Bulk", { schemas: [BULK], Operations: many });
    expect(tooMany.status).toBe(413);
    expect(tooMany.json.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:Error"]);
    expect((await scim(i, "GET", "/Users")).json.totalResults).toBe(0);
    const tooLarge = await scim(i, "POST", "/Bulk", { schemas: [BULK], Operations: [{ method: "POST", path: "/Users", bulkId: "x", data: { userName: "x".repeat(config.maxPayloadSize) } }] });
    expect(tooLarge.status).toBe(413);
    expect((await scim(i, "POST", "/Bulk", { schemas: ["urn:nope"], Operations: [] })).status).toBe(400);
    const bad = await scim(i, "POST", "/Bulk", {
      schemas: [BULK],
      Operations: [
        { method: "GET", path: "/Users" },
        { method: "POST", path: "/Users", data: { userName: "no-bulk-id@example.com" } },
        { method: "POST", path: "/Things", bulkId: "t", data: {} },
        { method: "PUT", path: "/Users" , data: {} },
      ],
    });
    expect(bad.status).toBe(200);
    expect(bad.json.Operations.map((o: { status: string }) => o.status)).toEqual(["400", "400", "400", "400"]);
  });
});
