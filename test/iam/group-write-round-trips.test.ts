/**
 * D1 round trips of the group write services (issue 11): every write reads what it needs in one
 * round trip, then commits in one batch, and reads nothing after. The counts are exact, so a
 * regression shows as a failing number. Through the SCIM gate's binding (src/db/piggyback.ts) and
 * the commit guard, the first read also carries the token check: still two round trips in all.
 */
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { emptyStats, metered } from "../../src/db/metered";
import { piggyback, resultColumnNames } from "../../src/db/piggyback";
import { auditEvents, groupMembers } from "../../src/db/schema";
import { getGroup, membersOfGroups, type Group } from "../../src/iam/group-reads";
import { createGroup, updateGroup, type GroupWriteResult } from "../../src/iam/groups";
import { createTenant } from "../../src/iam/tenants";
import { createUser } from "../../src/iam/users";
import { authorizedAtCommit } from "../../src/iam/writes";
import { userFields } from "../../src/scim/model/resources";
import { pausingDb } from "../support/pausing-db";

const db = createDb(env.DB);
const ctx = (tenantId: string) => ({ tenantId, actor: { type: "ADMIN" as const } });
let run = 0;

/** A Db over env.DB that counts round trips and records each call's SQL (a lone query is a call of one). */
function counted() {
  const stats = emptyStats();
  const calls: string[][] = [];
  const binding = metered(env.DB, stats);
  // Bound statements handed out, mapped to what they wrap (batch needs those) and their SQL.
  const inner = new WeakMap<object, { statement: D1PreparedStatement; sql: string }>();
  const recorder = new Proxy(binding, {
    get(target, prop) {
      if (prop === "prepare") {
        return (query: string) => {
          const statement = target.prepare(query);
          return new Proxy(statement, {
            get(s, p) {
              if (p === "bind") {
                return (...values: unknown[]) => {
                  const bound = s.bind(...values);
                  const proxy = new Proxy(bound, {
                    get(b, q) {
                      if (q === "all" || q === "run" || q === "raw" || q === "first") calls.push([query]);
                      const value = Reflect.get(b, q);
                      return typeof value === "function" ? value.bind(b) : value;
                    },
                  });
                  inner.set(proxy, { statement: bound, sql: query });
                  return proxy;
                };
              }
              const value = Reflect.get(s, p);
              return typeof value === "function" ? value.bind(s) : value;
            },
          });
        };
      }
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) => {
          calls.push(statements.map((s) => inner.get(s)?.sql ?? "?"));
          return target.batch(statements.map((s) => inner.get(s)?.statement ?? s));
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db: createDb(recorder), stats, calls };
}

/** Whether the SCIM gate could carry the token check in this call (every statement a plain select with unique column names). */
function mergeable(call: string[]): boolean {
  return call.every((text) => {
    const names = resultColumnNames(text);
    return names !== undefined && new Set(names).size === names.length;
  });
}

/**
 * A Db as the integration's Durable Object will use it for a SCIM write: the gate's binding,
 * whose first call carries a rider (the token check stands in as `select 1`), under the commit
 * guard. `riders` counts how often the rider was checked; `alone` whether it had to go alone.
 */
function gated() {
  const stats = emptyStats();
  const binding = metered(env.DB, stats);
  const seen = { riders: 0 };
  const gate = piggyback(binding, { statement: binding.prepare("select 1 as rider_ok"), check: () => void seen.riders++ });
  return { db: authorizedAtCommit(createDb(gate.binding), sql`1`), stats, seen, settle: gate.settle };
}

async function world(memberCount = 3) {
  const tenant = `grt-${Date.now().toString(36)}-${run++}`;
  const created = await createTenant(db, { id: tenant });
  if (created.kind !== "created") throw new Error("tenant");
  const ids: string[] = [];
  for (let n = 0; n < memberCount; n++) {
    // Every other member has a displayName: the others show their userName.
    const doc = n % 2 === 0 ? { userName: `m${n}-${tenant}@example.com`, displayName: `Member ${n}` } : { userName: `m${n}-${tenant}@example.com` };
    const r = await createUser(db, ctx(tenant), userFields(doc, null));
    if (r.kind !== "ok") throw new Error(r.detail);
    ids.push(r.user.id);
  }
  return { tenant, ids };
}

function ok(result: GroupWriteResult) {
  if (result.kind !== "ok") throw new Error(`${result.status} ${result.detail}`);
  return result;
}

async function membersOf(groupId: string) {
  return (await membersOfGroups(db, [groupId])).get(groupId) ?? [];
}

async function auditCount(tenant: string) {
  return (await db.select().from(auditEvents).where(eq(auditEvents.tenantId, tenant))).length;
}

describe("createGroup", () => {
  it("reads once (members and name in one batch of selects), commits once, and answers with the members' displays", async () => {
    const { tenant, ids } = await world(3);
    const { db: d, stats, calls } = counted();
    const result = ok(await createGroup(d, ctx(tenant), { displayName: "Three", externalId: "x-3", memberIds: [ids[2]!, ids[0]!, ids[1]!, ids[0]!] }));
    expect(stats.roundTrips).toBe(2);
    expect(calls).toHaveLength(2);
    expect(mergeable(calls[0]!)).toBe(true);
    expect(result.members).toEqual(await membersOf(result.group.id));
    expect(result.members).toHaveLength(3);
    expect(result.members!.find((m) => m.userId === ids[1])?.display).toBe(`m1-${tenant}@example.com`);
    expect(result.members!.find((m) => m.userId === ids[2])?.display).toBe("Member 2");
    expect(result.group).toEqual(await getGroup(db, tenant, result.group.id));
  });

  it("answers a group without members with an empty list, in two round trips", async () => {
    const { tenant } = await world(0);
    const { db: d, stats } = counted();
    const result = ok(await createGroup(d, ctx(tenant), { displayName: "Empty", externalId: null, memberIds: [] }));
    expect(result.members).toEqual([]);
    expect(stats.roundTrips).toBe(2);
  });

  it("refuses an unknown member (400) and a taken name (409) after its one read, writing nothing", async () => {
    const { tenant, ids } = await world(1);
    ok(await createGroup(db, ctx(tenant), { displayName: "Taken", externalId: null, memberIds: [] }));
    const audits = await auditCount(tenant);
    const ghost = "01900000-0000-7000-8000-00000000dead";
    const unknown = counted();
    expect(await createGroup(unknown.db, ctx(tenant), { displayName: "New", externalId: null, memberIds: [ids[0]!, ghost] })).toEqual({
      kind: "error",
      status: 400,
      scimType: "invalidValue",
      detail: `members must be users of this tenant; not found: '${ghost}'. Nothing was changed.`,
    });
    expect(unknown.stats.roundTrips).toBe(1);
    // The member check comes first, as before: an unknown member under a taken name is a 400.
    expect(await createGroup(db, ctx(tenant), { displayName: "TAKEN", externalId: null, memberIds: [ghost] })).toMatchObject({ status: 400 });
    const taken = counted();
    expect(await createGroup(taken.db, ctx(tenant), { displayName: "TAKEN", externalId: null, memberIds: [ids[0]!] })).toEqual({
      kind: "error",
      status: 409,
      scimType: "uniqueness",
      detail: "A group with displayName 'TAKEN' already exists in this tenant.",
    });
    expect(taken.stats.roundTrips).toBe(1);
    expect(await auditCount(tenant)).toBe(audits);
  });

  it("checks more members than one statement binds in the same single read", async () => {
    const { tenant, ids } = await world(130);
    const { db: d, stats } = counted();
    const result = ok(await createGroup(d, ctx(tenant), { displayName: "Many", externalId: null, memberIds: ids }));
    expect(stats.roundTrips).toBe(2);
    expect(result.members).toEqual(await membersOf(result.group.id));
    expect(result.members).toHaveLength(130);
  });

  it("carries the token check in its read through the SCIM gate and the commit guard: two round trips in all", async () => {
    const { tenant, ids } = await world(3);
    const g = gated();
    const result = ok(await createGroup(g.db, ctx(tenant), { displayName: "Gated", externalId: null, memberIds: ids }));
    await g.settle();
    expect(g.seen.riders).toBe(1);
    expect(g.stats.roundTrips).toBe(2);
    expect(result.members).toEqual(await membersOf(result.group.id));
  });
});

describe("updateGroup", () => {
  async function group(tenant: string, memberIds: string[]): Promise<Group> {
    return ok(await createGroup(db, ctx(tenant), { displayName: `G-${tenant}`, externalId: null, memberIds })).group;
  }

  it("adds and removes members in two round trips, answering the group as committed", async () => {
    const { tenant, ids } = await world(4);
    const g = await group(tenant, [ids[0]!, ids[1]!]);
    const { db: d, stats, calls } = counted();
    const result = ok(
      await updateGroup(d, ctx(tenant), {
        id: g.id,
        compute: (c) => c,
        members: [
          { kind: "add", userIds: [ids[2]!, ids[3]!] },
          { kind: "remove", userIds: [ids[0]!] },
        ],
      }),
    );
    expect(stats.roundTrips).toBe(2);
    expect(mergeable(calls[0]!)).toBe(true);
    const fresh = await getGroup(db, tenant, g.id);
    expect(result.group.version).toBe(fresh?.version);
    expect(result.group.version).toBe(g.version + 1);
    expect(result.group).toEqual(fresh);
    expect((await membersOf(g.id)).map((m) => m.userId)).toEqual([ids[1]!, ids[2]!, ids[3]!].sort());
  });

  it("renames (with a member change, under If-Match) in two round trips", async () => {
    const { tenant, ids } = await world(2);
    const g = await group(tenant, [ids[0]!]);
    const { db: d, stats } = counted();
    const result = ok(
      await updateGroup(d, ctx(tenant), {
        id: g.id,
        ifMatch: `W/"${g.version}"`,
        compute: (c) => ({ displayName: "Renamed", externalId: c.externalId }),
        members: [{ kind: "replace", userIds: [ids[1]!] }],
      }),
    );
    expect(stats.roundTrips).toBe(2);
    expect(result.group).toEqual(await getGroup(db, tenant, g.id));
    expect(result.group).toMatchObject({ displayName: "Renamed", displayNameKey: "renamed", version: g.version + 1 });
    expect((await membersOf(g.id)).map((m) => m.userId)).toEqual([ids[1]]);
  });

  it("replaces more members than one statement binds in two round trips", async () => {
    const { tenant, ids } = await world(130);
    const g = await group(tenant, ids.slice(0, 5));
    const { db: d, stats } = counted();
    const result = ok(await updateGroup(d, ctx(tenant), { id: g.id, compute: (c) => c, members: [{ kind: "replace", userIds: ids.slice(3) }] }));
    expect(stats.roundTrips).toBe(2);
    expect(result.group).toEqual(await getGroup(db, tenant, g.id));
    expect((await membersOf(g.id)).map((m) => m.userId)).toEqual(ids.slice(3).sort());
  });

  it("refuses an unknown member with the same 400 after one round trip, changing nothing", async () => {
    const { tenant, ids } = await world(2);
    const g = await group(tenant, [ids[0]!]);
    const audits = await auditCount(tenant);
    const ghosts = Array.from({ length: 12 }, (_, n) => `01900000-0000-7000-8000-0000000000${String(n).padStart(2, "0")}`);
    const { db: d, stats } = counted();
    expect(await updateGroup(d, ctx(tenant), { id: g.id, compute: (c) => c, members: [{ kind: "add", userIds: [ids[1]!, ...ghosts] }] })).toEqual({
      kind: "error",
      status: 400,
      scimType: "invalidValue",
      detail: `members must be users of this tenant; not found: ${ghosts.slice(0, 10).map((id) => `'${id}'`).join(", ")} and 2 more. Nothing was changed.`,
    });
    expect(stats.roundTrips).toBe(1);
    expect(await getGroup(db, tenant, g.id)).toEqual(g);
    expect((await membersOf(g.id)).map((m) => m.userId)).toEqual([ids[0]]);
    expect(await auditCount(tenant)).toBe(audits);
  });

  it("answers 404, 412 and a no-op after its one read", async () => {
    const { tenant, ids } = await world(1);
    const g = await group(tenant, []);
    const cases: [string, Parameters<typeof updateGroup>[2], unknown][] = [
      ["missing", { id: "01900000-0000-7000-8000-000000000404", compute: (c) => c, members: [{ kind: "add", userIds: [ids[0]!] }] }, { kind: "error", status: 404 }],
      ["stale", { id: g.id, ifMatch: 'W/"7"', compute: (c) => c, members: [{ kind: "add", userIds: [ids[0]!] }] }, { kind: "error", status: 412 }],
      ["no-op", { id: g.id, compute: (c) => c, members: [] }, { kind: "ok", group: g, created: false }],
    ];
    for (const [name, input, expected] of cases) {
      const { db: d, stats } = counted();
      expect(await updateGroup(d, ctx(tenant), input), name).toMatchObject(expected as object);
      expect(stats.roundTrips, name).toBe(1);
    }
    expect(await getGroup(db, tenant, g.id)).toEqual(g);
  });

  it("refuses a rename to a taken name with 409: the commit's unique index, then a replanned check", async () => {
    const { tenant, ids } = await world(1);
    ok(await createGroup(db, ctx(tenant), { displayName: "Other", externalId: null, memberIds: [] }));
    const g = await group(tenant, []);
    const audits = await auditCount(tenant);
    const { db: d, stats } = counted();
    expect(
      await updateGroup(d, ctx(tenant), {
        id: g.id,
        compute: (c) => ({ displayName: "OTHER", externalId: c.externalId }),
        members: [{ kind: "add", userIds: [ids[0]!] }],
      }),
    ).toEqual({ kind: "error", status: 409, scimType: "uniqueness", detail: "A group with displayName 'OTHER' already exists in this tenant." });
    // read, the refused commit, the replanned read and its name check: the price of a refusal,
    // so that a rename that commits needs no read of its own.
    expect(stats.roundTrips).toBe(4);
    expect(await getGroup(db, tenant, g.id)).toEqual(g);
    expect(await db.select().from(groupMembers).where(eq(groupMembers.groupId, g.id))).toEqual([]);
    expect(await auditCount(tenant)).toBe(audits);
    // A change of case of its own name is no conflict.
    const recased = ok(await updateGroup(db, ctx(tenant), { id: g.id, compute: (c) => ({ displayName: c.displayName.toUpperCase(), externalId: null }), members: [] }));
    expect(recased.group.displayName).toBe(g.displayName.toUpperCase());
  });

  it("carries the token check in its read through the SCIM gate and the commit guard: two round trips in all", async () => {
    const { tenant, ids } = await world(2);
    const g = await group(tenant, [ids[0]!]);
    const gd = gated();
    const result = ok(
      await updateGroup(gd.db, ctx(tenant), {
        id: g.id,
        compute: (c) => ({ displayName: "Gated rename", externalId: c.externalId }),
        members: [{ kind: "add", userIds: [ids[1]!] }],
      }),
    );
    await gd.settle();
    expect(gd.seen.riders).toBe(1);
    expect(gd.stats.roundTrips).toBe(2);
    expect(result.group).toEqual(await getGroup(db, tenant, g.id));
  });
});

describe("a member change racing a rename from another integration", () => {
  it("keeps the rename: the member change only bumps the version, and answers the group as committed", async () => {
    const { tenant, ids } = await world(1);
    const g = ok(await createGroup(db, ctx(tenant), { displayName: "Before", externalId: "ext", memberIds: [] })).group;
    const paused = pausingDb(db);
    const adding = updateGroup(paused.db, ctx(tenant), { id: g.id, compute: (c) => c, members: [{ kind: "add", userIds: [ids[0]!] }] });
    await paused.reached; // read the group as "Before", waits at its commit
    ok(await updateGroup(db, ctx(tenant), { id: g.id, compute: () => ({ displayName: "After", externalId: "ext-2" }), members: [] }));
    paused.release();
    const added = ok(await adding);
    const final = await getGroup(db, tenant, g.id);
    expect(final).toMatchObject({ displayName: "After", displayNameKey: "after", externalId: "ext-2", version: g.version + 2 });
    expect(added.group).toEqual(final);
    expect((await membersOf(g.id)).map((m) => m.userId)).toEqual([ids[0]]);
  });
});
