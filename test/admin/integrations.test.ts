import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/auth/tokens";
import { createDb } from "../../src/db/client";
import { apiTokens, auditEvents, bindings, integrations, rolePermissions, roles, serviceAccounts } from "../../src/db/schema";
import { admin, ADMIN_TOKEN, fetchWithEnv, newIntegration, newTenant, ORIGIN } from "../support/helpers";

const db = createDb(env.DB);

const createIntegrationRequest = (tenant: string) =>
  new Request(`${ORIGIN}/api/v1/${tenant}/integrations`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name: "x" }),
  });

describe("admin API: creating an integration", () => {
  it("returns the Kestra fields, the endpoint and the secret token once", async () => {
    const tenant = await newTenant();
    const res = await admin("POST", `/${tenant}/integrations`, { name: "Entra ID", description: "Prod directory" });
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.json).toEqual({
      id: expect.any(String),
      tenant,
      name: "Entra ID",
      description: "Prod directory",
      provisioningType: "SCIM_2_0",
      enabled: true,
      endpoint: `${ORIGIN}/api/v1/${tenant}/integrations/${res.json.id}/scim/v2`,
      secretToken: expect.stringMatching(/^[A-Za-z0-9_-]{200}$/),
      serviceAccountId: expect.any(String),
      roleId: expect.any(String),
      problems: [],
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const read = await admin("GET", `/${tenant}/integrations/${res.json.id}`);
    expect(read.status).toBe(200);
    expect(read.json.secretToken).toBeUndefined();
    const { secretToken: _, ...withoutSecret } = res.json;
    expect(read.json).toEqual(withoutSecret);
  });

  it("creates the SCIMProvisioner role once, a service account, its binding and a hashed token", async () => {
    const tenant = await newTenant();
    const first = await admin("POST", `/${tenant}/integrations`, { name: "one" });
    const second = await admin("POST", `/${tenant}/integrations`, { name: "two", enabled: false });
    expect(second.json.enabled).toBe(false);
    expect(second.json.roleId).toBe(first.json.roleId);

    const tenantRoles = await db.select().from(roles).where(eq(roles.tenantId, tenant));
    expect(tenantRoles.map((r) => r.name)).toEqual(["SCIMProvisioner"]);
    const permissions = await db.select().from(rolePermissions).where(eq(rolePermissions.roleId, first.json.roleId));
    const pairs = permissions.map((p) => `${p.resource}:${p.action}`).sort();
    expect(pairs).toEqual(
      [
        "BINDINGS:CREATE", "BINDINGS:DELETE", "BINDINGS:READ", "BINDINGS:UPDATE",
        "GROUPS:CREATE", "GROUPS:DELETE", "GROUPS:READ", "GROUPS:UPDATE",
        "USERS:CREATE", "USERS:READ", "USERS:UPDATE",
      ].sort(),
    );

    for (const created of [first.json, second.json]) {
      const account = await db.select().from(serviceAccounts).where(eq(serviceAccounts.id, created.serviceAccountId)).get();
      expect(account?.tenantId).toBe(tenant);
      const bound = await db
        .select()
        .from(bindings)
        .where(and(eq(bindings.subjectType, "SERVICE_ACCOUNT"), eq(bindings.subjectId, created.serviceAccountId)));
      expect(bound).toHaveLength(1);
      expect(bound[0]!.roleId).toBe(first.json.roleId);
      const tokens = await db.select().from(apiTokens).where(eq(apiTokens.serviceAccountId, created.serviceAccountId));
      expect(tokens).toHaveLength(1);
      expect(tokens[0]!.tokenHash).toBe(await sha256Hex(created.secretToken));
      expect(tokens[0]!.lastFour).toBe(created.secretToken.slice(-4));
      // The secret itself is stored nowhere.
      const dump = JSON.stringify(await db.select().from(apiTokens)) + JSON.stringify(await db.select().from(auditEvents));
      expect(dump).not.toContain(created.secretToken);
    }
  });

  it("keeps one SCIMProvisioner when a tenant's first integrations are created concurrently", async () => {
    const tenant = await newTenant();
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => admin("POST", `/${tenant}/integrations`, { name: `n${i}` })),
    );
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    expect(new Set(results.map((r) => r.json.roleId)).size).toBe(1);
    const tenantRoles = await db.select().from(roles).where(eq(roles.tenantId, tenant));
    expect(tenantRoles).toHaveLength(1);
    expect(await db.select().from(rolePermissions).where(eq(rolePermissions.roleId, tenantRoles[0]!.id))).toHaveLength(11);
  });

  it("validates the body", async () => {
    const tenant = await newTenant();
    for (const body of [{}, { name: "" }, { name: "  " }, { name: "x", provisioningType: "LDAP" }, { name: "x", enabled: "yes" }, { name: 1 }, { name: "x", extra: 1 }]) {
      const res = await admin("POST", `/${tenant}/integrations`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(res.json.detail).toBeTruthy();
    }
    const wrongType = await admin("POST", `/${tenant}/integrations`, { name: "x", provisioningType: "LDAP" });
    expect(wrongType.json.detail).toContain("SCIM_2_0");
  });

  it("answers 404 for an unknown tenant or integration", async () => {
    expect((await admin("POST", "/ghost/integrations", { name: "x" })).status).toBe(404);
    expect((await admin("GET", "/ghost/integrations")).status).toBe(404);
    const tenant = await newTenant();
    for (const [method, path] of [
      ["GET", "/nope"],
      ["PATCH", "/nope"],
      ["DELETE", "/nope"],
      ["POST", "/nope/token"],
    ] as const) {
      const res = await admin(method, `/${tenant}/integrations${path}`, method === "PATCH" ? { enabled: false } : undefined);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.json.detail).toContain("nope");
    }
  });

  it("does not show one tenant's integration under another tenant", async () => {
    const integration = await newIntegration();
    const other = await newTenant();
    expect((await admin("GET", `/${other}/integrations/${integration.id}`)).status).toBe(404);
    expect((await admin("DELETE", `/${other}/integrations/${integration.id}`)).status).toBe(404);
    expect((await admin("GET", `/${integration.tenant}/integrations/${integration.id}`)).status).toBe(200);
  });

  it("uses PUBLIC_URL for the endpoint when it is set", async () => {
    const tenant = await newTenant();
    const response = await fetchWithEnv(createIntegrationRequest(tenant), { PUBLIC_URL: "https://scim.example.com/" });
    const body = (await response.json()) as { id: string; endpoint: string };
    expect(body.endpoint).toBe(`https://scim.example.com/api/v1/${tenant}/integrations/${body.id}/scim/v2`);
  });
});

