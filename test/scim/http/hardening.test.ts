/**
 * What one tenant's token can do to the service and to other tenants: bounded cost per request,
 * bounded data, writes re-authorized at commit, memberships that cannot dangle, honest ETags and
 * logs (SECURITY.md, "Limits" and "Guarantees under attack"). Interleavings are forced with
 * deferred promises, never left to timing.
 */
import { env } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client";
import { apiTokens, auditEvents, groupMembers, tenantSizes, tenantUsers, users } from "../../../src/db/schema";
import { updateGroup } from "../../../src/iam/groups";
import { authorityHolds, lostAuthority } from "../../../src/iam/credentials";
import { createUser, revokeUserAccess, updateUser } from "../../../src/iam/users";
import { authorizedAtCommit, refusedAtCommit, TransientWriteError, type Authority } from "../../../src/iam/writes";
import { describeError } from "../../../src/observability";
import { LIMITS } from "../../../src/scim/model/limits";
import { ROW_BUDGET } from "../../../src/scim/model/cost";
import { userDoc, userFields } from "../../../src/scim/model/resources";
import { admin, call, newIntegration, newTenant, scim, type TestIntegration } from "../../support/helpers";
import { pausingDb } from "../../support/pausing-db";

const db = createDb(env.DB);
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const q = encodeURIComponent;
// The benchmark's largest tenant: 100,000 users (405 of 60 KB), 100,000 memberships.
const BIG = { views: 100_000, viewUnits: 126_490, maxViewUnits: 59, elements: 100_000, emails: 100_000, groups: 250, memberships: 100_000 };
/** `n` users of `tenantId` written straight to the store, in provisioning order, members of `groupId` if given. */
async function seedViews(tenantId: string, n: number, prefix: string, groupId?: string): Promise<string[]> {
  const now = Date.now();
  const ids = Array.from({ length: n }, (_, k) => `${prefix}-${k}-${now}`);
  // Five rows a statement: D1 binds at most 100 parameters.
  for (let k = 0; k < n; k += 5) {
    const part = ids.slice(k, k + 5);
    const names = part.map((id) => `${id}@example.com`);
    await db.batch([
      db.insert(users).values(part.map((id, j) => ({ id, userName: names[j]!, userNameKey: names[j]!, createdAt: now, updatedAt: now }))),
      db.insert(tenantUsers).values(part.map((userId, j) => ({ tenantId, userId, userName: names[j]!, userNameKey: names[j]!, createdAt: now + k + j, updatedAt: now }))),
      ...(groupId ? [db.insert(groupMembers).values(part.map((userId) => ({ tenantId, groupId, userId, createdAt: now })))] : []),
    ]);
  }
  return ids;
}

const ctx = (tenantId: string) => ({ tenantId, actor: { type: "ADMIN" as const } });

async function user(i: TestIntegration, userName: string, extra: Record<string, unknown> = {}) {
  const res = await scim(i, "POST", "/Users", { schemas: [USER], userName, ...extra });
  expect(res.status, res.text).toBe(201);
  return res.json as { id: string; meta: { version: string } } & Record<string, any>;
}

