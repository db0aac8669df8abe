/**
 * The SCIM permission table: each route needs what its service account holds through its
 * bindings, read on every request. One case per row: without the permission the request is a
 * 403 naming it and nothing changes; with it back, the very next request succeeds.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client";
import { auditEvents } from "../../../src/db/schema";
import { admin, newIntegration, scim, type TestIntegration } from "../../support/helpers";

const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const FULL = {
  GROUPS: ["CREATE", "READ", "UPDATE", "DELETE"],
  USERS: ["CREATE", "READ", "UPDATE"],
  BINDINGS: ["CREATE", "READ", "UPDATE", "DELETE"],
};

interface Fixture {
  i: TestIntegration;
  userId: string;
  groupId: string;
}

type Row = {
  name: string;
  needs: string[];
  request: (f: Fixture) => [string, string, unknown?];
  /** Reads the state the request would change, to prove a refusal changed nothing. */
  state?: (f: Fixture) => Promise<unknown>;
  ok: number;
};

const readUser = async (f: Fixture) => (await scim(f.i, "GET", `/Users/${f.userId}`)).json;
const readGroup = async (f: Fixture) => (await scim(f.i, "GET", `/Groups/${f.groupId}`)).json;

const TABLE: Row[] = [
  { name: "GET /Users", needs: ["USERS:READ"], request: () => ["GET", "/Users"], ok: 200 },
  { name: "GET /Users/{id}", needs: ["USERS:READ"], request: (f) => ["GET", `/Users/${f.userId}`], ok: 200 },
  { name: "POST /Users/.search", needs: ["USERS:READ"], request: () => ["POST", "/Users/.search", { schemas: [SEARCH] }], ok: 200 },
  {
    name: "POST /Users",
    needs: ["USERS:CREATE"],
    request: () => ["POST", "/Users", { userName: "table-new@example.com" }],
    state: async (f) => (await scim(f.i, "GET", `/Users?filter=${encodeURIComponent('userName eq "table-new@example.com"')}`)).json.totalResults,
    ok: 201,
  },
  { name: "PUT /Users/{id}", needs: ["USERS:UPDATE"], request: (f) => ["PUT", `/Users/${f.userId}`, { userName: "table-user@example.com", title: "put" }], state: readUser, ok: 200 },
  {
    name: "PATCH /Users/{id}",
    needs: ["USERS:UPDATE"],
    request: (f) => ["PATCH", `/Users/${f.userId}`, { schemas: [PATCH], Operations: [{ op: "Replace", path: "active", value: "False" }] }],
    state: readUser,
    ok: 200,
  },
  { name: "DELETE /Users/{id}", needs: ["USERS:UPDATE", "BINDINGS:DELETE"], request: (f) => ["DELETE", `/Users/${f.userId}`], state: readUser, ok: 204 },
  { name: "GET /Groups", needs: ["GROUPS:READ"], request: () => ["GET", "/Groups"], ok: 200 },
  { name: "GET /Groups/{id}", needs: ["GROUPS:READ"], request: (f) => ["GET", `/Groups/${f.groupId}`], ok: 200 },
  { name: "POST /Groups/.search", needs: ["GROUPS:READ"], request: () => ["POST", "/Groups/.search", { schemas: [SEARCH] }], ok: 200 },
  {
    name: "POST /Groups",
    needs: ["GROUPS:CREATE"],
    request: () => ["POST", "/Groups", { displayName: "Table New" }],
    state: async (f) => (await scim(f.i, "GET", `/Groups?filter=${encodeURIComponent('displayName eq "Table New"')}`)).json.totalResults,
    ok: 201,
  },
  { name: "PUT /Groups/{id}", needs: ["GROUPS:UPDATE"], request: (f) => ["PUT", `/Groups/${f.groupId}`, { displayName: "Table Put" }], state: readGroup, ok: 200 },
  {
    name: "PATCH /Groups/{id}",
    needs: ["GROUPS:UPDATE"],
    request: (f) => ["PATCH", `/Groups/${f.groupId}`, { schemas: [PATCH], Operations: [{ op: "Remove", path: "members", value: [{ value: f.userId }] }] }],
    state: readGroup,
    ok: 204,
  },
  { name: "DELETE /Groups/{id}", needs: ["GROUPS:DELETE", "BINDINGS:DELETE"], request: (f) => ["DELETE", `/Groups/${f.groupId}`], state: readGroup, ok: 204 },
  { name: "POST /.search", needs: ["USERS:READ", "GROUPS:READ"], request: () => ["POST", "/.search", { schemas: [SEARCH] }], ok: 200 },
];

