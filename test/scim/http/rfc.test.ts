/** RFC 7644 behaviours beyond what the identity providers exercise: paging, sorting, projection, ETags, PUT, search. */
import { beforeAll, describe, expect, it } from "vitest";
import { call, newIntegration, scim, type TestIntegration } from "../../support/helpers";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const q = encodeURIComponent;

let i: TestIntegration;
const ids: string[] = [];

beforeAll(async () => {
  i = await newIntegration();
  for (const [n, family] of [[1, "Zeta"], [2, "alpha"], [3, "Mu"], [4, "Beta"], [5, undefined]] as const) {
    const res = await scim(i, "POST", "/Users", {
      userName: `rfc-${n}@example.com`,
      ...(family ? { name: { familyName: family, givenName: `G${n}` } } : {}),
      title: n % 2 ? "odd" : "even",
      password: "hunter2-never-stored",
      [ENTERPRISE]: { department: `D${n}` },
    });
    expect(res.status, res.text).toBe(201);
    ids.push(res.json.id);
  }
});

describe("paging (RFC 7644 §3.4.2.4)", () => {
  it("pages with a 1-based startIndex and count, in a stable order", async () => {
    const first = await scim(i, "GET", "/Users?startIndex=1&count=2");
    expect(first.json).toMatchObject({ totalResults: 5, startIndex: 1, itemsPerPage: 2 });
    const second = await scim(i, "GET", "/Users?startIndex=3&count=2");
    const third = await scim(i, "GET", "/Users?startIndex=5&count=2");
    const seen = [...first.json.Resources, ...second.json.Resources, ...third.json.Resources].map((u: { id: string }) => u.id);
    expect(seen).toEqual(ids);
    expect(third.json.itemsPerPage).toBe(1);
  });

  it("answers count=0 with the total only, and clamps bad values", async () => {
    expect((await scim(i, "GET", "/Users?count=0")).json).toMatchObject({ totalResults: 5, itemsPerPage: 0, Resources: [] });
    expect((await scim(i, "GET", "/Users?count=-3")).json.itemsPerPage).toBe(0);
    expect((await scim(i, "GET", "/Users?startIndex=0&count=1")).json.startIndex).toBe(1);
    expect((await scim(i, "GET", "/Users?startIndex=-5&count=1")).json.Resources[0].id).toBe(ids[0]);
    expect((await scim(i, "GET", "/Users?count=100000")).json.itemsPerPage).toBe(5);
    expect((await scim(i, "GET", "/Users?startIndex=99")).json).toMatchObject({ totalResults: 5, itemsPerPage: 0, Resources: [] });
    const bad = await scim(i, "GET", "/Users?count=ten");
    expect(bad.status).toBe(400);
    expect(bad.json.scimType).toBe("invalidValue");
  });
});

describe("sorting (RFC 7644 §3.4.2.3)", () => {
  it("sorts by an attribute, case-insensitively, missing values last", async () => {
    const asc = await scim(i, "GET", "/Users?sortBy=name.familyName");
    expect(asc.json.Resources.map((u: { name?: { familyName: string } }) => u.name?.familyName ?? null)).toEqual(["alpha", "Beta", "Mu", "Zeta", null]);
    const desc = await scim(i, "GET", "/Users?sortBy=name.familyName&sortOrder=descending");
    expect(desc.json.Resources.map((u: { name?: { familyName: string } }) => u.name?.familyName ?? null)).toEqual(["Zeta", "Mu", "Beta", "alpha", null]);
    const byUserName = await scim(i, "GET", "/Users?sortBy=userName&sortOrder=DESCENDING&count=1");
    expect(byUserName.json.Resources[0].userName).toBe("rfc-5@example.com");
  });

  it("rejects unknown sort attributes and orders", async () => {
    expect((await scim(i, "GET", "/Users?sortBy=nope")).status).toBe(400);
    expect((await scim(i, "GET", "/Users?sortBy=emails")).status).toBe(400);
    expect((await scim(i, "GET", "/Users?sortBy=userName&sortOrder=sideways")).status).toBe(400);
  });
});

