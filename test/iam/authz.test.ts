/**
 * The authorization decisions (src/iam/authz.ts), at service level against the test D1: the
 * world is seeded like an admin and an IdP would (admin API roles and bindings, SCIM users and
 * groups), then `checkAccess` and `effectivePermissions` are asked directly.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { emptyStats, metered } from "../../src/db/metered";
import {
  checkAccess,
  effectivePermissions,
  isValidNamespace,
  namespaceCovers,
  type AccessCheck,
  type AuthzSubject,
  type CheckResult,
} from "../../src/iam/authz";
import type { Permissions } from "../../src/iam/permissions";
import { admin, newIntegration, scim, type TestIntegration } from "../support/helpers";

const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const db = createDb(env.DB);

async function newRole(tenant: string, name: string, permissions: Permissions): Promise<string> {
  const res = await admin("POST", `/${tenant}/roles`, { name, permissions });
  if (res.status !== 201) throw new Error(`role create failed: ${res.status} ${res.text}`);
  return res.json.id;
}

async function bind(tenant: string, roleId: string, subjectType: string, subjectId: string, namespace?: string): Promise<string> {
  const res = await admin("POST", `/${tenant}/bindings`, { roleId, subjectType, subjectId, ...(namespace ? { namespace } : {}) });
  if (res.status !== 201) throw new Error(`binding create failed: ${res.status} ${res.text}`);
  return res.json.id;
}

async function newUser(i: TestIntegration, userName: string): Promise<string> {
  const res = await scim(i, "POST", "/Users", { userName });
  if (res.status !== 201) throw new Error(`user create failed: ${res.status} ${res.text}`);
  return res.json.id;
}

async function newGroup(i: TestIntegration, displayName: string, memberIds: string[]): Promise<string> {
  const res = await scim(i, "POST", "/Groups", { displayName, members: memberIds.map((value) => ({ value })) });
  if (res.status !== 201) throw new Error(`group create failed: ${res.status} ${res.text}`);
  return res.json.id;
}

/** The decided results, failing the test on not_found. */
async function decide(tenant: string, subject: AuthzSubject, checks: AccessCheck[]): Promise<CheckResult[]> {
  const result = await checkAccess(db, tenant, subject, checks);
  if (result.kind !== "decided") throw new Error(`expected a decision, got ${result.kind}`);
  return result.results;
}

const allowed = (results: CheckResult[]) => results.map((r) => r.allowed);