describe("bounded cost per request", () => {
  it("refuses a filter whose walk is past the budget for this tenant's size, saying why, before it reaches the database", async () => {
    const i = await newIntegration();
    const terms = Array.from({ length: 40 }, (_, n) => `members[display co "x${n}"]`).join(" and ");
    const filter = `members.display pr and ${terms}`;
    // An empty tenant walks nothing: the same filter is cheap there.
    const cheap = await scim(i, "GET", `/Groups?filter=${q(filter)}`);
    expect(cheap.status, cheap.text).toBe(200);
    // The same tenant, sized as the benchmark's largest (the guard reads tenant_sizes, not the rows).
    await db.update(tenantSizes).set(BIG).where(eq(tenantSizes.tenantId, i.tenant));
    const res = await scim(i, "GET", `/Groups?filter=${q(filter)}`);
    expect(res.status).toBe(400);
    expect(res.json.scimType).toBe("tooMany");
    expect(res.json.detail).toMatch(new RegExp(`would read about [\\d,]+ rows of this tenant, and one request may read at most ${ROW_BUDGET.toLocaleString("en-US")}`));
    expect(res.json.detail).toContain("indexed 'eq'");
    // So does the same filter through .search, and a scan of every view's profile.
    expect((await scim(i, "POST", "/Groups/.search", { filter })).status).toBe(400);
    expect((await scim(i, "GET", `/Users?filter=${q('title eq "x"')}`)).status).toBe(400);
    // Lookups stay cheap at any size: an indexed eq on a unique value reads one row.
    const lookup = await scim(i, "GET", `/Users?filter=${q('userName eq "nobody@example.com"')}`);
    expect(lookup.status, lookup.text).toBe(200);
    expect((await scim(i, "GET", `/Groups?filter=${q('displayName eq "nobody"')}&excludedAttributes=members`)).status).toBe(200);
  });

  it("prices groups.* filters on /Users by the tenant's memberships, and lets a group's own members be looked up", async () => {
    const i = await newIntegration();
    // Few users, many memberships: only the membership walk can be over budget.
    await db.update(tenantSizes).set({ views: 10, viewUnits: 10, groups: 10, memberships: 100_000 }).where(eq(tenantSizes.tenantId, i.tenant));
    for (const filter of ['groups[display eq "Engineering"]', 'groups.display co "x"', 'groups[type eq "direct"]']) {
      const res = await scim(i, "GET", `/Users?filter=${q(filter)}&excludedAttributes=groups`);
      expect(res.status, filter).toBe(400);
      expect(res.json.scimType).toBe("tooMany");
    }
    // By value, the membership index is probed instead (at most LOOKUP_CAP rows), whatever the size.
    const byValue = await scim(i, "GET", `/Users?filter=${q('groups.value eq "00000000-0000-0000-0000-000000000000"')}&excludedAttributes=groups`);
    expect(byValue.status, byValue.text).toBe(200);
  });

  it("refuses filtered member removals by their terms before compiling them, and by the group's size before walking it", async () => {
    const i = await newIntegration();
    const group = (await scim(i, "POST", "/Groups", { displayName: "Crowd" })).json;
    // 300 members, written straight to the store (the writer's path is not what is tested here).
    await seedViews(i.tenant, 300, "crowd", group.id);
    const removal = (filters: number, terms: number) => ({
      schemas: [PATCH],
      Operations: Array.from({ length: filters }, (_, f) => ({
        op: "remove",
        path: `members[${Array.from({ length: terms }, (_, t) => `display co "nobody-${f}-${t}"`).join(" or ")}]`,
      })),
    });
    // 120 filters of 90 terms (the red-team PATCH): refused on their terms alone.
    const many = await scim(i, "PATCH", `/Groups/${group.id}`, removal(120, 90));
    expect(many.status).toBe(400);
    expect(many.json.scimType).toBe("tooMany");
    expect(many.json.detail).toContain("compare 10800 values in all");
    // 100 terms over 300 members, twice (found, then deleted): past the budget.
    const big = await scim(i, "PATCH", `/Groups/${group.id}`, removal(2, 50));
    expect(big.status).toBe(400);
    expect(big.json.detail).toMatch(/would read about [\d,]+ rows of this group of 300 members/);
    // A few terms fit, and remove nothing that does not match.
    expect((await scim(i, "PATCH", `/Groups/${group.id}`, removal(1, 5))).status).toBe(204);
    const count = await db.select({ n: sql<number>`count(*)` }).from(groupMembers).where(eq(groupMembers.groupId, group.id));
    expect(count[0]?.n).toBe(300);
  });

  it("returns fewer users in a page of large views, and totalResults still counts them all (RFC 7644 §3.4.2.4)", async () => {
    const i = await newIntegration();
    await seedViews(i.tenant, 50, "page");
    // As if one view had ever held 50 KiB (51 units): 2,000 units make a page of 39.
    await db.update(tenantSizes).set({ maxViewUnits: 51 }).where(eq(tenantSizes.tenantId, i.tenant));
    const first = await scim(i, "GET", "/Users?count=100&excludedAttributes=groups");
    expect(first.status, first.text).toBe(200);
    expect(first.json).toMatchObject({ totalResults: 50, startIndex: 1, itemsPerPage: 39 });
    const second = await scim(i, "GET", "/Users?count=100&startIndex=40&excludedAttributes=groups");
    expect(second.json).toMatchObject({ totalResults: 50, startIndex: 40, itemsPerPage: 11 });
    const seen = new Set([...first.json.Resources, ...second.json.Resources].map((u: { id: string }) => u.id));
    expect(seen.size).toBe(50);
    // A root search does not start the groups while users remain.
    const searched = await scim(i, "POST", "/.search", { count: 100, excludedAttributes: ["groups", "members"] });
    expect(searched.json).toMatchObject({ totalResults: 50, itemsPerPage: 39 });
  });

  it("sends a guard of eight probed lookups for both types of a root search without passing D1's 100 bound values", async () => {
    const i = await newIntegration();
    const eight = Array.from({ length: 8 }, (_, n) => `externalId eq "e${n}"`).join(" and ");
    const res = await scim(i, "POST", "/.search", { filter: eight });
    expect(res.status, res.text).toBe(200);
    const nine = await scim(i, "GET", `/Users?filter=${q(`${eight} and externalId eq "e9"`)}`);
    expect(nine.status).toBe(400);
    expect(nine.json.scimType).toBe("tooMany");
  });

  it("answers a filter at the documented limits (89 comparisons, balanced in SQL) with 200, never a 500", async () => {
    const i = await newIntegration();
    await user(i, "limit-0@example.com");
    const indexed = Array.from({ length: 89 }, (_, n) => `userName eq "limit-${n}@example.com"`).join(" or ");
    const res = await scim(i, "GET", `/Users?filter=${q(indexed)}`);
    expect(res.status, res.text).toBe(200);
    expect(res.json.totalResults).toBe(1);
    const nested = Array.from({ length: 30 }, (_, n) => `(externalId eq "e${n}" and userName eq "u${n}")`).join(" or ");
    expect((await scim(i, "GET", `/Users?filter=${q(nested)}`)).status).toBe(200);
    const mixed = Array.from({ length: 40 }, (_, n) => `title eq "t${n}"`).join(" and ");
    expect((await scim(i, "GET", `/Users?filter=${q(mixed)}`)).status).toBe(200);
  });
});

