/**
 * Clients' dialects, read liberally and stored exactly (README, "SCIM support", tolerances): paths
 * in any case and with a trailing slash, managers that are not provisioned yet, bare filter
 * values, exact types, and removing a single-valued complex attribute by value.
 */
import { describe, expect, it } from "vitest";
import { call, newIntegration, scim } from "../../support/helpers";

const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const q = encodeURIComponent;

describe("paths as clients write them", () => {
  it("matches endpoint names in any case and with a trailing slash; ids stay exact", async () => {
    const i = await newIntegration();
    const created = await scim(i, "POST", "/users", { schemas: [USER], userName: "path@example.com" });
    expect(created.status).toBe(201);
    expect(created.json.meta.location).toMatch(/\/Users\/[0-9a-f-]{36}$/);
    for (const path of ["/users", "/USERS", "/Users/", "/groups", "/Groups/", "/serviceproviderconfig", "/SERVICEPROVIDERCONFIG/", "/schemas", "/resourcetypes", "/ResourceTypes/User/"]) {
      const res = await scim(i, "GET", path);
      expect(res.status, path).toBe(200);
    }
    const filtered = await scim(i, "GET", `/Users/?filter=${q('userName eq "path@example.com"')}`);
    expect(filtered.json.totalResults).toBe(1);
    expect((await scim(i, "GET", `/users/${created.json.id}/`)).json.id).toBe(created.json.id);
    const patched = await scim(i, "PATCH", `/USERS/${created.json.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "title", value: "t" }] });
    expect(patched.status).toBe(200);
    expect((await scim(i, "POST", "/users/.SEARCH", { filter: 'userName eq "path@example.com"' })).json.totalResults).toBe(1);
    // The id is not case-folded: another spelling is another (unknown) id.
    expect((await scim(i, "GET", `/Users/${created.json.id.toUpperCase()}`)).status).toBe(404);
    // Refused writes on such paths are audited like any other.
    expect((await scim(i, "POST", "/users/", { schemas: [USER], userName: "path@example.com" })).status).toBe(409);
    const audit = await call("GET", `/api/v1/${i.tenant}/audit-logs?resourceType=USER&limit=1`, { token: (await import("../../support/helpers")).ADMIN_TOKEN });
    expect(audit.json.results[0]).toMatchObject({ outcome: "FAILURE", status: 409 });
  });
});

describe("projections as clients write them", () => {
  it("reads a value filter in attributes (Microsoft's reference collection sends one) as the attribute it filters", async () => {
    const i = await newIntegration();
    const u = (await scim(i, "POST", "/Users", { schemas: [USER], userName: "proj@example.com", title: "t", emails: [{ value: "proj@example.com", type: "work" }] })).json;
    const res = await scim(i, "GET", `/Users?attributes=${q('emails[type eq "work"]')}`);
    expect(res.status).toBe(200);
    expect(res.json.Resources[0]).toEqual({ schemas: [USER], id: u.id, emails: [{ value: "proj@example.com", type: "work" }] });
    const sub = await scim(i, "GET", `/Users/${u.id}?attributes=${q('emails[type eq "work"].value')}`);
    expect(sub.json.emails).toEqual([{ value: "proj@example.com" }]);
  });
});

describe("references that do not resolve yet", () => {
  it("stores a manager who is not a user of the tenant as given, and links it once they are", async () => {
    const i = await newIntegration();
    const boss = (await scim(i, "POST", "/Users", { schemas: [USER], userName: "later-boss@example.com" })).json;
    expect((await scim(i, "DELETE", `/Users/${boss.id}`)).status).toBe(204);
    const report = await scim(i, "POST", "/Users", { schemas: [USER, ENTERPRISE], userName: "early-report@example.com", [ENTERPRISE]: { manager: { value: boss.id } } });
    expect(report.status).toBe(201);
    expect(report.json[ENTERPRISE].manager).toEqual({ value: boss.id });
    expect((await scim(i, "GET", `/Users?filter=${q(`manager eq "${boss.id}"`)}`)).json.Resources.map((r: { id: string }) => r.id)).toEqual([report.json.id]);
    // The manager arrives (the same person, so the same id): the reference resolves by itself.
    expect((await scim(i, "POST", "/Users", { schemas: [USER], userName: "later-boss@example.com" })).json.id).toBe(boss.id);
    const linked = await scim(i, "GET", `/Users/${report.json.id}`);
    expect(linked.json[ENTERPRISE].manager).toEqual({ value: boss.id, $ref: expect.stringMatching(new RegExp(`/Users/${boss.id}$`)) });
    // Entra's plain-string manager on the URN path, pointing nowhere yet, is kept too.
    const plain = await scim(i, "PATCH", `/Users/${report.json.id}`, { schemas: [PATCH], Operations: [{ op: "Add", path: `${ENTERPRISE}:manager`, value: "someone-not-here-yet" }] });
    expect(plain.status).toBe(200);
    expect(plain.json[ENTERPRISE].manager).toEqual({ value: "someone-not-here-yet" });
    // A user still cannot manage themselves.
    const self = await scim(i, "PATCH", `/Users/${report.json.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "manager", value: report.json.id }] });
    expect(self.status).toBe(400);
  });
});

