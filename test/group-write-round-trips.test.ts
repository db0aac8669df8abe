/**
 * The group write services against D1: what they commit when they race another integration's
 * writer.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDb } from "../src/db/client";
import { createGroup, getGroup, membersOfGroups, updateGroup, type GroupWriteResult } from "../src/iam/groups";
import { createTenant } from "../src/iam/tenants";
import { createUser } from "../src/iam/users";
import { userFields } from "../src/scim/resources";
import { pausingDb } from "./support/pausing-db";

const db = createDb(env.DB);
const ctx = (tenantId: string) => ({ tenantId, actor: { type: "ADMIN" as const } });
let run = 0;

async function world(memberCount = 3) {
  const tenant = `grt-${Date.now().toString(36)}-${run++}`;
  const created = await createTenant(db, { id: tenant });
  if (created.kind !== "created") throw new Error("tenant");
  const ids: string[] = [];
  for (let n = 0; n < memberCount; n++) {
    const r = await createUser(db, ctx(tenant), userFields({ userName: `m${n}-${tenant}@example.com` }, null));
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
