/** Kestra's tenant semantics: users are global, access is per tenant, tenants never meet. */
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client";
import { auditEvents, bindings, roles, tenantUsers, users } from "../../../src/db/schema";
import { admin, newIntegration, newTenant, scim } from "../../support/helpers";

const db = createDb(env.DB);
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const q = encodeURIComponent;

const user = (userName: string, extra: Record<string, unknown> = {}) => ({
  schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
  userName,
  name: { givenName: "Ada", familyName: "Lovelace" },
  emails: [{ value: userName, type: "work", primary: true }],
  ...extra,
});

describe("users are global, access is per tenant", () => {
  it("gives an existing user access to a second tenant with the same id; each tenant keeps its own view", async () => {
    const a = await newIntegration();
    const b = await newIntegration();
    const inA = await scim(a, "POST", "/Users", user("ada@example.com", { externalId: "a-1", active: true }));
    expect(inA.status).toBe(201);
    const inB = await scim(
      b,
      "POST",
      "/Users",
      user("ADA@example.com", { externalId: "b-1", active: false, name: { givenName: "Augusta" }, title: "Countess" }),
    );
    expect(inB.status).toBe(201);
    expect(inB.json.id).toBe(inA.json.id);
    expect(inB.json).toMatchObject({ userName: "ADA@example.com", externalId: "b-1", active: false, name: { givenName: "Augusta" }, title: "Countess" });
    const readA = await scim(a, "GET", `/Users/${inA.json.id}`);
    expect(readA.json).toMatchObject({ userName: "ada@example.com", externalId: "a-1", active: true, name: { givenName: "Ada", familyName: "Lovelace" } });
    expect(readA.json.title).toBeUndefined();
    // A change through B stays in B's view.
    await scim(b, "PATCH", `/Users/${inA.json.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "nickName", value: "Ada L." }] });
    expect((await scim(a, "GET", `/Users/${inA.json.id}`)).json.nickName).toBeUndefined();
    expect((await scim(b, "GET", `/Users/${inA.json.id}`)).json.nickName).toBe("Ada L.");
    expect((await scim(a, "GET", `/Users?filter=${q('externalId eq "b-1"')}`)).json.totalResults).toBe(0);
    expect((await scim(b, "GET", `/Users?filter=${q('externalId eq "b-1"')}`)).json.totalResults).toBe(1);
  });

  it("DELETE removes only this tenant's access, memberships and bindings; the user stays", async () => {
    const a = await newIntegration();
    const b = await newIntegration();
    const created = (await scim(a, "POST", "/Users", user("grace@example.com"))).json;
    await scim(b, "POST", "/Users", user("grace@example.com"));
    const groupA = (await scim(a, "POST", "/Groups", { displayName: "Admins", members: [{ value: created.id }] })).json;
    const groupB = (await scim(b, "POST", "/Groups", { displayName: "Admins", members: [{ value: created.id }] })).json;
    const role = await db.select().from(roles).where(eq(roles.tenantId, a.tenant)).get();
    await db.insert(bindings).values({
      id: "binding-grace",
      tenantId: a.tenant,
      roleId: role!.id,
      subjectType: "USER",
      subjectId: created.id,
      createdAt: Date.now(),
    });

    expect((await scim(a, "DELETE", `/Users/${created.id}`)).status).toBe(204);

    expect((await scim(a, "GET", `/Users/${created.id}`)).status).toBe(404);
    expect((await scim(a, "GET", `/Groups/${groupA.id}`)).json.members).toEqual([]);
    expect(await db.select().from(bindings).where(eq(bindings.id, "binding-grace"))).toEqual([]);
    expect(await db.select().from(users).where(eq(users.id, created.id))).toHaveLength(1);
    // Tenant B is untouched.
    expect((await scim(b, "GET", `/Users/${created.id}`)).status).toBe(200);
    expect((await scim(b, "GET", `/Groups/${groupB.id}`)).json.members.map((m: { value: string }) => m.value)).toEqual([created.id]);
    // The admin view still knows the user, with its remaining tenant.
    const global = await admin("GET", `/users/${created.id}`);
    expect(global.status).toBe(200);
    expect(global.json.tenants.map((t: { tenant: string }) => t.tenant)).toEqual([b.tenant]);

    // A later POST brings back the same user.
    const back = await scim(a, "POST", "/Users", user("grace@example.com"));
    expect(back.status).toBe(201);
    expect(back.json.id).toBe(created.id);
    const events = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.tenantId, a.tenant), eq(auditEvents.resourceId, created.id)));
    expect(events.map((e) => e.action)).toEqual(["CREATE", "DELETE", "CREATE"]);
    expect(events.every((e) => e.actorType === "SERVICE_ACCOUNT" && e.integrationId === a.id)).toBe(true);
  });

  it("keeps a disabled user readable, filterable and in its groups", async () => {
    const i = await newIntegration();
    const created = (await scim(i, "POST", "/Users", user("linus@example.com"))).json;
    const group = (await scim(i, "POST", "/Groups", { displayName: "Kernel", members: [{ value: created.id }] })).json;
    await scim(i, "PATCH", `/Users/${created.id}`, { schemas: [PATCH], Operations: [{ op: "Replace", path: "active", value: "False" }] });
    expect((await scim(i, "GET", `/Users/${created.id}`)).json.active).toBe(false);
    expect((await scim(i, "GET", `/Users?filter=${q("active eq false")}`)).json.Resources.map((u: { id: string }) => u.id)).toContain(created.id);
    expect((await scim(i, "GET", `/Groups/${group.id}`)).json.members.map((m: { value: string }) => m.value)).toEqual([created.id]);
    const access = await db.select().from(tenantUsers).where(eq(tenantUsers.userId, created.id)).get();
    expect(access?.active).toBe(false);
  });
});

describe("tenant isolation", () => {
  it("never shows, filters, references or modifies another tenant's users and groups", async () => {
    const a = await newIntegration();
    const b = await newIntegration();
    const onlyB = (await scim(b, "POST", "/Users", user("b-only@example.com", { externalId: "x" }))).json;
    const groupB = (await scim(b, "POST", "/Groups", { displayName: "B Team", members: [{ value: onlyB.id }] })).json;

    expect((await scim(a, "GET", `/Users/${onlyB.id}`)).status).toBe(404);
    expect((await scim(a, "GET", `/Groups/${groupB.id}`)).status).toBe(404);
    expect((await scim(a, "GET", "/Users")).json.totalResults).toBe(0);
    expect((await scim(a, "GET", `/Users?filter=${q('userName eq "b-only@example.com"')}`)).json.totalResults).toBe(0);
    expect((await scim(a, "GET", `/Groups?filter=${q(`members[value eq "${onlyB.id}"]`)}`)).json.totalResults).toBe(0);
    expect((await scim(a, "PATCH", `/Users/${onlyB.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "title", value: "pwned" }] })).status).toBe(404);
    expect((await scim(a, "PUT", `/Groups/${groupB.id}`, { displayName: "pwned" })).status).toBe(404);
    expect((await scim(a, "DELETE", `/Groups/${groupB.id}`)).status).toBe(404);
    expect((await scim(a, "DELETE", `/Users/${onlyB.id}`)).status).toBe(404);
    // A user of B cannot be made a member in A.
    const groupA = (await scim(a, "POST", "/Groups", { displayName: "A Team" })).json;
    const refused = await scim(a, "PATCH", `/Groups/${groupA.id}`, { schemas: [PATCH], Operations: [{ op: "add", path: "members", value: [{ value: onlyB.id }] }] });
    expect(refused.status).toBe(400);
    expect((await scim(a, "POST", "/Groups", { displayName: "A2", members: [{ value: onlyB.id }] })).status).toBe(400);
    // A's manager may name B's user id, but only as a value: it never resolves in A, and nothing
    // of B's user shows (managers that are not provisioned yet are stored as given).
    const userA = (await scim(a, "POST", "/Users", user("a-user@example.com"))).json;
    const manager = await scim(a, "PATCH", `/Users/${userA.id}`, { schemas: [PATCH], Operations: [{ op: "add", path: "manager", value: onlyB.id }] });
    expect(manager.status).toBe(200);
    expect(manager.json["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].manager).toEqual({ value: onlyB.id });
    // B's group name does not collide with A's.
    expect((await scim(a, "POST", "/Groups", { displayName: "B Team" })).status).toBe(201);
    expect((await scim(b, "GET", `/Groups/${groupB.id}`)).json.displayName).toBe("B Team");
  });

  it("lists a tenant's users and groups in the admin API, paginated", async () => {
    const i = await newIntegration();
    for (const n of [1, 2, 3]) await scim(i, "POST", "/Users", user(`admin-list-${n}@example.com`));
    const page = await admin("GET", `/${i.tenant}/users?limit=2`);
    expect(page.status).toBe(200);
    expect(page.json.results).toHaveLength(2);
    expect(page.json.results[0]).toMatchObject({ userName: "admin-list-1@example.com", active: true });
    const next = await admin("GET", `/${i.tenant}/users?limit=2&cursor=${page.json.nextCursor}`);
    expect(next.json.results.map((u: { userName: string }) => u.userName)).toEqual(["admin-list-3@example.com"]);
    const g = (await scim(i, "POST", "/Groups", { displayName: "Ops", members: [{ value: page.json.results[0].id }] })).json;
    const groupsList = await admin("GET", `/${i.tenant}/groups`);
    expect(groupsList.json.results).toEqual([expect.objectContaining({ id: g.id, displayName: "Ops", memberCount: 1 })]);
    const one = await admin("GET", `/${i.tenant}/groups/${g.id}`);
    expect(one.json.members).toEqual([expect.objectContaining({ id: page.json.results[0].id, userName: "admin-list-1@example.com" })]);
    expect((await admin("GET", `/${i.tenant}/groups/nope`)).status).toBe(404);
    expect((await admin("GET", "/users/nope")).status).toBe(404);
    expect((await admin("GET", `/${await newTenant()}/users`)).json.results).toEqual([]);
  });
});
