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
