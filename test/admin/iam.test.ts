/** The IAM around provisioning: roles, bindings, service accounts, the audit log, service-account tokens. */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { apiTokens, bindings, groupMembers } from "../../src/db/schema";
import { admin, call, newIntegration, newTenant, scim } from "../support/helpers";

const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const db = createDb(env.DB);

describe("roles", () => {
  it("creates, reads, lists, edits and deletes a role", async () => {
    const tenant = await newTenant();
    const created = await admin("POST", `/${tenant}/roles`, { name: "Auditors", description: "Read the log", permissions: { AUDIT_LOGS: ["READ"], USERS: ["READ"] } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ tenant, name: "Auditors", description: "Read the log", permissions: { AUDIT_LOGS: ["READ"], USERS: ["READ"] } });
    const id = created.json.id;
    expect((await admin("GET", `/${tenant}/roles/${id}`)).json).toEqual(created.json);
    const edited = await admin("PATCH", `/${tenant}/roles/${id}`, { name: "Auditors2", permissions: { AUDIT_LOGS: ["READ"], FLOWS: ["READ", "UPDATE"] } });
    expect(edited.json.permissions).toEqual({ AUDIT_LOGS: ["READ"], FLOWS: ["READ", "UPDATE"] });
    expect(edited.json.name).toBe("Auditors2");
    const list = await admin("GET", `/${tenant}/roles`);
    expect(list.json.results.map((r: { name: string }) => r.name)).toEqual(["Auditors2"]);
    expect((await admin("DELETE", `/${tenant}/roles/${id}`)).status).toBe(204);
    expect((await admin("GET", `/${tenant}/roles/${id}`)).status).toBe(404);
  });

  it.each([
    [{ name: "x", permissions: { WIDGETS: ["READ"] } }, /permissions/],
    [{ name: "x", permissions: { USERS: ["FLY"] } }, /permissions\.USERS/],
    [{ name: "x", permissions: { USERS: [] } }, /permissions\.USERS/],
    [{ name: "", permissions: {} }, /name/],
    [{ name: "x" }, /permissions/],
    [{ name: "x", permissions: {}, extra: true }, /extra|Unrecognized/],
  ])("rejects %j with 400", async (body, detail) => {
    const tenant = await newTenant();
    const res = await admin("POST", `/${tenant}/roles`, body);
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.json.detail).toMatch(detail);
  });

  it("refuses duplicate names and deleting a bound role; lists SCIMProvisioner and lets it be edited", async () => {
    const i = await newIntegration();
    expect((await admin("POST", `/${i.tenant}/roles`, { name: "SCIMProvisioner", permissions: {} })).status).toBe(409);
    const list = await admin("GET", `/${i.tenant}/roles`);
    const provisioner = list.json.results.find((r: { name: string }) => r.name === "SCIMProvisioner");
    expect(provisioner.id).toBe(i.roleId);
    const bound = await admin("DELETE", `/${i.tenant}/roles/${i.roleId}`);
    expect(bound.status).toBe(409);
    expect(bound.json.detail).toMatch(/bound/);
    const edited = await admin("PATCH", `/${i.tenant}/roles/${i.roleId}`, { description: "edited" });
    expect(edited.json.description).toBe("edited");
    expect((await admin("PATCH", `/${i.tenant}/roles/${i.roleId}`, {})).status).toBe(400);
  });
});

