/**
 * Microsoft Entra ID as a SCIM client: the provisioning cycle of ../shared/docs/entra-scim-client.md
 * with the payloads of Microsoft's SCIM tutorial and its known-issues page, in both PATCH dialects
 * (default, and `?aadOptscim062020`).
 */
import { describe, expect, it } from "vitest";
import { newIntegration, scim, type TestIntegration } from "../../support/helpers";
import { ENTERPRISE, entraGroup, entraUser, PATCH } from "../../support/idp-payloads.mjs";

const patch = (...Operations: unknown[]) => ({ schemas: [PATCH], Operations });
const q = (filter: string) => encodeURIComponent(filter);

async function createUser(integration: TestIntegration, suffix: string) {
  const res = await scim(integration, "POST", "/Users", entraUser(suffix));
  expect(res.status, res.text).toBe(201);
  return res.json;
}

async function members(integration: TestIntegration, groupId: string): Promise<string[]> {
  const res = await scim(integration, "GET", `/Groups/${groupId}`);
  return ((res.json.members ?? []) as { value: string }[]).map((m) => m.value).sort();
}

describe("Entra: test connection and matching", () => {
  it("answers the Test Connection query for a random GUID with an empty ListResponse", async () => {
    const i = await newIntegration();
    const res = await scim(i, "GET", `/Users?filter=${q('userName eq "ffd8d0b4-2d7c-4fb9-9f76-b5d5b5cb0b6a"')}`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ totalResults: 0, Resources: [] });
  });

  it("matches users by userName (any case, + for spaces), externalId and work email", async () => {
    const i = await newIntegration();
    const user = await createUser(i, "match1");
    for (const filter of [
      `userName eq "${user.userName}"`,
      `userName eq "${user.userName.toUpperCase()}"`,
      `externalId eq "${user.externalId}"`,
      `emails[type eq "work"].value eq "${user.emails[0].value}"`,
      `emails[type eq "work" and value eq "${user.emails[0].value.toUpperCase()}"]`,
    ]) {
      const res = await scim(i, "GET", `/Users?filter=${q(filter)}`);
      expect(res.status, filter).toBe(200);
      expect(res.json.totalResults, filter).toBe(1);
      expect(res.json.Resources[0].id).toBe(user.id);
    }
    const plus = await scim(i, "GET", `/Users?filter=userName+eq+%22${encodeURIComponent(user.userName)}%22`);
    expect(plus.json.totalResults).toBe(1);
    // externalId is caseExact.
    expect((await scim(i, "GET", `/Users?filter=${q(`externalId eq "${user.externalId.toUpperCase()}"`)}`)).json.totalResults).toBe(0);
  });

  it("matches groups by displayName with excludedAttributes=members", async () => {
    const i = await newIntegration();
    const created = await scim(i, "POST", "/Groups", entraGroup("Engineering"));
    expect(created.status).toBe(201);
    const res = await scim(i, "GET", `/Groups?excludedAttributes=members&filter=${q('displayName eq "Engineering"')}`);
    expect(res.status).toBe(200);
    expect(res.json.totalResults).toBe(1);
    expect(res.json.Resources[0]).toMatchObject({ id: created.json.id, displayName: "Engineering" });
    expect(res.json.Resources[0].members).toBeUndefined();
  });
});

