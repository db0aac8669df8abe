/**
 * Tenants over three shards (the sharded project adds SHARD_1..3 beside the directory DB):
 * placement, where a tenant's data is stored, and one identity with private views across shards.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createDb } from "../../src/db/client";
import { tenantsOfEmail } from "../../src/iam/sign-in";
import { admin, newIntegration, scim } from "../support/helpers";

const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const shardDb = (name: string) => (env as unknown as Record<string, D1Database>)[name]!;
const count = async (db: D1Database, sql: string, ...params: unknown[]) =>
  Number((await db.prepare(sql).bind(...params).first<{ n: number }>())?.n ?? 0);

async function tenantOn(shard?: string): Promise<string> {
  const id = `t-${crypto.randomUUID().slice(0, 8)}`;
  const res = await admin("POST", "/tenants", shard ? { id, shard } : { id });
  expect(res.status, res.text).toBe(201);
  if (shard) expect(res.json.shard).toBe(shard);
  return id;
}

describe("placement", () => {
  it("spreads new tenants over the least loaded shards, and lists the shards with their counts", async () => {
    const before = (await admin("GET", "/shards")).json.shards as { name: string; tenants: number }[];
    expect(before.map((s) => s.name)).toEqual(["SHARD_1", "SHARD_2", "SHARD_3"]);
    const placed: string[] = [];
    for (let i = 0; i < 6; i++) {
      const id = `spread-${i}-${crypto.randomUUID().slice(0, 6)}`;
      const res = await admin("POST", "/tenants", { id });
      expect(res.status, res.text).toBe(201);
      placed.push(res.json.shard as string);
      expect((await admin("GET", `/tenants/${id}`)).json).toMatchObject({ id, shard: res.json.shard, moving: null });
    }
    const after = (await admin("GET", "/shards")).json.shards as { name: string; tenants: number; sizeBytes: number | null; directory: boolean }[];
    const counts = after.map((s) => s.tenants);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    expect(after.reduce((n, s) => n + s.tenants, 0)).toBe(before.reduce((n, s) => n + s.tenants, 0) + 6);
    expect(new Set(placed).size).toBe(3);
    for (const shard of after) {
      expect(shard.directory).toBe(false);
      expect(typeof shard.sizeBytes === "number" || shard.sizeBytes === null).toBe(true);
    }
  });

  it("places a tenant on the shard named, and refuses a shard that does not exist", async () => {
    await tenantOn("SHARD_2");
    const unknown = await admin("POST", "/tenants", { id: "nowhere", shard: "SHARD_9" });
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get("Content-Type")).toContain("application/problem+json");
    expect(unknown.json.detail).toContain("SHARD_9");
    expect((await admin("GET", "/tenants/nowhere")).status).toBe(404);
    expect((await admin("POST", "/tenants", { id: "DB-named", shard: "DB" })).status).toBe(400);
  });
});

describe("a tenant's data", () => {
  it("is stored in its shard's database only; the directory holds the tenant and the identity", async () => {
    const tenant = await tenantOn("SHARD_3");
    const integration = await newIntegration(tenant);
    const created = await scim(integration, "POST", "/Users", { schemas: [USER], userName: "only.here@example.com", name: { givenName: "Only" } });
    expect(created.status, created.text).toBe(201);
    const id = created.json.id as string;
    expect(await count(shardDb("SHARD_3"), "select count(*) as n from tenant_users where tenant_id = ?", tenant)).toBe(1);
    expect(await count(shardDb("SHARD_3"), "select count(*) as n from integrations where tenant_id = ?", tenant)).toBe(1);
    for (const other of ["SHARD_1", "SHARD_2"]) {
      expect(await count(shardDb(other), "select count(*) as n from tenant_users where tenant_id = ?", tenant)).toBe(0);
    }
    expect(await count(env.DB, "select count(*) as n from tenant_users")).toBe(0);
    expect(await count(env.DB, "select count(*) as n from integrations")).toBe(0);
    expect(await count(env.DB, "select count(*) as n from users where id = ?", id)).toBe(1);
    expect(await count(env.DB, "select count(*) as n from identity_links where user_id = ? and tenant_id = ?", id, tenant)).toBe(1);
    expect(await count(env.DB, "select count(*) as n from tenants where id = ? and shard = 'SHARD_3'", tenant)).toBe(1);
    // Reads, lists and filters are served from the shard.
    const listed = await scim(integration, "GET", `/Users?filter=${encodeURIComponent('userName eq "only.here@example.com"')}`);
    expect(listed.json.totalResults).toBe(1);
    expect((await admin("GET", `/${tenant}/users/${id}`)).json.userName).toBe("only.here@example.com");
  });
});

describe("identities across shards", () => {
  it("links the same person in tenants on two shards to one identity with two private views", async () => {
    const a = await newIntegration(await tenantOn("SHARD_1"));
    const b = await newIntegration(await tenantOn("SHARD_2"));
    const first = await scim(a, "POST", "/Users", { schemas: [USER], userName: "Ada@Example.com", name: { givenName: "Ada" }, title: "Engineer" });
    const second = await scim(b, "POST", "/Users", { schemas: [USER], userName: "ada@example.com", name: { givenName: "Augusta" } });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.json.id).toBe(first.json.id);
    // Each tenant sees only what it provisioned.
    expect(second.json.title).toBeUndefined();
    expect((await scim(b, "GET", `/Users/${first.json.id}`)).json.name.givenName).toBe("Augusta");
    expect((await scim(a, "GET", `/Users/${first.json.id}`)).json.name.givenName).toBe("Ada");
    // The operator's view fans out to both shards.
    const global = await admin("GET", `/users/${first.json.id}`);
    expect(global.status).toBe(200);
    expect(global.json.userName).toBe("Ada@Example.com");
    expect((global.json.tenants as { tenant: string }[]).map((t) => t.tenant).sort()).toEqual([a.tenant, b.tenant].sort());
  });

  it("decides a race for a new userName by the directory's unique key: every tenant gets the same id", async () => {
    const integrations = await Promise.all(["SHARD_1", "SHARD_2", "SHARD_3"].map(async (shard) => newIntegration(await tenantOn(shard))));
    const userName = `race-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const created = await Promise.all(integrations.map((i) => scim(i, "POST", "/Users", { schemas: [USER], userName })));
    expect(created.map((r) => r.status)).toEqual([201, 201, 201]);
    expect(new Set(created.map((r) => r.json.id)).size).toBe(1);
    expect(await count(env.DB, "select count(*) as n from users where user_name_key = ?", userName)).toBe(1);
    expect(await count(env.DB, "select count(*) as n from identity_links where user_id = ?", created[0]!.json.id)).toBe(3);
  });

  it("keeps a renamed-away identity private: the tenant that already holds the person under another name gets a new one", async () => {
    const a = await newIntegration(await tenantOn("SHARD_1"));
    const first = await scim(a, "POST", "/Users", { schemas: [USER], userName: "grace@example.com" });
    const renamed = await scim(a, "PATCH", `/Users/${first.json.id}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "replace", path: "userName", value: "grace.hopper@example.com" }],
    });
    expect(renamed.status, renamed.text).toBe(200);
    const again = await scim(a, "POST", "/Users", { schemas: [USER], userName: "grace@example.com" });
    expect(again.status).toBe(201);
    expect(again.json.id).not.toBe(first.json.id);
  });

  it("finds a person's tenants on every shard for Access sign-in", async () => {
    const email = `signin-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const tenants = [];
    for (const shard of ["SHARD_1", "SHARD_3"]) {
      const integration = await newIntegration(await tenantOn(shard));
      expect((await scim(integration, "POST", "/Users", { schemas: [USER], userName: email })).status).toBe(201);
      tenants.push(integration.tenant);
    }
    const stores = ["SHARD_1", "SHARD_2", "SHARD_3", "DB"].map((name) => ({ name, db: createDb(shardDb(name)) }));
    const found = await tenantsOfEmail(stores, email);
    expect(found.map((m) => m.tenantId).sort()).toEqual(tenants.sort());
  });

  it("keeps an integration's activity on its tenant's shard: refusals counted and tokens' last use", async () => {
    const integration = await newIntegration(await tenantOn("SHARD_2"));
    const refused = await scim({ ...integration, token: "not-the-token" }, "GET", "/Users");
    expect(refused.status).toBe(401);
    const refusals = "select count(*) as n from integration_refusals where integration_id = ?";
    await vi.waitFor(async () => expect(await count(shardDb("SHARD_2"), refusals, integration.id)).toBeGreaterThan(0));
    expect(await count(env.DB, refusals, integration.id)).toBe(0);
    expect((await scim(integration, "GET", "/Users")).status).toBe(200);
    const used = "select count(*) as n from api_tokens where service_account_id = ? and last_used_at is not null";
    await vi.waitFor(async () => expect(await count(shardDb("SHARD_2"), used, integration.serviceAccountId)).toBe(1));
  });
});