describe("checkAccess", () => {
  it("grants through a binding on the user itself, with the grant spelled out", async () => {
    const i = await newIntegration();
    const alice = await newUser(i, "alice@example.com");
    const roleId = await newRole(i.tenant, "FlowReader", { FLOWS: ["READ"] });
    const bindingId = await bind(i.tenant, roleId, "USER", alice);

    const result = await checkAccess(db, i.tenant, { type: "USER", id: alice }, [
      { resource: "FLOWS", action: "READ" },
      { resource: "FLOWS", action: "UPDATE" },
    ]);
    expect(result).toEqual({
      kind: "decided",
      subject: { type: "USER", id: alice },
      results: [
        {
          resource: "FLOWS",
          action: "READ",
          namespace: null,
          allowed: true,
          grants: [{ bindingId, roleId, roleName: "FlowReader", namespace: null, via: { type: "USER", id: alice, displayName: "alice@example.com" } }],
        },
        { resource: "FLOWS", action: "UPDATE", namespace: null, allowed: false, grants: [] },
      ],
    });
  });

  it("grants through the groups the user is a member of in the tenant", async () => {
    const i = await newIntegration();
    const bob = await newUser(i, "bob@example.com");
    const outsider = await newUser(i, "outsider@example.com");
    const groupId = await newGroup(i, "Flow Editors", [bob]);
    const roleId = await newRole(i.tenant, "FlowEditor", { FLOWS: ["READ", "UPDATE"] });
    const bindingId = await bind(i.tenant, roleId, "GROUP", groupId, "company");

    const [update] = await decide(i.tenant, { type: "USER", id: bob }, [{ resource: "FLOWS", action: "UPDATE", namespace: "company.team" }]);
    expect(update).toEqual({
      resource: "FLOWS",
      action: "UPDATE",
      namespace: "company.team",
      allowed: true,
      grants: [{ bindingId, roleId, roleName: "FlowEditor", namespace: "company", via: { type: "GROUP", id: groupId, displayName: "Flow Editors" } }],
    });
    expect(allowed(await decide(i.tenant, { type: "USER", id: outsider }, [{ resource: "FLOWS", action: "UPDATE", namespace: "company.team" }]))).toEqual([false]);
  });

  it("matches namespaces by dot-separated segments; a check without one needs a tenant-wide binding", async () => {
    const i = await newIntegration();
    const alice = await newUser(i, "ns@example.com");
    await bind(i.tenant, await newRole(i.tenant, "ExecReader", { EXECUTIONS: ["READ"] }), "USER", alice, "a.b");
    await bind(i.tenant, await newRole(i.tenant, "KvEverywhere", { KVSTORE: ["READ"] }), "USER", alice);
    const subject = { type: "USER", id: alice } as const;

    const exec = (namespace?: string): AccessCheck => ({ resource: "EXECUTIONS", action: "READ", ...(namespace === undefined ? {} : { namespace }) });
    expect(allowed(await decide(i.tenant, subject, [exec("a.b"), exec("a.b.c"), exec("a.b.c.d"), exec("a.bc"), exec("a"), exec("x.a.b"), exec("b"), exec()]))).toEqual([
      true, true, true, false, false, false, false, false,
    ]);

    const kv = (namespace?: string): AccessCheck => ({ resource: "KVSTORE", action: "READ", ...(namespace === undefined ? {} : { namespace }) });
    const results = await decide(i.tenant, subject, [kv("a.b"), kv("zzz"), kv("a.bc.d"), kv()]);
    expect(allowed(results)).toEqual([true, true, true, true]);
    expect(results.map((r) => r.namespace)).toEqual(["a.b", "zzz", "a.bc.d", null]);
  });

  it("finds a user by this tenant's userName, case-insensitively; other names are not found", async () => {
    const i = await newIntegration();
    const other = await newIntegration();
    const alice = await newUser(i, "Alice.Smith@Example.com");
    await newUser(other, "only-elsewhere@example.com");
    await bind(i.tenant, await newRole(i.tenant, "Reader", { FLOWS: ["READ"] }), "USER", alice);

    const result = await checkAccess(db, i.tenant, { type: "USER", userName: "ALICE.SMITH@example.COM" }, [{ resource: "FLOWS", action: "READ" }]);
    expect(result).toMatchObject({ kind: "decided", subject: { type: "USER", id: alice }, results: [{ allowed: true }] });
    expect(await checkAccess(db, i.tenant, { type: "USER", userName: "nobody@example.com" }, [{ resource: "FLOWS", action: "READ" }])).toEqual({ kind: "not_found" });
    // Another tenant's name is not this tenant's to know.
    expect(await checkAccess(db, i.tenant, { type: "USER", userName: "only-elsewhere@example.com" }, [{ resource: "FLOWS", action: "READ" }])).toEqual({
      kind: "not_found",
    });
  });

  it("denies everything to a user deactivated in the tenant, and grants again once reactivated", async () => {
    const i = await newIntegration();
    const alice = await newUser(i, "inactive@example.com");
    await bind(i.tenant, await newRole(i.tenant, "Reader", { FLOWS: ["READ"] }), "USER", alice);
    const checks: AccessCheck[] = [{ resource: "FLOWS", action: "READ" }, { resource: "FLOWS", action: "READ", namespace: "a" }];
    expect(allowed(await decide(i.tenant, { type: "USER", id: alice }, checks))).toEqual([true, true]);

    const patch = (value: boolean) => scim(i, "PATCH", `/Users/${alice}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "active", value }] });
    expect((await patch(false)).status).toBe(200);
    expect(await decide(i.tenant, { type: "USER", id: alice }, checks)).toEqual([
      { resource: "FLOWS", action: "READ", namespace: null, allowed: false, grants: [], reason: "inactive" },
      { resource: "FLOWS", action: "READ", namespace: "a", allowed: false, grants: [], reason: "inactive" },
    ]);
    expect(await decide(i.tenant, { type: "USER", userName: "inactive@example.com" }, checks)).toMatchObject([{ reason: "inactive" }, { reason: "inactive" }]);

    expect((await patch(true)).status).toBe(200);
    expect(allowed(await decide(i.tenant, { type: "USER", id: alice }, checks))).toEqual([true, true]);
  });

  it("denies at once what came through a group the user was removed from", async () => {
    const i = await newIntegration();
    const bob = await newUser(i, "leaver@example.com");
    const stays = await newUser(i, "stays@example.com");
    const groupId = await newGroup(i, "Ops", [bob, stays]);
    await bind(i.tenant, await newRole(i.tenant, "SecretReader", { SECRETS: ["READ"] }), "GROUP", groupId);
    const check: AccessCheck[] = [{ resource: "SECRETS", action: "READ", namespace: "prod" }];
    expect(allowed(await decide(i.tenant, { type: "USER", id: bob }, check))).toEqual([true]);

    const removed = await scim(i, "PATCH", `/Groups/${groupId}`, { schemas: [PATCH], Operations: [{ op: "remove", path: "members", value: [{ value: bob }] }] });
    expect(removed.status, removed.text).toBeLessThan(300);
    expect(await decide(i.tenant, { type: "USER", id: bob }, check)).toEqual([
      { resource: "SECRETS", action: "READ", namespace: "prod", allowed: false, grants: [] },
    ]);
    expect(allowed(await decide(i.tenant, { type: "USER", id: stays }, check))).toEqual([true]);
  });

  it("answers no_tenant_access for a user whose access was revoked (SCIM DELETE)", async () => {
    const i = await newIntegration();
    const alice = await newUser(i, "deleted@example.com");
    const groupId = await newGroup(i, "Team", [alice]);
    await bind(i.tenant, await newRole(i.tenant, "Reader", { FLOWS: ["READ"] }), "GROUP", groupId);
    await bind(i.tenant, await newRole(i.tenant, "Writer", { FLOWS: ["UPDATE"] }), "USER", alice);
    expect((await scim(i, "DELETE", `/Users/${alice}`)).status).toBe(204);

    expect(await checkAccess(db, i.tenant, { type: "USER", id: alice }, [{ resource: "FLOWS", action: "READ" }, { resource: "FLOWS", action: "UPDATE" }])).toEqual({
      kind: "decided",
      subject: { type: "USER", id: alice },
      results: [
        { resource: "FLOWS", action: "READ", namespace: null, allowed: false, grants: [], reason: "no_tenant_access" },
        { resource: "FLOWS", action: "UPDATE", namespace: null, allowed: false, grants: [], reason: "no_tenant_access" },
      ],
    });
    // By name, the tenant no longer knows the user at all.
    expect(await checkAccess(db, i.tenant, { type: "USER", userName: "deleted@example.com" }, [{ resource: "FLOWS", action: "READ" }])).toEqual({ kind: "not_found" });
    expect(await effectivePermissions(db, i.tenant, alice)).toEqual({ kind: "not_found" });
  });

  it("keeps tenants apart: another tenant's bindings and groups never count", async () => {
    const a = await newIntegration();
    const b = await newIntegration();
    // The same person in both tenants (users are global: the userName links them).
    const carol = await newUser(a, "carol@example.com");
    expect(await newUser(b, "carol@example.com")).toBe(carol);
    const onlyInB = await newUser(b, "dave@example.com");
    await bind(a.tenant, await newRole(a.tenant, "Reader", { FLOWS: ["READ"] }), "USER", carol);
    // In tenant B carol and dave may do much more, directly and through a group.
    const allOfFlows = { FLOWS: ["CREATE", "READ", "UPDATE", "DELETE"] } as Permissions;
    await bind(b.tenant, await newRole(b.tenant, "FlowAdmin", allOfFlows), "USER", carol);
    const groupInB = await newGroup(b, "B Admins", [carol, onlyInB]);
    await bind(b.tenant, await newRole(b.tenant, "SecretAdmin", { SECRETS: ["READ", "DELETE"] }), "GROUP", groupInB);

    const checks: AccessCheck[] = [
      { resource: "FLOWS", action: "READ" },
      { resource: "FLOWS", action: "DELETE" },
      { resource: "SECRETS", action: "DELETE", namespace: "x" },
    ];
    const inA = await decide(a.tenant, { type: "USER", id: carol }, checks);
    expect(allowed(inA)).toEqual([true, false, false]);
    expect(inA[0]?.grants.map((g) => g.roleName)).toEqual(["Reader"]);
    expect(allowed(await decide(b.tenant, { type: "USER", id: carol }, checks))).toEqual([true, true, true]);

    // A user of tenant B only: exists, but has no access to tenant A; by name A does not know it.
    expect(await decide(a.tenant, { type: "USER", id: onlyInB }, checks)).toMatchObject(checks.map(() => ({ allowed: false, grants: [], reason: "no_tenant_access" })));
    expect(await checkAccess(db, a.tenant, { type: "USER", userName: "dave@example.com" }, checks)).toEqual({ kind: "not_found" });
    expect(await effectivePermissions(db, a.tenant, onlyInB)).toEqual({ kind: "not_found" });
    // Tenant B's service account is unknown in tenant A.
    expect(await checkAccess(db, a.tenant, { type: "SERVICE_ACCOUNT", id: b.serviceAccountId }, checks)).toEqual({ kind: "not_found" });

    const effective = await effectivePermissions(db, a.tenant, carol);
    expect(effective.kind === "ok" && effective.permissions.map((p) => `${p.resource}:${p.action}`)).toEqual(["FLOWS:READ"]);
  });

  it("decides for a service account through its own bindings", async () => {
    const i = await newIntegration();
    const provisioning = (await admin("GET", `/${i.tenant}/bindings?subjectType=SERVICE_ACCOUNT&subjectId=${i.serviceAccountId}`)).json.results[0].id;
    const kvRole = await newRole(i.tenant, "KvWriter", { KVSTORE: ["UPDATE"] });
    const kvBinding = await bind(i.tenant, kvRole, "SERVICE_ACCOUNT", i.serviceAccountId, "team");
    // A user bound the same way grants the service account nothing.
    const user = await newUser(i, "sa-neighbour@example.com");
    await bind(i.tenant, await newRole(i.tenant, "FlowReader", { FLOWS: ["READ"] }), "USER", user);

    const result = await checkAccess(db, i.tenant, { type: "SERVICE_ACCOUNT", id: i.serviceAccountId }, [
      { resource: "GROUPS", action: "READ" },
      { resource: "KVSTORE", action: "UPDATE", namespace: "team.x" },
      { resource: "KVSTORE", action: "UPDATE", namespace: "other" },
      { resource: "FLOWS", action: "READ" },
    ]);
    const via = { type: "SERVICE_ACCOUNT", id: i.serviceAccountId, displayName: "scim-Entra ID" };
    expect(result).toEqual({
      kind: "decided",
      subject: { type: "SERVICE_ACCOUNT", id: i.serviceAccountId },
      results: [
        { resource: "GROUPS", action: "READ", namespace: null, allowed: true, grants: [{ bindingId: provisioning, roleId: i.roleId, roleName: "SCIMProvisioner", namespace: null, via }] },
        { resource: "KVSTORE", action: "UPDATE", namespace: "team.x", allowed: true, grants: [{ bindingId: kvBinding, roleId: kvRole, roleName: "KvWriter", namespace: "team", via }] },
        { resource: "KVSTORE", action: "UPDATE", namespace: "other", allowed: false, grants: [] },
        { resource: "FLOWS", action: "READ", namespace: null, allowed: false, grants: [] },
      ],
    });
  });

  it("answers not_found for unknown subjects", async () => {
    const i = await newIntegration();
    const user = await newUser(i, "known@example.com");
    const check: AccessCheck[] = [{ resource: "FLOWS", action: "READ" }];
    expect(await checkAccess(db, i.tenant, { type: "USER", id: "01900000-0000-7000-8000-000000000000" }, check)).toEqual({ kind: "not_found" });
    expect(await checkAccess(db, i.tenant, { type: "SERVICE_ACCOUNT", id: "01900000-0000-7000-8000-000000000000" }, check)).toEqual({ kind: "not_found" });
    // Ids do not cross subject kinds.
    expect(await checkAccess(db, i.tenant, { type: "SERVICE_ACCOUNT", id: user }, check)).toEqual({ kind: "not_found" });
    expect(await checkAccess(db, i.tenant, { type: "USER", id: i.serviceAccountId }, check)).toEqual({ kind: "not_found" });
    expect(await checkAccess(db, "no-such-tenant", { type: "USER", userName: "known@example.com" }, check)).toEqual({ kind: "not_found" });
  });

  it("answers in the order asked and lists every binding that allows, by binding id", async () => {
    const i = await newIntegration();
    const alice = await newUser(i, "many@example.com");
    const groupA = await newGroup(i, "Alpha", [alice]);
    const groupB = await newGroup(i, "Beta", [alice]);
    const reader = await newRole(i.tenant, "Reader", { FLOWS: ["READ"], EXECUTIONS: ["READ"] });
    const editor = await newRole(i.tenant, "Editor", { FLOWS: ["READ", "UPDATE"] });
    const b1 = await bind(i.tenant, editor, "GROUP", groupB, "team");
    const b2 = await bind(i.tenant, reader, "USER", alice);
    const b3 = await bind(i.tenant, reader, "GROUP", groupA, "team.sub");
    const b4 = await bind(i.tenant, editor, "USER", alice, "elsewhere");

    const checks: AccessCheck[] = [
      { resource: "FLOWS", action: "UPDATE", namespace: "team.sub.x" },
      { resource: "FLOWS", action: "READ", namespace: "team.sub.x" },
      { resource: "EXECUTIONS", action: "DELETE" },
      { resource: "FLOWS", action: "READ" },
      { resource: "FLOWS", action: "UPDATE", namespace: "team.sub.x" },
    ];
    // Binding ids are UUIDv7s: creation order.
    expect([b1, b2, b3, b4]).toEqual([b1, b2, b3, b4].toSorted());
    const results = await decide(i.tenant, { type: "USER", id: alice }, checks);
    expect(results.map((r) => [r.resource, r.action, r.namespace, r.allowed])).toEqual([
      ["FLOWS", "UPDATE", "team.sub.x", true],
      ["FLOWS", "READ", "team.sub.x", true],
      ["EXECUTIONS", "DELETE", null, false],
      ["FLOWS", "READ", null, true],
      ["FLOWS", "UPDATE", "team.sub.x", true],
    ]);
    expect(results.map((r) => r.grants.map((g) => g.bindingId))).toEqual([[b1], [b1, b2, b3], [], [b2], [b1]]);
    expect(results[1]?.grants.map((g) => g.via)).toEqual([
      { type: "GROUP", id: groupB, displayName: "Beta" },
      { type: "USER", id: alice, displayName: "many@example.com" },
      { type: "GROUP", id: groupA, displayName: "Alpha" },
    ]);
  });

  it("takes 1 to 100 checks", async () => {
    const i = await newIntegration();
    await expect(checkAccess(db, i.tenant, { type: "SERVICE_ACCOUNT", id: i.serviceAccountId }, [])).rejects.toThrow(RangeError);
    const tooMany = Array.from({ length: 101 }, (): AccessCheck => ({ resource: "FLOWS", action: "READ" }));
    await expect(checkAccess(db, i.tenant, { type: "SERVICE_ACCOUNT", id: i.serviceAccountId }, tooMany)).rejects.toThrow(RangeError);
    const results = await decide(i.tenant, { type: "SERVICE_ACCOUNT", id: i.serviceAccountId }, tooMany.slice(1));
    expect(results).toHaveLength(100);
  });
});

describe("effectivePermissions", () => {
  it("lists each granted (resource, action, namespace) with its grants, sorted, tenant-wide first", async () => {
    const i = await newIntegration();
    const alice = await newUser(i, "effective@example.com");
    const groupId = await newGroup(i, "Editors", [alice]);
    const reader = await newRole(i.tenant, "Reader", { FLOWS: ["READ"] });
    const editor = await newRole(i.tenant, "Editor", { FLOWS: ["READ", "UPDATE"], EXECUTIONS: ["CREATE"] });
    const direct = await bind(i.tenant, reader, "USER", alice);
    const viaGroup = await bind(i.tenant, editor, "GROUP", groupId, "team");
    const nested = await bind(i.tenant, reader, "GROUP", groupId, "team.a");
    const userVia = { type: "USER", id: alice, displayName: "effective@example.com" };
    const groupVia = { type: "GROUP", id: groupId, displayName: "Editors" };
    const readerDirect = { bindingId: direct, roleId: reader, roleName: "Reader", namespace: null, via: userVia };
    const editorTeam = { bindingId: viaGroup, roleId: editor, roleName: "Editor", namespace: "team", via: groupVia };
    const readerTeamA = { bindingId: nested, roleId: reader, roleName: "Reader", namespace: "team.a", via: groupVia };

    expect(await effectivePermissions(db, i.tenant, alice)).toEqual({
      kind: "ok",
      user: { id: alice, userName: "effective@example.com", active: true },
      permissions: [
        { resource: "EXECUTIONS", action: "CREATE", namespace: "team", grants: [editorTeam] },
        { resource: "FLOWS", action: "READ", namespace: null, grants: [readerDirect] },
        { resource: "FLOWS", action: "READ", namespace: "team", grants: [editorTeam] },
        { resource: "FLOWS", action: "READ", namespace: "team.a", grants: [readerTeamA] },
        { resource: "FLOWS", action: "UPDATE", namespace: "team", grants: [editorTeam] },
      ],
    });

    // Two bindings granting the same permission in the same namespace: one entry, both grants.
    const again = await bind(i.tenant, editor, "USER", alice, "team");
    const effective = await effectivePermissions(db, i.tenant, alice);
    expect(effective.kind === "ok" && effective.permissions.find((p) => p.resource === "FLOWS" && p.action === "UPDATE")?.grants.map((g) => g.bindingId)).toEqual([
      viaGroup,
      again,
    ]);
  });

  it("shows an inactive user with no permissions; a user without any binding with none", async () => {
    const i = await newIntegration();
    const alice = await newUser(i, "Sleeper@example.com");
    await bind(i.tenant, await newRole(i.tenant, "Reader", { FLOWS: ["READ"] }), "USER", alice);
    await scim(i, "PATCH", `/Users/${alice}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "active", value: false }] });
    expect(await effectivePermissions(db, i.tenant, alice)).toEqual({
      kind: "ok",
      user: { id: alice, userName: "Sleeper@example.com", active: false },
      reason: "inactive",
      permissions: [],
    });
    const plain = await newUser(i, "plain@example.com");
    expect(await effectivePermissions(db, i.tenant, plain)).toEqual({ kind: "ok", user: { id: plain, userName: "plain@example.com", active: true }, permissions: [] });
    expect(await effectivePermissions(db, i.tenant, "01900000-0000-7000-8000-000000000000")).toEqual({ kind: "not_found" });
  });
});