describe("Entra: create", () => {
  it("creates the tutorial user: 201, id, Location, meta, and no odd keys", async () => {
    const i = await newIntegration();
    const res = await scim(i, "POST", "/Users", entraUser("create1"), { "Content-Type": "application/scim+json" });
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toBe(`${i.endpoint}/Users/${res.json.id}`);
    expect(res.headers.get("etag")).toBe(res.json.meta.version);
    expect(res.json).toMatchObject({
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
      externalId: "0a21f0f2-8d2a-4f8e-bf98-00000create1",
      userName: "Test_User_create1@testuser.com",
      active: true,
      name: { formatted: "givenName familyName", familyName: "familyName", givenName: "givenName" },
      emails: [{ primary: true, type: "work", value: "Test_User_create1@testuser.com" }],
      meta: { resourceType: "User", location: `${i.endpoint}/Users/${res.json.id}`, version: expect.stringMatching(/^W\/"/) },
    });
    expect(res.json.roles).toBeUndefined();
    expect(res.json.password).toBeUndefined();
    expect(Date.parse(res.json.meta.created)).not.toBeNaN();
  });

  it("accepts null attributes and application/json with charset, ignores unknown core attributes, keeps undeclared extension data", async () => {
    const i = await newIntegration();
    const body = { ...entraUser("create2"), title: null, nickName: null, "urn:example:custom": { x: 1 }, favouriteColour: "blue" };
    const res = await scim(i, "POST", "/Users", body, { "Content-Type": "application/json; charset=utf-8" });
    expect(res.status).toBe(201);
    expect(res.json.title).toBeUndefined();
    expect(res.json.favouriteColour).toBeUndefined();
    // Data under an extension URN is never dropped: kept as sent until the tenant declares it.
    expect(res.json["urn:example:custom"]).toEqual({ x: 1 });
  });

  it("answers a duplicate create with 409 uniqueness", async () => {
    const i = await newIntegration();
    await createUser(i, "dup1");
    const again = await scim(i, "POST", "/Users", { ...entraUser("dup1"), userName: "TEST_USER_DUP1@TESTUSER.COM" });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ scimType: "uniqueness", status: "409" });
    const group = entraGroup("Dup Group");
    expect((await scim(i, "POST", "/Groups", group)).status).toBe(201);
    const groupAgain = await scim(i, "POST", "/Groups", { ...group, displayName: "dup group" });
    expect(groupAgain.status).toBe(409);
    expect(groupAgain.json.scimType).toBe("uniqueness");
  });

  it("creates the tutorial group with the Microsoft schema URN", async () => {
    const i = await newIntegration();
    const res = await scim(i, "POST", "/Groups", entraGroup("displayName"));
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
      displayName: "displayName",
      externalId: "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
      members: [],
      meta: { resourceType: "Group", location: `${i.endpoint}/Groups/${res.json.id}` },
    });
  });
});

