/**
 * List queries (RFC 7644 §3.4.2): filter, sort, paging and projection, from a query string or a
 * /.search body, compiled for one resource type.
 */
import { sql, type SQL } from "drizzle-orm";
import { LIMITS } from "./limits";
import { ScimError } from "./errors";
import { INDEX_ENTRIES_PER_ROW, least, PAGE_UNITS, plus, size, times, type Cost, type Price } from "./cost";
import { checkParameterBudget, compileFilter, CostMeter, MAX_FILTER_PARAMETERS, type Resolver, type TermCost } from "./filter/compile";
import { parseAttrPath, parseFilter, type Filter } from "./filter/parse";
import { isReturned, parseProjection, type Projection } from "./projection";
import type { ResourceTypeDef } from "./schemas";

const MAX_START_INDEX = 2 ** 31 - 1;

/** The raw parameters, as strings from a query or values from a SearchRequest body. */
export interface ListParameters {
  filter?: unknown;
  startIndex?: unknown;
  count?: unknown;
  sortBy?: unknown;
  sortOrder?: unknown;
  attributes?: unknown;
  excludedAttributes?: unknown;
}

export interface ListQueryPlan {
  where?: SQL;
  /**
   * An indexed `eq` bounds the filter's rows: the list's default order must not choose an index
   * (ListQuery.pinned).
   */
  pinned: boolean;
  orderBy: SQL[];
  /** 1-based, as echoed in the ListResponse. */
  startIndex: number;
  count: number;
  projection: Projection;
  /**
   * What the list will walk, for the gate's guard to hold against the tenant's sizes before it
   * runs.
   */
  cost: Cost;
  /**
   * The units a page of users may return (PAGE_UNITS), when it could hold more: a page of at
   * most 61 views (a unique lookup, a probed one, a small count) never reaches it.
   */
  pageUnits?: number;
}

/**
 * What a plan asks of the store for one page: the mapping every list shares (Users, Groups, and
 * root /.search, which pages the groups on from where the users end).
 */
export function pageQuery(plan: ListQueryPlan, offset = plan.startIndex - 1, limit = plan.count) {
  return { where: plan.where, pinned: plan.pinned, orderBy: plan.orderBy, offset, limit, pageUnits: plan.pageUnits };
}

function integer(name: string, value: unknown): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const n = typeof value === "number" ? value : Number(String(value).trim());
  if (!Number.isInteger(n)) throw new ScimError(400, `${name} must be an integer, got ${JSON.stringify(value)}.`, "invalidValue");
  return n;
}

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value.join(",");
  if (typeof value !== "string") throw new ScimError(400, `${name} must be a string.`, "invalidValue");
  return value;
}

/**
 * What walking the rows of a resource type reads: the rows, and what each kind of term reads on
 * them.
 */
interface Walk {
  /** The rows walked. */
  rows: Price;
  /** Reading them (a view: its units). */
  read: Price;
  /** What one term of each kind reads over all of them. */
  term: Record<TermCost, Price>;
  /** What comparing every element of one JSON array of theirs reads. */
  elements: Price;
}

/** The most units one view can have: one, plus one per KiB of the largest profile stored. */
const MAX_VIEW_UNITS = 1 + Math.ceil(LIMITS.maxResourceBytes / 1024);

/**
 * Probed lookups one list may send with its guard (each binds two values, and the guard shares
 * D1's 100 bound parameters with the token's lookup).
 */
const MAX_PROBES = 8;

/** Values one multi-valued attribute may hold (validate.ts refuses more). */
const MAX_VALUES = LIMITS.maxValuesPerAttribute;

function walkOf(type: ResourceTypeDef, pinned: Price | undefined): Walk {
  const users = type.id === "User";
  const biggest = size("maxViewUnits");
  if (pinned === undefined) {
    const rows = size(users ? "views" : "groups");
    const read = users ? size("viewUnits") : rows;
    return { rows, read, term: { column: rows, json: read }, elements: users ? size("elements") : 0 };
  }
  // Driven by an index: one row for a unique value, at most LOOKUP_CAP (probed) or a size's
  // bound for another; rows the caller may pick are priced as the largest view.
  const rows = pinned;
  const read = users ? times(rows, biggest) : rows;
  return { rows, read, term: { column: rows, json: read }, elements: users ? times(rows, MAX_VALUES) : 0 };
}

/**
 * The price of a list (src/scim/model/cost.ts): its filter's walk (twice: the page and the count of
 * totalResults), a sort, the page itself and what each row brings along.
 */
function listPrice(
  type: ResourceTypeDef,
  meter: CostMeter | undefined,
  sort: TermCost | undefined,
  window: { offset: number; count: number },
  brings: { groups: boolean; members: boolean },
): Price {
  const users = type.id === "User";
  const walk = walkOf(type, meter?.pinnedRows);
  // A page holds at most `count` of the rows walked (one for a unique lookup).
  const shown = least(window.count, walk.rows);
  const page = users ? least(times(shown, size("maxViewUnits")), PAGE_UNITS) : shown;
  // Each shown user's memberships and their groups.
  const groupsOfPage = brings.groups ? times(2, least(times(shown, size("maxUserGroups")), size("memberships"))) : 0;
  // Shown groups' members: each group's counted through its key (up to the member budget), then
  // at most LIMITS.maxMembersPerResponse of them with their names.
  const counted = least(size("memberships"), times(shown, LIMITS.maxMembersPerResponse + 1));
  const membersOfPage = brings.members
    ? plus(times(1 / INDEX_ENTRIES_PER_ROW, counted), times(2, least(size("memberships"), LIMITS.maxMembersPerResponse)))
    : 0;
  if (!meter) {
    // The count and the offset walk an index; a sort reads every row.
    // An offset skips no more entries than there are.
    const all = size(users ? "views" : "groups");
    const count = times(1 / INDEX_ENTRIES_PER_ROW, plus(all, least(all, window.offset + window.count)));
    return plus(count, page, sort ? plus(walk.read, walk.term[sort]) : 0, groupsOfPage, membersOfPage);
  }
  const perWalk = plus(
    walk.read,
    times(meter.perRow.column, walk.term.column),
    times(meter.perRow.json, walk.term.json),
    times(meter.elementTerms, walk.elements),
    sort ? walk.term[sort] : 0,
    ...meter.once,
  );
  return plus(times(2, perWalk), page, groupsOfPage, membersOfPage);
}

