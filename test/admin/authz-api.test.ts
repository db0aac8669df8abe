/**
 * The decision API over HTTP, as an application would use it: who may do what, flipping to
 * denied right after Entra's changes (deactivation, member removal, DELETE), with the admin
 * token or a service account holding BINDINGS:READ, and the effective-permissions route.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin, call, newIntegration, scim, type TestIntegration } from "../support/helpers";

const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async function role(tenant: string, name: string, permissions: Record<string, string[]>) {
  const res = await admin("POST", `/${tenant}/roles`, { name, permissions });
  expect(res.status).toBe(201);
  return res.json.id as string;
}
async function bind(tenant: string, roleId: string, subjectType: string, subjectId: string, namespace?: string) {
  const res = await admin("POST", `/${tenant}/bindings`, { roleId, subjectType, subjectId, ...(namespace ? { namespace } : {}) });
  expect(res.status).toBe(201);
  return res.json.id as string;
}
const check = (tenant: string, body: unknown, token: string = env.ADMIN_TOKEN) => call("POST", `/api/v1/${tenant}/authz/check`, { token, body });

/** A tenant where Ada edits flows in company.team through the group Data team. */
async function world(): Promise<{ i: TestIntegration; ada: string; group: string; editor: string; binding: string }> {
  const i = await newIntegration();
  const ada = (await scim(i, "POST", "/Users", { userName: "Ada@Example.com" })).json.id as string;
  const group = (await scim(i, "POST", "/Groups", { displayName: "Data team", members: [{ value: ada }] })).json.id as string;
  const editor = await role(i.tenant, "Flow editor", { FLOWS: ["READ", "UPDATE"] });
  const binding = await bind(i.tenant, editor, "GROUP", group, "company.team");
  return { i, ada, group, editor, binding };
}

const FLOW_CHECKS = [
  { resource: "FLOWS", action: "UPDATE", namespace: "company.team.data" },
  { resource: "FLOWS", action: "UPDATE", namespace: "company.teamwork" },
  { resource: "FLOWS", action: "DELETE", namespace: "company.team" },
  { resource: "FLOWS", action: "READ" },
];