describe("filter values as clients write them", () => {
  it("reads a bare word or timestamp as a string; quoted forms work as before", async () => {
    const i = await newIntegration();
    const otto = (await scim(i, "POST", "/Users", { schemas: [USER], userName: "Otto@example.com", name: { familyName: "Employee" }, title: "CEO" })).json;
    await scim(i, "POST", "/Users", { schemas: [USER], userName: "anna@example.com", name: { familyName: "Boss" } });
    const ids = async (filter: string) => {
      const res = await scim(i, "GET", `/Users?filter=${q(filter)}`);
      expect(res.status, `${filter}: ${res.text}`).toBe(200);
      return res.json.Resources.map((r: { id: string }) => r.id);
    };
    expect(await ids("userName sw O")).toEqual([otto.id]);
    expect(await ids('userName sw "O"')).toEqual([otto.id]);
    expect(await ids("name.familyName eq Employee")).toEqual([otto.id]);
    expect(await ids("meta.created gt 2015-10-10T14:38:21.8617979-07:00")).toHaveLength(2);
    expect(await ids("meta.created gt 2015-10-10T14:38:21+02:00 and title eq CEO")).toEqual([otto.id]);
    expect(await ids("meta.created lt 2015-10-10T14:38:21Z")).toEqual([]);
    // A number compares as its text with a string attribute.
    await scim(i, "PATCH", `/Users/${otto.id}`, { schemas: [PATCH], Operations: [{ op: "add", path: `${ENTERPRISE}:employeeNumber`, value: "1815" }] });
    expect(await ids(`${ENTERPRISE}:employeeNumber eq 1815`)).toEqual([otto.id]);
    // Still exact where it matters: a bare word is no boolean, and garbage is an error.
    expect((await scim(i, "GET", `/Users?filter=${q("active eq yes")}`)).status).toBe(400);
    expect((await scim(i, "GET", `/Users?filter=${q("meta.created gt yesterday")}`)).json.detail).toMatch(/ISO 8601/);
  });
});

describe("exact types", () => {
  it("refuses a value of the wrong type with 400 invalidValue naming the attribute, and coerces only what directories send", async () => {
    const i = await newIntegration();
    for (const [body, name] of [
      [{ userName: 42 }, "userName"],
      [{ userName: "types@example.com", title: 7 }, "title"],
      [{ userName: "types@example.com", name: { givenName: true } }, "name.givenName"],
      [{ userName: "types@example.com", emails: [{ value: 5 }] }, "emails[0].value"],
      [{ userName: "types@example.com", active: "yes" }, "active"],
      [{ userName: "types@example.com", [ENTERPRISE]: { employeeNumber: 1815 } }, `${ENTERPRISE}:employeeNumber`],
    ] as const) {
      const res = await scim(i, "POST", "/Users", { schemas: [USER], ...body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.scimType).toBe("invalidValue");
      expect(res.json.detail).toContain(`'${name}'`);
    }
    expect((await scim(i, "GET", "/Users")).json.totalResults).toBe(0);
    // Entra's string booleans are read as booleans.
    const entra = await scim(i, "POST", "/Users", { schemas: [USER], userName: "types@example.com", active: "False" });
    expect(entra.json.active).toBe(false);
    const patched = await scim(i, "PATCH", `/Users/${entra.json.id}`, { schemas: [PATCH], Operations: [{ op: "Replace", path: "active", value: "True" }] });
    expect(patched.json.active).toBe(true);
    const wrong = await scim(i, "PATCH", `/Users/${entra.json.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "displayName", value: 3 }] });
    expect(wrong.status).toBe(400);
    expect(wrong.json.detail).toContain("'displayName'");
  });
});

describe("removing a single-valued complex attribute by value", () => {
  it("removes the manager when the value matches and leaves it when it does not", async () => {
    const i = await newIntegration();
    const boss = (await scim(i, "POST", "/Users", { schemas: [USER], userName: "vboss@example.com" })).json;
    const report = (await scim(i, "POST", "/Users", { schemas: [USER, ENTERPRISE], userName: "vreport@example.com", [ENTERPRISE]: { manager: { value: boss.id } } })).json;
    const other = await scim(i, "PATCH", `/Users/${report.id}`, { schemas: [PATCH], Operations: [{ op: "remove", path: 'manager[value eq "somebody-else"]' }] });
    expect(other.status).toBe(200);
    expect(other.json[ENTERPRISE].manager.value).toBe(boss.id);
    const same = await scim(i, "PATCH", `/Users/${report.id}`, { schemas: [PATCH], Operations: [{ op: "remove", path: `manager[value eq "${boss.id}"]` }] });
    expect(same.status).toBe(200);
    expect(same.json[ENTERPRISE]).toBeUndefined();
    const qualified = await scim(i, "PATCH", `/Users/${report.id}`, {
      schemas: [PATCH],
      Operations: [
        { op: "add", path: `${ENTERPRISE}:manager`, value: { value: boss.id } },
        { op: "remove", path: `${ENTERPRISE}:manager[value eq "${boss.id}"]` },
      ],
    });
    expect(qualified.json[ENTERPRISE]).toBeUndefined();
    // A value filter on a single-valued attribute selects it only to remove it.
    const replace = await scim(i, "PATCH", `/Users/${report.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: `manager[value eq "${boss.id}"]`, value: "x" }] });
    expect(replace.status).toBe(400);
    expect(replace.json.scimType).toBe("invalidPath");
  });
});
