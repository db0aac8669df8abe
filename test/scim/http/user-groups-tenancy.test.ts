/**
 * A user's `groups` are that tenant's groups only. Two tenants provision the same person (one
 * global user) and each puts them in a group of its own: every path that answers a user with
 * its groups (read in the same query as the user, `groupsOfRow` in src/iam/users.ts) must show
 * each tenant its own group and never the other's, whose name alone would leak.
 */
import { describe, expect, it } from "vitest";
import { admin, newIntegration, scim, type TestIntegration } from "../../support/helpers";

const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";
const SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const q = encodeURIComponent;

let n = 0;

async function world() {
  const a = await newIntegration();
  const b = await newIntegration();
  const userName = `shared-${n++}@example.com`;
  const inA = await scim(a, "POST", "/Users", { schemas: [USER], userName });
  const inB = await scim(b, "POST", "/Users", { schemas: [USER], userName });
  expect(inA.status).toBe(201);
  expect(inB.status).toBe(201);
  expect(inB.json.id).toBe(inA.json.id); // one global user, seen by both tenants
  const id = inA.json.id as string;
  const groupA = await scim(a, "POST", "/Groups", { schemas: [GROUP], displayName: "Alpha admins", members: [{ value: id }] });
  const groupB = await scim(b, "POST", "/Groups", { schemas: [GROUP], displayName: "Beta secret project", members: [{ value: id }] });
  expect(groupA.status).toBe(201);
  expect(groupB.status).toBe(201);
  return { a, b, id, userName, groupA: groupA.json.id as string, groupB: groupB.json.id as string };
}

/** The `groups` a tenant's integration is answered for the user, on every SCIM path that reads them. */
async function groupsSeen(i: TestIntegration, id: string, userName: string): Promise<Record<string, unknown>> {
  const byFilter = `/Users?filter=${q(`userName eq "${userName}"`)}`;
  const answers: Record<string, { status: number; json: any }> = {
    "GET /Users/{id}": await scim(i, "GET", `/Users/${id}`),
    "GET /Users?filter": await scim(i, "GET", byFilter),
    "GET /Users (whole list)": await scim(i, "GET", "/Users?count=100"),
    "GET /Users?attributes=groups": await scim(i, "GET", `${byFilter}&attributes=groups`),
    "POST /Users/.search": await scim(i, "POST", "/Users/.search", { schemas: [SEARCH], filter: `userName eq "${userName}"` }),
    "POST /.search": await scim(i, "POST", "/.search", { schemas: [SEARCH], filter: `userName eq "${userName}"` }),
  };
  const seen: Record<string, unknown> = {};
  for (const [name, res] of Object.entries(answers)) {
    expect(res.status, name).toBe(200);
    const resource = name.startsWith("GET /Users/{id}") ? res.json : (res.json.Resources as any[]).find((r) => r.id === id && r.schemas?.includes(USER));
    seen[name] = resource?.groups;
  }
  return seen;
}

describe("a user's groups across tenants", () => {
  it("each tenant sees only its own group in a shared user's `groups`, on every SCIM path", async () => {
    const { a, b, id, userName, groupA, groupB } = await world();
    const own = (i: TestIntegration, group: string, displayName: string) => [{ value: group, $ref: `${i.endpoint}/Groups/${group}`, display: displayName, type: "direct" }];
    for (const [name, groups] of Object.entries(await groupsSeen(a, id, userName))) expect(groups, `tenant A, ${name}`).toEqual(own(a, groupA, "Alpha admins"));
    for (const [name, groups] of Object.entries(await groupsSeen(b, id, userName))) expect(groups, `tenant B, ${name}`).toEqual(own(b, groupB, "Beta secret project"));
  });

  it("shows no group at all to a tenant that put the user in none, though another did", async () => {
    const { id, userName } = await world();
    const c = await newIntegration();
    expect((await scim(c, "POST", "/Users", { schemas: [USER], userName })).json.id).toBe(id);
    for (const [name, groups] of Object.entries(await groupsSeen(c, id, userName))) expect(groups, `tenant C, ${name}`).toBeUndefined();
  });

  it("lists each tenant's own group with the user in the admin API too", async () => {
    const { a, b, id, groupA, groupB } = await world();
    const inA = (await admin("GET", `/${a.tenant}/users`)).json.results.find((u: any) => u.id === id);
    const inB = (await admin("GET", `/${b.tenant}/users`)).json.results.find((u: any) => u.id === id);
    expect(inA.groups).toEqual([{ id: groupA, displayName: "Alpha admins" }]);
    expect(inB.groups).toEqual([{ id: groupB, displayName: "Beta secret project" }]);
  });
});