describe("projection (RFC 7644 §3.4.2.5)", () => {
  it("returns only the asked attributes, always with id and schemas", async () => {
    const res = await scim(i, "GET", `/Users/${ids[0]}?attributes=userName,name.givenName`);
    expect(res.json).toEqual({
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
      id: ids[0],
      userName: "rfc-1@example.com",
      name: { givenName: "G1" },
    });
    const ext = await scim(i, "GET", `/Users/${ids[0]}?attributes=${q(`${ENTERPRISE}:department`)}`);
    expect(ext.json).toEqual({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE], id: ids[0], [ENTERPRISE]: { department: "D1" } });
    const list = await scim(i, "GET", "/Users?attributes=userName&count=1");
    expect(Object.keys(list.json.Resources[0]).sort()).toEqual(["id", "schemas", "userName"]);
  });

  it("drops excluded attributes but never id or schemas", async () => {
    const res = await scim(i, "GET", `/Users/${ids[0]}?excludedAttributes=name,meta,id,schemas,${q(ENTERPRISE)}`);
    expect(res.json.id).toBe(ids[0]);
    expect(res.json.schemas).toEqual(["urn:ietf:params:scim:schemas:core:2.0:User"]);
    expect(res.json.name).toBeUndefined();
    expect(res.json.meta).toBeUndefined();
    expect(res.json[ENTERPRISE]).toBeUndefined();
    expect(res.json.userName).toBe("rfc-1@example.com");
  });

  it("applies to write responses too, and never returns a password", async () => {
    const res = await call("POST", `${i.scimPath}/Users?attributes=userName`, {
      token: i.token,
      body: { userName: "projected@example.com", password: "p@ss", title: "x" },
    });
    expect(res.status).toBe(201);
    expect(Object.keys(res.json).sort()).toEqual(["id", "schemas", "userName"]);
    const full = await scim(i, "GET", `/Users/${ids[0]}?attributes=password`);
    expect(full.json.password).toBeUndefined();
    expect(JSON.stringify((await scim(i, "GET", "/Users")).json)).not.toContain("hunter2");
  });

  it("returns a group's members only when asked, and 200 on PATCH with attributes", async () => {
    const group = (await scim(i, "POST", "/Groups", { displayName: "Projected", members: [{ value: ids[0] }] })).json;
    expect((await scim(i, "GET", `/Groups/${group.id}?excludedAttributes=members`)).json.members).toBeUndefined();
    expect((await scim(i, "GET", `/Groups/${group.id}?attributes=displayName`)).json).toEqual({
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
      id: group.id,
      displayName: "Projected",
    });
    const patched = await scim(i, "PATCH", `/Groups/${group.id}?attributes=members`, {
      schemas: [PATCH],
      Operations: [{ op: "add", path: "members", value: [{ value: ids[1] }] }],
    });
    expect(patched.status).toBe(200);
    expect(patched.json.members.map((m: { value: string }) => m.value).sort()).toEqual([ids[0], ids[1]].sort());
  });
});

