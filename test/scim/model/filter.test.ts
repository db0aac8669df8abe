/** The filter language: parser (pure) and compiler (against D1, with EXPLAIN QUERY PLAN). */
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import { beforeAll, describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client";
import { groups, tenantUsers, users } from "../../../src/db/schema";
import { createGroup } from "../../../src/iam/groups";
import { queryTenantUsers, tenantUsersPage } from "../../../src/iam/user-reads";
import { createUser } from "../../../src/iam/users";
import { planList } from "../../../src/scim/model/query";
import { RESOURCE_TYPES } from "../../../src/scim/model/schemas";
import { createTenant } from "../../../src/iam/tenants";
import { ScimError } from "../../../src/scim/model/errors";
import { compileFilter } from "../../../src/scim/model/filter/compile";
import { FILTER_LIMITS, parseFilter } from "../../../src/scim/model/filter/parse";
import { groupResolver, userResolver } from "../../../src/scim/model/filter/targets";
import { userFields } from "../../../src/scim/model/resources";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

function parseError(input: string): ScimError {
  try {
    parseFilter(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ScimError);
    return error as ScimError;
  }
  throw new Error(`expected '${input}' to be rejected`);
}

describe("filter parser", () => {
  it("parses comparisons, presence and all operators, case-insensitively", () => {
    expect(parseFilter('userName eq "bjensen"')).toEqual({ kind: "compare", path: { attribute: "userName" }, op: "eq", value: "bjensen" });
    for (const op of ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "Co"]) {
      expect(parseFilter(`title ${op} "x"`)).toMatchObject({ kind: "compare", op: op.toLowerCase() });
    }
    expect(parseFilter("title PR")).toEqual({ kind: "present", path: { attribute: "title" } });
    expect(parseFilter("active eq true")).toMatchObject({ value: true });
    expect(parseFilter("x eq false")).toMatchObject({ value: false });
    expect(parseFilter("x eq null")).toMatchObject({ value: null });
    expect(parseFilter("x gt -1.5e3")).toMatchObject({ value: -1500 });
  });

  it("follows precedence: not over and over or, with parentheses", () => {
    expect(parseFilter('a eq "1" or b eq "2" and c eq "3"')).toEqual({
      kind: "or",
      filters: [
        { kind: "compare", path: { attribute: "a" }, op: "eq", value: "1" },
        {
          kind: "and",
          filters: [
            { kind: "compare", path: { attribute: "b" }, op: "eq", value: "2" },
            { kind: "compare", path: { attribute: "c" }, op: "eq", value: "3" },
          ],
        },
      ],
    });
    expect(parseFilter('(a eq "1" or b eq "2") and not (c pr)')).toMatchObject({
      kind: "and",
      filters: [{ kind: "or" }, { kind: "not", filter: { kind: "present" } }],
    });
    expect(parseFilter('a eq "1" AND b eq "2"')).toMatchObject({ kind: "and" });
  });

  it("reads sub-attributes, URN-qualified paths and value paths", () => {
    expect(parseFilter('name.familyName co "O\'Malley"')).toMatchObject({ path: { attribute: "name", subAttribute: "familyName" } });
    expect(parseFilter(`${ENTERPRISE}:manager.value eq "x"`)).toMatchObject({
      path: { schema: ENTERPRISE, attribute: "manager", subAttribute: "value" },
    });
    expect(parseFilter('meta.lastModified gt "2011-05-13T04:42:34Z"')).toMatchObject({ path: { attribute: "meta", subAttribute: "lastModified" } });
    expect(parseFilter('emails[type eq "work" and value co "@example.com"]')).toMatchObject({
      kind: "valuePath",
      path: { attribute: "emails" },
      filter: { kind: "and" },
    });
    // Microsoft's form: a sub-attribute compared after the brackets.
    expect(parseFilter('emails[type eq "work"].value eq "a@b.c"')).toEqual({
      kind: "valuePath",
      path: { attribute: "emails" },
      filter: {
        kind: "and",
        filters: [
          { kind: "compare", path: { attribute: "type" }, op: "eq", value: "work" },
          { kind: "compare", path: { attribute: "value" }, op: "eq", value: "a@b.c" },
        ],
      },
    });
  });

  it("treats quotes, escapes, % and _ in strings as data", () => {
    expect(parseFilter('userName eq "a\\"b\\\\c%_\\u00e9"')).toMatchObject({ value: 'a"b\\c%_é' });
    expect(parseFilter('displayName eq "Ünïcödé 😀"')).toMatchObject({ value: "Ünïcödé 😀" });
  });

  it.each([
    ["", /empty/],
    ["userName eq", /needs a value/],
    ['userName eq "x" and', /expected an attribute/],
    ['userName "x"', /expected an operator/],
    ['userName like "x"', /not an operator/],
    ['userName eq "x', /unterminated string/],
    ['(userName eq "x"', /not closed/],
    ['userName eq "x")', /expected 'and', 'or'/],
    ['emails[type eq "work"', /not closed/],
    ['emails[type eq "work"] eq "x"', /expected 'and', 'or'/],
    ['emails[value[type eq "a"] eq "b"]', /not closed|nested/],
    ['not userName eq "x"', /'not' must be followed by '\('/],
    ['userName eq "\\q"', /escape/],
    ['a.b.c eq "x"', /not an attribute path/],
    ['userName eq "x" ; drop table users', /unexpected character/],
  ])("rejects %j with invalidFilter and a detail", (input, detail) => {
    const error = parseError(input);
    expect(error.status).toBe(400);
    expect(error.scimType).toBe("invalidFilter");
    expect(error.detail).toMatch(detail);
  });

  it("reads bare words and timestamps in a value's place as strings (a documented tolerance)", () => {
    expect(parseFilter("userName eq bjensen")).toMatchObject({ kind: "compare", value: "bjensen" });
    expect(parseFilter("userName eq 01")).toMatchObject({ value: "01" });
    expect(parseFilter("meta.created gt 2015-10-10T14:38:21.8617979-07:00")).toMatchObject({ value: "2015-10-10T14:38:21.8617979-07:00" });
    expect(parseFilter("x eq 12")).toMatchObject({ value: 12 });
    expect(parseFilter("x eq true")).toMatchObject({ value: true });
    expect(parseFilter('x eq "true"')).toMatchObject({ value: "true" });
  });

  it("bounds depth, length and size instead of exhausting the stack", () => {
    expect(parseError(`${"(".repeat(5000)}a pr${")".repeat(5000)}`).status).toBe(400);
    expect(parseError(`${"(".repeat(1000)}a pr${")".repeat(1000)}`).detail).toMatch(/nested deeper than/);
    expect(parseError(`${"not (".repeat(500)}a pr${")".repeat(500)}`).detail).toMatch(/nested deeper than/);
    expect(parseError(`a eq "${"x".repeat(FILTER_LIMITS.maxLength)}"`).detail).toMatch(/longer than/);
    const many = Array.from({ length: FILTER_LIMITS.maxTerms + 1 }, (_, i) => `a eq "${i}"`).join(" or ");
    expect(parseError(many).detail).toMatch(/more than/);
    expect(() => parseFilter(`${"(".repeat(FILTER_LIMITS.maxDepth)}a pr${")".repeat(FILTER_LIMITS.maxDepth)}`)).not.toThrow();
  });
});

