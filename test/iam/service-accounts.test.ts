/** Service accounts of their own: create, edit, delete, tokens (shown once, optionally expiring), confinement, audit. */
import { env } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { apiTokens, bindings, serviceAccounts } from "../../src/db/schema";
import { authorityHolds, lostAuthority } from "../../src/iam/credentials";
import { MAX_TOKEN_LIFETIME_MS } from "../../src/iam/service-accounts";
import { admin, call, newIntegration, newTenant, scim } from "../support/helpers";

const db = createDb(env.DB);
const DAY = 24 * 60 * 60 * 1000;

/** An admin API call with a service account's token. */
const as = (token: string, method: string, path: string, body?: unknown) => call(method, `/api/v1${path}`, { token, body });

async function newAccount(tenant: string, body: Record<string, unknown> = { name: "deploy-bot" }) {
  const res = await admin("POST", `/${tenant}/service-accounts`, body);
  if (res.status !== 201) throw new Error(`service account: ${res.status} ${res.text}`);
  return res.json;
}

async function mint(tenant: string, id: string, body?: unknown) {
  const res = await admin("POST", `/${tenant}/service-accounts/${id}/tokens`, body);
  if (res.status !== 201) throw new Error(`token: ${res.status} ${res.text}`);
  return res.json;
}

/** A role with these permissions bound to the account: tenant-wide, or on `namespace`. */
async function grant(tenant: string, accountId: string, permissions: Record<string, string[]>, namespace?: string) {
  const role = await admin("POST", `/${tenant}/roles`, { name: `R-${crypto.randomUUID().slice(0, 8)}`, permissions });
  if (role.status !== 201) throw new Error(`role: ${role.status} ${role.text}`);
  const binding = await admin("POST", `/${tenant}/bindings`, { roleId: role.json.id, subjectType: "SERVICE_ACCOUNT", subjectId: accountId, ...(namespace ? { namespace } : {}) });
  if (binding.status !== 201) throw new Error(`binding: ${binding.status} ${binding.text}`);
  return { roleId: role.json.id as string, bindingId: binding.json.id as string };
}

function expectProblem(res: { status: number; headers: Headers; json: Record<string, unknown> }, status: number, detail?: RegExp) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  if (detail) expect(res.json.detail).toMatch(detail);
}

