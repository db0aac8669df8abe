/**
 * The cross-integration races of races.test.ts, repeated under many interleavings chosen by
 * fast-check's scheduler: every writer's batch waits until the scheduler releases it, in an
 * order fast-check picks (and shrinks on failure). Whatever the order, nothing is lost.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createDb, type Db } from "../../../src/db/client";
import { users } from "../../../src/db/schema";
import { getGroup, membersOfGroups } from "../../../src/iam/group-reads";
import { createGroup, updateGroup } from "../../../src/iam/groups";
import { createTenant } from "../../../src/iam/tenants";
import { getTenantUser } from "../../../src/iam/user-reads";
import { createUser, updateUser } from "../../../src/iam/users";
import { userDoc, userFields } from "../../../src/scim/model/resources";
import { checkProperty, PROPERTY_TEST_TIMEOUT_MS } from "../../support/property-runs";

// Runs beyond each floor stop at this limit on a slow machine; the count made is printed.
const TIME_LIMIT_MS = 15_000;
const db = createDb(env.DB);
let run = 0;

/** A Db whose every batch waits for the scheduler's go. */
function scheduled(s: fc.Scheduler, label: string): Db {
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === "batch") {
        return async (statements: Parameters<Db["batch"]>[0]) => {
          await s.schedule(Promise.resolve(), `${label} batch`);
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

const ctx = (tenantId: string) => ({ tenantId, actor: { type: "ADMIN" as const } });

async function tenants(n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, k) => `mix-${run}-${k}`);
  run++;
  for (const id of ids) await createTenant(db, { id });
  return ids;
}

describe("cross-integration races under random interleavings", () => {
  it("writes and renames from several tenants to one user: each lands in its own tenant's view only", async () => {
    await checkProperty(
      "renames from three tenants",
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const ts = await tenants(3);
        const userName = `mix-profile-${run}@example.com`;
        let id = "";
        for (const t of ts) {
          const r = await createUser(db, ctx(t), userFields({ userName }, null));
          if (r.kind !== "ok") throw new Error(r.detail);
          id = r.user.id;
        }
        const changes = ["title", "nickName", "displayName"];
        const writes = ts.map((t, k) =>
          updateUser(scheduled(s, t), ctx(t), {
            id,
            compute: (current) => userFields({ ...userDoc(current), userName: `${t}@example.com`, [changes[k]!]: `from ${t}` }, current.externalId),
          }),
        );
        await s.waitFor(Promise.all(writes));
        const results = await Promise.all(writes);
        expect(results.map((r) => r.kind)).toEqual(["ok", "ok", "ok"]);
        for (const [k, t] of ts.entries()) {
          const view = await getTenantUser(db, t, id);
          expect(view?.userName).toBe(`${t}@example.com`);
          expect(view?.profile).toEqual({ [changes[k]!]: `from ${t}` });
          expect(view?.version).toBe(2);
        }
        // Linked to three tenants, the identity keeps its name: nobody renamed it for the others.
        expect((await db.select().from(users).where(eq(users.id, id)))[0]?.userName).toBe(userName);
      }),
      { runs: 25, minRuns: 10, timeLimitMs: TIME_LIMIT_MS },
    );
  }, PROPERTY_TEST_TIMEOUT_MS);

  it("creates of one new userName from several tenants: one global user, everyone has access", async () => {
    await checkProperty(
      "creates from three tenants",
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const ts = await tenants(3);
        const userName = `mix-create-${run}@example.com`;
        const creates = ts.map((t) => createUser(scheduled(s, t), ctx(t), userFields({ userName, title: t }, t)));
        await s.waitFor(Promise.all(creates));
        const results = await Promise.all(creates);
        expect(results.every((r) => r.kind === "ok")).toBe(true);
        const ids = new Set(results.map((r) => (r.kind === "ok" ? r.user.id : "")));
        expect(ids.size).toBe(1);
        expect(await db.select().from(users).where(eq(users.userNameKey, userName))).toHaveLength(1);
        for (const t of ts) expect((await getTenantUser(db, t, [...ids][0]!))?.externalId).toBe(t);
      }),
      { runs: 25, minRuns: 10, timeLimitMs: TIME_LIMIT_MS },
    );
  }, PROPERTY_TEST_TIMEOUT_MS);

  it("renames and member adds on one group from two integrations: all members, the last rename wins", async () => {
    await checkProperty(
      "group renames and member adds",
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const [t] = await tenants(1);
        const members: string[] = [];
        for (let k = 0; k < 4; k++) {
          const r = await createUser(db, ctx(t!), userFields({ userName: `mix-m${k}-${run}@example.com` }, null));
          if (r.kind === "ok") members.push(r.user.id);
        }
        const group = await createGroup(db, ctx(t!), { displayName: "Mix", externalId: null, memberIds: [] });
        if (group.kind !== "ok") throw new Error(group.detail);
        const writes = members.map((member, k) =>
          updateGroup(scheduled(s, `w${k}`), ctx(t!), {
            id: group.group.id,
            compute: (current) => (k % 2 === 0 ? { displayName: `${current.displayName}+${k}`, externalId: current.externalId } : current),
            members: [{ kind: "add", userIds: [member] }],
          }),
        );
        await s.waitFor(Promise.all(writes));
        expect((await Promise.all(writes)).every((r) => r.kind === "ok")).toBe(true);
        const final = await getGroup(db, t!, group.group.id);
        // Both renames applied, each on top of what it read last: the name carries both suffixes.
        expect(final?.displayName.split("+").sort()).toEqual(["0", "2", "Mix"]);
        const got = ((await membersOfGroups(db, [group.group.id])).get(group.group.id) ?? []).map((m) => m.userId).sort();
        expect(got).toEqual([...members].sort());
      }),
      { runs: 25, minRuns: 10, timeLimitMs: TIME_LIMIT_MS },
    );
  }, PROPERTY_TEST_TIMEOUT_MS);
});
