/** The admin API routes the console relies on: who am I, and the user search with groups. */
import { describe, expect, it } from "vitest";
import { admin, call, newIntegration, scim } from "../support/helpers";

const user = (userName: string, displayName: string) => ({
  schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
  userName,
  displayName,
  active: true,
});

describe("GET /api/v1/me", () => {
  it("tells the admin token from a service account, with the account's tenant and permissions", async () => {
    expect((await admin("GET", "/me")).json).toEqual({ kind: "admin" });
    const i = await newIntegration();
    const me = await call("GET", "/api/v1/me", { token: i.token });
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({ kind: "service-account", tenant: i.tenant, serviceAccountId: i.serviceAccountId, integrationId: i.id });
    expect(me.json.permissions).toContain("USERS:CREATE");
    expect(me.json.permissions).toEqual([...me.json.permissions].sort());
  });

  it("refuses a missing or wrong token with a problem", async () => {
    const res = await call("GET", "/api/v1/me", { token: "nope" });
    expect(res.status).toBe(401);
    expect(res.headers.get("Content-Type")).toContain("application/problem+json");
  });
});

describe("GET /api/v1/{tenant}/users", () => {
  it("lists each user with its groups in this tenant and searches userName and displayName, ignoring case", async () => {
    const i = await newIntegration();
    const ada = (await scim(i, "POST", "/Users", user("ada@example.com", "Ada Lovelace"))).json;
    const alan = (await scim(i, "POST", "/Users", user("alan@example.com", "Alan Turing"))).json;
    const engineers = (await scim(i, "POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Engineers", members: [{ value: ada.id }] })).json;

    const all = (await admin("GET", `/${i.tenant}/users`)).json.results;
    expect(all.map((u: { userName: string }) => u.userName)).toEqual(["ada@example.com", "alan@example.com"]);
    expect(all[0].groups).toEqual([{ id: engineers.id, displayName: "Engineers" }]);
    expect(all[1].groups).toEqual([]);

    const byDisplayName = (await admin("GET", `/${i.tenant}/users?search=TURING`)).json.results;
    expect(byDisplayName.map((u: { id: string }) => u.id)).toEqual([alan.id]);
    const byUserName = (await admin("GET", `/${i.tenant}/users?search=ADA@`)).json.results;
    expect(byUserName.map((u: { id: string }) => u.id)).toEqual([ada.id]);
    expect((await admin("GET", `/${i.tenant}/users?search=${encodeURIComponent("%")}`)).json.results).toEqual([]);
    expect((await admin("GET", `/${i.tenant}/users?search=`)).json.results).toHaveLength(2);
    // Non-ASCII: userName folds Unicode case; displayName matches ASCII case-insensitively or as typed.
    const olaf = (await scim(i, "POST", "/Users", user("ÖLAF@example.com", "Ölaf Ünal"))).json;
    const ids = async (search: string) => (await admin("GET", `/${i.tenant}/users?search=${encodeURIComponent(search)}`)).json.results.map((u: { id: string }) => u.id);
    expect(await ids("ölaf@")).toEqual([olaf.id]);
    expect(await ids("Ölaf Ü")).toEqual([olaf.id]);
    expect(await ids("LAF ÜNAL")).toEqual([]); // documented: the JSON displayName folds ASCII only
  });
});

describe("GET /api/v1/{tenant}/users/{id}", () => {
  it("reads the user as this tenant provisioned it: profile, state, groups and dates", async () => {
    const i = await newIntegration();
    const ada = (
      await scim(i, "POST", "/Users", {
        ...user("ada@example.com", "Ada Lovelace"),
        externalId: "ext-ada",
        name: { givenName: "Ada", familyName: "Lovelace", formatted: "Ada Lovelace" },
        emails: [{ value: "ada@example.com", type: "work", primary: true }, { value: "ada@home.example" }],
      })
    ).json;
    const engineers = (await scim(i, "POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Engineers", members: [{ value: ada.id }] })).json;
    const res = await admin("GET", `/${i.tenant}/users/${ada.id}`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      id: ada.id,
      userName: "ada@example.com",
      displayName: "Ada Lovelace",
      externalId: "ext-ada",
      active: true,
      name: { givenName: "Ada", familyName: "Lovelace", formatted: "Ada Lovelace" },
      emails: [{ value: "ada@example.com", type: "work", primary: true }, { value: "ada@home.example" }],
      groups: [{ id: engineers.id, displayName: "Engineers" }],
    });
    expect(Date.parse(res.json.createdAt)).toBeLessThanOrEqual(Date.parse(res.json.updatedAt));

    // Another tenant's view of the same person is not this tenant's to read.
    const other = await newIntegration();
    expect((await admin("GET", `/${other.tenant}/users/${ada.id}`)).status).toBe(404);
    const bare = (await scim(i, "POST", "/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "bare@example.com" })).json;
    expect((await admin("GET", `/${i.tenant}/users/${bare.id}`)).json).toMatchObject({ name: null, emails: [], groups: [], displayName: null });
  });
});

describe("bindings carry their subject's name", () => {
  it("names the user, group and service account of each binding, read with the list and alone", async () => {
    const i = await newIntegration();
    const ada = (await scim(i, "POST", "/Users", user("ada@example.com", "Ada Lovelace"))).json;
    const group = (await scim(i, "POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Engineers" })).json;
    const role = (await admin("POST", `/${i.tenant}/roles`, { name: "Readers", permissions: { FLOWS: ["READ"] } })).json;
    for (const [subjectType, subjectId] of [["USER", ada.id], ["GROUP", group.id]]) {
      const created = await admin("POST", `/${i.tenant}/bindings`, { roleId: role.id, subjectType, subjectId });
      expect(created.status).toBe(201);
    }
    const listed = (await admin("GET", `/${i.tenant}/bindings`)).json.results;
    const names = Object.fromEntries(listed.map((b: { subjectType: string; subjectName: string }) => [b.subjectType, b.subjectName]));
    expect(names).toEqual({ SERVICE_ACCOUNT: "scim-Entra ID", USER: "ada@example.com", GROUP: "Engineers" });
    const one = listed.find((b: { subjectType: string }) => b.subjectType === "GROUP");
    expect((await admin("GET", `/${i.tenant}/bindings/${one.id}`)).json).toEqual(one);
  });
});
