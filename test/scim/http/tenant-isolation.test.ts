/**
 * Tenants are mutually distrusting customers. Two tenants provision the same person: every read
 * and write path of one must show and change only its own view (SECURITY.md, "Tenant isolation").
 */
import { env } from "cloudflare:workers";
import { and, count, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client";
import { auditEvents, users } from "../../../src/db/schema";
import { admin, newIntegration, scim } from "../../support/helpers";

const db = createDb(env.DB);
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const q = encodeURIComponent;

let n = 0;
/** The victim's tenant B provisions a full profile; attacker tenant A has its own integration. */
async function twoTenants() {
  const a = await newIntegration();
  const b = await newIntegration();
  const victim = `ceo-${n++}@victim.example`;
  const manager = (await scim(b, "POST", "/Users", { schemas: [USER], userName: `boss-${n}@victim.example`, displayName: "The Board" })).json;
  const created = await scim(b, "POST", "/Users", {
    schemas: [USER, ENTERPRISE],
    userName: victim,
    externalId: "b-ext",
    name: { givenName: "Vic", familyName: "Tim" },
    displayName: "Vic Tim",
    title: "Chief Executive",
    phoneNumbers: [{ value: "+1 555 0100", type: "mobile" }],
    emails: [{ value: victim, type: "work", primary: true }],
    addresses: [{ locality: "Zurich", type: "work" }],
    [ENTERPRISE]: { employeeNumber: "0001", department: "Board", manager: { value: manager.id } },
  });
  expect(created.status).toBe(201);
  return { a, b, victim, id: created.json.id as string, managerId: manager.id as string, bView: created.json };
}

const ownKeys = ["schemas", "id", "userName", "active", "meta"];

describe("tenant isolation of user profiles", () => {
  it("a POST that links an existing person answers only what this tenant sent", async () => {
    const { a, b, victim, id, bView } = await twoTenants();
    const joined = await scim(a, "POST", "/Users", { schemas: [USER], userName: victim });
    expect(joined.status).toBe(201);
    expect(joined.json.id).toBe(id); // Kestra: one global user
    expect(Object.keys(joined.json).sort()).toEqual([...ownKeys].sort());
    // Every value pinned exactly (random ids can hold any digits, so no pattern over the text):
    // none of B's profile can be anywhere in the answer.
    expect(joined.json).toEqual({
      schemas: [USER],
      id,
      userName: victim,
      active: true,
      meta: {
        resourceType: "User",
        created: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        lastModified: joined.json.meta.created,
        location: `${a.endpoint}/Users/${id}`,
        version: expect.stringMatching(/^W\/"\d+"$/),
      },
    });
    expect((await scim(a, "GET", `/Users/${id}`)).json).toEqual(joined.json);
    // B's view is exactly what it was.
    expect((await scim(b, "GET", `/Users/${id}`)).json).toEqual(bView);
  });

  it("PATCH (both Entra dialects) and PUT from one tenant leave the other's view, ETag and lastModified untouched", async () => {
    const { a, b, victim, id, bView } = await twoTenants();
    await scim(a, "POST", "/Users", { schemas: [USER], userName: victim });
    const pathDialect = await scim(a, "PATCH", `/Users/${id}`, {
      schemas: [PATCH],
      Operations: [
        { op: "Replace", path: "displayName", value: "Pwned" },
        { op: "Add", path: 'emails[type eq "work"].value', value: "attacker@evil.example" },
        { op: "Replace", path: `${ENTERPRISE}:department`, value: "Evil" },
      ],
    });
    expect(pathDialect.status).toBe(200);
    expect(pathDialect.json).toMatchObject({ displayName: "Pwned", emails: [{ value: "attacker@evil.example", type: "work" }] });
    const valueDialect = await scim(a, "PATCH", `/Users/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: "replace", value: { title: "Pwned too", "name.familyName": "Evil", active: "False" } }],
    });
    expect(valueDialect.status).toBe(200);
    const put = await scim(a, "PUT", `/Users/${id}`, { schemas: [USER], userName: victim, nickName: "put by A", active: false });
    expect(put.status).toBe(200);
    expect(put.json.nickName).toBe("put by A");

    const afterB = await scim(b, "GET", `/Users/${id}`);
    expect(afterB.json).toEqual(bView);
    expect(afterB.headers.get("ETag")).toBe(bView.meta.version);
    // B's conditional requests still see its own version.
    expect((await scim(b, "GET", `/Users/${id}`, undefined, { "If-None-Match": bView.meta.version })).status).toBe(304);
    const guarded = await scim(b, "PATCH", `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "nickName", value: "B's" }] }, { "If-Match": bView.meta.version });
    expect(guarded.status).toBe(200);
    // And nothing B wrote since shows in A.
    expect((await scim(a, "GET", `/Users/${id}`)).json.nickName).toBe("put by A");
  });

  it("filters on every attribute, and .search, find nothing another tenant provisioned", async () => {
    const { a, id, victim, managerId } = await twoTenants();
    await scim(a, "POST", "/Users", { schemas: [USER], userName: victim, externalId: "a-ext" });
    const foreign = [
      'title eq "Chief Executive"',
      "title pr",
      'displayName eq "Vic Tim"',
      'name.familyName eq "Tim"',
      "name pr",
      'phoneNumbers[value eq "+1 555 0100"]',
      'phoneNumbers.type eq "mobile"',
      'emails.value eq "' + victim + '"',
      'emails[type eq "work"]',
      'addresses[locality eq "Zurich"]',
      `${ENTERPRISE}:employeeNumber eq "0001"`,
      `${ENTERPRISE}:department co "oar"`,
      `manager eq "${managerId}"`,
      `${ENTERPRISE}:manager.value eq "${managerId}"`,
      `${ENTERPRISE}:manager.displayName eq "The Board"`,
      'externalId eq "b-ext"',
      'userName eq "vic@victim.example"',
      "active eq false",
    ];
    for (const filter of foreign) {
      const listed = await scim(a, "GET", `/Users?filter=${q(filter)}`);
      expect(listed.status, filter).toBe(200);
      expect(listed.json.totalResults, filter).toBe(0);
      const searched = await scim(a, "POST", "/Users/.search", { schemas: [SEARCH], filter });
      expect(searched.json.totalResults, `${filter}: ${searched.text}`).toBe(0);
      const root = await scim(a, "POST", "/.search", { schemas: [SEARCH], filter });
      expect(root.json.totalResults, `${filter}: ${root.text}`).toBe(0);
    }
    // What A itself provisioned is found, and only A's view is returned.
    const own = await scim(a, "GET", `/Users?filter=${q('externalId eq "a-ext"')}`);
    expect(own.json.Resources.map((r: { id: string }) => r.id)).toEqual([id]);
    expect(own.json.Resources[0].title).toBeUndefined();
    // Sorting on B's attributes cannot order A's users by them either: A's only user, no title.
    const sorted = await scim(a, "GET", `/Users?sortBy=title&count=5`);
    expect(sorted.json.totalResults).toBe(1);
  });

  it("answers 409 only for this tenant's own userNames, with this tenant's own words", async () => {
    const { a, b, victim, id } = await twoTenants();
    const first = await scim(a, "POST", "/Users", { schemas: [USER], userName: victim.toUpperCase() });
    expect(first.status).toBe(201);
    const again = await scim(a, "POST", "/Users", { schemas: [USER], userName: victim });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ scimType: "uniqueness", detail: `A user with userName '${victim}' already exists in this tenant.` });
    // Renaming A's view onto a userName only B uses is not a conflict: B's userNames are B's.
    const other = (await scim(a, "POST", "/Users", { schemas: [USER], userName: `other-${n}@a.example` })).json;
    const bOnly = (await scim(b, "POST", "/Users", { schemas: [USER], userName: `b-only-${n}@victim.example`, title: "B" })).json;
    const renamed = await scim(a, "PATCH", `/Users/${other.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "userName", value: bOnly.userName }] });
    expect(renamed.status).toBe(200);
    expect(renamed.json.userName).toBe(bOnly.userName);
    expect((await scim(b, "GET", `/Users/${bOnly.id}`)).json.userName).toBe(bOnly.userName);
    // A rename onto one of A's own userNames is refused, naming only A's value.
    const clash = await scim(a, "PATCH", `/Users/${other.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "userName", value: victim }] });
    expect(clash.status).toBe(409);
    expect(clash.json.detail).toBe(`userName '${victim}' is already taken in this tenant.`);
    expect((await scim(b, "GET", `/Users/${id}`)).json.userName).toBe(victim);
  });

  it("a second directory mapping attributes differently causes no churn in the first tenant's view", async () => {
    const { a, b, victim, id } = await twoTenants();
    const body = { schemas: [USER], userName: victim, displayName: "Victor T.", title: "CEO" };
    await scim(a, "POST", "/Users", body);
    const before = (await scim(a, "GET", `/Users/${id}`)).json;
    const auditOfA = async () =>
      (await db.select({ n: count() }).from(auditEvents).where(and(eq(auditEvents.tenantId, a.tenant), eq(auditEvents.resourceId, id))))[0]!.n;
    const eventsBefore = await auditOfA();
    // Three sync cycles: each directory sends its own mapping again.
    for (let cycle = 0; cycle < 3; cycle++) {
      await scim(b, "PATCH", `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "displayName", value: "Vic Tim" }, { op: "replace", path: "title", value: "Chief Executive" }] });
      const again = await scim(a, "PATCH", `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "displayName", value: "Victor T." }, { op: "replace", path: "title", value: "CEO" }] });
      expect(again.status).toBe(200);
    }
    const after = (await scim(a, "GET", `/Users/${id}`)).json;
    expect(after).toEqual(before); // same version, same lastModified
    expect(await auditOfA()).toBe(eventsBefore); // nothing changed, nothing audited
  });

  it("group members and managers are named from this tenant's own view", async () => {
    const { a, b, victim, id } = await twoTenants();
    await scim(a, "POST", "/Users", { schemas: [USER], userName: victim, displayName: "Seen by A" });
    const group = (await scim(a, "POST", "/Groups", { displayName: "A Team", members: [{ value: id }] })).json;
    expect((await scim(a, "GET", `/Groups/${group.id}`)).json.members).toEqual([expect.objectContaining({ value: id, display: "Seen by A" })]);
    expect((await scim(a, "GET", `/Groups?filter=${q('members[display eq "Vic Tim"]')}`)).json.totalResults).toBe(0);
    expect((await scim(a, "GET", `/Groups?filter=${q('members[display eq "Seen by A"]')}`)).json.totalResults).toBe(1);
    const report = (await scim(a, "POST", "/Users", { schemas: [USER, ENTERPRISE], userName: `report-${n}@a.example`, [ENTERPRISE]: { manager: { value: id } } })).json;
    const byManagerName = await scim(a, "GET", `/Users?filter=${q(`${ENTERPRISE}:manager.displayName eq "Seen by A"`)}`);
    expect(byManagerName.json.Resources.map((r: { id: string }) => r.id)).toEqual([report.id]);
    // A's view of the victim has no manager, although B's has one.
    expect((await scim(a, "GET", `/Users/${id}`)).json[ENTERPRISE]).toBeUndefined();
    expect((await scim(b, "GET", `/Users/${id}`)).json[ENTERPRISE].manager.value).toBeDefined();
  });

  it("the admin API shows each tenant its own view, and the operator every view", async () => {
    const { a, b, victim, id } = await twoTenants();
    await scim(a, "POST", "/Users", { schemas: [USER], userName: victim, displayName: "Seen by A", externalId: "a-ext" });
    const listA = await admin("GET", `/${a.tenant}/users`);
    expect(listA.json.results).toEqual([expect.objectContaining({ id, userName: victim, displayName: "Seen by A", externalId: "a-ext" })]);
    expect((await admin("GET", `/${a.tenant}/users?search=${q("Vic Tim")}`)).json.results).toEqual([]);
    expect((await admin("GET", `/${b.tenant}/users?search=${q("Vic Tim")}`)).json.results.map((u: { id: string }) => u.id)).toEqual([id]);
    const global = await admin("GET", `/users/${id}`);
    expect(global.status).toBe(200);
    expect(global.json.userName).toBe(victim);
    const views = Object.fromEntries(global.json.tenants.map((t: { tenant: string }) => [t.tenant, t]));
    expect(views[a.tenant]).toMatchObject({ userName: victim, displayName: "Seen by A", externalId: "a-ext", emails: [], attributes: {} });
    expect(views[b.tenant]).toMatchObject({
      userName: victim,
      displayName: "Vic Tim",
      externalId: "b-ext",
      emails: [{ value: victim, type: "work", primary: true }],
      attributes: { title: "Chief Executive", [ENTERPRISE]: expect.objectContaining({ employeeNumber: "0001" }) },
    });
  });
});