describe("ETags (RFC 7644 §3.14)", () => {
  it("sends a weak ETag, honours If-None-Match with 304 and If-Match with 412", async () => {
    const read = await scim(i, "GET", `/Users/${ids[2]}`);
    const etag = read.headers.get("etag")!;
    expect(etag).toMatch(/^W\/".+"$/);
    expect(read.json.meta.version).toBe(etag);
    expect((await scim(i, "GET", `/Users/${ids[2]}`, undefined, { "If-None-Match": etag })).status).toBe(304);
    const stale = await scim(i, "PATCH", `/Users/${ids[2]}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "title", value: "x" }] }, { "If-Match": 'W/"0.0"' });
    expect(stale.status).toBe(412);
    const fresh = await scim(i, "PATCH", `/Users/${ids[2]}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "title", value: "x" }] }, { "If-Match": etag });
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get("etag")).not.toBe(etag);
    expect((await scim(i, "GET", `/Users/${ids[2]}`, undefined, { "If-None-Match": etag })).status).toBe(200);
    expect((await scim(i, "DELETE", `/Users/${ids[2]}`, undefined, { "If-Match": etag })).status).toBe(412);
  });

  it("does not bump the version when a write changes nothing", async () => {
    const before = (await scim(i, "GET", `/Users/${ids[3]}`)).json.meta.version;
    await scim(i, "PATCH", `/Users/${ids[3]}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "title", value: "even" }] });
    expect((await scim(i, "GET", `/Users/${ids[3]}`)).json.meta.version).toBe(before);
  });
});

describe("PUT (RFC 7644 §3.5.1)", () => {
  it("replaces the resource, ignores read-only values and keeps the id", async () => {
    const created = (await scim(i, "POST", "/Users", { userName: "put@example.com", title: "old", nickName: "nick" })).json;
    const res = await scim(i, "PUT", `/Users/${created.id}`, {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
      id: "something-else",
      userName: "put@example.com",
      title: "new",
      groups: [{ value: "ignored" }],
      meta: { created: "1999-01-01T00:00:00Z" },
    });
    expect(res.status).toBe(200);
    expect(res.json.id).toBe(created.id);
    expect(res.json.title).toBe("new");
    expect(res.json.nickName).toBeUndefined();
    expect(res.json.groups).toBeUndefined();
    expect(res.json.meta.created).toBe(created.meta.created);
    expect((await scim(i, "PUT", `/Users/${created.id}`, { title: "no userName" })).status).toBe(400);
  });

  it("replaces a group's members", async () => {
    const group = (await scim(i, "POST", "/Groups", { displayName: "PutGroup", members: [{ value: ids[0] }] })).json;
    const res = await scim(i, "PUT", `/Groups/${group.id}`, { displayName: "PutGroup2", members: [{ value: ids[1] }, { value: ids[3] }] });
    expect(res.status).toBe(200);
    expect(res.json.displayName).toBe("PutGroup2");
    expect(res.json.members.map((m: { value: string }) => m.value).sort()).toEqual([ids[1], ids[3]].sort());
  });
});

describe("search and bulk", () => {
  it("searches with POST /.search per resource and at the root", async () => {
    const users = await scim(i, "POST", "/Users/.search", { schemas: [SEARCH], filter: "name.givenName pr", attributes: ["userName"], sortBy: "userName", count: 2 });
    expect(users.status).toBe(200);
    expect(users.json.totalResults).toBe(4);
    expect(users.json.Resources.map((u: { userName: string }) => u.userName)).toEqual(["rfc-1@example.com", "rfc-2@example.com"]);
    expect(Object.keys(users.json.Resources[0]).sort()).toEqual(["id", "schemas", "userName"]);
    const root = await scim(i, "POST", "/.search", { schemas: [SEARCH], filter: "meta.created pr", count: 500 });
    expect(root.json.Resources.some((r: { schemas: string[] }) => r.schemas[0]!.endsWith(":Group"))).toBe(true);
    expect(root.json.Resources.some((r: { schemas: string[] }) => r.schemas[0]!.endsWith(":User"))).toBe(true);
    expect((await scim(i, "POST", "/Users/.search", { schemas: ["urn:nope"] })).status).toBe(400);
    expect((await scim(i, "POST", "/Groups/.search", { filter: "displayName eq" })).json.scimType).toBe("invalidFilter");
  });

  it("refuses an empty /Bulk request with a SCIM error", async () => {
    const res = await scim(i, "POST", "/Bulk", { schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], Operations: [] });
    expect(res.status).toBe(400);
    expect(res.json.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:Error"]);
  });
});

describe("bad input", () => {
  it("answers malformed and unsupported bodies with SCIM errors", async () => {
    const notJson = await scim(i, "POST", "/Users", "{oops", { "Content-Type": "application/scim+json" });
    expect(notJson.status).toBe(400);
    expect(notJson.json.scimType).toBe("invalidSyntax");
    expect((await scim(i, "POST", "/Users", "userName=x", { "Content-Type": "application/x-www-form-urlencoded" })).status).toBe(415);
    expect((await scim(i, "POST", "/Users", [1, 2])).status).toBe(400);
    expect((await scim(i, "POST", "/Users", { userName: "" })).json.scimType).toBe("invalidValue");
    expect((await scim(i, "POST", "/Users", { userName: { a: 1 } })).status).toBe(400);
    expect((await scim(i, "POST", "/Users", { userName: "typed@example.com", active: "sometimes" })).json.detail).toMatch(/active/);
    expect((await scim(i, "POST", "/Groups", { members: [] })).json.detail).toMatch(/displayName/);
    const notAList = await scim(i, "POST", "/Users", { userName: "list@example.com", emails: "list@example.com" });
    expect(notAList.status).toBe(400);
    expect(notAList.json.detail).toMatch(/emails/);
    expect((await scim(i, "PATCH", `/Users/${ids[0]}`, { Operations: "nope" })).json.scimType).toBe("invalidSyntax");
  });

  it("refuses oversized bodies with a SCIM 413 before parsing them", async () => {
    const res = await scim(i, "POST", "/Users", { userName: "big@example.com", title: "x".repeat(1_100_000) });
    expect(res.status).toBe(413);
    expect(res.json.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:Error"]);
  });
});

describe("hardening", () => {
  it("refuses filters that would bind more values than D1 takes, with 400 not 500", async () => {
    const sw = Array.from({ length: 95 }, (_, n) => `userName eq "t${n}"`).join(" or ");
    const res = await scim(i, "GET", `/Users?filter=${q(sw)}`);
    expect(res.status).toBe(400);
    expect(res.json.scimType).toBe("invalidFilter");
    expect(res.json.detail).toMatch(/too many values/);
    const eqs = Array.from({ length: 45 }, (_, n) => `title eq "T${n}"`).join(" or ");
    expect((await scim(i, "GET", `/Users?filter=${q(eqs)}`)).status).toBe(200);
    const group = (await scim(i, "POST", "/Groups", { displayName: "Budget" })).json;
    const members = Array.from({ length: 95 }, (_, n) => `display eq "u${n}"`).join(" or ");
    const patch = await scim(i, "PATCH", `/Groups/${group.id}`, { schemas: [PATCH], Operations: [{ op: "remove", path: `members[${members}]` }] });
    expect(patch.status).toBe(400);
    expect(patch.json.scimType).toBe("invalidFilter");
    // Members named by id are removed by key, however many: no filter to bind.
    const byId = Array.from({ length: 95 }, (_, n) => `value eq "u${n}"`).join(" or ");
    expect((await scim(i, "PATCH", `/Groups/${group.id}`, { schemas: [PATCH], Operations: [{ op: "remove", path: `members[${byId}]` }] })).status).toBe(204);
  });

  it("checks the projection before writing, so a bad one changes nothing", async () => {
    const bad = await call("POST", `${i.scimPath}/Users?attributes=${q("emails.value.type")}`, {
      token: i.token,
      body: { userName: "projection-first@example.com" },
    });
    expect(bad.status).toBe(400);
    expect((await scim(i, "POST", "/Users", { userName: "projection-first@example.com" })).status).toBe(201);
  });

  it("clamps an enormous startIndex instead of failing", async () => {
    const res = await scim(i, "GET", "/Users?startIndex=100000000000000000000&count=1");
    expect(res.status).toBe(200);
    expect(res.json.Resources).toEqual([]);
  });

  it("moves primary to the element a PATCH makes primary", async () => {
    const user = (
      await scim(i, "POST", "/Users", {
        userName: "primary@example.com",
        emails: [
          { value: "work@example.com", type: "work", primary: true },
          { value: "home@example.com", type: "home" },
        ],
      })
    ).json;
    const res = await scim(i, "PATCH", `/Users/${user.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: 'emails[type eq "home"].primary', value: true }] });
    expect(res.json.emails).toEqual([
      { value: "work@example.com", type: "work" },
      { value: "home@example.com", type: "home", primary: true },
    ]);
    const added = await scim(i, "PATCH", `/Users/${user.id}`, {
      schemas: [PATCH],
      Operations: [{ op: "add", path: "emails", value: [{ value: "new@example.com", type: "other", primary: true }] }],
    });
    expect(added.json.emails.filter((e: { primary?: boolean }) => e.primary).map((e: { value: string }) => e.value)).toEqual(["new@example.com"]);
  });

  it("searches across types with attributes only one type has", async () => {
    const res = await scim(i, "POST", "/.search", { schemas: [SEARCH], filter: 'userName sw "rfc-1"', sortBy: "userName" });
    expect(res.status).toBe(200);
    expect(res.json.Resources.map((r: { userName: string }) => r.userName)).toEqual(["rfc-1@example.com"]);
    const groups = await scim(i, "POST", "/.search", { schemas: [SEARCH], filter: 'displayName eq "Budget" or userName eq "rfc-2@example.com"' });
    expect(groups.json.totalResults).toBe(2);
  });

  it("removing active leaves it unassigned, which is inactive: stored and answered false (RFC 7644 §3.5.2.2)", async () => {
    const user = (await scim(i, "POST", "/Users", { userName: "unassigned-active@example.com" })).json;
    expect(user.active).toBe(true);
    const res = await scim(i, "PATCH", `/Users/${user.id}`, { schemas: [PATCH], Operations: [{ op: "remove", path: "active" }] });
    expect(res.status, res.text).toBe(200);
    expect(res.json.active).toBe(false);
    expect((await scim(i, "GET", `/Users/${user.id}`)).json.active).toBe(false);
    const found = await scim(i, "GET", `/Users?filter=${q('userName eq "unassigned-active@example.com" and active eq false')}`);
    expect(found.json.totalResults).toBe(1);
    // /Schemas says what unassigned means.
    const schema = await scim(i, "GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User");
    const active = schema.json.attributes.find((a: { name: string }) => a.name === "active");
    expect(active.description).toMatch(/Unassigned by a PATCH \(remove, or replace with null\): false/);
  });

  it("ignores an extension's own schemas key inside its value, in PATCH, POST and PUT", async () => {
    const echo = { schemas: [ENTERPRISE], department: "R&D" };
    const user = (await scim(i, "POST", "/Users", { userName: "ext-echo@example.com", [ENTERPRISE]: { ...echo, costCenter: "42" } })).json;
    expect(user[ENTERPRISE]).toEqual({ department: "R&D", costCenter: "42" });
    const patched = await scim(i, "PATCH", `/Users/${user.id}`, { schemas: [PATCH], Operations: [{ op: "add", path: ENTERPRISE, value: { ...echo, division: "Labs" } }] });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json[ENTERPRISE]).toEqual({ department: "R&D", costCenter: "42", division: "Labs" });
    const put = await scim(i, "PUT", `/Users/${user.id}`, { userName: "ext-echo@example.com", [ENTERPRISE]: { ...echo, division: "Ops" } });
    expect(put.status, put.text).toBe(200);
    expect(put.json[ENTERPRISE]).toEqual({ department: "R&D", division: "Ops" });
  });

  it("merges many one-member operations into few statements", async () => {
    const created = await Promise.all(Array.from({ length: 30 }, (_, n) => scim(i, "POST", "/Users", { userName: `many-${n}@example.com` })));
    const group = (await scim(i, "POST", "/Groups", { displayName: "Many" })).json;
    const res = await scim(i, "PATCH", `/Groups/${group.id}`, {
      schemas: [PATCH],
      Operations: created.map((u) => ({ op: "Add", path: "members", value: [{ value: u.json.id }] })),
    });
    expect(res.status).toBe(204);
    expect((await scim(i, "GET", `/Groups/${group.id}`)).json.members).toHaveLength(30);
  });

  it("never echoes a malformed body back (it may hold a password)", async () => {
    const res = await scim(i, "POST", "/Users", '{"userName":"x","password":"s3cret-Pa55", oops}', { "Content-Type": "application/scim+json" });
    expect(res.status).toBe(400);
    expect(res.text).not.toContain("s3cret");
  });
});