async function fixture(): Promise<Fixture> {
  const i = await newIntegration();
  const userId = (await scim(i, "POST", "/Users", { userName: "table-user@example.com" })).json.id;
  const groupId = (await scim(i, "POST", "/Groups", { displayName: "Table", members: [{ value: userId }] })).json.id;
  return { i, userId, groupId };
}

function without(permission: string) {
  const [resource, action] = permission.split(":") as [keyof typeof FULL, string];
  return { ...FULL, [resource]: FULL[resource].filter((a) => a !== action) };
}

describe("SCIM permission table", () => {
  it.each(TABLE.flatMap((row) => row.needs.map((missing) => [`${row.name} without ${missing}`, row, missing] as const)))(
    "%s: 403, nothing changed; granted again: works at once",
    async (_, row, missing) => {
      const f = await fixture();
      const path = `/${f.i.tenant}/roles/${f.i.roleId}`;
      const before = row.state ? await row.state(f) : undefined;

      expect((await admin("PATCH", path, { permissions: without(missing) })).status).toBe(200);
      const [method, url, body] = row.request(f);
      const refused = await scim(f.i, method, url, body);
      expect(refused.status).toBe(403);
      expect(refused.json.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:Error"]);
      expect(refused.json.detail).toContain(missing);

      expect((await admin("PATCH", path, { permissions: FULL })).status).toBe(200);
      if (row.state) expect(await row.state(f)).toEqual(before);
      const allowed = await scim(f.i, method, url, body);
      expect(allowed.status, allowed.text).toBe(row.ok);
    },
  );

  it("needs only a valid token for discovery", async () => {
    const f = await fixture();
    await admin("PATCH", `/${f.i.tenant}/roles/${f.i.roleId}`, { permissions: {} });
    for (const path of ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"]) {
      expect((await scim(f.i, "GET", path)).status).toBe(200);
    }
    expect((await scim(f.i, "GET", "/Users")).status).toBe(403);
  });

  it("takes a permission removed from the integration's role into account on the very next request", async () => {
    const f = await fixture();
    const bindings = await admin("GET", `/${f.i.tenant}/bindings?subjectId=${f.i.serviceAccountId}`);
    expect(bindings.json.results).toHaveLength(1);
    // Its binding is the integration's to remove (with the integration), not this page's.
    expect((await admin("DELETE", `/${f.i.tenant}/bindings/${bindings.json.results[0].id}`)).status).toBe(409);
    const role = (await admin("GET", `/${f.i.tenant}/roles/${f.i.roleId}`)).json;
    await admin("PATCH", `/${f.i.tenant}/roles/${f.i.roleId}`, { permissions: { ...role.permissions, USERS: ["CREATE", "UPDATE"] } });
    // The Test Connection fails loudly, which tells the Entra admin what is wrong.
    expect((await scim(f.i, "GET", "/Users")).status).toBe(403);
    await admin("PATCH", `/${f.i.tenant}/roles/${f.i.roleId}`, { permissions: role.permissions });
    expect((await scim(f.i, "GET", "/Users")).status).toBe(200);
  });

  it("records refused writes in the audit log with the reason", async () => {
    const f = await fixture();
    await admin("PATCH", `/${f.i.tenant}/roles/${f.i.roleId}`, { permissions: without("GROUPS:DELETE") });
    expect((await scim(f.i, "DELETE", `/Groups/${f.groupId}`)).status).toBe(403);
    const db = createDb(env.DB);
    const rows = await db.select().from(auditEvents).where(eq(auditEvents.resourceId, f.groupId));
    const refused = rows.find((r) => r.outcome === "FAILURE");
    expect(refused).toMatchObject({ action: "DELETE", resourceType: "GROUP", status: 403, integrationId: f.i.id, actorType: "SERVICE_ACCOUNT" });
    expect(refused?.detail).toContain("GROUPS:DELETE");
  });
});
