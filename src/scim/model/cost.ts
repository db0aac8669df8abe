/**
 * What a request may make the database walk, priced in rows before it runs. D1 runs one query
 * at a time per database: whatever one tenant's request walks, every other tenant waits for. So
 * every request that could walk more than a handful of rows is priced against its tenant's sizes
 * (`tenant_sizes`, kept exact by triggers) and refused over ROW_BUDGET, in the same round trip
 * as its token check and before its own query runs (src/db/piggyback.ts: the guard).
 *
 * The unit is one row read: an index entry, a membership, an email row, a group, or a view of a
 * user counted as one row plus one per KiB of its profile JSON (parsing JSON is what costs;
 * `viewUnits` sums that over the tenant). A price is an expression over the tenant's sizes,
 * evaluated by SQLite in the guard and by this module for the refusal's explanation.
 */
import { sql, type SQL } from "drizzle-orm";

/** A tenant's sizes, as kept in `tenant_sizes` (src/db/schema.ts). */
export interface TenantSizes {
  /** Views of users (each user the tenant has access to). */
  views: number;
  /** Σ over views of 1 + KiB of profile JSON: what walking every view reads. */
  viewUnits: number;
  /** The most units one view has had: the price of a view the caller picks. */
  maxViewUnits: number;
  /** Elements of JSON arrays in the profiles (phoneNumbers, addresses…). */
  elements: number;
  emails: number;
  groups: number;
  memberships: number;
  /** The most groups one user has been in: what a user brings along in `groups`. */
  maxUserGroups: number;
  uniqueValues: number;
}

export type SizeName = keyof TenantSizes;

const COLUMNS: Record<SizeName, string> = {
  views: "views",
  viewUnits: "view_units",
  maxViewUnits: "max_view_units",
  elements: "elements",
  emails: "emails",
  groups: "groups",
  memberships: "memberships",
  maxUserGroups: "max_user_groups",
  uniqueValues: "unique_values",
};

/**
 * The rows one request may walk: about 100 ms of one D1 database at the worst (README,
 * SECURITY.md).
 */
export const ROW_BUDGET = 50_000;

/**
 * Rows a lookup on a non-unique index (externalId, emails.value, manager, members.value,
 * groups.value) may match. The guard counts at most this many + 1 index entries first; a value
 * shared by more is refused (narrow the filter). A matching attribute identifies one user (Entra
 * itself fails on several matches), so ten is room enough, and it keeps the rows such a lookup
 * brings along (each user's groups) within the budget in a tenant of thousands of groups.
 */
export const LOOKUP_CAP = 10;

/**
 * Units a page of users may return (about 2 MB of profiles): returning a row costs D1 more than
 * walking it (measured: a page of 200 profiles of 60 KB held the database 88 ms). A page of large
 * views holds fewer users than asked (RFC 7644 §3.4.2.4; `itemsPerPage` says how many).
 */
export const PAGE_UNITS = 2_000;

/** Index entries that count as one row: a count or an offset walks an index, not the rows. */
export const INDEX_ENTRIES_PER_ROW = 10;

/** A price: a number, a size, or sums, products and minima of prices. */
export type Price = number | { size: SizeName } | { op: "sum" | "product" | "min"; of: Price[] };

export const size = (name: SizeName): Price => ({ size: name });

/** Sum of prices (numbers folded). */
export function plus(...of: Price[]): Price {
  const constant = of.filter((p): p is number => typeof p === "number").reduce((a, b) => a + b, 0);
  const rest = of.filter((p) => typeof p !== "number");
  if (rest.length === 0) return constant;
  return constant === 0 && rest.length === 1 ? rest[0]! : { op: "sum", of: constant === 0 ? rest : [...rest, constant] };
}

/** Product of prices (numbers folded; zero absorbs). */
export function times(...of: Price[]): Price {
  const constant = of.filter((p): p is number => typeof p === "number").reduce((a, b) => a * b, 1);
  const rest = of.filter((p) => typeof p !== "number");
  if (constant === 0 || rest.length === 0) return constant;
  return constant === 1 && rest.length === 1 ? rest[0]! : { op: "product", of: constant === 1 ? rest : [constant, ...rest] };
}

/** The smaller of prices: either bounds the walk. */
export function least(...of: Price[]): Price {
  return of.length === 1 ? of[0]! : { op: "min", of };
}

/** The price in rows for these sizes. */
export function evaluate(price: Price, sizes: TenantSizes): number {
  if (typeof price === "number") return price;
  if ("size" in price) return sizes[price.size];
  const values = price.of.map((p) => evaluate(p, sizes));
  switch (price.op) {
    case "sum":
      return values.reduce((a, b) => a + b, 0);
    case "product":
      return values.reduce((a, b) => a * b, 1);
    case "min":
      return Math.min(...values);
  }
}

/** The price as SQL over a `tenant_sizes` row aliased `s`: numbers inlined, no parameters. */
export function priceSql(price: Price): string {
  if (typeof price === "number") return String(price);
  if ("size" in price) return `s.${COLUMNS[price.size]}`;
  const parts = price.of.map(priceSql);
  switch (price.op) {
    case "sum":
      return `(${parts.join(" + ")})`;
    case "product":
      return `(${parts.join(" * ")})`;
    case "min":
      return `min(${parts.join(", ")})`;
  }
}

/**
 * What a request will walk: its price, and the non-unique lookups that must each match at most
 * LOOKUP_CAP rows for the price to hold (each a `select 1 from … where …` of the matching rows).
 */
export interface Cost {
  price: Price;
  probes: SQL[];
  /** What to say when it is refused: how to narrow the request. */
  hint: string;
}

/** One cost for a request that does what each of `costs` prices. */
export function costOfAll(...costs: Cost[]): Cost {
  return { price: plus(...costs.map((c) => c.price)), probes: costs.flatMap((c) => c.probes), hint: costs[0]?.hint ?? "narrow it" };
}

/**
 * The condition, for a guard, that `cost` fits `tenantId`'s sizes and each of its lookups matches
 * at most LOOKUP_CAP rows (counting stops at one more). False when the tenant has no sizes row.
 */
export function costFits(cost: Cost, tenantId: string): SQL {
  const probes = cost.probes.map((probe) => sql` and (select count(*) from (${probe} limit ${sql.raw(String(LOOKUP_CAP + 1))})) <= ${sql.raw(String(LOOKUP_CAP))}`);
  return sql`coalesce((select ${sql.raw(priceSql(cost.price))} <= ${sql.raw(String(ROW_BUDGET))}${sql.join(probes, sql``)}
    from tenant_sizes s where s.tenant_id = ${tenantId}), 0)`;
}

/** The sizes in a `tenant_sizes` row as read through D1 (snake_case columns); zeros when absent. */
export function sizesOf(row: Record<string, unknown> | undefined): TenantSizes {
  const n = (name: SizeName) => Number(row?.[COLUMNS[name]] ?? (name === "maxViewUnits" ? 1 : 0));
  return {
    views: n("views"),
    viewUnits: n("viewUnits"),
    maxViewUnits: n("maxViewUnits"),
    elements: n("elements"),
    emails: n("emails"),
    groups: n("groups"),
    memberships: n("memberships"),
    maxUserGroups: n("maxUserGroups"),
    uniqueValues: n("uniqueValues"),
  };
}