describe("bindings", () => {
  it("binds a role to a group Entra provisioned, lists by role and subject, and deletes", async () => {
    const i = await newIntegration();
    const group = (await scim(i, "POST", "/Groups", { displayName: "Flow Editors" })).json;
    const role = (await admin("POST", `/${i.tenant}/roles`, { name: "FlowEditor", permissions: { FLOWS: ["READ", "UPDATE"] } })).json;
    const created = await admin("POST", `/${i.tenant}/bindings`, { roleId: role.id, subjectType: "GROUP", subjectId: group.id, namespace: "company.team" });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ roleId: role.id, roleName: "FlowEditor", subjectType: "GROUP", subjectId: group.id, namespace: "company.team" });
    expect((await admin("POST", `/${i.tenant}/bindings`, { roleId: role.id, subjectType: "GROUP", subjectId: group.id, namespace: "company.team" })).status).toBe(409);
    expect((await admin("GET", `/${i.tenant}/bindings?roleId=${role.id}`)).json.results.map((b: { id: string }) => b.id)).toEqual([created.json.id]);
    expect((await admin("GET", `/${i.tenant}/bindings?subjectType=GROUP&subjectId=${group.id}`)).json.results).toHaveLength(1);
    expect((await admin("GET", `/${i.tenant}/bindings/${created.json.id}`)).json).toEqual(created.json);
    expect((await admin("DELETE", `/${i.tenant}/bindings/${created.json.id}`)).status).toBe(204);
    expect((await admin("GET", `/${i.tenant}/bindings/${created.json.id}`)).status).toBe(404);
  });

  it("needs the role and the subject to exist in this tenant", async () => {
    const i = await newIntegration();
    const other = await newIntegration();
    const otherGroup = (await scim(other, "POST", "/Groups", { displayName: "Theirs" })).json;
    const userInOther = (await scim(other, "POST", "/Users", { userName: "elsewhere@example.com" })).json;
    const cases: [unknown, RegExp][] = [
      [{ roleId: "nope", subjectType: "SERVICE_ACCOUNT", subjectId: i.serviceAccountId }, /Role 'nope'/],
      [{ roleId: other.roleId, subjectType: "SERVICE_ACCOUNT", subjectId: i.serviceAccountId }, /Role/],
      [{ roleId: i.roleId, subjectType: "GROUP", subjectId: otherGroup.id }, /No GROUP/],
      [{ roleId: i.roleId, subjectType: "USER", subjectId: userInOther.id }, /No USER/],
      [{ roleId: i.roleId, subjectType: "SERVICE_ACCOUNT", subjectId: other.serviceAccountId }, /No SERVICE_ACCOUNT/],
    ];
    for (const [body, detail] of cases) {
      const res = await admin("POST", `/${i.tenant}/bindings`, body);
      expect(res.status, JSON.stringify(body)).toBe(404);
      expect(res.json.detail).toMatch(detail);
    }
    expect((await admin("POST", `/${i.tenant}/bindings`, { roleId: i.roleId, subjectType: "ROBOT", subjectId: "x" })).status).toBe(400);
  });
});

describe("limits and races", () => {
  it("lists 200 roles at once without passing D1's parameter limit", async () => {
    const tenant = await newTenant();
    for (let n = 0; n < 130; n++) await admin("POST", `/${tenant}/roles`, { name: `R${n}`, permissions: { FLOWS: ["READ"] } });
    const res = await admin("GET", `/${tenant}/roles?limit=200`);
    expect(res.status).toBe(200);
    expect(res.json.results).toHaveLength(130);
    expect(res.json.results.every((r: { permissions: unknown }) => JSON.stringify(r.permissions) === '{"FLOWS":["READ"]}')).toBe(true);
  });

  it("creates one binding when identical creates race", async () => {
    const i = await newIntegration();
    const group = (await scim(i, "POST", "/Groups", { displayName: "Racy" })).json;
    const body = { roleId: i.roleId, subjectType: "GROUP", subjectId: group.id };
    const results = await Promise.all(Array.from({ length: 6 }, () => admin("POST", `/${i.tenant}/bindings`, body)));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    expect((await admin("GET", `/${i.tenant}/bindings?subjectId=${group.id}`)).json.results).toHaveLength(1);
  });

  it("does not audit a role update that changes nothing", async () => {
    const tenant = await newTenant();
    const role = (await admin("POST", `/${tenant}/roles`, { name: "Same", permissions: { USERS: ["READ"], FLOWS: ["UPDATE", "READ"] } })).json;
    await admin("PATCH", `/${tenant}/roles/${role.id}`, { permissions: { FLOWS: ["READ", "UPDATE"], USERS: ["READ"] } });
    const events = await admin("GET", `/${tenant}/audit-logs?resourceType=ROLE`);
    expect(events.json.results.map((e: { action: string }) => e.action)).toEqual(["CREATE"]);
  });
});

