/**
 * Migrations against data: a database filled through the schema before per-tenant views (0000
 * and 0001), then migrated to the current one. Every linked tenant must start with the profile it
 * saw before; nothing may be lost.
 */
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { tenantUserEmails, users } from "../../src/db/schema";
import { membersOfGroups } from "../../src/iam/group-reads";
import { getGlobalUser, getTenantUser, queryTenantUsers } from "../../src/iam/user-reads";
import { createUser } from "../../src/iam/users";
import { compileFilter } from "../../src/scim/model/filter/compile";
import { parseFilter } from "../../src/scim/model/filter/parse";
import { userResolver } from "../../src/scim/model/filter/targets";
import { userFields } from "../../src/scim/model/resources";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const BEFORE_VIEWS = ["0000_init.sql", "0001_bindings_unique.sql"];

const adaProfile = {
  name: { givenName: "Ada", familyName: "Lovelace" },
  displayName: "Ada Lovelace",
  title: "Analyst",
  emails: [
    { value: "ada@example.com", type: "work", primary: true },
    { value: "ada@home.example", type: "home" },
  ],
  phoneNumbers: [{ value: "+44 20 7946 0000", type: "work" }],
  [ENTERPRISE]: { employeeNumber: "1815", department: "Engines", manager: { value: "u-babbage" } },
};

/** Rows as the previous schema stored them: one global profile, access rows per tenant. */
const OLD_ROWS = [
  `INSERT INTO tenants (id, name, created_at) VALUES ('t-one', 'One', 1), ('t-two', 'Two', 2)`,
  `INSERT INTO users (id, user_name, user_name_key, profile, manager_id, version, created_at, updated_at) VALUES
    ('u-ada', 'Ada@Example.com', 'ada@example.com', '${JSON.stringify(adaProfile)}', 'u-babbage', 3, 10, 20),
    ('u-babbage', 'charles@example.com', 'charles@example.com', '{"displayName":"Charles Babbage"}', NULL, 1, 11, 11),
    ('u-orphan', 'nobody@example.com', 'nobody@example.com', '{"title":"left every tenant"}', NULL, 1, 12, 12)`,
  `INSERT INTO user_emails (user_id, position, value, value_key, type, display, is_primary) VALUES
    ('u-ada', 0, 'ada@example.com', 'ada@example.com', 'work', NULL, 1),
    ('u-ada', 1, 'ada@home.example', 'ada@home.example', 'home', NULL, 0)`,
  `INSERT INTO tenant_users (tenant_id, user_id, external_id, active, version, created_at, updated_at) VALUES
    ('t-one', 'u-ada', 'ext-one', 1, 2, 10, 30),
    ('t-two', 'u-ada', 'ext-two', 0, 1, 15, 15),
    ('t-one', 'u-babbage', NULL, 1, 1, 11, 11)`,
  `INSERT INTO groups (id, tenant_id, display_name, display_name_key, external_id, version, created_at, updated_at) VALUES
    ('g-engines', 't-one', 'Engines', 'engines', NULL, 1, 13, 13)`,
  // The second membership dangles (u-orphan has no access to t-one), as interleaved writers could leave one.
  `INSERT INTO group_members (group_id, user_id, tenant_id, created_at) VALUES ('g-engines', 'u-ada', 't-one', 13), ('g-engines', 'u-orphan', 't-one', 14)`,
];

const db = createDb(env.MIGRATION_DB);

beforeAll(async () => {
  const all = env.TEST_MIGRATIONS;
  expect(all.slice(0, 2).map((m) => m.name)).toEqual(BEFORE_VIEWS);
  await applyD1Migrations(env.MIGRATION_DB, all.slice(0, 2));
  for (const statement of OLD_ROWS) await env.MIGRATION_DB.prepare(statement).run();
  await applyD1Migrations(env.MIGRATION_DB, all);
});

describe("migrating global profiles into per-tenant views", () => {
  it("gives every linked tenant the profile it saw before, with userName, manager, externalId and active", async () => {
    const one = await getTenantUser(db, "t-one", "u-ada", { withGroups: true });
    const two = await getTenantUser(db, "t-two", "u-ada");
    expect(one).toMatchObject({
      userName: "Ada@Example.com",
      profile: adaProfile,
      managerId: "u-babbage",
      externalId: "ext-one",
      active: true,
      groups: [{ id: "g-engines", displayName: "Engines" }],
    });
    expect(two).toMatchObject({ userName: "Ada@Example.com", profile: adaProfile, managerId: "u-babbage", externalId: "ext-two", active: false });
    expect(await getTenantUser(db, "t-one", "u-babbage")).toMatchObject({ userName: "charles@example.com", profile: { displayName: "Charles Babbage" } });
    expect(await getTenantUser(db, "t-two", "u-babbage")).toBeUndefined();
  });

  it("copies the email rows into each tenant's view, so email filters still use them", async () => {
    const rows = await db.select().from(tenantUserEmails).where(eq(tenantUserEmails.userId, "u-ada"));
    expect(rows.map((r) => `${r.tenantId}:${r.position}:${r.valueKey}:${r.primary}`).sort()).toEqual([
      "t-one:0:ada@example.com:true",
      "t-one:1:ada@home.example:false",
      "t-two:0:ada@example.com:true",
      "t-two:1:ada@home.example:false",
    ]);
    for (const tenant of ["t-one", "t-two"]) {
      const found = await queryTenantUsers(db, tenant, {
        where: compileFilter(parseFilter('emails[type eq "work"].value eq "ADA@example.com"'), userResolver(tenant)),
        offset: 0,
        limit: 10,
      });
      expect(found.rows.map((r) => r.id)).toEqual(["u-ada"]);
    }
  });

  it("keeps every global user, including one with no tenant left, as an identity", async () => {
    const identities = await db.select({ id: users.id, userName: users.userName }).from(users).orderBy(users.id);
    expect(identities).toEqual([
      { id: "u-ada", userName: "Ada@Example.com" },
      { id: "u-babbage", userName: "charles@example.com" },
      { id: "u-orphan", userName: "nobody@example.com" },
    ]);
    const global = await getGlobalUser(db, "u-ada");
    expect(global?.views.map((v) => v.tenantId)).toEqual(["t-one", "t-two"]);
    // A member's display name now comes from the group's tenant's view; the dangling membership
    // is gone (0005), and the foreign key of 0006 keeps it so.
    expect((await membersOfGroups(db, ["g-engines"])).get("g-engines")).toEqual([{ userId: "u-ada", display: "Ada Lovelace" }]);
    const stray = env.MIGRATION_DB.prepare(`INSERT INTO group_members (group_id, user_id, tenant_id, created_at) VALUES ('g-engines', 'u-orphan', 't-one', 15)`);
    await expect(stray.run()).rejects.toThrow(/FOREIGN KEY constraint failed/);
  });

  it("links new tenants to migrated identities and keeps userName unique within each tenant", async () => {
    const ctx = { tenantId: "t-two", actor: { type: "ADMIN" as const } };
    const joined = await createUser(db, ctx, userFields({ userName: "NOBODY@example.com" }, null));
    expect(joined.kind === "ok" && joined.user.id).toBe("u-orphan");
    expect(joined.kind === "ok" && joined.user.profile).toEqual({});
    const duplicate = await createUser(db, { ...ctx, tenantId: "t-one" }, userFields({ userName: "ada@EXAMPLE.com" }, null));
    expect(duplicate).toMatchObject({ kind: "error", status: 409, scimType: "uniqueness" });
  });
});
