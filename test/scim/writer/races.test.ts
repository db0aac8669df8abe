/**
 * Races, forced. Within one integration the Durable Object's queue serializes writes; across
 * integrations (different objects writing the same global user or tenant group) the version
 * guard and the unique indexes make the loser plan again. Deferred promises pin the
 * interleavings so that each test always takes the path it names.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb, type Db } from "../../../src/db/client";
import { users } from "../../../src/db/schema";
import { SerialQueue } from "../../../src/scim/writer/serial-queue";
import { getTenantUser, type TenantUser } from "../../../src/iam/user-reads";
import { createUser, updateUser } from "../../../src/iam/users";
import { getGroup } from "../../../src/iam/group-reads";
import { createGroup, updateGroup } from "../../../src/iam/groups";
import { userDoc, userFields } from "../../../src/scim/model/resources";
import { newIntegration, newTenant, scim } from "../../support/helpers";
import { deferred, pausingDb } from "../../support/pausing-db";

const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

const ctx = (tenantId: string) => ({ tenantId, actor: { type: "ADMIN" as const } });
const withProfile = (current: TenantUser, change: Record<string, unknown>) => userFields({ ...userDoc(current), ...change }, current.externalId);

describe("the queue", () => {
  it("starts a task only after the previous one settled, even while it awaits", async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    const gate = deferred();
    const first = queue.run(async () => {
      log.push("first:start");
      await gate.promise;
      log.push("first:end");
      return 1;
    });
    const second = queue.run(async () => {
      log.push("second:start");
      return 2;
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(log).toEqual(["first:start"]);
    expect(queue.size).toBe(2);
    gate.resolve();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(log).toEqual(["first:start", "first:end", "second:start"]);
    expect(queue.size).toBe(0);
  });

  it("keeps going after a failed task, and the failure reaches its caller", async () => {
    const queue = new SerialQueue();
    const failed = queue.run(async () => {
      throw new Error("boom");
    });
    const next = queue.run(async () => "ok");
    await expect(failed).rejects.toThrow("boom");
    expect(await next).toBe("ok");
  });
});

describe("across integrations (different Durable Objects)", () => {
  const db = createDb(env.DB);

  it("a write to a user's view that lost the race to another integration of the tenant plans again: nothing is lost", async () => {
    // Two integrations of one tenant are two Durable Objects writing the same view.
    const [a, b] = [await newTenant(), await newTenant()];
    const created = await createUser(db, ctx(a), userFields({ userName: "race-profile@example.com" }, null));
    if (created.kind !== "ok") throw new Error(created.detail);
    const id = created.user.id;
    await createUser(db, ctx(b), userFields({ userName: "race-profile@example.com", title: "B's own" }, null));

    const paused = pausingDb(db);
    const slow = updateUser(paused.db, ctx(a), { id, compute: (current) => withProfile(current, { title: "from A" }) });
    await paused.reached; // the first integration planned from version 1 and waits at its batch
    const fast = await updateUser(db, ctx(a), { id, compute: (current) => withProfile(current, { nickName: "from A too" }) });
    expect(fast.kind).toBe("ok");
    paused.release(); // the slow guarded batch now fails the version check, re-reads, re-plans
    expect((await slow).kind).toBe("ok");

    const final = await getTenantUser(db, a, id);
    expect(final?.profile).toMatchObject({ title: "from A", nickName: "from A too" });
    expect(final?.version).toBe(3); // create, the fast write, the re-planned write
    // The other tenant's view is its own: untouched by either write.
    const other = await getTenantUser(db, b, id);
    expect(other?.profile).toEqual({ title: "B's own" });
    expect(other?.version).toBe(1);
  });

  it("two tenants creating one new userName at once end with one global user", async () => {
    const [a, b] = [await newTenant(), await newTenant()];
    const paused = pausingDb(db);
    const slow = createUser(paused.db, ctx(a), userFields({ userName: "race-create@example.com", title: "A" }, "a"));
    await paused.reached; // A planned an insert of a new user and waits
    const fast = await createUser(db, ctx(b), userFields({ userName: "RACE-CREATE@example.com", title: "B" }, "b"));
    paused.release(); // A's insert hits the unique index, re-reads, and grants access instead
    const slowResult = await slow;
    if (fast.kind !== "ok" || slowResult.kind !== "ok") throw new Error("both creates must succeed");
    expect(slowResult.user.id).toBe(fast.user.id);
    expect(await db.select().from(users).where(eq(users.userNameKey, "race-create@example.com"))).toHaveLength(1);
    expect(slowResult.user.externalId).toBe("a");
  });

  it("a group rename that lost the race to another rename plans again; member adds are never lost", async () => {
    const tenant = await newTenant();
    const u1 = await createUser(db, ctx(tenant), userFields({ userName: "race-m1@example.com" }, null));
    const u2 = await createUser(db, ctx(tenant), userFields({ userName: "race-m2@example.com" }, null));
    if (u1.kind !== "ok" || u2.kind !== "ok") throw new Error("setup");
    const group = await createGroup(db, ctx(tenant), { displayName: "Race", externalId: null, memberIds: [] });
    if (group.kind !== "ok") throw new Error("setup");

    const paused = pausingDb(db);
    const slow = updateGroup(paused.db, ctx(tenant), {
      id: group.group.id,
      compute: (current) => ({ displayName: `${current.displayName} (A)`, externalId: current.externalId }),
      members: [{ kind: "add", userIds: [u1.user.id] }],
    });
    await paused.reached;
    await updateGroup(db, ctx(tenant), {
      id: group.group.id,
      compute: (current) => ({ displayName: `${current.displayName} (B)`, externalId: current.externalId }),
      members: [{ kind: "add", userIds: [u2.user.id] }],
    });
    paused.release();
    expect((await slow).kind).toBe("ok");
    const final = await getGroup(db, tenant, group.group.id);
    expect(final?.displayName).toBe("Race (B) (A)");
    const members = await scimMembers(db, group.group.id);
    expect(members).toEqual([u1.user.id, u2.user.id].sort());
  });
});

async function scimMembers(db: Db, groupId: string): Promise<string[]> {
  const { membersOfGroups } = await import("../../../src/iam/group-reads");
  return ((await membersOfGroups(db, [groupId])).get(groupId) ?? []).map((m) => m.userId).sort();
}

describe("within one integration (one Durable Object)", () => {
  it("concurrent member adds to one group all land", async () => {
    const i = await newIntegration();
    const created = await Promise.all(
      Array.from({ length: 20 }, (_, n) => scim(i, "POST", "/Users", { userName: `burst-${n}@example.com` })),
    );
    const ids = created.map((r) => r.json.id as string);
    const group = (await scim(i, "POST", "/Groups", { displayName: "Burst" })).json;
    const results = await Promise.all(
      ids.map((id) => scim(i, "PATCH", `/Groups/${group.id}`, { schemas: [PATCH], Operations: [{ op: "Add", path: "members", value: [{ value: id }] }] })),
    );
    expect(results.map((r) => r.status)).toEqual(ids.map(() => 204));
    const read = await scim(i, "GET", `/Groups/${group.id}`);
    expect(read.json.members.map((m: { value: string }) => m.value).sort()).toEqual([...ids].sort());
    expect(read.json.meta.version).toBe('W/"21"');
  });

  it("concurrent creates of one userName give exactly one 201", async () => {
    const i = await newIntegration();
    const results = await Promise.all(Array.from({ length: 8 }, () => scim(i, "POST", "/Users", { userName: "only-once@example.com" })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    expect(results.filter((r) => r.status === 409).every((r) => r.json.scimType === "uniqueness")).toBe(true);
  });

  it("concurrent read-modify-write PATCHes on one user lose nothing", async () => {
    const i = await newIntegration();
    const user = (await scim(i, "POST", "/Users", { userName: "rmw@example.com" })).json;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, n) =>
        scim(i, "PATCH", `/Users/${user.id}`, { schemas: [PATCH], Operations: [{ op: "add", path: "emails", value: [{ value: `e${n}@example.com` }] }] }),
      ),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    const final = await scim(i, "GET", `/Users/${user.id}`);
    expect(final.json.emails.map((e: { value: string }) => e.value).sort()).toEqual(
      Array.from({ length: 10 }, (_, n) => `e${n}@example.com`).sort(),
    );
  });
});