describe("identity changes are explicit", () => {
  async function identityOf(id: string) {
    return (await db.select({ userName: users.userName }).from(users).where(eq(users.id, id)))[0]?.userName;
  }

  it("a rename changes only the renaming tenant's view; the identity other tenants link on never moves", async () => {
    const a = await newIntegration();
    const original = `solo-${n}@example.com`;
    const created = (await scim(a, "POST", "/Users", { schemas: [USER], userName: original })).json;
    const renamed = await scim(a, "PATCH", `/Users/${created.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "userName", value: `solo-renamed-${n}@example.com` }] });
    expect(renamed.status).toBe(200);
    expect(renamed.json.userName).toBe(`solo-renamed-${n}@example.com`);
    expect(await identityOf(created.id)).toBe(original);
    const c = await newIntegration();
    expect((await scim(c, "POST", "/Users", { schemas: [USER], userName: original })).json.id).toBe(created.id);
    expect((await scim(c, "POST", "/Users", { schemas: [USER], userName: `solo-renamed-${n}@example.com` })).json.id).not.toBe(created.id);
  });

  it("answers a tenant the same whether or not another tenant shares the person (no probe can tell)", async () => {
    // Tenant A renames its view of a person, then posts the old name again: a new person, with a
    // new random id, whether A is the person's only tenant or not.
    const answers: boolean[] = [];
    for (const shared of [false, true]) {
      const a = await newIntegration();
      const original = `probe-${shared}-${n}@example.com`;
      const person = (await scim(a, "POST", "/Users", { schemas: [USER], userName: original })).json;
      if (shared) await scim(await newIntegration(), "POST", "/Users", { schemas: [USER], userName: original });
      await scim(a, "PUT", `/Users/${person.id}`, { schemas: [USER], userName: `married-${shared}-${n}@example.com` });
      const again = await scim(a, "POST", "/Users", { schemas: [USER], userName: original });
      expect(again.status).toBe(201);
      expect(again.json.id).not.toBe(person.id);
      expect(again.json.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-/); // random (v4): no time to read
      answers.push(again.status === 201 && again.json.userName === original);
    }
    expect(answers).toEqual([true, true]);
  });

  it("gives a person a random id, so linking to someone another tenant provisioned dates nothing", async () => {
    const b = await newIntegration();
    const first = (await scim(b, "POST", "/Users", { schemas: [USER], userName: `dated-${n}@example.com` })).json;
    expect(first.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const a = await newIntegration();
    const linked = await scim(a, "POST", "/Users", { schemas: [USER], userName: `dated-${n}@example.com` });
    expect(linked.json.id).toBe(first.id);
    expect(Date.parse(linked.json.meta.created)).toBeGreaterThanOrEqual(Date.parse(first.meta.created));
  });
});