describe("admin API: managing integrations", () => {
  it("lists a tenant's integrations with paging", async () => {
    const tenant = await newTenant();
    for (const name of ["a", "b", "c"]) await admin("POST", `/${tenant}/integrations`, { name });
    const page1 = await admin("GET", `/${tenant}/integrations?limit=2`);
    expect(page1.json.results.map((i: { name: string }) => i.name)).toEqual(["a", "b"]);
    expect(page1.json.results[0].secretToken).toBeUndefined();
    const page2 = await admin("GET", `/${tenant}/integrations?limit=2&cursor=${page1.json.nextCursor}`);
    expect(page2.json.results.map((i: { name: string }) => i.name)).toEqual(["c"]);
    expect(page2.json.nextCursor).toBeUndefined();
  });

  it("updates name, description and enabled, and audits the change", async () => {
    const integration = await newIntegration();
    const path = `/${integration.tenant}/integrations/${integration.id}`;
    const res = await admin("PATCH", path, { name: "Renamed", description: null, enabled: false });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ name: "Renamed", description: null, enabled: false });
    expect(Date.parse(res.json.updatedAt)).toBeGreaterThanOrEqual(Date.parse(res.json.createdAt));
    expect((await admin("PATCH", path, {})).status).toBe(400);
    expect((await admin("PATCH", path, { provisioningType: "SCIM_2_0" })).status).toBe(400);
    const events = await db.select().from(auditEvents).where(eq(auditEvents.integrationId, integration.id));
    const update = events.find((e) => e.action === "UPDATE");
    expect(update?.diff).toEqual({ name: { before: "Entra ID", after: "Renamed" }, enabled: { before: true, after: false } });
    expect(update?.actorType).toBe("ADMIN");
  });

  it("rotates the token and deletes the integration with its account, tokens and binding", async () => {
    const integration = await newIntegration();
    const path = `/${integration.tenant}/integrations/${integration.id}`;
    const rotated = await admin("POST", `${path}/token`);
    expect(rotated.status).toBe(200);
    expect(Object.keys(rotated.json)).toEqual(["secretToken"]);
    expect(rotated.json.secretToken).toMatch(/^[A-Za-z0-9_-]{200}$/);
    expect(rotated.json.secretToken).not.toBe(integration.token);

    const deleted = await admin("DELETE", path);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe("");
    expect((await admin("GET", path)).status).toBe(404);
    expect(await db.select().from(integrations).where(eq(integrations.id, integration.id))).toHaveLength(0);
    expect(await db.select().from(serviceAccounts).where(eq(serviceAccounts.id, integration.serviceAccountId))).toHaveLength(0);
    expect(await db.select().from(apiTokens).where(eq(apiTokens.serviceAccountId, integration.serviceAccountId))).toHaveLength(0);
    expect(await db.select().from(bindings).where(eq(bindings.subjectId, integration.serviceAccountId))).toHaveLength(0);
    // The tenant's role stays for the other integrations.
    expect(await db.select().from(roles).where(eq(roles.id, integration.roleId))).toHaveLength(1);
    expect((await admin("DELETE", path)).status).toBe(404);
  });

  it("refuses to create integrations when multi-tenancy is disabled", async () => {
    const tenant = await newTenant();
    const response = await fetchWithEnv(createIntegrationRequest(tenant), { TENANTS_ENABLED: "false" });
    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    const body = (await response.json()) as { detail: string };
    expect(body.detail).toMatch(/multi-tenancy/);
    expect(body.detail).toContain("TENANTS_ENABLED");
    expect(body.detail).not.toMatch(/kestra/i);
    expect((await admin("GET", `/${tenant}/integrations`)).json.results).toEqual([]);
  });
});
