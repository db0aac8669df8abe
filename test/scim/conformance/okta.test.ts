/**
 * Okta as a SCIM client: the steps of Okta's public SCIM 2.0 spec test (Runscope suite) and the
 * requests of Okta's SCIM guide — PUT for profile updates, `replace` without a path for
 * (de)activation and group renames, member add/remove by PATCH.
 */
import { describe, expect, it } from "vitest";
import { newIntegration, scim } from "../../support/helpers";
import { GROUP_SCHEMA, PATCH, oktaAddMembers, oktaGroup, oktaRenameGroup, oktaSetActive, oktaUser } from "../../support/idp-payloads.mjs";

describe("Okta SCIM 2.0 spec test", () => {
  it("runs the required and optional steps in order", async () => {
    const i = await newIntegration();
    const login = "Runscope101Okta@atko.com";

    // Required: the Users endpoint lists with count and startIndex.
    await scim(i, "POST", "/Users", oktaUser("seed-user@atko.com"));
    const list = await scim(i, "GET", "/Users?count=1&startIndex=1");
    expect(list.status).toBe(200);
    expect(list.json).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], itemsPerPage: 1, startIndex: 1 });
    const first = list.json.Resources[0];
    expect(first.id).toBeTruthy();
    expect(first).toMatchObject({ name: { familyName: "Tester", givenName: "Okta" }, userName: "seed-user@atko.com", active: true });
    expect(first.emails[0].value).toBe("seed-user@atko.com");

    // Test invalid User by username / by ID.
    const none = await scim(i, "GET", `/Users?filter=${encodeURIComponent('userName eq "random-3aa4@atko.com"')}`);
    expect(none.json).toMatchObject({ totalResults: 0, Resources: [] });
    const missing = await scim(i, "GET", "/Users/010101001010101");
    expect(missing.status).toBe(404);
    expect(missing.json.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:Error"]);
    expect(missing.json.detail).toBeTruthy();

    // Create Okta user with realistic values, then verify it.
    const created = await scim(i, "POST", "/Users", oktaUser(login));
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ active: true, userName: login, name: { familyName: "Tester", givenName: "Okta" }, locale: "en-US" });
    expect(created.json.password).toBeUndefined();
    const id = created.json.id;
    const verify = await scim(i, "GET", `/Users/${id}`);
    expect(verify.json).toMatchObject({ id, userName: login, displayName: "Okta Tester" });

    // Expect failure when recreating the user with the same values.
    const again = await scim(i, "POST", "/Users", oktaUser(login));
    expect(again.status).toBe(409);

    // Username case sensitivity check.
    const upper = await scim(i, "GET", `/Users?filter=${encodeURIComponent(`userName eq "${login.toUpperCase()}"`)}`);
    expect(upper.json.totalResults).toBe(1);
    expect(upper.json.Resources[0].id).toBe(id);

    // Optional: pagination.
    const page = await scim(i, "GET", "/Users?count=5&startIndex=1");
    expect(page.json.totalResults).toBe(2);
    expect(page.json.Resources.length).toBeLessThanOrEqual(5);

    // Profile update with PUT (Okta's update mechanism).
    const put = await scim(i, "PUT", `/Users/${id}`, {
      ...oktaUser(login),
      id,
      name: { givenName: "Another", familyName: "Tester" },
      emails: [{ primary: true, value: "another@atko.com", type: "work" }],
    });
    expect(put.status).toBe(200);
    expect(put.json.name.givenName).toBe("Another");
    expect(put.json.emails).toEqual([{ primary: true, value: "another@atko.com", type: "work" }]);

    // Deactivation and reactivation: replace without a path.
    const off = await scim(i, "PATCH", `/Users/${id}`, oktaSetActive(false));
    expect(off.status).toBe(200);
    expect(off.json.active).toBe(false);
    const on = await scim(i, "PATCH", `/Users/${id}`, oktaSetActive(true));
    expect(on.json.active).toBe(true);
  });

  it("pushes groups: create, rename, add and remove members, replace, delete", async () => {
    const i = await newIntegration();
    const a = (await scim(i, "POST", "/Users", oktaUser("a@atko.com"))).json;
    const b = (await scim(i, "POST", "/Users", oktaUser("b@atko.com"))).json;

    const created = await scim(i, "POST", "/Groups", oktaGroup("Test SCIMv2"));
    expect(created.status).toBe(201);
    const id = created.json.id;

    const lookup = await scim(i, "GET", `/Groups?filter=${encodeURIComponent('displayName eq "Test SCIMv2"')}&startIndex=1&count=100`);
    expect(lookup.json.Resources[0].id).toBe(id);

    const renamed = await scim(i, "PATCH", `/Groups/${id}`, oktaRenameGroup(id, "Test SCIMv2 renamed"));
    expect(renamed.status).toBe(204);

    const added = await scim(
      i,
      "PATCH",
      `/Groups/${id}`,
      oktaAddMembers([
        { value: a.id, display: "a@atko.com" },
        { value: b.id, display: "b@atko.com" },
      ]),
    );
    expect(added.status).toBe(204);
    const read = await scim(i, "GET", `/Groups/${id}`);
    expect(read.json.displayName).toBe("Test SCIMv2 renamed");
    expect(read.json.members.map((m: { value: string }) => m.value).sort()).toEqual([a.id, b.id].sort());
    expect(read.json.members.find((m: { value: string }) => m.value === a.id)).toMatchObject({ display: "Okta Tester", type: "User" });

    const removed = await scim(i, "PATCH", `/Groups/${id}`, { schemas: [PATCH], Operations: [{ op: "remove", path: `members[value eq "${a.id}"]` }] });
    expect(removed.status).toBe(204);
    expect((await scim(i, "GET", `/Groups/${id}`)).json.members.map((m: { value: string }) => m.value)).toEqual([b.id]);

    const put = await scim(i, "PUT", `/Groups/${id}`, { schemas: [GROUP_SCHEMA], id, displayName: "Test SCIMv2 renamed", members: [{ value: a.id }] });
    expect(put.status).toBe(200);
    expect(put.json.members.map((m: { value: string }) => m.value)).toEqual([a.id]);

    expect((await scim(i, "DELETE", `/Groups/${id}`)).status).toBe(204);
    expect((await scim(i, "GET", `/Groups/${id}`)).status).toBe(404);
    // Members stay users of the tenant.
    expect((await scim(i, "GET", `/Users/${a.id}`)).status).toBe(200);
  });
});
