/**
 * Moving a tenant between shards: everything survives (ids, versions, memberships, bindings,
 * tokens, declarations, audit), writes during the copy are refused with 503 and never lost, a
 * move interrupted anywhere resumes, and the old shard is emptied.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createDb } from "../../src/db/client";
import { forgetPlacement, placementOf } from "../../src/db/shards";
import { advanceMove, CHUNK_ROWS, countTenantRows, recordMoveError, startMove, type MoveStores } from "../../src/iam/tenant-moves";
import { admin, newIntegration, scim, type TestIntegration } from "../support/helpers";

const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";
const d1 = (name: string) => (env as unknown as Record<string, D1Database>)[name]!;
const stores: MoveStores = { directory: createDb(env.DB), shard: (name) => createDb(d1(name)) };
const SHARDS = ["SHARD_1", "SHARD_2", "SHARD_3"];

/** A tenant on `shard` with users, a group with members, a binding, and audit events. */
async function populated(shard: string, users = 5): Promise<{ integration: TestIntegration; userIds: string[]; groupId: string }> {
  const id = `mv-${crypto.randomUUID().slice(0, 8)}`;
  expect((await admin("POST", "/tenants", { id, shard })).status).toBe(201);
  const integration = await newIntegration(id);
  const userIds: string[] = [];
  for (let i = 0; i < users; i++) {
    const res = await scim(integration, "POST", "/Users", {
      schemas: [USER],
      userName: `${id}-u${i}@example.com`,
      emails: [{ value: `${id}-u${i}@example.com`, type: "work", primary: true }],
    });
    expect(res.status, res.text).toBe(201);
    userIds.push(res.json.id);
  }
  const group = await scim(integration, "POST", "/Groups", { schemas: [GROUP], displayName: "Engineering", members: userIds.map((value) => ({ value })) });
  expect(group.status, group.text).toBe(201);
  return { integration, userIds, groupId: group.json.id };
}

/** Everything a client can read of the tenant, to compare before and after. */
async function snapshot(integration: TestIntegration) {
  const users = await scim(integration, "GET", "/Users?count=200");
  const groups = await scim(integration, "GET", "/Groups?count=200");
  const bindings = await admin("GET", `/${integration.tenant}/bindings`);
  const audit = await admin("GET", `/${integration.tenant}/audit-logs?limit=200`);
  for (const res of [users, groups, bindings, audit]) expect(res.status, res.text).toBe(200);
  return {
    users: (users.json.Resources as { id: string; meta: { version: string }; userName: string }[]).map((u) => [u.id, u.userName, u.meta.version]).sort(),
    groups: (groups.json.Resources as { id: string; meta: { version: string }; members?: { value: string }[] }[])
      .map((g) => [g.id, g.meta.version, (g.members ?? []).map((m) => m.value).sort()])
      .sort(),
    bindings: (bindings.json.results as { id: string }[]).map((b) => b.id).sort(),
    audit: (audit.json.results as { id: string }[]).map((e) => e.id).sort(),
  };
}

async function runToEnd(tenantId: string, budget?: number): Promise<string> {
  for (let i = 0; i < 500; i++) {
    const result = await advanceMove(stores, tenantId, { budget, settleMs: 0, graceMs: 0 });
    if (result.step === "done" || result.step === "failed") return result.step;
  }
  throw new Error("the move did not end");
}