/**
 * The price of reading one user: their view, and with `withGroups` their memberships and groups
 * (a user the tenant put in every group walks them all).
 */
export function userReadCost(withGroups: boolean): Cost {
  const groups = withGroups ? times(2, size("maxUserGroups")) : 0;
  return { price: plus(size("maxViewUnits"), groups), probes: [], hint: "leave the user's groups out (excludedAttributes=groups)" };
}

/** What to say when a list is refused: how to narrow it. */
const LIST_HINT =
  "narrow it with an indexed 'eq' joined by 'and' (userName, id, externalId, emails.value, manager, groups.value; displayName, externalId or members.value on Groups), " +
  "fewer terms on other attributes, or a smaller count";

/**
 * Turns list parameters into a plan; every invalid parameter is a 400 SCIM error. Its `cost` is
 * what it will walk; a root search runs the filter against both types and pays both.
 */
export function planList(type: ResourceTypeDef, resolve: Resolver, params: ListParameters): ListQueryPlan {
  const filterText = optionalString("filter", params.filter);
  const filter = filterText === undefined ? undefined : parseFilter(filterText);
  const meter = filter === undefined ? undefined : new CostMeter();
  const where = filter === undefined ? undefined : compileFilter(filter, resolve, meter);
  if (where) checkParameterBudget(where, MAX_FILTER_PARAMETERS);
  // RFC 7644 §3.4.2.4: startIndex below 1 is 1, a negative count is 0, a large one is clamped.
  // Past 2^31 an offset stops being an integer SQLite takes; no tenant is that large anyway.
  const startIndex = Math.min(MAX_START_INDEX, Math.max(1, integer("startIndex", params.startIndex) ?? 1));
  const count = Math.min(LIMITS.maxResults, Math.max(0, integer("count", params.count) ?? LIMITS.maxResults));
  const orderBy: SQL[] = [];
  let sort: TermCost | undefined;
  const sortBy = optionalString("sortBy", params.sortBy);
  const sortOrderText = optionalString("sortOrder", params.sortOrder);
  const sortOrder = sortOrderText?.toLowerCase();
  if (sortOrder !== undefined && sortOrder !== "ascending" && sortOrder !== "descending") {
    throw new ScimError(400, `sortOrder must be 'ascending' or 'descending', got '${sortOrderText}'.`, "invalidValue");
  }
  if (sortBy) {
    let target;
    try {
      target = resolve(parseAttrPath(sortBy.trim()));
    } catch (error) {
      if (error instanceof ScimError) throw new ScimError(400, `sortBy: ${error.detail.replace(/^Invalid filter: /, "")}`, "invalidValue");
      throw error;
    }
    const scalar = target.kind === "scalar" ? target : target.kind === "complex" ? target.comparesAs : undefined;
    if (!scalar) throw new ScimError(400, `sortBy: '${sortBy}' is multi-valued or complex and cannot order results.`, "invalidValue");
    const expr = scalar.caseExact || scalar.keyColumn ? scalar.expr : sql`lower(${scalar.expr})`;
    sort = scalar.cost ?? "column";
    // Missing values sort last either way, as RFC 7644 §3.4.2.3 asks.
    orderBy.push(sql`(${expr} is null)`, sortOrder === "descending" ? sql`${expr} desc` : sql`${expr} asc`);
  }
  const projection = parseProjection(
    type,
    optionalString("attributes", params.attributes),
    optionalString("excludedAttributes", params.excludedAttributes),
  );
  if (meter && meter.probes.length > MAX_PROBES) {
    throw new ScimError(
      400,
      `The filter looks up ${meter.probes.length} values of externalId, emails.value or manager joined by 'and'; one request may look up at most ${MAX_PROBES}: split it into several requests.`,
      "tooMany",
    );
  }
  // Each returned user comes with their groups, each group with its members, unless left out.
  const brings = { groups: type.id === "User" && isReturned(projection, type, "groups"), members: type.id === "Group" && isReturned(projection, type, "members") };
  const price = listPrice(type, meter, sort, { offset: startIndex - 1, count }, brings);
  const pinned = meter?.pinnedRows;
  const rows = Math.min(count, typeof pinned === "number" ? pinned : count);
  return {
    ...(rows * MAX_VIEW_UNITS > PAGE_UNITS ? { pageUnits: PAGE_UNITS } : {}),
    where,
    pinned: pinned !== undefined,
    orderBy,
    startIndex,
    count,
    projection,
    cost: { price, probes: meter?.probes ?? [], hint: LIST_HINT },
  };
}