describe("bounded data", () => {
  it("caps the values of a multi-valued attribute, on create and through repeated PATCH adds", async () => {
    const i = await newIntegration();
    const phones = (n: number, from = 0) => Array.from({ length: n }, (_, k) => ({ value: `+1 555 ${String(from + k).padStart(5, "0")}` }));
    const tooMany = await scim(i, "POST", "/Users", { schemas: [USER], userName: "phones@example.com", phoneNumbers: phones(LIMITS.maxValuesPerAttribute + 1) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.json).toMatchObject({ scimType: "invalidValue" });
    expect(tooMany.json.detail).toBe(`'phoneNumbers' would hold ${LIMITS.maxValuesPerAttribute + 1} values; an attribute holds at most ${LIMITS.maxValuesPerAttribute}.`);
    const u = await user(i, "phones@example.com", { phoneNumbers: phones(LIMITS.maxValuesPerAttribute - 1) });
    const add = (from: number) => scim(i, "PATCH", `/Users/${u.id}`, { schemas: [PATCH], Operations: [{ op: "add", path: "phoneNumbers", value: phones(1, from) }] });
    expect((await add(1000)).status).toBe(200);
    const past = await add(1001);
    expect(past.status).toBe(400);
    expect(past.json.detail).toContain("'phoneNumbers' would hold");
    expect((await scim(i, "GET", `/Users/${u.id}`)).json.phoneNumbers).toHaveLength(LIMITS.maxValuesPerAttribute);
  });

  it("caps a user's stored size (413 naming the cap), so PATCHes cannot grow it past what a body may carry", async () => {
    const i = await newIntegration();
    const big = "x".repeat(LIMITS.maxResourceBytes);
    const res = await scim(i, "POST", "/Users", { schemas: [USER], userName: "big@example.com", title: big });
    expect(res.status).toBe(413);
    expect(res.json.detail).toMatch(new RegExp(`a resource holds at most ${LIMITS.maxResourceBytes}`));
    const u = await user(i, "grow@example.com");
    const chunk = "y".repeat(LIMITS.maxResourceBytes / 4);
    for (const name of ["title", "nickName", "displayName"]) {
      expect((await scim(i, "PATCH", `/Users/${u.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: name, value: chunk }] })).status).toBe(200);
    }
    const grown = await scim(i, "PATCH", `/Users/${u.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "userType", value: chunk }] });
    expect(grown.status).toBe(413);
    expect((await scim(i, "GET", `/Users/${u.id}`)).json.userType).toBeUndefined();
  });

  it("keeps each audit event small: a large multi-valued change is summarised, never stored whole", async () => {
    const i = await newIntegration();
    const emails = Array.from({ length: 90 }, (_, k) => ({ value: `mail-${k}@example.com`, type: "other" }));
    const u = await user(i, "audited@example.com", { emails });
    for (let k = 0; k < 5; k++) {
      await scim(i, "PATCH", `/Users/${u.id}`, { schemas: [PATCH], Operations: [{ op: "add", path: "emails", value: [{ value: `new-${k}@example.com` }] }] });
    }
    const events = await db.select().from(auditEvents).where(and(eq(auditEvents.tenantId, i.tenant), eq(auditEvents.resourceId, u.id)));
    expect(events).toHaveLength(6);
    for (const event of events) expect(JSON.stringify(event.diff).length).toBeLessThan(2048);
    const last = events.at(-1)!.diff!.emails as { before: { count: number }; after: { count: number; added: { count: number; first: { value: string }[] } } };
    expect(last.before.count).toBe(94);
    expect(last.after).toMatchObject({ count: 95, added: { count: 1, first: [{ value: "new-4@example.com" }] } });
  });

  it("returns at most the member budget in one response: a list stops early, a larger group comes without members", async () => {
    const i = await newIntegration();
    const small = (await scim(i, "POST", "/Groups", { displayName: "A small" })).json;
    const large = (await scim(i, "POST", "/Groups", { displayName: "B large" })).json;
    // Seed LIMITS.maxMembersPerResponse + 1 views and memberships straight into D1.
    const n = LIMITS.maxMembersPerResponse + 1;
    await env.DB.batch([
      env.DB.prepare(`WITH RECURSIVE k(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM k WHERE x < ?)
        INSERT INTO users (id, user_name, user_name_key, version, created_at, updated_at) SELECT 'seed-' || ?2 || '-' || x, 'seed' || x || '@' || ?2, 'seed' || x || '@' || ?2, 1, 0, 0 FROM k`).bind(n, i.tenant),
      env.DB.prepare(`INSERT INTO tenant_users (tenant_id, user_id, user_name, user_name_key, profile, active, version, created_at, updated_at)
        SELECT ?1, id, user_name, user_name_key, '{}', 1, 1, 0, 0 FROM users WHERE id LIKE 'seed-' || ?1 || '-%'`).bind(i.tenant),
      env.DB.prepare(`INSERT INTO group_members (group_id, user_id, tenant_id, created_at) SELECT ?1, user_id, ?2, 0 FROM tenant_users WHERE tenant_id = ?2`).bind(large.id, i.tenant),
      env.DB.prepare(`INSERT INTO group_members (group_id, user_id, tenant_id, created_at) SELECT ?1, user_id, ?2, 0 FROM tenant_users
        WHERE tenant_id = ?2 AND user_id IN ('seed-' || ?2 || '-1', 'seed-' || ?2 || '-2', 'seed-' || ?2 || '-3')`).bind(small.id, i.tenant),
    ]);
    const one = await scim(i, "GET", `/Groups/${large.id}`);
    expect(one.status).toBe(200);
    expect(one.json.members).toBeUndefined();
    expect((await scim(i, "GET", `/Groups?filter=${q(`members[value eq "seed-${i.tenant}-2"]`)}&excludedAttributes=members`)).json.totalResults).toBe(2);
    const list = await scim(i, "GET", "/Groups?sortBy=displayName");
    expect(list.json.totalResults).toBe(2);
    expect(list.json.Resources.map((g: { displayName: string; members?: unknown[] }) => [g.displayName, g.members?.length])).toEqual([
      ["A small", 3],
      ["B large", undefined],
    ]);
  });
});

describe("writes re-authorized at commit", () => {
  /** A write as the SCIM route hands it to the integration's writer, with the authority it was let in with. */
  async function queuedWrite<Extra extends object>(i: TestIntegration, permissions: string[], extra: Extra) {
    const token = await db.select({ id: apiTokens.id }).from(apiTokens).where(eq(apiTokens.serviceAccountId, i.serviceAccountId)).get();
    const authority: Authority = { tokenId: token!.id, integrationId: i.id, serviceAccountId: i.serviceAccountId, permissions };
    return { tenantId: i.tenant, integrationId: i.id, actor: { type: "SERVICE_ACCOUNT" as const, id: i.serviceAccountId }, authority, ...extra };
  }
  const writer = (i: TestIntegration) => env.INTEGRATION_WRITER.get(env.INTEGRATION_WRITER.idFromName(i.id));

  it("a write let in before the token's rotation commits nothing after it (401)", async () => {
    const i = await newIntegration();
    const write = await queuedWrite(i, ["USERS:CREATE"], { body: { userName: "late@example.com" } });
    expect((await call("POST", `/api/v1/${i.tenant}/integrations/${i.id}/token`, { token: (await import("../../support/helpers")).ADMIN_TOKEN })).status).toBe(200);
    const result = await writer(i).createUser(write);
    expect(result).toMatchObject({ kind: "error", status: 401 });
    expect(await db.select().from(tenantUsers).where(eq(tenantUsers.tenantId, i.tenant))).toEqual([]);
  });

  it("a write let in before the integration was disabled commits nothing (403)", async () => {
    const i = await newIntegration();
    const write = await queuedWrite(i, ["USERS:CREATE"], { body: { userName: "late@example.com" } });
    expect((await admin("PATCH", `/${i.tenant}/integrations/${i.id}`, { enabled: false })).status).toBe(200);
    expect(await writer(i).createUser(write)).toMatchObject({ kind: "error", status: 403 });
    expect(await db.select().from(tenantUsers).where(eq(tenantUsers.tenantId, i.tenant))).toEqual([]);
  });

  it("a group DELETE let in before GROUPS:DELETE was taken away deletes nothing (403 naming it)", async () => {
    const i = await newIntegration();
    const group = (await scim(i, "POST", "/Groups", { displayName: "Kept" })).json;
    const write = await queuedWrite(i, ["GROUPS:DELETE", "BINDINGS:DELETE"], { id: group.id });
    const edited = await admin("PATCH", `/${i.tenant}/roles/${i.roleId}`, {
      permissions: { GROUPS: ["CREATE", "READ", "UPDATE"], USERS: ["CREATE", "READ", "UPDATE"], BINDINGS: ["CREATE", "READ", "UPDATE", "DELETE"] },
    });
    expect(edited.status).toBe(200);
    const result = await writer(i).deleteGroup(write);
    expect(result).toMatchObject({ kind: "error", status: 403 });
    expect((result as { detail: string }).detail).toContain("GROUPS:DELETE");
    expect((await scim(i, "GET", `/Groups/${group.id}`)).status).toBe(200);
  });

  it("the check runs inside the committing batch: a revocation between a write's plan and its batch stops it", async () => {
    const i = await newIntegration();
    const { authority } = await queuedWrite(i, ["USERS:CREATE"], {});
    const paused = pausingDb(db);
    const guarded = authorizedAtCommit(paused.db, authorityHolds(i.tenant, authority));
    const pending = createUser(guarded, ctx(i.tenant), userFields({ userName: "mid@example.com" }, null)).catch((e: unknown) => e);
    await paused.reached; // planned, authorized, about to commit
    await db.delete(apiTokens).where(eq(apiTokens.id, authority.tokenId));
    paused.release();
    const error = await pending;
    expect(refusedAtCommit(error)).toBe(true);
    expect(await lostAuthority(db, i.tenant, authority)).toMatchObject({ status: 401 });
    expect(await db.select().from(tenantUsers).where(eq(tenantUsers.tenantId, i.tenant))).toEqual([]);
  });
});

describe("memberships cannot dangle", () => {
  it("a member add planned before the user's access was revoked fails cleanly: no membership without access", async () => {
    const tenant = await newTenant();
    const u = await createUser(db, ctx(tenant), userFields({ userName: "leaving@example.com" }, null));
    if (u.kind !== "ok") throw new Error(u.detail);
    const g = await (await import("../../../src/iam/groups")).createGroup(db, ctx(tenant), { displayName: "Stay", externalId: null, memberIds: [] });
    if (g.kind !== "ok") throw new Error(g.detail);
    const paused = pausingDb(db);
    const adding = updateGroup(paused.db, ctx(tenant), { id: g.group.id, compute: (c) => c, members: [{ kind: "add", userIds: [u.user.id] }] });
    await paused.reached; // the add checked the member and waits at its batch
    expect((await revokeUserAccess(db, ctx(tenant), { id: u.user.id })).kind).toBe("deleted");
    paused.release(); // the foreign key refuses the insert; planned again, the member is unknown
    expect(await adding).toMatchObject({ kind: "error", status: 400, scimType: "invalidValue" });
    expect(await db.select().from(groupMembers).where(eq(groupMembers.groupId, g.group.id))).toEqual([]);
  });

  it("revoking access removes the user's memberships even if a write missed them (the foreign key cascades)", async () => {
    const i = await newIntegration();
    const u = await user(i, "cascade@example.com");
    const group = (await scim(i, "POST", "/Groups", { displayName: "Cascade", members: [{ value: u.id }] })).json;
    await db.delete(tenantUsers).where(and(eq(tenantUsers.tenantId, i.tenant), eq(tenantUsers.userId, u.id)));
    expect(await db.select().from(groupMembers).where(eq(groupMembers.groupId, group.id))).toEqual([]);
  });

  it("a deleted manager stops resolving: reports keep the value and lose the $ref", async () => {
    const i = await newIntegration();
    const boss = await user(i, "boss@example.com");
    const report = await user(i, "report@example.com", { schemas: [USER, ENTERPRISE], [ENTERPRISE]: { manager: { value: boss.id } } });
    expect(report[ENTERPRISE].manager.$ref).toMatch(new RegExp(`/Users/${boss.id}$`));
    expect((await scim(i, "DELETE", `/Users/${boss.id}`)).status).toBe(204);
    const after = await scim(i, "GET", `/Users/${report.id}`);
    expect(after.json[ENTERPRISE].manager).toEqual({ value: boss.id });
  });
});

describe("honest versions", () => {
  it("a user's ETag moves when its groups change (add, rename, remove), so If-None-Match never serves stale groups", async () => {
    const i = await newIntegration();
    const u = await user(i, "etag@example.com");
    const seen: string[] = [u.meta.version];
    const etag = async () => (await scim(i, "GET", `/Users/${u.id}`)).headers.get("ETag")!;
    const group = (await scim(i, "POST", "/Groups", { displayName: "First", members: [{ value: u.id }] })).json;
    seen.push(await etag());
    const stale = await scim(i, "GET", `/Users/${u.id}`, undefined, { "If-None-Match": seen[0]! });
    expect(stale.status).toBe(200);
    expect(stale.json.groups).toEqual([expect.objectContaining({ value: group.id, display: "First" })]);
    await scim(i, "PATCH", `/Groups/${group.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "displayName", value: "Renamed" }] });
    seen.push(await etag());
    await scim(i, "PATCH", `/Groups/${group.id}`, { schemas: [PATCH], Operations: [{ op: "remove", path: `members[value eq "${u.id}"]` }] });
    seen.push(await etag());
    expect(new Set(seen).size).toBe(4);
    // A user write with the ETag read before the membership change is refused.
    const guarded = await scim(i, "PATCH", `/Users/${u.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "title", value: "x" }] }, { "If-Match": seen[2]! });
    expect(guarded.status).toBe(412);
  });

  it("two membership PATCHes with the same If-Match from two integrations: exactly one commits, the other is 412", async () => {
    const tenant = await newTenant();
    const a = await createUser(db, ctx(tenant), userFields({ userName: "m-a@example.com" }, null));
    const b = await createUser(db, ctx(tenant), userFields({ userName: "m-b@example.com" }, null));
    if (a.kind !== "ok" || b.kind !== "ok") throw new Error("setup");
    const g = await (await import("../../../src/iam/groups")).createGroup(db, ctx(tenant), { displayName: "Guarded", externalId: null, memberIds: [] });
    if (g.kind !== "ok") throw new Error(g.detail);
    const ifMatch = `W/"${g.group.version}"`;
    const paused = pausingDb(db);
    const first = updateGroup(paused.db, ctx(tenant), { id: g.group.id, ifMatch, compute: (c) => c, members: [{ kind: "add", userIds: [a.user.id] }] });
    await paused.reached;
    const second = await updateGroup(db, ctx(tenant), { id: g.group.id, ifMatch, compute: (c) => c, members: [{ kind: "add", userIds: [b.user.id] }] });
    expect(second.kind).toBe("ok");
    paused.release();
    expect(await first).toMatchObject({ kind: "error", status: 412 });
    const members = await db.select({ id: groupMembers.userId }).from(groupMembers).where(eq(groupMembers.groupId, g.group.id));
    expect(members.map((m) => m.id)).toEqual([b.user.id]);
  });

  it("a view write that lost to a membership change plans again on the new version", async () => {
    const tenant = await newTenant();
    const u = await createUser(db, ctx(tenant), userFields({ userName: "bumped@example.com" }, null));
    if (u.kind !== "ok") throw new Error(u.detail);
    const g = await (await import("../../../src/iam/groups")).createGroup(db, ctx(tenant), { displayName: "Bump", externalId: null, memberIds: [] });
    if (g.kind !== "ok") throw new Error(g.detail);
    const paused = pausingDb(db);
    const writing = updateUser(paused.db, ctx(tenant), { id: u.user.id, compute: (c) => userFields({ ...userDoc(c), title: "kept" }, c.externalId) });
    await paused.reached;
    await updateGroup(db, ctx(tenant), { id: g.group.id, compute: (c) => c, members: [{ kind: "add", userIds: [u.user.id] }] });
    paused.release();
    const result = await writing;
    expect(result.kind === "ok" && result.user.version).toBe(3); // create, membership, re-planned write
    const row = await db.select({ version: tenantUsers.version, profile: tenantUsers.profile }).from(tenantUsers).where(eq(tenantUsers.userId, u.user.id)).get();
    expect(row).toEqual({ version: 3, profile: { title: "kept" } });
  });
});