describe("filter compiler", () => {
  const db = createDb(env.DB);
  const tenantId = "filters";
  const ctx = { tenantId, actor: { type: "ADMIN" as const } };
  const ids: Record<string, string> = {};

  async function userIds(filter: string): Promise<string[]> {
    const { rows } = await queryTenantUsers(db, tenantId, { where: compileFilter(parseFilter(filter), userResolver(tenantId)), offset: 0, limit: 100 });
    return rows.map((r) => Object.entries(ids).find(([, id]) => id === r.id)?.[0] ?? r.id).sort();
  }

  beforeAll(async () => {
    await createTenant(db, { id: tenantId });
    await createTenant(db, { id: "filters-other" });
    const people = [
      { key: "alice", userName: "Alice@Example.com", title: "Engineer", emails: [{ value: "alice@example.com", type: "work", primary: true }], active: true, employeeNumber: "100" },
      { key: "bob", userName: "bob@example.com", title: "Manager 100%", emails: [{ value: "bob@home.net", type: "home" }], active: false, employeeNumber: "200" },
      { key: "eve", userName: "eve_o'neil@example.org", emails: [], active: true },
      { key: "zoe", userName: "ZOË@example.com", title: "eng_lead", emails: [{ value: "Zoë@Example.com", type: "work" }], active: true },
    ];
    for (const p of people) {
      const doc: Record<string, unknown> = { userName: p.userName, active: p.active, emails: p.emails };
      if (p.title) doc.title = p.title;
      if (p.employeeNumber) doc[ENTERPRISE] = { employeeNumber: p.employeeNumber };
      const result = await createUser(db, ctx, userFields(doc, `ext-${p.key}`));
      if (result.kind !== "ok") throw new Error(result.detail);
      ids[p.key] = result.user.id;
    }
    // A user of another tenant never shows up.
    await createUser(db, { ...ctx, tenantId: "filters-other" }, userFields({ userName: "mallory@example.com", title: "Engineer" }, "ext-alice"));
  });

  it("compares userName case-insensitively (Unicode too) and externalId exactly", async () => {
    expect(await userIds('userName eq "alice@example.com"')).toEqual(["alice"]);
    expect(await userIds('USERNAME EQ "ALICE@EXAMPLE.COM"')).toEqual(["alice"]);
    expect(await userIds('userName eq "zoë@example.com"')).toEqual(["zoe"]);
    expect(await userIds('externalId eq "ext-alice"')).toEqual(["alice"]);
    expect(await userIds('externalId eq "EXT-ALICE"')).toEqual([]);
  });

  it("implements co, sw, ew, ne, pr, gt and lt with %, _ and quotes as data", async () => {
    expect(await userIds('title co "100%"')).toEqual(["bob"]);
    expect(await userIds('title co "%"')).toEqual(["bob"]);
    expect(await userIds('title sw "eng_"')).toEqual(["zoe"]);
    expect(await userIds('title sw "eng"')).toEqual(["alice", "zoe"]);
    expect(await userIds('userName ew "example.org"')).toEqual(["eve"]);
    expect(await userIds(`userName co "o'neil"`)).toEqual(["eve"]);
    expect(await userIds("title pr")).toEqual(["alice", "bob", "zoe"]);
    expect(await userIds("not (title pr)")).toEqual(["eve"]);
    expect(await userIds('title ne "Engineer"')).toEqual(["bob", "eve", "zoe"]);
    expect(await userIds('userName gt "c"')).toEqual(["eve", "zoe"]);
    expect(await userIds(`${ENTERPRISE}:employeeNumber lt "150"`)).toEqual(["alice"]);
  });

  it("filters booleans, multi-valued attributes and value paths", async () => {
    expect(await userIds("active eq false")).toEqual(["bob"]);
    expect(await userIds('active eq "False"')).toEqual(["bob"]);
    expect(await userIds('emails.value eq "ALICE@example.com"')).toEqual(["alice"]);
    expect(await userIds('emails eq "bob@home.net"')).toEqual(["bob"]);
    expect(await userIds('emails[type eq "work" and value co "example"]')).toEqual(["alice", "zoe"]);
    expect(await userIds('emails[type eq "work"].value eq "zoë@example.com"')).toEqual(["zoe"]);
    expect(await userIds("emails pr")).toEqual(["alice", "bob", "zoe"]);
    expect(await userIds('emails[primary eq true]')).toEqual(["alice"]);
    expect(await userIds('emails[not (type eq "work")]')).toEqual(["bob"]);
    expect(await userIds('meta.created gt "2000-01-01T00:00:00Z" and meta.lastModified lt "2999-01-01T00:00:00Z"')).toHaveLength(4);
    expect(await userIds('meta.resourceType eq "User"')).toHaveLength(4);
  });

  it("keeps each tenant to its own users", async () => {
    expect(await userIds('title eq "Engineer"')).toEqual(["alice"]);
    expect(await userIds('userName eq "mallory@example.com"')).toEqual([]);
  });

  it.each([
    ['nope eq "x"', /not an attribute/],
    ['password eq "x"', /cannot be filtered/],
    ['name eq "x"', /complex/],
    ['name.nope eq "x"', /no sub-attribute/],
    ['emails[nope eq "x"]', /no sub-attribute/],
    ['title[value eq "x"]', /not multi-valued/],
    ['active gt true', /does not apply/],
    ['active eq "maybe"', /boolean/],
    ['meta.created gt "yesterday"', /not an ISO 8601/],
    ['meta.created co "2020"', /does not apply/],
    ['userName eq true', /quote the value/],
    ['urn:example:ext:foo eq "x"', /not a schema of this resource/],
    ['meta.location eq "x"', /cannot be filtered/],
  ])("rejects %j with invalidFilter", (filter, detail) => {
    try {
      compileFilter(parseFilter(filter), userResolver(tenantId));
      throw new Error("not rejected");
    } catch (error) {
      expect(error).toBeInstanceOf(ScimError);
      expect((error as ScimError).scimType).toBe("invalidFilter");
      expect((error as ScimError).detail).toMatch(detail);
    }
  });

  it("binds every value as a parameter", () => {
    const dialect = new SQLiteSyncDialect();
    const { sql, params } = dialect.sqlToQuery(compileFilter(parseFilter(`userName eq "x'); drop table users; --"`), userResolver("t")));
    expect(sql).not.toContain("drop table");
    expect(params).toContain("x'); drop table users; --");
  });

  it("sends the lookups as the list query Entra gets, ordered without leaving the lookup's index", async () => {
    const userType = RESOURCE_TYPES.find((t) => t.id === "User")!;
    async function listPlan(filter?: string): Promise<string> {
      const plan = planList(userType, userResolver(tenantId), { filter });
      const { sql, params } = tenantUsersPage(db, tenantId, { where: plan.where, pinned: plan.pinned, offset: 0, limit: plan.count }).toSQL();
      const result = await env.DB.prepare(`explain query plan ${sql}`).bind(...params).all<{ detail: string }>();
      return result.results.map((r) => r.detail).join("\n");
    }
    const lookups: [string, RegExp][] = [
      ['userName eq "alice@example.com"', /tenant_users_user_name_key_unique \(tenant_id=\? AND user_name_key=\?\)/],
      ['externalId eq "ext-alice"', /tenant_users_external_id_idx \(tenant_id=\? AND external_id=\?\)/],
      [`manager eq "${ids.bob}"`, /tenant_users_manager_idx \(tenant_id=\? AND manager_id=\?\)/],
      ['userName eq "alice@example.com" and active eq true', /tenant_users_user_name_key_unique/],
      ['emails[type eq "work"].value eq "alice@example.com"', /tenant_user_emails_value_key_idx \(tenant_id=\? AND value_key=\?\)/],
    ];
    for (const [filter, index] of lookups) {
      const detail = await listPlan(filter);
      expect(detail, filter).toMatch(index);
      // Walking the tenant in provisioning order, filtering as it goes, is what this prevents.
      expect(detail, filter).not.toMatch(/tenant_users_created_idx/);
    }
    // Unfiltered, or where an indexed eq does not bound the rows (under or / not), a page walks
    // the tenant in provisioning order from the index and stops at the page: no sort of the tenant.
    for (const filter of [undefined, 'not (externalId eq "ext-alice")', 'externalId eq "ext-alice" or title co "x"']) {
      const page = await listPlan(filter);
      expect(page, filter).toMatch(/tenant_users_created_idx \(tenant_id=\?\)/);
      expect(page, filter).not.toMatch(/TEMP B-TREE/);
    }
  });

  it("answers the hot lookups from indexes, never scanning the tenant", async () => {
    await createGroup(db, ctx, { displayName: "Plan", externalId: "g-ext", memberIds: [ids.alice!] });
    async function plan(query: { toSQL(): { sql: string; params: unknown[] } }): Promise<string> {
      const { sql, params } = query.toSQL();
      const result = await env.DB.prepare(`explain query plan ${sql}`).bind(...params).all<{ detail: string }>();
      return result.results.map((r) => r.detail).join("\n");
    }
    const userQuery = (filter: string) =>
      db
        .select({ id: tenantUsers.userId })
        .from(tenantUsers)
        .where(and(eq(tenantUsers.tenantId, tenantId), compileFilter(parseFilter(filter), userResolver(tenantId))));
    const groupQuery = (filter: string) =>
      db.select({ id: groups.id }).from(groups).where(and(eq(groups.tenantId, tenantId), compileFilter(parseFilter(filter), groupResolver(tenantId))));
    const cases: [string, Promise<string>, RegExp][] = [
      ["userName", plan(userQuery('userName eq "alice@example.com"')), /\btenant_users_user_name_key_unique \(tenant_id=\? AND user_name_key=\?\)/],
      ["externalId", plan(userQuery('externalId eq "ext-alice"')), /\btenant_users_external_id_idx \(tenant_id=\? AND external_id=\?\)/],
      ["id", plan(userQuery(`id eq "${ids.alice}"`)), /\bsqlite_autoindex_tenant_users_1 \(tenant_id=\? AND user_id=\?\)/],
      ["emails.value", plan(userQuery('emails[type eq "work"].value eq "alice@example.com"')), /\btenant_user_emails_value_key_idx \(tenant_id=\? AND value_key=\?\)/],
      ["manager", plan(userQuery(`manager eq "${ids.bob}"`)), /\btenant_users_manager_idx \(tenant_id=\? AND manager_id=\?\)/],
      ["manager.value", plan(userQuery(`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "${ids.bob}"`)), /\btenant_users_manager_idx \(tenant_id=\? AND manager_id=\?\)/],
      ["groups.value", plan(userQuery('groups[value eq "g"]')), /group_members/],
      ["displayName", plan(groupQuery('displayName eq "plan"')), /groups_tenant_display_name_unique/],
      ["members.value", plan(groupQuery(`members[value eq "${ids.alice}"]`)), /group_members_tenant_user_idx|sqlite_autoindex_group_members/],
    ];
    for (const [name, pending, index] of cases) {
      const detail = await pending;
      expect(detail, name).toMatch(index);
      // Walking the tenant would show as a full SCAN, or as a search on tenant_id alone.
      expect(detail, name).not.toMatch(/\bSCAN (tenant_users|users|groups|group_members|tenant_user_emails)\b/);
      expect(detail, name).not.toMatch(/SEARCH (tenant_users|groups) USING (COVERING )?INDEX \S+ \(tenant_id=\?\)/);
    }
  });
});