describe("cost", () => {
  /** A Db over env.DB that counts round trips and records each statement with its bound values. */
  function recordingDb() {
    const stats = emptyStats();
    const statements: { sql: string; params: unknown[] }[] = [];
    const recorder = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "prepare") {
          return (query: string) => {
            const statement = target.prepare(query);
            return new Proxy(statement, {
              get(s, p) {
                if (p === "bind") return (...params: unknown[]) => (statements.push({ sql: query, params }), s.bind(...params));
                const value = Reflect.get(s, p);
                return typeof value === "function" ? value.bind(s) : value;
              },
            });
          };
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    return { db: createDb(metered(recorder, stats)), stats, statements };
  }

  async function world() {
    const i = await newIntegration();
    const alice = await newUser(i, "cost@example.com");
    for (let n = 0; n < 3; n++) await newUser(i, `other-${n}@example.com`);
    const role = await newRole(i.tenant, "Reader", { FLOWS: ["READ"], SECRETS: ["READ", "UPDATE"] });
    await bind(i.tenant, role, "USER", alice, "a.b");
    for (let n = 0; n < 4; n++) await bind(i.tenant, role, "GROUP", await newGroup(i, `G${n}`, [alice]), `ns${n}`);
    return { i, alice };
  }

  it("is exactly one D1 round trip per call, whatever the subject, checks or memberships", async () => {
    const { i, alice } = await world();
    const checks = Array.from({ length: 100 }, (_, n): AccessCheck => ({ resource: n % 2 ? "FLOWS" : "SECRETS", action: "READ", namespace: `ns${n % 5}.x` }));
    const subjects: AuthzSubject[] = [
      { type: "USER", id: alice },
      { type: "USER", userName: "COST@example.com" },
      { type: "USER", id: "01900000-0000-7000-8000-000000000000" },
      { type: "USER", userName: "nobody@example.com" },
      { type: "SERVICE_ACCOUNT", id: i.serviceAccountId },
    ];
    for (const subject of subjects) {
      const { db: counted, stats } = recordingDb();
      await checkAccess(counted, i.tenant, subject, checks);
      expect(stats.roundTrips, JSON.stringify(subject)).toBe(1);
      expect(stats.queries).toBe(1);
    }
    const { db: counted, stats } = recordingDb();
    const effective = await effectivePermissions(counted, i.tenant, alice);
    expect(effective.kind === "ok" && effective.permissions).toHaveLength(15);
    expect(stats.roundTrips).toBe(1);
  });

  it("reads through indexes only: the subject's rows and the bindings on it (EXPLAIN QUERY PLAN)", async () => {
    const { i, alice } = await world();
    const calls: [string, (db: ReturnType<typeof recordingDb>["db"]) => Promise<unknown>, RegExp][] = [
      ["by id", (d) => checkAccess(d, i.tenant, { type: "USER", id: alice }, [{ resource: "FLOWS", action: "READ" }]), /SEARCH u USING COVERING INDEX sqlite_autoindex_users_1 \(id=\?\)/],
      ["by userName", (d) => checkAccess(d, i.tenant, { type: "USER", userName: "cost@example.com" }, [{ resource: "FLOWS", action: "READ" }]), /SEARCH tu USING INDEX tenant_users_user_name_key_unique \(tenant_id=\? AND user_name_key=\?\)/],
      ["effective", (d) => effectivePermissions(d, i.tenant, alice), /SEARCH tu USING INDEX sqlite_autoindex_tenant_users_1 \(tenant_id=\? AND user_id=\?\)/],
      ["service account", (d) => checkAccess(d, i.tenant, { type: "SERVICE_ACCOUNT", id: i.serviceAccountId }, [{ resource: "GROUPS", action: "READ" }]), /SEARCH sa USING INDEX sqlite_autoindex_service_accounts_1 \(id=\?\)/],
    ];
    for (const [name, run, subjectIndex] of calls) {
      const recorded = recordingDb();
      await run(recorded.db);
      expect(recorded.statements, name).toHaveLength(1);
      const [{ sql, params }] = recorded.statements as [{ sql: string; params: unknown[] }];
      const plan = (await env.DB.prepare(`explain query plan ${sql}`).bind(...params).all<{ detail: string }>()).results.map((r) => r.detail).join("\n");
      expect(plan, name).toMatch(subjectIndex);
      expect(plan, name).toMatch(/SEARCH b USING INDEX bindings_subject_idx \(tenant_id=\? AND subject_type=\? AND subject_id=\?\)/);
      expect(plan, name).toMatch(/SEARCH r USING INDEX sqlite_autoindex_roles_1 \(id=\?\)/);
      expect(plan, name).toMatch(/SEARCH rp USING (COVERING )?INDEX sqlite_autoindex_role_permissions_1 \(role_id=\?\)/);
      if (name !== "service account") {
        expect(plan, name).toMatch(/SEARCH gm USING COVERING INDEX group_members_tenant_user_idx \(tenant_id=\? AND user_id=\?\)/);
        expect(plan, name).toMatch(/SEARCH g USING INDEX (groups_tenant_id_idx \(tenant_id=\? AND id=\?\)|sqlite_autoindex_groups_1 \(id=\?\))/);
      }
      // Nothing walks a table: the only scans are of the asked pairs (json_each) and of the result.
      const scans = plan.split("\n").filter((line) => /\bSCAN\b/.test(line));
      for (const line of scans) expect(line, name).toMatch(/^SCAN (json_each VIRTUAL TABLE|gr\b)/);
      // No search of a table by the tenant alone either (that would walk the tenant's rows).
      expect(plan, name).not.toMatch(/\(tenant_id=\?\)/);
    }
  });
});

describe("namespaces", () => {
  it("validates Kestra namespaces", () => {
    for (const ok of ["a", "company", "company.team", "a.b-c.d_e", "A1.B2", "x".repeat(255)]) expect(isValidNamespace(ok), ok).toBe(true);
    for (const bad of ["", ".", "a.", ".a", "a..b", "a b", "a/b", "a.b*", "é", "x".repeat(256)]) expect(isValidNamespace(bad), bad).toBe(false);
  });

  it("covers by whole segments", () => {
    expect(namespaceCovers(null, null)).toBe(true);
    expect(namespaceCovers(null, "a")).toBe(true);
    expect(namespaceCovers("a.b", null)).toBe(false);
    expect(namespaceCovers("a.b", "a.b")).toBe(true);
    expect(namespaceCovers("a.b", "a.b.c")).toBe(true);
    expect(namespaceCovers("a.b", "a.bc")).toBe(false);
    expect(namespaceCovers("a.b", "a")).toBe(false);
  });
});