describe.each([
  ["default dialect", false],
  ["aadOptscim062020 dialect", true],
])("Entra updates, %s", (_, flag) => {
  const dialect = {
    op: (name: "add" | "replace" | "remove") => (flag ? name : `${name[0]!.toUpperCase()}${name.slice(1)}`),
    query: flag ? "?aadOptscim062020" : "",
  };

  it("updates multi-valued and single-valued attributes (the tutorial's PATCH)", async () => {
    const i = await newIntegration();
    const user = await createUser(i, `upd-${flag}`);
    const res = await scim(
      i,
      "PATCH",
      `/Users/${user.id}${dialect.query}`,
      patch(
        { op: dialect.op("replace"), path: 'emails[type eq "work"].value', value: "updatedEmail@microsoft.com" },
        { op: dialect.op("replace"), path: "name.familyName", value: "updatedFamilyName" },
      ),
    );
    expect(res.status).toBe(200);
    expect(res.json.emails).toEqual([{ primary: true, type: "work", value: "updatedEmail@microsoft.com" }]);
    expect(res.json.name).toMatchObject({ familyName: "updatedFamilyName", givenName: "givenName" });
    const renamed = await scim(i, "PATCH", `/Users/${user.id}${dialect.query}`, patch({ op: dialect.op("replace"), path: "userName", value: `5b50642d-${flag}@testuser.com` }));
    expect(renamed.json.userName).toBe(`5b50642d-${flag}@testuser.com`);
    const found = await scim(i, "GET", `/Users?filter=${q('emails.value eq "updatedemail@microsoft.com"')}`);
    expect(found.json.totalResults).toBe(1);
  });

  it("disables a user (active False) and keeps it readable, filterable and in its groups", async () => {
    const i = await newIntegration();
    const user = await createUser(i, `dis-${flag}`);
    const group = (await scim(i, "POST", "/Groups", { ...entraGroup(`G-dis-${flag}`), members: [{ value: user.id }] })).json;
    const value = flag ? false : "False";
    const res = await scim(i, "PATCH", `/Users/${user.id}${dialect.query}`, patch({ op: dialect.op("replace"), path: "active", value }));
    expect(res.status).toBe(200);
    expect(res.json.active).toBe(false);
    expect((await scim(i, "GET", `/Users/${user.id}`)).json.active).toBe(false);
    const filtered = await scim(i, "GET", `/Users?filter=${q(`userName eq "${user.userName}" and active eq false`)}`);
    expect(filtered.json.totalResults).toBe(1);
    expect(await members(i, group.id)).toEqual([user.id]);
    expect(res.json.groups).toEqual([{ value: group.id, $ref: `${i.endpoint}/Groups/${group.id}`, display: `G-dis-${flag}`, type: "direct" }]);
  });

  it("sets enterprise attributes through URN paths or, with the flag, a path-less value of dotted and URN keys", async () => {
    const i = await newIntegration();
    const user = await createUser(i, `ent-${flag}`);
    const body = flag
      ? patch({
          op: "replace",
          value: {
            displayName: "Pvs vCard",
            "name.givenName": "Pvs",
            "name.familyName": "vCard",
            [`${ENTERPRISE}:employeeNumber`]: "123",
            [`${ENTERPRISE}:department`]: "R&D",
          },
        })
      : patch(
          { op: "Add", path: "displayName", value: "Pvs vCard" },
          { op: "Replace", path: "name.givenName", value: "Pvs" },
          { op: "Replace", path: "name.familyName", value: "vCard" },
          { op: "Add", path: `${ENTERPRISE}:employeeNumber`, value: "123" },
          { op: "Add", path: `${ENTERPRISE}:department`, value: "R&D" },
        );
    const res = await scim(i, "PATCH", `/Users/${user.id}${dialect.query}`, body);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ displayName: "Pvs vCard", name: { givenName: "Pvs", familyName: "vCard" } });
    expect(res.json[ENTERPRISE]).toEqual({ employeeNumber: "123", department: "R&D" });
    expect(res.json.schemas).toEqual(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]);
    expect(JSON.stringify(res.json)).not.toContain("name.givenName");
    expect(res.json["name.givenName"]).toBeUndefined();
    const byNumber = await scim(i, "GET", `/Users?filter=${q(`${ENTERPRISE}:employeeNumber eq "123"`)}`);
    expect(byNumber.json.totalResults).toBe(1);
  });

  it("sets the manager as an object, a URN string, and answers Entra's manager check", async () => {
    const i = await newIntegration();
    const boss = await createUser(i, `boss-${flag}`);
    const user = await createUser(i, `emp-${flag}`);
    const body = flag
      ? patch({ op: "replace", path: `${ENTERPRISE}:manager`, value: boss.id })
      : patch({ op: "Add", path: "manager", value: [{ $ref: null, value: boss.id }] });
    const res = await scim(i, "PATCH", `/Users/${user.id}${dialect.query}`, body);
    expect(res.status, res.text).toBe(200);
    expect(res.json[ENTERPRISE].manager).toEqual({ value: boss.id, $ref: `${i.endpoint}/Users/${boss.id}` });
    const check = await scim(i, "GET", `/Users?filter=${q(`id eq "${user.id}" and manager eq "${boss.id}"`)}`);
    expect(check.json.totalResults).toBe(1);
    const removed = await scim(i, "PATCH", `/Users/${user.id}`, patch({ op: dialect.op("remove"), path: `${ENTERPRISE}:manager` }));
    expect(removed.json[ENTERPRISE]).toBeUndefined();
  });

  it("adds several members in one PATCH and removes one without touching the others", async () => {
    const i = await newIntegration();
    const users = await Promise.all([1, 2, 3].map((n) => createUser(i, `m${n}-${flag}`)));
    const group = (await scim(i, "POST", "/Groups", entraGroup(`Members-${flag}`))).json;
    const add = await scim(
      i,
      "PATCH",
      `/Groups/${group.id}${dialect.query}`,
      patch({ op: dialect.op("add"), path: "members", value: users.map((u) => ({ $ref: null, value: u.id })) }),
    );
    expect(add.status).toBe(204);
    expect(add.text).toBe("");
    expect(await members(i, group.id)).toEqual(users.map((u) => u.id).sort());
    const removeBody = flag
      ? patch({ op: "remove", path: `members[value eq "${users[0]!.id}"]` })
      : patch({ op: "Remove", path: "members", value: [{ $ref: null, value: users[0]!.id }] });
    const remove = await scim(i, "PATCH", `/Groups/${group.id}${dialect.query}`, removeBody);
    expect(remove.status).toBe(204);
    expect(await members(i, group.id)).toEqual([users[1]!.id, users[2]!.id].sort());
  });

  it("renames a group with 204", async () => {
    const i = await newIntegration();
    const group = (await scim(i, "POST", "/Groups", entraGroup(`Rename-${flag}`))).json;
    const res = await scim(
      i,
      "PATCH",
      `/Groups/${group.id}${dialect.query}`,
      patch({ op: dialect.op("replace"), path: "displayName", value: "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName" }),
    );
    expect(res.status).toBe(204);
    expect((await scim(i, "GET", `/Groups/${group.id}`)).json.displayName).toBe("1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName");
  });

  it("creates a work email through a filtered path when the user has none", async () => {
    const i = await newIntegration();
    const user = await createUser(i, `mail-${flag}`);
    await scim(i, "PATCH", `/Users/${user.id}`, patch({ op: dialect.op("remove"), path: "emails" }));
    const res = await scim(
      i,
      "PATCH",
      `/Users/${user.id}${dialect.query}`,
      patch({ op: dialect.op("add"), path: 'emails[type eq "work"].value', value: "new@contoso.com" }),
    );
    expect(res.status).toBe(200);
    expect(res.json.emails).toEqual([{ type: "work", value: "new@contoso.com" }]);
  });
});

