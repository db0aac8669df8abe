/**
 * Prices in rows (src/scim/model/cost.ts): SQLite, in the guard, must reach the number this module
 * explains a refusal with; and the plans of the red-team shapes of issue 20 must be over budget
 * for the benchmark's largest tenant, while Entra's own lookups stay well within it.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { evaluate, least, plus, priceSql, ROW_BUDGET, size, times, type Price, type TenantSizes } from "../../../src/scim/model/cost";
import { groupResolver, userResolver } from "../../../src/scim/model/filter/targets";
import { planList } from "../../../src/scim/model/query";
import { RESOURCE_TYPES } from "../../../src/scim/model/schemas";

const USER = RESOURCE_TYPES.find((t) => t.id === "User")!;
const GROUP = RESOURCE_TYPES.find((t) => t.id === "Group")!;

/** The benchmark's largest tenant: 100,000 users (405 of 60 KB, 1,000 with 100 phone numbers), 100,000 memberships. */
const BIG: TenantSizes = {
  views: 100_000,
  viewUnits: 126_490,
  maxViewUnits: 59,
  elements: 100_000,
  emails: 100_000,
  groups: 250,
  memberships: 100_000,
  maxUserGroups: 1,
  uniqueValues: 0,
};

async function inSqlite(price: Price, sizes: TenantSizes): Promise<number> {
  const row = await env.DB.prepare(
    `select ${priceSql(price)} as price from (select ? as views, ? as view_units, ? as max_view_units, ? as elements, ? as emails, ? as groups, ? as memberships, ? as max_user_groups, ? as unique_values) s`,
  )
    .bind(sizes.views, sizes.viewUnits, sizes.maxViewUnits, sizes.elements, sizes.emails, sizes.groups, sizes.memberships, sizes.maxUserGroups, sizes.uniqueValues)
    .first<{ price: number }>();
  return row!.price;
}

const q = (type: typeof USER, filter: string, extra: Record<string, string> = {}) =>
  planList(type, type === USER ? userResolver("t") : groupResolver("t"), { filter, ...extra }).cost.price;

describe("prices", () => {
  it("come out the same in SQLite as in JavaScript, fractions included", async () => {
    const prices: Price[] = [
      plus(3, size("views")),
      times(0.1, plus(size("views"), least(size("views"), 199_999))),
      times(2, least(times(200, size("groups")), size("memberships"))),
      q(USER, 'title eq "x" and phoneNumbers[type eq "work"]'),
      q(GROUP, 'members[display co "a"] or externalId co "b"', { excludedAttributes: "members" }),
    ];
    for (const price of prices) expect(await inSqlite(price, BIG)).toBeCloseTo(evaluate(price, BIG), 6);
  });

  it("are over budget for the red-team shapes on the largest tenant, and within it for Entra's lookups", () => {
    const phones = Array.from({ length: 25 }, (_, k) => `phoneNumbers.type eq "t${k}"`).join(" or ");
    expect(evaluate(q(USER, phones, { count: "1" }), BIG)).toBeGreaterThan(ROW_BUDGET);
    expect(evaluate(q(USER, 'displayName co "a"'), BIG)).toBeGreaterThan(ROW_BUDGET);
    expect(evaluate(q(USER, 'groups.display eq "a"'), BIG)).toBeGreaterThan(ROW_BUDGET);
    expect(evaluate(q(GROUP, 'members.display co "a"', { excludedAttributes: "members" }), BIG)).toBeGreaterThan(ROW_BUDGET);
    for (const lookup of ['userName eq "a@b.c"', 'externalId eq "x"', 'emails[type eq "work"].value eq "a@b.c"', 'id eq "x" and manager eq "y"']) {
      expect(evaluate(q(USER, lookup, { excludedAttributes: "groups" }), BIG), lookup).toBeLessThan(ROW_BUDGET / 2);
      expect(evaluate(q(USER, lookup), BIG), lookup).toBeLessThan(ROW_BUDGET);
    }
    expect(evaluate(q(GROUP, 'displayName eq "Engineering"', { excludedAttributes: "members" }), BIG)).toBeLessThan(100);
    // Paging through every user (Okta's import) fits at any offset.
    expect(evaluate(planList(USER, userResolver("t"), { startIndex: "99801", count: "200", excludedAttributes: "groups" }).cost.price, BIG)).toBeLessThan(ROW_BUDGET);
  });

  it("lets only an indexed eq joined by 'and' bound the rows: under 'not' or 'or' it is a term on each row, never probed", () => {
    const cost = (type: typeof USER, filter: string) =>
      planList(type, type === USER ? userResolver("t") : groupResolver("t"), { filter, excludedAttributes: type === USER ? "groups" : "members" }).cost;
    // Walks every email (and every user): over budget on the largest tenant.
    for (const walk of ['emails[type eq "work" and not (value eq "nobody@x")]', 'emails[(value eq "a" or type eq "w") and type eq "w"]', 'not (externalId eq "shared")']) {
      const c = cost(USER, walk);
      expect(evaluate(c.price, BIG), walk).toBeGreaterThan(ROW_BUDGET);
      expect(c.probes, walk).toEqual([]);
    }
    // A group's members and a user's groups are bounded by sizes, not probed (a group of 11 is no reason to refuse).
    expect(cost(USER, 'groups.value eq "g"').probes).toEqual([]);
    const groupsOfUser = cost(GROUP, 'id eq "g" and members[value eq "u"]');
    expect(groupsOfUser.probes).toEqual([]);
    expect(evaluate(groupsOfUser.price, BIG)).toBeLessThan(ROW_BUDGET / 10);
    // A probed lookup joined by 'and' is probed.
    expect(cost(USER, 'externalId eq "x" and active eq true').probes).toHaveLength(1);
  });

  it("refuses more probed lookups than the guard's bound parameters hold", () => {
    const nine = Array.from({ length: 9 }, (_, n) => `externalId eq "e${n}"`).join(" and ");
    expect(() => planList(USER, userResolver("t"), { filter: nine })).toThrow(/at most 8/);
    const eight = Array.from({ length: 8 }, (_, n) => `externalId eq "e${n}"`).join(" and ");
    expect(planList(USER, userResolver("t"), { filter: eight }).cost.probes).toHaveLength(8);
  });
});