describe("honest errors and logs", () => {
  it("generates the request id itself; a client's X-Request-Id is never stored as one", async () => {
    const i = await newIntegration();
    const res = await call("POST", `${i.scimPath}/Users`, { token: i.token, body: { userName: "rid@example.com" }, headers: { "X-Request-Id": "client-chosen-id" } });
    expect(res.status).toBe(201);
    const id = res.headers.get("X-Request-Id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const event = await db.select().from(auditEvents).where(and(eq(auditEvents.tenantId, i.tenant), eq(auditEvents.resourceId, res.json.id))).get();
    expect(event?.requestId).toBe(id);
  });

  it("logs a failed query without its parameters", async () => {
    let thrown: unknown;
    try {
      await db.run(sql`select * from no_such_table where secret = ${"ada@example.com"}`);
    } catch (error) {
      thrown = error;
    }
    const logged = JSON.stringify(describeError(thrown));
    expect(logged).toContain("no_such_table");
    expect(logged).not.toContain("ada@example.com");
  });
});

describe("review findings", () => {
  it("creates and replaces groups with more members than one attribute's value cap (members are rows)", async () => {
    const i = await newIntegration();
    const ids: string[] = [];
    for (let k = 0; k < 150; k += 50) {
      const made = await Promise.all(Array.from({ length: 50 }, (_, j) => user(i, `member-${k + j}@example.com`)));
      ids.push(...made.map((u) => u.id));
    }
    const created = await scim(i, "POST", "/Groups", { displayName: "Large", members: ids.map((value) => ({ value })) });
    expect(created.status, created.text).toBe(201);
    const replaced = await scim(i, "PUT", `/Groups/${created.json.id}`, { displayName: "Large", members: ids.slice(10).map((value) => ({ value })) });
    expect(replaced.status).toBe(200);
    expect(replaced.json.members).toHaveLength(140);
  });

  it("answers a malformed or too deeply nested body with 400, and a bad Bulk operation on its own", async () => {
    const i = await newIntegration();
    const deep = `{"userName":"deep@example.com","title":${"[".repeat(40)}${"]".repeat(40)}}`;
    const res = await scim(i, "POST", "/Users", deep, { "Content-Type": "application/scim+json" });
    expect(res.status).toBe(400);
    expect(res.json.detail).toMatch(/nests deeper than/);
    const bulk = await scim(i, "POST", "/Bulk", {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
      Operations: [
        { method: "POST", path: "/Users", bulkId: "ok", data: { userName: "bulk-ok@example.com" } },
        { method: "DELETE", path: "/Users/%E0%A4%A" },
        { method: "POST", path: "/Users", bulkId: "ok", data: { userName: "bulk-dup-id@example.com" } },
      ],
    });
    expect(bulk.status).toBe(200);
    expect(bulk.json.Operations.map((o: { status: string }) => o.status)).toEqual(["201", "400", "400"]);
  });

  it("costs a root /.search's filter for both types together", async () => {
    const i = await newIntegration();
    // Sized so that the filter fits each type's walk alone, not both.
    await db.update(tenantSizes).set({ views: 10_000, viewUnits: 10_000, groups: 6_000 }).where(eq(tenantSizes.tenantId, i.tenant));
    const filter = 'title eq "x"';
    expect((await scim(i, "GET", `/Users?filter=${q(filter)}`)).status).toBe(200);
    expect((await scim(i, "GET", `/Groups?filter=${q('externalId co "x"')}&excludedAttributes=members`)).status).toBe(200);
    const both = await scim(i, "POST", "/.search", { filter: `${filter} or externalId co "x"`, excludedAttributes: ["members", "groups"] });
    expect(both.status, both.text).toBe(400);
    expect(both.json.scimType).toBe("tooMany");
  });

  it("moves ETags when a manager's $ref appears or goes, and when a member's name changes", async () => {
    const i = await newIntegration();
    const boss = await user(i, "etag-boss@example.com");
    const report = await user(i, "etag-report@example.com", { schemas: [USER, ENTERPRISE], [ENTERPRISE]: { manager: { value: boss.id } } });
    await scim(i, "DELETE", `/Users/${boss.id}`);
    const afterRevoke = await scim(i, "GET", `/Users/${report.id}`, undefined, { "If-None-Match": report.meta.version });
    expect(afterRevoke.status).toBe(200);
    expect(afterRevoke.json[ENTERPRISE].manager.$ref).toBeUndefined();
    await scim(i, "POST", "/Users", { schemas: [USER], userName: "etag-boss@example.com" });
    const afterReturn = await scim(i, "GET", `/Users/${report.id}`, undefined, { "If-None-Match": afterRevoke.json.meta.version });
    expect(afterReturn.status).toBe(200);
    expect(afterReturn.json[ENTERPRISE].manager.$ref).toBeDefined();
    const group = (await scim(i, "POST", "/Groups", { displayName: "Named", members: [{ value: report.id }] })).json;
    await scim(i, "PATCH", `/Users/${report.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "displayName", value: "Renamed" }] });
    const reread = await scim(i, "GET", `/Groups/${group.id}`, undefined, { "If-None-Match": group.meta.version });
    expect(reread.status).toBe(200);
    expect(reread.json.members[0].display).toBe("Renamed");
  });

  it("does not put a failed query's parameters in a transient failure's message", () => {
    const original = Object.assign(new Error("Failed query: select 1\nparams: ada@example.com"), { query: "select 1", params: ["ada@example.com"] });
    const wrapped = new TransientWriteError(original);
    expect(wrapped.message).not.toContain("ada@example.com");
    expect(JSON.stringify(describeError(wrapped))).not.toContain("ada@example.com");
  });
});