describe("cascades", () => {
  it("deleting a group removes its memberships and bindings; revoking a user removes theirs", async () => {
    const i = await newIntegration();
    const user = (await scim(i, "POST", "/Users", { userName: "cascade@example.com" })).json;
    const group = (await scim(i, "POST", "/Groups", { displayName: "Cascade", members: [{ value: user.id }] })).json;
    const role = (await admin("POST", `/${i.tenant}/roles`, { name: "Viewer", permissions: { FLOWS: ["READ"] } })).json;
    const onGroup = (await admin("POST", `/${i.tenant}/bindings`, { roleId: role.id, subjectType: "GROUP", subjectId: group.id })).json;
    const onUser = (await admin("POST", `/${i.tenant}/bindings`, { roleId: role.id, subjectType: "USER", subjectId: user.id })).json;
    expect((await scim(i, "DELETE", `/Groups/${group.id}`)).status).toBe(204);
    expect(await db.select().from(groupMembers).where(eq(groupMembers.groupId, group.id))).toEqual([]);
    expect((await admin("GET", `/${i.tenant}/bindings/${onGroup.id}`)).status).toBe(404);
    expect((await scim(i, "DELETE", `/Users/${user.id}`)).status).toBe(204);
    expect((await admin("GET", `/${i.tenant}/bindings/${onUser.id}`)).status).toBe(404);
    // The role is unbound now, so it can go.
    expect((await admin("DELETE", `/${i.tenant}/roles/${role.id}`)).status).toBe(204);
  });

  it("deleting an integration removes its service account, tokens and bindings, and nothing else", async () => {
    const i = await newIntegration();
    const user = (await scim(i, "POST", "/Users", { userName: "stays@example.com" })).json;
    await admin("DELETE", `/${i.tenant}/integrations/${i.id}`);
    expect(await db.select().from(bindings).where(eq(bindings.subjectId, i.serviceAccountId))).toEqual([]);
    expect(await db.select().from(apiTokens).where(eq(apiTokens.serviceAccountId, i.serviceAccountId))).toEqual([]);
    expect((await admin("GET", `/${i.tenant}/service-accounts/${i.serviceAccountId}`)).status).toBe(404);
    expect((await admin("GET", `/${i.tenant}/users`)).json.results.map((u: { id: string }) => u.id)).toEqual([user.id]);
  });
});

describe("service accounts", () => {
  it("lists accounts with their tokens (never a secret or hash); an integration's token is revoked only by rotation", async () => {
    const i = await newIntegration();
    await scim(i, "GET", "/Users");
    const list = await admin("GET", `/${i.tenant}/service-accounts`);
    expect(list.json.results).toHaveLength(1);
    const account = list.json.results[0];
    expect(account).toMatchObject({ id: i.serviceAccountId, integrationId: i.id });
    expect(account.tokens).toEqual([{ id: expect.any(String), createdAt: expect.any(String), lastUsedAt: expect.any(String), lastFour: i.token.slice(-4), expiresAt: null }]);
    expect(JSON.stringify(list.json)).not.toContain(i.token);
    expect(JSON.stringify(list.json)).not.toMatch(/[0-9a-f]{64}/);
    const tokenId = account.tokens[0].id;
    expect((await admin("DELETE", `/${i.tenant}/service-accounts/${i.serviceAccountId}/tokens/${tokenId}`)).status).toBe(409);
    expect((await scim(i, "GET", "/Users")).status).toBe(200);
    expect((await admin("POST", `/${i.tenant}/integrations/${i.id}/token`)).status).toBe(200);
    // The rotation revoked it: it is gone, and the old secret with it.
    expect((await admin("DELETE", `/${i.tenant}/service-accounts/${i.serviceAccountId}/tokens/${tokenId}`)).status).toBe(404);
    expect((await scim(i, "GET", "/Users")).status).toBe(401);
  });
});