describe("moving a tenant", () => {
  it("moves over the admin API and keeps ids, versions, memberships, bindings, tokens and the audit log", async () => {
    const { integration } = await populated("SHARD_1");
    const before = await snapshot(integration);
    const started = await admin("POST", `/tenants/${integration.tenant}/move`, { shard: "SHARD_2" });
    expect(started.status, started.text).toBe(202);
    expect(started.json.moving).toMatchObject({ to: "SHARD_2" });
    // The tenant's mover runs on its alarm; the test only waits for it to say it is done.
    await vi.waitFor(
      async () => {
        const tenant = await admin("GET", `/tenants/${integration.tenant}`);
        expect(tenant.json).toMatchObject({ shard: "SHARD_2", moving: null });
      },
      { timeout: 25_000, interval: 100 },
    );
    forgetPlacement(integration.tenant);
    const after = await snapshot(integration);
    expect(after.users).toEqual(before.users);
    expect(after.groups).toEqual(before.groups);
    expect(after.bindings).toEqual(before.bindings);
    // The move itself is one more audit event.
    expect(after.audit.filter((id) => !before.audit.includes(id))).toHaveLength(1);
    expect(after.audit).toEqual(expect.arrayContaining(before.audit));
    // The old shard keeps the tenant's row alone, pointing at the new home.
    const left = await countTenantRows(stores.shard("SHARD_1"), integration.tenant);
    expect(Object.values(left).every((n) => n === 0)).toBe(true);
    expect(await d1("SHARD_1").prepare("select shard, frozen from tenants where id = ?").bind(integration.tenant).first()).toEqual({ shard: "SHARD_2", frozen: 1 });
    // The integration's token still works, and writes go to the new shard.
    const created = await scim(integration, "POST", "/Users", { schemas: [USER], userName: `${integration.tenant}-after@example.com` });
    expect(created.status, created.text).toBe(201);
    expect((await countTenantRows(stores.shard("SHARD_2"), integration.tenant)).tenant_users).toBe(before.users.length + 1);
    // One move at a time, and not to where it is.
    expect((await admin("POST", `/tenants/${integration.tenant}/move`, { shard: "SHARD_2" })).status).toBe(409);
    expect((await admin("POST", `/tenants/${integration.tenant}/move`, { shard: "SHARD_7" })).status).toBe(400);
  });

  it("refuses writes with 503 and Retry-After while frozen, loses none it acknowledged, and reads go on", async () => {
    const { integration, userIds, groupId } = await populated("SHARD_1");
    expect(await startMove(stores.directory, { tenantId: integration.tenant, to: "SHARD_3", shards: SHARDS })).toBeUndefined();
    // The freeze step only: the tenant is frozen on its old shard, nothing copied yet.
    await advanceMove(stores, integration.tenant, { budget: 1, settleMs: 0, graceMs: 0 });
    const write = await scim(integration, "POST", "/Users", { schemas: [USER], userName: `${integration.tenant}-during@example.com` });
    expect(write.status).toBe(503);
    expect(write.headers.get("Retry-After")).toBe("5");
    expect(write.json.schemas).toContain("urn:ietf:params:scim:api:messages:2.0:Error");
    const patch = await scim(integration, "PATCH", `/Groups/${groupId}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "remove", path: `members[value eq "${userIds[0]}"]` }],
    });
    expect(patch.status).toBe(503);
    const adminWrite = await admin("POST", `/${integration.tenant}/roles`, { name: "Viewer", permissions: { USERS: ["READ"] } });
    expect(adminWrite.status).toBe(503);
    expect(adminWrite.headers.get("Content-Type")).toContain("application/problem+json");
    // Reads are served from the old shard meanwhile.
    expect((await scim(integration, "GET", `/Users/${userIds[0]}`)).status).toBe(200);
    expect((await runToEnd(integration.tenant))).toBe("done");
    forgetPlacement(integration.tenant);
    // Nothing refused was applied; the retry lands on the new shard.
    expect((await scim(integration, "GET", `/Groups/${groupId}`)).json.members).toHaveLength(userIds.length);
    const retried = await scim(integration, "POST", "/Users", { schemas: [USER], userName: `${integration.tenant}-during@example.com` });
    expect(retried.status).toBe(201);
  });

  it("freezes nothing until placements cached before the move have expired, and never caches a moving tenant's", async () => {
    const { integration } = await populated("SHARD_1", 1);
    const tenant = integration.tenant;
    forgetPlacement(tenant);
    // An isolate reads the placement before the move starts, and keeps it.
    expect(await placementOf(env, stores.directory, tenant)).toEqual({ shard: "SHARD_1", moveTo: null });
    const startedAt = Date.now();
    expect(await startMove(stores.directory, { tenantId: tenant, to: "SHARD_2", shards: SHARDS })).toBeUndefined();
    expect(await placementOf(env, stores.directory, tenant)).toEqual({ shard: "SHARD_1", moveTo: null });
    // The move waits that entry out before it freezes: writes go on meanwhile.
    const waiting = await advanceMove(stores, tenant, { settleMs: 60_000, graceMs: 0 });
    expect(waiting.step).toBe("settle");
    expect(waiting.waitUntil).toBeGreaterThanOrEqual(startedAt + 60_000);
    const during = await scim(integration, "POST", "/Users", { schemas: [USER], userName: `${tenant}-settling@example.com` });
    expect(during.status, during.text).toBe(201);
    // Read once the entry expired, a moving tenant's placement is not kept: the switch reaches
    // this isolate on its very next request, with nothing forgotten by hand.
    forgetPlacement(tenant);
    expect(await placementOf(env, stores.directory, tenant)).toEqual({ shard: "SHARD_1", moveTo: "SHARD_2" });
    const setMoveTo = (to: string) => env.DB.prepare("update tenants set move_to = ? where id = ?").bind(to, tenant).run();
    await setMoveTo("SHARD_3");
    expect(await placementOf(env, stores.directory, tenant)).toEqual({ shard: "SHARD_1", moveTo: "SHARD_3" });
    await setMoveTo("SHARD_2");
    expect(await runToEnd(tenant)).toBe("done");
    expect(await placementOf(env, stores.directory, tenant)).toEqual({ shard: "SHARD_2", moveTo: null });
    const users = await scim(integration, "GET", "/Users?count=10");
    expect(users.json.totalResults).toBe(2);
  });

  it("resumes a move interrupted anywhere, redoing a chunk whose progress was lost, and copies every row once", async () => {
    const { integration } = await populated("SHARD_2", 12);
    const before = await snapshot(integration);
    const counts = await countTenantRows(stores.shard("SHARD_2"), integration.tenant);
    expect(await startMove(stores.directory, { tenantId: integration.tenant, to: "SHARD_1", shards: SHARDS })).toBeUndefined();
    // Small steps: each call is a crash point after it (the next call starts from the directory).
    let steps = 0;
    let rewound = false;
    for (;;) {
      const result = await advanceMove(stores, integration.tenant, { budget: 3, settleMs: 0, graceMs: 0 });
      steps++;
      const row = await env.DB.prepare("select move_state from tenants where id = ?").bind(integration.tenant).first<{ move_state: string }>();
      const state = JSON.parse(row!.move_state) as { step: string; table?: number; cursor?: unknown };
      // Once, mid-copy: lose the last saved cursor, as if a crash hit between a chunk's batch
      // and its progress; the chunk is copied again.
      if (!rewound && state.step === "copy" && state.table === 2) {
        rewound = true;
        await env.DB.prepare("update tenants set move_state = ? where id = ?")
          .bind(JSON.stringify({ ...state, table: 1, cursor: null }), integration.tenant)
          .run();
      }
      if (result.step === "done" || result.step === "failed") {
        expect(result.step).toBe("done");
        break;
      }
      expect(steps).toBeLessThan(500);
    }
    expect(rewound).toBe(true);
    expect(await countTenantRows(stores.shard("SHARD_1"), integration.tenant)).toEqual({ ...counts, audit_events: counts.audit_events! + 1 });
    forgetPlacement(integration.tenant);
    expect(await snapshot(integration)).toMatchObject({ users: before.users, groups: before.groups, bindings: before.bindings });
    expect(Object.values(await countTenantRows(stores.shard("SHARD_2"), integration.tenant)).every((n) => n === 0)).toBe(true);
  });

  it("moves a tenant larger than one chunk, and keeps identities other tenants on the old shard still use", async () => {
    const { integration } = await populated("SHARD_3", 3);
    // A neighbour on the old shard shares one of the identities.
    const neighbour = await newIntegration((await admin("POST", "/tenants", { id: `nb-${crypto.randomUUID().slice(0, 8)}`, shard: "SHARD_3" })).json.id);
    const shared = await scim(neighbour, "POST", "/Users", { schemas: [USER], userName: `${integration.tenant}-u0@example.com` });
    expect(shared.status).toBe(201);
    // Enough audit events for several chunks.
    const events = Array.from({ length: CHUNK_ROWS + 50 }, (_, i) => i);
    const insert = d1("SHARD_3").prepare(
      "insert into audit_events (id, tenant_id, actor_type, action, resource_type, resource_id, outcome, created_at) values (?, ?, 'ADMIN', 'UPDATE', 'TENANT', ?, 'SUCCESS', ?)",
    );
    for (let i = 0; i < events.length; i += 50) {
      await d1("SHARD_3").batch(events.slice(i, i + 50).map((n) => insert.bind(`zz-${n.toString().padStart(5, "0")}`, integration.tenant, integration.tenant, 1)));
    }
    const counts = await countTenantRows(stores.shard("SHARD_3"), integration.tenant);
    expect(await startMove(stores.directory, { tenantId: integration.tenant, to: "SHARD_1", shards: SHARDS })).toBeUndefined();
    expect(await runToEnd(integration.tenant)).toBe("done");
    const moved = await countTenantRows(stores.shard("SHARD_1"), integration.tenant);
    expect(moved).toEqual({ ...counts, audit_events: counts.audit_events! + 1 });
    const progress = await env.DB.prepare("select move_copied, move_total from tenants where id = ?").bind(integration.tenant).first<{ move_copied: number; move_total: number }>();
    expect(progress!.move_copied).toBe(progress!.move_total);
    // The neighbour's view of the shared person is untouched, its identity copy kept.
    expect((await scim(neighbour, "GET", `/Users/${shared.json.id}`)).status).toBe(200);
    expect(await d1("SHARD_3").prepare("select count(*) as n from users where id = ?").bind(shared.json.id).first()).toEqual({ n: 1 });
  });

  it("fails a move whose copy does not match: the tenant stays home and writable, and the API says why, when and where", async () => {
    const { integration, userIds } = await populated("SHARD_2", 2);
    const tenant = integration.tenant;
    expect(await startMove(stores.directory, { tenantId: tenant, to: "SHARD_3", shards: SHARDS })).toBeUndefined();
    const stepOf = async () =>
      JSON.parse((await env.DB.prepare("select move_state from tenants where id = ?").bind(tenant).first<{ move_state: string }>())!.move_state).step as string;
    while ((await stepOf()) !== "switch") await advanceMove(stores, tenant, { budget: 1, settleMs: 0, graceMs: 0 });
    // A row lost on the way (as a copy chunk gone missing would be): the counts differ.
    await d1("SHARD_3").batch([
      d1("SHARD_3").prepare("insert into move_passes (id) values (1)"),
      d1("SHARD_3").prepare("delete from tenant_users where tenant_id = ? and user_id = ?").bind(tenant, userIds[0]),
      d1("SHARD_3").prepare("delete from move_passes"),
    ]);
    const failedAt = Date.now();
    expect((await advanceMove(stores, tenant, { settleMs: 0, graceMs: 0 })).step).toBe("failed");
    const shown = await admin("GET", `/tenants/${tenant}`);
    expect(shown.json).toMatchObject({ shard: "SHARD_2", moving: null, lastMoveTo: "SHARD_3" });
    expect(shown.json.lastMoveFailed).toContain("tenant_users 1 of 2");
    expect(Date.parse(shown.json.lastMoveFailedAt)).toBeGreaterThanOrEqual(failedAt - 1000);
    forgetPlacement(tenant);
    const after = await scim(integration, "POST", "/Users", { schemas: [USER], userName: `${tenant}-after-failure@example.com` });
    expect(after.status, after.text).toBe(201);
    // A later move starts afresh and clears what the failed one left on the target.
    expect(await startMove(stores.directory, { tenantId: tenant, to: "SHARD_3", shards: SHARDS })).toBeUndefined();
    expect(await runToEnd(tenant)).toBe("done");
    expect((await countTenantRows(stores.shard("SHARD_3"), tenant)).tenant_users).toBe(3);
  });

  it("shows a step's error while the mover retries it, and counts a switched tenant once on its new shard", async () => {
    const { integration } = await populated("SHARD_1", 1);
    const tenant = integration.tenant;
    expect(await startMove(stores.directory, { tenantId: tenant, to: "SHARD_2", shards: SHARDS })).toBeUndefined();
    const loads = async () => (await admin("GET", "/shards")).json.shards as { name: string; tenants: number; arriving: number }[];
    const arrivingBefore = (await loads()).find((l) => l.name === "SHARD_2")!.arriving;
    expect(arrivingBefore).toBeGreaterThanOrEqual(1);
    await recordMoveError(stores.directory, tenant, "Error: D1 is overloaded");
    const retrying = await admin("GET", `/tenants/${tenant}`);
    expect(retrying.json.moving).toMatchObject({ from: "SHARD_1", to: "SHARD_2", step: "settle", lastError: { message: "Error: D1 is overloaded" } });
    // Up to the grace: switched, the old shard still whole.
    const result = await advanceMove(stores, tenant, { settleMs: 0, graceMs: 60_000 });
    expect(result.step).toBe("grace");
    const switched = await admin("GET", `/tenants/${tenant}`);
    expect(switched.json).toMatchObject({ shard: "SHARD_2", moving: { from: "SHARD_1", to: "SHARD_2", step: "grace", lastError: null } });
    // Home on SHARD_2 now, no longer arriving there.
    expect((await loads()).find((l) => l.name === "SHARD_2")!.arriving).toBe(arrivingBefore - 1);
    expect(await runToEnd(tenant)).toBe("done");
  });
});