describe("Entra: deprovisioning", () => {
  it("answers DELETE with 204 and every later call on that id with 404", async () => {
    const i = await newIntegration();
    const user = await createUser(i, "del1");
    const del = await scim(i, "DELETE", `/Users/${user.id}`);
    expect(del.status).toBe(204);
    expect((await scim(i, "GET", `/Users/${user.id}`)).status).toBe(404);
    expect((await scim(i, "PATCH", `/Users/${user.id}`, patch({ op: "Replace", path: "active", value: "False" }))).status).toBe(404);
    expect((await scim(i, "PUT", `/Users/${user.id}`, entraUser("del1"))).status).toBe(404);
    expect((await scim(i, "DELETE", `/Users/${user.id}`)).status).toBe(404);
    expect((await scim(i, "GET", `/Users?filter=${q(`userName eq "${user.userName}"`)}`)).json.totalResults).toBe(0);
    const group = (await scim(i, "POST", "/Groups", entraGroup("Gone"))).json;
    expect((await scim(i, "DELETE", `/Groups/${group.id}`)).status).toBe(204);
    expect((await scim(i, "GET", `/Groups/${group.id}`)).status).toBe(404);
  });

  it("refuses members that are not users of the tenant, changing nothing", async () => {
    const i = await newIntegration();
    const user = await createUser(i, "mem-ok");
    const group = (await scim(i, "POST", "/Groups", { ...entraGroup("Strict"), members: [{ value: user.id }] })).json;
    const res = await scim(i, "PATCH", `/Groups/${group.id}`, patch({ op: "Add", path: "members", value: [{ value: "not-a-user" }] }));
    expect(res.status).toBe(400);
    expect(res.json.scimType).toBe("invalidValue");
    expect(res.json.detail).toContain("not-a-user");
    expect(await members(i, group.id)).toEqual([user.id]);
  });
});