describe("audit log", () => {
  it("shows SCIM changes with their diff, refused writes with their reason, newest first, filtered and paged", async () => {
    const i = await newIntegration();
    const user = (await scim(i, "POST", "/Users", { userName: "audited@example.com", title: "Dev" })).json;
    await scim(i, "PATCH", `/Users/${user.id}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "title", value: "Lead" }] });
    const group = (await scim(i, "POST", "/Groups", { displayName: "Audited", members: [{ value: user.id }] })).json;
    await scim(i, "POST", "/Groups", { displayName: "audited" });
    await scim(i, "DELETE", `/Groups/${group.id}`);

    const all = await admin("GET", `/${i.tenant}/audit-logs?integrationId=${i.id}`);
    expect(all.status).toBe(200);
    const actions = all.json.results.map((e: { resourceType: string; action: string; outcome: string }) => `${e.resourceType}:${e.action}:${e.outcome}`);
    expect(actions).toEqual([
      "GROUP:DELETE:SUCCESS",
      "GROUP:CREATE:FAILURE",
      "GROUP:CREATE:SUCCESS",
      "USER:UPDATE:SUCCESS",
      "USER:CREATE:SUCCESS",
      // Creating the integration: its token, binding, service account and itself, one batch.
      "API_TOKEN:CREATE:SUCCESS",
      "BINDING:CREATE:SUCCESS",
      "SERVICE_ACCOUNT:CREATE:SUCCESS",
      "INTEGRATION:CREATE:SUCCESS",
    ]);
    const update = all.json.results[3];
    expect(update).toMatchObject({ actor: { type: "SERVICE_ACCOUNT", id: i.serviceAccountId }, resourceId: user.id, requestId: expect.any(String) });
    expect(update.diff).toEqual({ title: { before: "Dev", after: "Lead" } });
    const refused = all.json.results[1];
    expect(refused).toMatchObject({ status: 409, outcome: "FAILURE" });
    expect(refused.detail).toMatch(/already exists/);
    expect(JSON.stringify(all.json)).not.toContain(i.token);

    const users = await admin("GET", `/${i.tenant}/audit-logs?resourceType=USER&action=UPDATE`);
    expect(users.json.results).toHaveLength(1);
    const page1 = await admin("GET", `/${i.tenant}/audit-logs?limit=2`);
    const page2 = await admin("GET", `/${i.tenant}/audit-logs?limit=2&cursor=${page1.json.nextCursor}`);
    expect(page2.json.results[0].id < page1.json.results[1].id).toBe(true);
    expect((await admin("GET", `/${i.tenant}/audit-logs?after=2999-01-01T00:00:00Z`)).json.results).toEqual([]);
    expect((await admin("GET", `/${i.tenant}/audit-logs?after=yesterday`)).status).toBe(400);
  });

  it("records admin writes with the admin as actor", async () => {
    const tenant = await newTenant();
    const role = (await admin("POST", `/${tenant}/roles`, { name: "R", permissions: { FLOWS: ["READ"] } })).json;
    const events = await admin("GET", `/${tenant}/audit-logs?resourceType=ROLE`);
    expect(events.json.results).toEqual([expect.objectContaining({ action: "CREATE", resourceId: role.id, actor: { type: "ADMIN", id: null } })]);
  });
});

describe("service-account tokens on the admin API", () => {
  const as = (token: string, method: string, path: string, body?: unknown) => call(method, `/api/v1${path}`, { token, body });

  it("are confined to their tenant and to what their bindings allow", async () => {
    const i = await newIntegration();
    const other = await newTenant();
    // SCIMProvisioner grants BINDINGS:READ but not ROLES:READ nor AUDIT_LOGS:READ.
    expect((await as(i.token, "GET", `/${i.tenant}/bindings`)).status).toBe(200);
    const noRoles = await as(i.token, "GET", `/${i.tenant}/roles`);
    expect(noRoles.status).toBe(403);
    expect(noRoles.json.detail).toContain("ROLES:READ");
    expect((await as(i.token, "GET", `/${other}/bindings`)).status).toBe(403);
    expect((await as(i.token, "GET", "/ghost-tenant/bindings")).status).toBe(403);
    expect((await as(i.token, "GET", "/tenants")).status).toBe(403);
    expect((await as(i.token, "POST", "/tenants", { id: "sneaky" })).status).toBe(403);
    // Granting works on the next request.
    await admin("PATCH", `/${i.tenant}/roles/${i.roleId}`, {
      permissions: { GROUPS: ["CREATE", "READ", "UPDATE", "DELETE"], USERS: ["CREATE", "READ", "UPDATE"], BINDINGS: ["CREATE", "READ", "UPDATE", "DELETE"], AUDIT_LOGS: ["READ"] },
    });
    expect((await as(i.token, "GET", `/${i.tenant}/audit-logs`)).status).toBe(200);
  });

  it("cannot grant what they do not hold (no escalation through BINDINGS:CREATE)", async () => {
    const i = await newIntegration();
    const boss = (await admin("POST", `/${i.tenant}/roles`, { name: "Boss", permissions: { ROLES: ["CREATE", "UPDATE"], INTEGRATIONS: ["DELETE"] } })).json;
    const escalate = await as(i.token, "POST", `/${i.tenant}/bindings`, { roleId: boss.id, subjectType: "SERVICE_ACCOUNT", subjectId: i.serviceAccountId });
    expect(escalate.status).toBe(403);
    expect(escalate.json.detail).toMatch(/ROLES:CREATE/);
    // Binding its own role to a provisioned group is within its grants.
    const group = (await scim(i, "POST", "/Groups", { displayName: "Provisioners" })).json;
    const ok = await as(i.token, "POST", `/${i.tenant}/bindings`, { roleId: i.roleId, subjectType: "GROUP", subjectId: group.id });
    expect(ok.status).toBe(201);
    const events = await admin("GET", `/${i.tenant}/audit-logs?resourceType=BINDING`);
    expect(events.json.results[0]).toMatchObject({ action: "CREATE", actor: { type: "SERVICE_ACCOUNT", id: i.serviceAccountId } });
  });

  it("cannot act on anything stronger than themselves, nor on their own integration", async () => {
    const i = await newIntegration();
    const tenant = i.tenant;
    // Give the provisioning token a wide but bounded set of admin permissions.
    const wide = {
      GROUPS: ["CREATE", "READ", "UPDATE", "DELETE"],
      USERS: ["CREATE", "READ", "UPDATE"],
      BINDINGS: ["CREATE", "READ", "UPDATE", "DELETE"],
      ROLES: ["CREATE", "READ", "UPDATE", "DELETE"],
      INTEGRATIONS: ["CREATE", "READ", "UPDATE", "DELETE"],
      SERVICE_ACCOUNTS: ["READ", "DELETE"],
    };
    await admin("PATCH", `/${tenant}/roles/${i.roleId}`, { permissions: wide });
    const strong = (await admin("POST", `/${tenant}/roles`, { name: "TenantAdmin", permissions: { ...wide, AUDIT_LOGS: ["READ"], SECRETS: ["READ"] } })).json;
    const other = await newIntegration(tenant);
    const group = (await scim(i, "POST", "/Groups", { displayName: "Admins" })).json;
    const strongBinding = (await admin("POST", `/${tenant}/bindings`, { roleId: strong.id, subjectType: "GROUP", subjectId: group.id })).json;

    // Renaming to or from SCIMProvisioner would move every integration's grants.
    expect((await as(i.token, "PATCH", `/${tenant}/roles/${i.roleId}`, { name: "old" })).status).toBe(409);
    expect((await admin("PATCH", `/${tenant}/roles/${strong.id}`, { name: "SCIMProvisioner" })).status).toBe(409);
    // A stronger role can be neither edited, deleted nor unbound.
    expect((await as(i.token, "PATCH", `/${tenant}/roles/${strong.id}`, { description: "mine now" })).status).toBe(403);
    expect((await as(i.token, "DELETE", `/${tenant}/roles/${strong.id}`)).status).toBe(403);
    expect((await as(i.token, "DELETE", `/${tenant}/bindings/${strongBinding.id}`)).status).toBe(403);
    // Its own integration cannot be rotated, changed or deleted with its own token.
    expect((await as(i.token, "POST", `/${tenant}/integrations/${i.id}/token`)).status).toBe(403);
    expect((await as(i.token, "PATCH", `/${tenant}/integrations/${i.id}`, { enabled: false })).status).toBe(403);
    expect((await as(i.token, "DELETE", `/${tenant}/integrations/${i.id}`)).status).toBe(403);
    // Another integration as strong as itself can be rotated; a stronger one cannot.
    expect((await as(i.token, "POST", `/${tenant}/integrations/${other.id}/token`)).status).toBe(200);
    await admin("POST", `/${tenant}/bindings`, { roleId: strong.id, subjectType: "SERVICE_ACCOUNT", subjectId: other.serviceAccountId });
    const stronger = await as(i.token, "POST", `/${tenant}/integrations/${other.id}/token`);
    expect(stronger.status).toBe(403);
    expect(stronger.json.detail).toMatch(/AUDIT_LOGS:READ/);
    expect((await as(i.token, "DELETE", `/${tenant}/service-accounts/${other.serviceAccountId}/tokens/x`)).status).toBe(403);
    // Creating an integration hands out SCIMProvisioner: allowed only to a caller that holds all of it.
    expect((await as(i.token, "POST", `/${tenant}/integrations`, { name: "minted" })).status).toBe(201);
    const creator = (await admin("POST", `/${tenant}/roles`, { name: "Creator", permissions: { INTEGRATIONS: ["CREATE"] } })).json;
    // A service account of its own holding only the Creator role.
    const weak = (await admin("POST", `/${tenant}/service-accounts`, { name: "creator-bot" })).json;
    await admin("POST", `/${tenant}/bindings`, { roleId: creator.id, subjectType: "SERVICE_ACCOUNT", subjectId: weak.id });
    const weakToken = (await admin("POST", `/${tenant}/service-accounts/${weak.id}/tokens`, {})).json.secretToken;
    const minted = await as(weakToken, "POST", `/${tenant}/integrations`, { name: "minted2" });
    expect(minted.status).toBe(403);
    expect(minted.json.detail).toMatch(/SCIMProvisioner/);
  });

  it("stop working when the integration is disabled", async () => {
    const i = await newIntegration();
    await admin("PATCH", `/${i.tenant}/integrations/${i.id}`, { enabled: false });
    expect((await as(i.token, "GET", `/${i.tenant}/bindings`)).status).toBe(403);
  });
});