describe("POST /{tenant}/authz/check", () => {
  it("answers each check in order with the grants, by id or userName, and flips at once after Entra's changes", async () => {
    const { i, ada, group, editor, binding } = await world();
    const first = await check(i.tenant, { subject: { type: "USER", userName: "ada@example.COM" }, checks: FLOW_CHECKS });
    expect(first.status).toBe(200);
    expect(first.json.subject).toEqual({ type: "USER", id: ada });
    expect(first.json.results.map((r: any) => r.allowed)).toEqual([true, false, false, false]);
    expect(first.json.results[0]).toEqual({
      resource: "FLOWS",
      action: "UPDATE",
      namespace: "company.team.data",
      allowed: true,
      grants: [{ bindingId: binding, roleId: editor, roleName: "Flow editor", namespace: "company.team", via: { type: "GROUP", id: group, displayName: "Data team" } }],
    });
    expect(first.json.results[1]).toMatchObject({ namespace: "company.teamwork", allowed: false, grants: [] });
    expect(first.json.results[3]).toMatchObject({ namespace: null, allowed: false });

    // Removed from the group in Entra: denied on the next call.
    const remove = { schemas: [PATCH], Operations: [{ op: "remove", path: `members[value eq "${ada}"]` }] };
    expect((await scim(i, "PATCH", `/Groups/${group}`, remove)).status).toBe(204);
    expect((await check(i.tenant, { subject: { type: "USER", id: ada }, checks: FLOW_CHECKS.slice(0, 1) })).json.results[0]).toMatchObject({ allowed: false, grants: [] });

    // Back in the group, then deactivated: denied with the reason.
    const add = { schemas: [PATCH], Operations: [{ op: "add", path: "members", value: [{ value: ada }] }] };
    expect((await scim(i, "PATCH", `/Groups/${group}`, add)).status).toBe(204);
    expect((await check(i.tenant, { subject: { type: "USER", id: ada }, checks: FLOW_CHECKS.slice(0, 1) })).json.results[0].allowed).toBe(true);
    const deactivate = { schemas: [PATCH], Operations: [{ op: "replace", path: "active", value: "False" }] };
    expect((await scim(i, "PATCH", `/Users/${ada}`, deactivate)).status).toBe(200);
    expect((await check(i.tenant, { subject: { type: "USER", id: ada }, checks: FLOW_CHECKS.slice(0, 1) })).json.results[0]).toEqual({
      resource: "FLOWS", action: "UPDATE", namespace: "company.team.data", allowed: false, grants: [], reason: "inactive",
    });

    // Deleted in Entra (this tenant's access revoked).
    expect((await scim(i, "DELETE", `/Users/${ada}`)).status).toBe(204);
    const gone = await check(i.tenant, { subject: { type: "USER", id: ada }, checks: FLOW_CHECKS.slice(0, 1) });
    expect(gone.status).toBe(200);
    expect(gone.json.results[0]).toMatchObject({ allowed: false, reason: "no_tenant_access" });
    // By userName the tenant no longer knows the person: 404.
    const byName = await check(i.tenant, { subject: { type: "USER", userName: "ada@example.com" }, checks: FLOW_CHECKS.slice(0, 1) });
    expect(byName.status).toBe(404);
    expect(byName.headers.get("content-type")).toContain("application/problem+json");
  });

  it("grants tenant-wide bindings everywhere and direct user bindings too, and checks service accounts", async () => {
    const { i, ada, editor } = await world();
    const viewer = await role(i.tenant, "Viewer", { FLOWS: ["READ"] });
    const direct = await bind(i.tenant, viewer, "USER", ada);
    const res = await check(i.tenant, { subject: { type: "USER", id: ada }, checks: [{ resource: "FLOWS", action: "READ" }, { resource: "FLOWS", action: "READ", namespace: "company.team.x" }] });
    expect(res.json.results[0].grants.map((g: any) => g.bindingId)).toEqual([direct]);
    // Both bindings grant in company.team.x: both are listed.
    expect(res.json.results[1].grants.map((g: any) => g.roleId).sort()).toEqual([editor, viewer].sort());
    const sa = await check(i.tenant, { subject: { type: "SERVICE_ACCOUNT", id: i.serviceAccountId }, checks: [{ resource: "USERS", action: "CREATE" }, { resource: "FLOWS", action: "READ" }] });
    expect(sa.json.subject).toEqual({ type: "SERVICE_ACCOUNT", id: i.serviceAccountId });
    expect(sa.json.results.map((r: any) => r.allowed)).toEqual([true, false]);
    expect(sa.json.results[0].grants[0]).toMatchObject({ roleName: "SCIMProvisioner", via: { type: "SERVICE_ACCOUNT", id: i.serviceAccountId } });
  });

  it("is open to a service account holding BINDINGS:READ in the tenant, and to nobody else", async () => {
    const { i, ada } = await world();
    const body = { subject: { type: "USER", id: ada }, checks: FLOW_CHECKS.slice(0, 1) };
    // An application's own service account, with a token of its own: nothing until bound.
    const app = await admin("POST", `/${i.tenant}/service-accounts`, { name: "Flow runner" });
    expect(app.status).toBe(201);
    const token = (await admin("POST", `/${i.tenant}/service-accounts/${app.json.id}/tokens`, {})).json.secretToken as string;
    expect((await check(i.tenant, body, token)).status).toBe(403);
    const reader = await role(i.tenant, "Decision reader", { BINDINGS: ["READ"] });
    await bind(i.tenant, reader, "SERVICE_ACCOUNT", app.json.id);
    expect((await check(i.tenant, body, token)).status).toBe(200);
    // Another tenant's token, and no token.
    const other = await newIntegration();
    expect((await check(i.tenant, body, other.token)).status).toBe(403);
    expect((await check(i.tenant, body, "")).status).toBe(401);
    // Another tenant's user is nobody here.
    const stranger = (await scim(other, "POST", "/Users", { userName: "stranger@example.com" })).json.id;
    expect((await check(i.tenant, { subject: { type: "USER", userName: "stranger@example.com" }, checks: FLOW_CHECKS.slice(0, 1) })).status).toBe(404);
    expect((await check(i.tenant, { subject: { type: "USER", id: stranger }, checks: FLOW_CHECKS.slice(0, 1) })).json.results[0].allowed).toBe(false);
    expect((await check("no-such-tenant", body)).status).toBe(404);
  });

  it("refuses malformed requests with a problem naming the field", async () => {
    const { i, ada } = await world();
    const bad = async (body: unknown, field: string) => {
      const res = await check(i.tenant, body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(res.json.detail).toContain(field);
    };
    const subject = { type: "USER", id: ada };
    await bad({ subject, checks: [] }, "checks");
    await bad({ subject, checks: Array.from({ length: 101 }, () => ({ resource: "FLOWS", action: "READ" })) }, "checks");
    await bad({ subject, checks: [{ resource: "PIZZA", action: "READ" }] }, "checks.0.resource");
    await bad({ subject, checks: [{ resource: "FLOWS", action: "READ", namespace: "a..b" }] }, "checks.0.namespace");
    await bad({ subject: { type: "GROUP", id: "x" }, checks: FLOW_CHECKS }, "subject");
    await bad({ subject: { type: "USER" }, checks: FLOW_CHECKS }, "subject");
    await bad("[1,2", "body");
  });

  it("costs one D1 round trip with the admin token, however many groups and bindings", async () => {
    const { i, ada, editor } = await world();
    for (let n = 0; n < 20; n++) {
      const g = (await scim(i, "POST", "/Groups", { displayName: `g${n}`, members: [{ value: ada }] })).json.id;
      await bind(i.tenant, editor, "GROUP", g, `ns${n}`);
    }
    const logs: string[] = [];
    const original = console.log;
    console.log = (line: string) => logs.push(line);
    try {
      const res = await exports.default.fetch(`https://scim.test/api/v1/${i.tenant}/authz/check`, {
        method: "POST",
        headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, "Content-Type": "application/json" },
        body: JSON.stringify({ subject: { type: "USER", id: ada }, checks: Array.from({ length: 100 }, (_, n) => ({ resource: "FLOWS", action: "UPDATE", namespace: `ns${n % 25}.x` })) }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { results: { allowed: boolean }[] };
      expect(body.results.filter((r) => r.allowed)).toHaveLength(80);
    } finally {
      console.log = original;
    }
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.route?.endsWith("/authz/check"));
    expect(line.d1.roundTrips).toBe(1);
  });
});

describe("GET /{tenant}/users/{id}/permissions", () => {
  it("lists the user's effective permissions with their grants, none when inactive, 404 without access", async () => {
    const { i, ada, binding } = await world();
    const res = await admin("GET", `/${i.tenant}/users/${ada}/permissions`);
    expect(res.status).toBe(200);
    expect(res.json.user).toEqual({ id: ada, userName: "Ada@Example.com", active: true });
    expect(res.json.permissions.map((p: any) => `${p.resource}:${p.action}@${p.namespace}`)).toEqual(["FLOWS:READ@company.team", "FLOWS:UPDATE@company.team"]);
    expect(res.json.permissions[0].grants[0].bindingId).toBe(binding);
    await scim(i, "PATCH", `/Users/${ada}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "active", value: false }] });
    expect((await admin("GET", `/${i.tenant}/users/${ada}/permissions`)).json).toMatchObject({ reason: "inactive", permissions: [] });
    await scim(i, "DELETE", `/Users/${ada}`);
    expect((await admin("GET", `/${i.tenant}/users/${ada}/permissions`)).status).toBe(404);
  });
});