describe("service accounts", () => {
  it("creates, reads, lists, edits (null clears the description) and deletes an account", async () => {
    const tenant = await newTenant();
    const created = await admin("POST", `/${tenant}/service-accounts`, { name: "  deploy-bot  ", description: "Deploys flows from CI" });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({
      id: expect.any(String),
      tenant,
      name: "deploy-bot",
      description: "Deploys flows from CI",
      integrationId: null,
      createdAt: expect.any(String),
      tokens: [],
    });
    const id = created.json.id;
    expect(created.headers.get("location")).toBe(`/api/v1/${tenant}/service-accounts/${id}`);
    expect((await admin("GET", `/${tenant}/service-accounts/${id}`)).json).toEqual(created.json);
    expect((await admin("GET", `/${tenant}/service-accounts`)).json.results).toEqual([created.json]);

    const renamed = await admin("PATCH", `/${tenant}/service-accounts/${id}`, { name: "release-bot" });
    expect(renamed.status).toBe(200);
    expect(renamed.json).toMatchObject({ name: "release-bot", description: "Deploys flows from CI" });
    const cleared = await admin("PATCH", `/${tenant}/service-accounts/${id}`, { description: null });
    expect(cleared.json).toMatchObject({ name: "release-bot", description: null });
    expect((await admin("GET", `/${tenant}/service-accounts/${id}`)).json).toEqual(cleared.json);

    expect((await admin("DELETE", `/${tenant}/service-accounts/${id}`)).status).toBe(204);
    expect((await admin("GET", `/${tenant}/service-accounts/${id}`)).status).toBe(404);
    expect((await admin("GET", `/${tenant}/service-accounts`)).json.results).toEqual([]);
  });

  it.each([
    ["POST", {}, /name/],
    ["POST", { name: "" }, /name: must not be empty/],
    ["POST", { name: "   " }, /name: must not be empty/],
    ["POST", { name: "x".repeat(201) }, /name/],
    ["POST", { name: "x", description: "d".repeat(1001) }, /description/],
    ["POST", { name: "x", extra: true }, /extra|Unrecognized/],
    ["PATCH", {}, /at least one of name, description/],
    ["PATCH", { name: "" }, /name/],
    ["PATCH", { description: 7 }, /description/],
  ])("rejects %s %j with a 400 naming the field", async (method, body, detail) => {
    const tenant = await newTenant();
    const account = await newAccount(tenant);
    const path = method === "POST" ? `/${tenant}/service-accounts` : `/${tenant}/service-accounts/${account.id}`;
    expectProblem(await admin(method, path, body), 400, detail);
  });

  it.each([
    [{ expiresAt: "tomorrow" }, /expiresAt: an ISO 8601 time/],
    [{ expiresAt: new Date(Date.now() - 60_000).toISOString() }, /expiresAt: must be in the future/],
    [{ expiresAt: new Date(Date.now() + MAX_TOKEN_LIFETIME_MS + DAY).toISOString() }, /expiresAt: must be at most 730 days ahead/],
    [{ expiresAt: "2030-01-01T00:00:00Z", lastFour: "abcd" }, /lastFour|Unrecognized/],
  ])("refuses a token with %j (400, nothing minted)", async (body, detail) => {
    const tenant = await newTenant();
    const account = await newAccount(tenant);
    expectProblem(await admin("POST", `/${tenant}/service-accounts/${account.id}/tokens`, body), 400, detail);
    expect(await db.select().from(apiTokens).where(eq(apiTokens.serviceAccountId, account.id))).toEqual([]);
  });

  it("answers 404 for unknown accounts and for another tenant's", async () => {
    const tenant = await newTenant();
    const other = await newTenant();
    const theirs = await newAccount(other);
    for (const id of ["nope", theirs.id]) {
      expectProblem(await admin("GET", `/${tenant}/service-accounts/${id}`), 404, /does not exist in tenant/);
      expectProblem(await admin("PATCH", `/${tenant}/service-accounts/${id}`, { name: "mine" }), 404);
      expectProblem(await admin("DELETE", `/${tenant}/service-accounts/${id}`), 404);
      expectProblem(await admin("POST", `/${tenant}/service-accounts/${id}/tokens`, {}), 404);
    }
    expectProblem(await admin("POST", "/ghost-tenant/service-accounts", { name: "x" }), 404, /Tenant 'ghost-tenant'/);
    // Nothing of the other tenant moved.
    expect((await admin("GET", `/${other}/service-accounts/${theirs.id}`)).json).toEqual(theirs);
  });

  it("leaves an integration's account, its token and its binding to its integration (409)", async () => {
    const i = await newIntegration();
    const path = `/${i.tenant}/service-accounts/${i.serviceAccountId}`;
    for (const res of [await admin("PATCH", path, { name: "hijacked" }), await admin("DELETE", path), await admin("POST", `${path}/tokens`, {})]) {
      expectProblem(res, 409, new RegExp(`integration '${i.id}'`));
      expect(res.json.integrationId).toBe(i.id);
    }
    const account = (await admin("GET", path)).json;
    expect(account).toMatchObject({ name: "scim-Entra ID", integrationId: i.id });
    expect(account.tokens).toHaveLength(1);
    expect((await scim(i, "GET", "/Users")).status).toBe(200);
    // Revoking its token or removing its binding would break provisioning while it shows enabled.
    const revoke = await admin("DELETE", `${path}/tokens/${account.tokens[0].id}`);
    expectProblem(revoke, 409, /provisioning integration 'Entra ID'.*rotates its token/);
    expect(revoke.json.integrationId).toBe(i.id);
    const binding = (await admin("GET", `/${i.tenant}/bindings?subjectId=${i.serviceAccountId}`)).json.results[0];
    // It says whose it is, so the console offers no Remove for it.
    expect(binding.integrationId).toBe(i.id);
    const unbind = await admin("DELETE", `/${i.tenant}/bindings/${binding.id}`);
    expectProblem(unbind, 409, /provisioning integration 'Entra ID'/);
    expect((await admin("GET", `/${i.tenant}/bindings/${binding.id}`)).status).toBe(200);
    expect((await scim(i, "GET", "/Users")).status).toBe(200);
    expect((await admin("GET", `/${i.tenant}/integrations/${i.id}`)).json.problems).toEqual([]);
    // Deleting the integration still takes all three.
    expect((await admin("DELETE", `/${i.tenant}/integrations/${i.id}`)).status).toBe(204);
    expect((await admin("GET", path)).status).toBe(404);
  });

  it("says on the integration what keeps it from working when its role loses a permission", async () => {
    const i = await newIntegration();
    await admin("PATCH", `/${i.tenant}/roles/${i.roleId}`, { permissions: { USERS: ["READ", "UPDATE"], GROUPS: ["CREATE", "READ", "UPDATE", "DELETE"] } });
    const [problem, ...rest] = (await admin("GET", `/${i.tenant}/integrations/${i.id}`)).json.problems;
    expect(rest).toEqual([]);
    expect(problem).toMatch(/lacks USERS:CREATE, BINDINGS:CREATE, BINDINGS:READ, BINDINGS:UPDATE, BINDINGS:DELETE/);
    expect((await scim(i, "POST", "/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "ada@example.com" })).status).toBe(403);
    // The list says the same.
    expect((await admin("GET", `/${i.tenant}/integrations`)).json.results[0].problems).toEqual([problem]);
  });
});

describe("tokens", () => {
  it("are shown once, work on the admin API within the account's bindings, and are listed without the secret", async () => {
    const tenant = await newTenant();
    const other = await newTenant();
    const account = await newAccount(tenant);
    const res = await admin("POST", `/${tenant}/service-accounts/${account.id}/tokens`);
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const token = res.json;
    expect(token).toEqual({ id: expect.any(String), secretToken: expect.stringMatching(/^[A-Za-z0-9_-]{200}$/), lastFour: token.secretToken.slice(-4), createdAt: expect.any(String), expiresAt: null });

    // No binding yet: it authenticates, and may do nothing.
    expect((await as(token.secretToken, "GET", "/me")).json).toEqual({ kind: "service-account", tenant, serviceAccountId: account.id, integrationId: null, permissions: [] });
    expectProblem(await as(token.secretToken, "GET", `/${tenant}/users`), 403, /USERS:READ/);
    await grant(tenant, account.id, { USERS: ["READ"], GROUPS: ["READ"] });
    expect((await as(token.secretToken, "GET", `/${tenant}/users`)).status).toBe(200);
    expect((await as(token.secretToken, "GET", `/${tenant}/groups`)).status).toBe(200);
    expectProblem(await as(token.secretToken, "GET", `/${tenant}/roles`), 403, /ROLES:READ/);
    expectProblem(await as(token.secretToken, "GET", `/${other}/users`), 403, /belongs to tenant/);
    expectProblem(await as(token.secretToken, "GET", "/tenants"), 403);
    // It is no SCIM credential: an integration's endpoint refuses it as any unknown token.
    const i = await newIntegration(tenant);
    expect((await call("GET", `${i.scimPath}/Users`, { token: token.secretToken })).status).toBe(401);

    const listed = (await admin("GET", `/${tenant}/service-accounts/${account.id}`)).json;
    expect(listed.tokens).toEqual([{ id: token.id, createdAt: token.createdAt, lastUsedAt: expect.any(String), lastFour: token.lastFour, expiresAt: null }]);
    const everything = JSON.stringify((await admin("GET", `/${tenant}/service-accounts`)).json);
    expect(everything).not.toContain(token.secretToken);
    expect(everything).not.toMatch(/[0-9a-f]{64}/);
  });

  it("an expiring token works until its expiry, then is refused with 401", async () => {
    const tenant = await newTenant();
    const account = await newAccount(tenant);
    const expiresAt = new Date(Date.now() + 7 * DAY).toISOString();
    const token = await mint(tenant, account.id, { expiresAt });
    expect(token.expiresAt).toBe(expiresAt);
    expect((await admin("GET", `/${tenant}/service-accounts/${account.id}`)).json.tokens[0].expiresAt).toBe(expiresAt);
    expect((await as(token.secretToken, "GET", "/me")).status).toBe(200);

    // Time passes: the stored expiry moves into the past.
    await db.update(apiTokens).set({ expiresAt: Date.now() - 1000 }).where(eq(apiTokens.id, token.id));
    const refused = await as(token.secretToken, "GET", "/me");
    expectProblem(refused, 401);
    expect(refused.json.detail).toBe("The bearer token has expired.");
    expect(refused.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await as(token.secretToken, "GET", `/${tenant}/service-accounts`)).status).toBe(401);
    // An unknown token still gets the generic answer.
    expect((await as("x".repeat(200), "GET", "/me")).json.detail).toBe("The bearer token is not valid for the admin API.");
    // Still listed (it can be revoked), with its expiry.
    const listed = (await admin("GET", `/${tenant}/service-accounts/${account.id}`)).json.tokens;
    expect(listed).toEqual([expect.objectContaining({ id: token.id, expiresAt: expect.any(String) })]);
    expect(Date.parse(listed[0].expiresAt)).toBeLessThan(Date.now());
  });

  it("an expired integration token gets the SCIM gate's one answer for bad tokens, and stops queued writes", async () => {
    const i = await newIntegration();
    const unknown = await call("GET", `${i.scimPath}/Users`, { token: "y".repeat(200) });
    const row = (await db.select().from(apiTokens).where(eq(apiTokens.serviceAccountId, i.serviceAccountId)))[0]!;
    const authority = { tokenId: row.id, integrationId: i.id, serviceAccountId: i.serviceAccountId, permissions: ["USERS:CREATE"] };
    const holds = async (now: number) => (await db.get<{ ok: number }>(sql`select ${authorityHolds(i.tenant, authority, now)} as ok`))?.ok;
    expect(await holds(Date.now())).toBe(1);

    await db.update(apiTokens).set({ expiresAt: Date.now() + DAY }).where(eq(apiTokens.id, row.id));
    expect((await scim(i, "GET", "/Users")).status).toBe(200);
    expect(await holds(Date.now())).toBe(1);
    expect(await holds(Date.now() + 2 * DAY)).toBe(0);
    expect(await lostAuthority(db, i.tenant, authority, Date.now() + 2 * DAY)).toMatchObject({ status: 401, detail: expect.stringMatching(/expired/) });

    await db.update(apiTokens).set({ expiresAt: Date.now() - 1000 }).where(eq(apiTokens.id, row.id));
    const expired = await scim(i, "GET", "/Users");
    expect(expired.status).toBe(401);
    expect(expired.headers.get("content-type")).toContain("application/scim+json");
    expect(expired.json).toEqual(unknown.json);
    expect(await holds(Date.now())).toBe(0);
  });

  it("revoking one token leaves the others working", async () => {
    const tenant = await newTenant();
    const account = await newAccount(tenant);
    const [a, b] = [await mint(tenant, account.id), await mint(tenant, account.id)];
    expect((await admin("GET", `/${tenant}/service-accounts/${account.id}`)).json.tokens.map((t: { id: string }) => t.id)).toEqual([a.id, b.id]);
    expect((await admin("DELETE", `/${tenant}/service-accounts/${account.id}/tokens/${a.id}`)).status).toBe(204);
    expect((await as(a.secretToken, "GET", "/me")).status).toBe(401);
    expect((await as(b.secretToken, "GET", "/me")).status).toBe(200);
  });
});

describe("deleting an account", () => {
  it("revokes its tokens and removes its bindings in the same batch as the audit events", async () => {
    const tenant = await newTenant();
    const account = await newAccount(tenant);
    const token = await mint(tenant, account.id);
    const { roleId, bindingId } = await grant(tenant, account.id, { USERS: ["READ"] });
    const namespaced = await admin("POST", `/${tenant}/bindings`, { roleId, subjectType: "SERVICE_ACCOUNT", subjectId: account.id, namespace: "company.team" });
    expect(namespaced.status).toBe(201);
    // Another account's binding of the same role stays.
    const keeper = await newAccount(tenant, { name: "keeper" });
    const kept = await admin("POST", `/${tenant}/bindings`, { roleId, subjectType: "SERVICE_ACCOUNT", subjectId: keeper.id });
    expect((await as(token.secretToken, "GET", `/${tenant}/users`)).status).toBe(200);

    const res = await admin("DELETE", `/${tenant}/service-accounts/${account.id}`);
    expect(res.status).toBe(204);
    expect((await as(token.secretToken, "GET", `/${tenant}/users`)).status).toBe(401);
    expect(await db.select().from(apiTokens).where(eq(apiTokens.serviceAccountId, account.id))).toEqual([]);
    expect(await db.select().from(bindings).where(and(eq(bindings.subjectType, "SERVICE_ACCOUNT"), eq(bindings.subjectId, account.id)))).toEqual([]);
    expect(await db.select().from(serviceAccounts).where(eq(serviceAccounts.id, account.id))).toEqual([]);
    expect((await admin("GET", `/${tenant}/bindings/${kept.json.id}`)).status).toBe(200);
    // The role is unbound from the deleted account: only the keeper's binding holds it now.
    expect((await admin("GET", `/${tenant}/bindings?roleId=${roleId}`)).json.results.map((b: { id: string }) => b.id)).toEqual([kept.json.id]);

    const events = (await admin("GET", `/${tenant}/audit-logs?action=DELETE`)).json.results;
    expect(events.map((e: { resourceType: string; resourceId: string }) => `${e.resourceType}:${e.resourceId}`).sort()).toEqual(
      [`SERVICE_ACCOUNT:${account.id}`, `BINDING:${bindingId}`, `BINDING:${namespaced.json.id}`, `API_TOKEN:${token.id}`].sort(),
    );
    // One request, one batch: every event carries its request id.
    expect(new Set(events.map((e: { requestId: string }) => e.requestId)).size).toBe(1);
    expect(events.find((e: { resourceType: string }) => e.resourceType === "SERVICE_ACCOUNT").diff).toEqual({ name: { before: "deploy-bot" }, description: { before: null } });
    expectProblem(await admin("DELETE", `/${tenant}/service-accounts/${account.id}`), 404);
  });
});

describe("a service account acting on accounts", () => {
  const ALL = ["CREATE", "READ", "UPDATE", "DELETE"];

  it("cannot act on its own account nor on a stronger one; may on a new, weaker one", async () => {
    const tenant = await newTenant();
    const manager = await newAccount(tenant, { name: "manager" });
    await grant(tenant, manager.id, { SERVICE_ACCOUNTS: ALL, BINDINGS: ALL, USERS: ["READ"] });
    const token = (await mint(tenant, manager.id)).secretToken;
    const strong = await newAccount(tenant, { name: "strong" });
    await grant(tenant, strong.id, { SERVICE_ACCOUNTS: ALL, BINDINGS: ALL, USERS: ["READ"], AUDIT_LOGS: ["READ"] });
    const strongToken = await mint(tenant, strong.id);

    // Its own account: no successor token (it would outlive any expiry), no edit, no delete.
    for (const [method, path, body] of [
      ["POST", `/${tenant}/service-accounts/${manager.id}/tokens`, {}],
      ["PATCH", `/${tenant}/service-accounts/${manager.id}`, { name: "me" }],
      ["DELETE", `/${tenant}/service-accounts/${manager.id}`, undefined],
    ] as const) {
      expectProblem(await as(token, method, path, body), 403, /its own service account/);
    }
    // A stronger account: its token would be stronger than the caller.
    for (const [method, path, body] of [
      ["POST", `/${tenant}/service-accounts/${strong.id}/tokens`, {}],
      ["PATCH", `/${tenant}/service-accounts/${strong.id}`, { name: "weakened" }],
      ["DELETE", `/${tenant}/service-accounts/${strong.id}`, undefined],
      ["DELETE", `/${tenant}/service-accounts/${strong.id}/tokens/${strongToken.id}`, undefined],
    ] as const) {
      expectProblem(await as(token, method, path, body), 403, /AUDIT_LOGS:READ/);
    }
    expect((await admin("GET", `/${tenant}/service-accounts/${strong.id}`)).json).toMatchObject({ name: "strong", tokens: [{ id: strongToken.id }] });
    // An integration's account holds SCIMProvisioner (GROUPS:*…), more than the manager: refused before the 409.
    const i = await newIntegration(tenant);
    expectProblem(await as(token, "POST", `/${tenant}/service-accounts/${i.serviceAccountId}/tokens`, {}), 403, /GROUPS:CREATE/);

    // A new account starts with nothing: the manager may create it, mint for it, rename and delete it.
    const created = await as(token, "POST", `/${tenant}/service-accounts`, { name: "worker" });
    expect(created.status).toBe(201);
    const minted = await as(token, "POST", `/${tenant}/service-accounts/${created.json.id}/tokens`, {});
    expect(minted.status).toBe(201);
    expect((await as(token, "PATCH", `/${tenant}/service-accounts/${created.json.id}`, { description: "renamed by manager" })).status).toBe(200);
    const events = (await admin("GET", `/${tenant}/audit-logs?resourceId=${created.json.id}`)).json.results;
    expect(events.map((e: { action: string }) => e.action)).toEqual(["UPDATE", "CREATE"]);
    expect(events[1].actor).toEqual({ type: "SERVICE_ACCOUNT", id: manager.id });
    expect((await as(token, "DELETE", `/${tenant}/service-accounts/${created.json.id}`)).status).toBe(204);
    expect((await as(minted.json.secretToken, "GET", "/me")).status).toBe(401);
  });

  it("an expiring token mints only tokens that expire no later than itself", async () => {
    const tenant = await newTenant();
    const manager = await newAccount(tenant, { name: "manager" });
    await grant(tenant, manager.id, { SERVICE_ACCOUNTS: ALL });
    const until = Date.now() + 3 * DAY;
    const token = (await mint(tenant, manager.id, { expiresAt: new Date(until).toISOString() })).secretToken;
    const worker = (await as(token, "POST", `/${tenant}/service-accounts`, { name: "worker" })).json;
    const path = `/${tenant}/service-accounts/${worker.id}/tokens`;
    expectProblem(await as(token, "POST", path, {}), 403, /must expire no later/);
    expectProblem(await as(token, "POST", path, { expiresAt: new Date(until + DAY).toISOString() }), 403, /must expire no later/);
    const ok = await as(token, "POST", path, { expiresAt: new Date(until - DAY).toISOString() });
    expect(ok.status).toBe(201);
  });

  it("needs the matching SERVICE_ACCOUNTS permission for each route", async () => {
    const tenant = await newTenant();
    const reader = await newAccount(tenant, { name: "reader" });
    await grant(tenant, reader.id, { SERVICE_ACCOUNTS: ["READ"] });
    const token = (await mint(tenant, reader.id)).secretToken;
    const target = await newAccount(tenant, { name: "target" });
    expect((await as(token, "GET", `/${tenant}/service-accounts`)).status).toBe(200);
    expectProblem(await as(token, "POST", `/${tenant}/service-accounts`, { name: "x" }), 403, /SERVICE_ACCOUNTS:CREATE/);
    expectProblem(await as(token, "PATCH", `/${tenant}/service-accounts/${target.id}`, { name: "x" }), 403, /SERVICE_ACCOUNTS:UPDATE/);
    expectProblem(await as(token, "DELETE", `/${tenant}/service-accounts/${target.id}`), 403, /SERVICE_ACCOUNTS:DELETE/);
    expectProblem(await as(token, "POST", `/${tenant}/service-accounts/${target.id}/tokens`, {}), 403, /SERVICE_ACCOUNTS:CREATE/);
  });

  it("cannot reach another tenant's accounts, nor learn whether they exist", async () => {
    const tenant = await newTenant();
    const other = await newTenant();
    const manager = await newAccount(tenant, { name: "manager" });
    await grant(tenant, manager.id, { SERVICE_ACCOUNTS: ALL });
    const token = (await mint(tenant, manager.id)).secretToken;
    const theirs = await newAccount(other, { name: "theirs" });
    const theirToken = await mint(other, theirs.id);
    for (const [method, path, body] of [
      ["GET", `/${other}/service-accounts`, undefined],
      ["POST", `/${other}/service-accounts`, { name: "planted" }],
      ["PATCH", `/${other}/service-accounts/${theirs.id}`, { name: "x" }],
      ["DELETE", `/${other}/service-accounts/${theirs.id}`, undefined],
      ["POST", `/${other}/service-accounts/${theirs.id}/tokens`, {}],
      ["DELETE", `/${other}/service-accounts/${theirs.id}/tokens/${theirToken.id}`, undefined],
      ["POST", `/no-such-tenant/service-accounts`, { name: "planted" }],
    ] as const) {
      expectProblem(await as(token, method, path, body), 403, /cannot act on another tenant/);
    }
    // Through its own tenant's path, the other tenant's account does not exist.
    expectProblem(await as(token, "PATCH", `/${tenant}/service-accounts/${theirs.id}`, { name: "x" }), 404);
    expectProblem(await as(token, "POST", `/${tenant}/service-accounts/${theirs.id}/tokens`, {}), 404);
    expectProblem(await as(token, "DELETE", `/${tenant}/service-accounts/${theirs.id}/tokens/${theirToken.id}`), 404);
    expect((await admin("GET", `/${other}/service-accounts`)).json.results).toEqual([expect.objectContaining({ id: theirs.id, name: "theirs", tokens: [expect.objectContaining({ id: theirToken.id })] })]);
  });
});

describe("no token outlives or outranks its maker", () => {
  const ALL = ["CREATE", "READ", "UPDATE", "DELETE"];
  const PROVISIONER = { GROUPS: ALL, USERS: ["CREATE", "READ", "UPDATE"], BINDINGS: ALL };

  /** A service account with these tenant-wide grants (plus namespaced ones) and a token, expiring at `expiresAt` if given. */
  async function caller(tenant: string, permissions: Record<string, string[]>, options: { expiresAt?: number; namespaced?: [string, Record<string, string[]>][] } = {}) {
    const account = await newAccount(tenant, { name: `caller-${crypto.randomUUID().slice(0, 8)}` });
    await grant(tenant, account.id, permissions);
    for (const [namespace, more] of options.namespaced ?? []) await grant(tenant, account.id, more, namespace);
    const token = await mint(tenant, account.id, options.expiresAt === undefined ? {} : { expiresAt: new Date(options.expiresAt).toISOString() });
    return { id: account.id as string, token: token.secretToken as string };
  }

  const integrationCount = async (tenant: string) => (await admin("GET", `/${tenant}/integrations`)).json.results.length;

  it("an expiring token cannot create an integration, whose token never expires (403, nothing created); one without expiry can", async () => {
    const tenant = await newTenant();
    const until = Date.now() + 3 * DAY;
    const expiring = await caller(tenant, { INTEGRATIONS: ALL, ...PROVISIONER }, { expiresAt: until });
    const refused = await as(expiring.token, "POST", `/${tenant}/integrations`, { name: "okta" });
    expectProblem(refused, 403, /would never expire, and a token must expire no later than the token that makes it/);
    expect(refused.json.detail).toContain(new Date(until).toISOString());
    expect(refused.json.callerExpiresAt).toBe(new Date(until).toISOString());
    expect(await integrationCount(tenant)).toBe(0);

    const lasting = await caller(tenant, { INTEGRATIONS: ALL, ...PROVISIONER });
    const created = await as(lasting.token, "POST", `/${tenant}/integrations`, { name: "okta" });
    expect(created.status).toBe(201);
    expect((await admin("GET", `/${tenant}/service-accounts/${created.json.serviceAccountId}`)).json.tokens).toEqual([expect.objectContaining({ expiresAt: null })]);
  });

  it("an expiring token cannot rotate an integration's token (403, the old token keeps working); one without expiry can", async () => {
    const i = await newIntegration();
    const expiring = await caller(i.tenant, { INTEGRATIONS: ALL, ...PROVISIONER }, { expiresAt: Date.now() + DAY });
    expectProblem(await as(expiring.token, "POST", `/${i.tenant}/integrations/${i.id}/token`), 403, /its new token would never expire/);
    expect((await scim(i, "GET", "/Users")).status).toBe(200);
    // Changing the integration mints nothing: the expiry does not matter there.
    expect((await as(expiring.token, "PATCH", `/${i.tenant}/integrations/${i.id}`, { description: "by an expiring token" })).status).toBe(200);

    const lasting = await caller(i.tenant, { INTEGRATIONS: ALL, ...PROVISIONER });
    const rotated = await as(lasting.token, "POST", `/${i.tenant}/integrations/${i.id}/token`);
    expect(rotated.status).toBe(200);
    expect((await scim(i, "GET", "/Users")).status).toBe(401);
  });

  it("a tenant-wide SERVICE_ACCOUNTS grant cannot reach an account holding more on a namespace (mint, change, delete, revoke)", async () => {
    const tenant = await newTenant();
    const manager = await caller(tenant, { SERVICE_ACCOUNTS: ALL });
    const prod = await newAccount(tenant, { name: "prod-deployer" });
    await grant(tenant, prod.id, { SECRETS: ["DELETE"] }, "prod");
    const prodToken = await mint(tenant, prod.id);
    for (const [method, path, body] of [
      ["POST", `/${tenant}/service-accounts/${prod.id}/tokens`, {}],
      ["PATCH", `/${tenant}/service-accounts/${prod.id}`, { name: "mine" }],
      ["DELETE", `/${tenant}/service-accounts/${prod.id}`, undefined],
      ["DELETE", `/${tenant}/service-accounts/${prod.id}/tokens/${prodToken.id}`, undefined],
    ] as const) {
      expectProblem(await as(manager.token, method, path, body), 403, /carries SECRETS:DELETE on namespace 'prod', which this service account does not hold/);
    }
    expect((await admin("GET", `/${tenant}/service-accounts/${prod.id}`)).json).toMatchObject({ name: "prod-deployer", tokens: [{ id: prodToken.id }] });
    // The admin token is not limited.
    expect((await admin("POST", `/${tenant}/service-accounts/${prod.id}/tokens`, {})).status).toBe(201);
  });

  it("compares namespaces as authorization does: a.b covers a.b and a.b.*, not a.bc nor tenant-wide", async () => {
    const tenant = await newTenant();
    const manager = await caller(tenant, { SERVICE_ACCOUNTS: ALL }, { namespaced: [["prod", { SECRETS: ["DELETE"] }]] });
    const cases: [string | undefined, number][] = [
      ["prod", 201],
      ["prod.eu", 201],
      ["prod.eu.west", 201],
      ["production", 403],
      ["pro", 403],
      ["staging", 403],
      [undefined, 403], // tenant-wide is more than a namespace
    ];
    for (const [namespace, status] of cases) {
      const target = await newAccount(tenant, { name: `on-${namespace ?? "tenant"}` });
      await grant(tenant, target.id, { SECRETS: ["DELETE"] }, namespace);
      const res = await as(manager.token, "POST", `/${tenant}/service-accounts/${target.id}/tokens`, {});
      expect(res.status, `SECRETS:DELETE on ${namespace ?? "the whole tenant"}`).toBe(status);
      if (status === 403) expect(res.json.detail).toContain(namespace ? `SECRETS:DELETE on namespace '${namespace}'` : "carries SECRETS:DELETE,");
    }
    // A tenant-wide grant covers every namespace.
    const wide = await caller(tenant, { SERVICE_ACCOUNTS: ALL, SECRETS: ["DELETE"] });
    const deep = await newAccount(tenant, { name: "deep" });
    await grant(tenant, deep.id, { SECRETS: ["DELETE"] }, "any.where");
    expect((await as(wide.token, "POST", `/${tenant}/service-accounts/${deep.id}/tokens`, {})).status).toBe(201);
  });

  it("an integration whose account holds more on a namespace cannot be rotated, changed or deleted", async () => {
    const i = await newIntegration();
    await grant(i.tenant, i.serviceAccountId, { SECRETS: ["READ"] }, "prod.eu");
    const operator = await caller(i.tenant, { INTEGRATIONS: ALL, ...PROVISIONER });
    for (const [method, path, body] of [
      ["POST", `/${i.tenant}/integrations/${i.id}/token`, undefined],
      ["PATCH", `/${i.tenant}/integrations/${i.id}`, { enabled: false }],
      ["DELETE", `/${i.tenant}/integrations/${i.id}`, undefined],
    ] as const) {
      expectProblem(await as(operator.token, method, path, body), 403, /Integration 'Entra ID' carries SECRETS:READ on namespace 'prod.eu'/);
    }
    expect((await scim(i, "GET", "/Users")).status).toBe(200);
    // Holding it on a covering namespace is enough.
    const covering = await caller(i.tenant, { INTEGRATIONS: ALL, ...PROVISIONER }, { namespaced: [["prod", { SECRETS: ["READ"] }]] });
    expect((await as(covering.token, "POST", `/${i.tenant}/integrations/${i.id}/token`)).status).toBe(200);
  });
});

describe("audit", () => {
  it("records every write with the admin as actor, never a secret; an unchanged PATCH records nothing", async () => {
    const tenant = await newTenant();
    const account = await newAccount(tenant, { name: "audited", description: "first" });
    await admin("PATCH", `/${tenant}/service-accounts/${account.id}`, { description: "second" });
    await admin("PATCH", `/${tenant}/service-accounts/${account.id}`, { description: "second" });
    const expiresAt = new Date(Date.now() + DAY).toISOString();
    const token = await mint(tenant, account.id, { expiresAt });
    await admin("DELETE", `/${tenant}/service-accounts/${account.id}/tokens/${token.id}`);
    await admin("DELETE", `/${tenant}/service-accounts/${account.id}`);

    const all = (await admin("GET", `/${tenant}/audit-logs`)).json.results.filter((e: { resourceType: string }) => e.resourceType !== "TENANT");
    expect(all.map((e: { resourceType: string; action: string }) => `${e.resourceType}:${e.action}`)).toEqual([
      "SERVICE_ACCOUNT:DELETE",
      "API_TOKEN:DELETE",
      "API_TOKEN:CREATE",
      "SERVICE_ACCOUNT:UPDATE",
      "SERVICE_ACCOUNT:CREATE",
    ]);
    expect(all.every((e: { actor: unknown; outcome: string }) => JSON.stringify(e.actor) === '{"type":"ADMIN","id":null}' && e.outcome === "SUCCESS")).toBe(true);
    const [deleted, , minted, updated, created] = all;
    expect(created.diff).toEqual({ name: { after: "audited" }, description: { after: "first" } });
    expect(updated.diff).toEqual({ description: { before: "first", after: "second" } });
    expect(minted).toMatchObject({ resourceId: token.id, diff: { serviceAccountId: { after: account.id }, expiresAt: { after: expiresAt } } });
    expect(deleted).toMatchObject({ resourceId: account.id, diff: { name: { before: "audited" }, description: { before: "second" } } });
    const text = JSON.stringify(all);
    expect(text).not.toContain(token.secretToken);
    expect(text).not.toMatch(/[0-9a-f]{64}/);
  });
});
