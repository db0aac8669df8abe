/**
 * List queries (RFC 7644 §3.4.2): filter, sort, paging and projection, from a query string or a
 * /.search body, compiled for one resource type.
 */
import { sql, type SQL } from "drizzle-orm";
import { LIMITS } from "./discovery";
import { ScimError } from "./errors";
import { checkCostBudget, checkParameterBudget, compileFilter, CostMeter, MAX_FILTER_PARAMETERS, type Resolver } from "./filter/compile";
import { parseAttrPath, parseFilter, type Filter } from "./filter/parse";
import { parseProjection, type Projection } from "./projection";
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
  /** An indexed `eq` bounds the filter's rows: the list's default order must not choose an index (ListQuery.pinned). */
  pinned: boolean;
  orderBy: SQL[];
  /** 1-based, as echoed in the ListResponse. */
  startIndex: number;
  count: number;
  projection: Projection;
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
 * Whether every row the filter matches must match an indexed `eq`: one of its top-level `and`
 * terms is one (under `or` or `not` the index does not bound the rows, and a list is better
 * walked in its order than read whole and sorted).
 */
function pinsRows(filter: Filter, resolve: Resolver): boolean {
  if (filter.kind === "and") return filter.filters.some((term) => pinsRows(term, resolve));
  // `emails[type eq "work"].value eq "x"`: an element matching an indexed eq (not one of several alternatives).
  const term = filter.kind === "compare" || (filter.kind === "valuePath" && filter.filter.kind !== "or" && filter.filter.kind !== "not");
  if (!term) return false;
  const meter = new CostMeter();
  compileFilter(filter, resolve, meter);
  return meter.indexed > 0;
}

/**
 * Turns list parameters into a plan; every invalid parameter is a 400 SCIM error. A root search
 * passes one `meter` to both types' plans: the filter runs against both, so its cost is the sum.
 */
export function planList(type: ResourceTypeDef, resolve: Resolver, params: ListParameters, meter = new CostMeter()): ListQueryPlan {
  const filterText = optionalString("filter", params.filter);
  const filter = filterText === undefined ? undefined : parseFilter(filterText);
  const where = filter === undefined ? undefined : compileFilter(filter, resolve, meter);
  if (where) {
    checkCostBudget(meter);
    checkParameterBudget(where, MAX_FILTER_PARAMETERS);
  }
  // RFC 7644 §3.4.2.4: startIndex below 1 is 1, a negative count is 0, a large one is clamped.
  // Past 2^31 an offset stops being an integer SQLite takes; no tenant is that large anyway.
  const startIndex = Math.min(MAX_START_INDEX, Math.max(1, integer("startIndex", params.startIndex) ?? 1));
  const count = Math.min(LIMITS.maxResults, Math.max(0, integer("count", params.count) ?? LIMITS.maxResults));
  const orderBy: SQL[] = [];
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
    // Missing values sort last either way, as RFC 7644 §3.4.2.3 asks.
    orderBy.push(sql`(${expr} is null)`, sortOrder === "descending" ? sql`${expr} desc` : sql`${expr} asc`);
  }
  const projection = parseProjection(
    type,
    optionalString("attributes", params.attributes),
    optionalString("excludedAttributes", params.excludedAttributes),
  );
  return { where, pinned: filter !== undefined && pinsRows(filter, resolve), orderBy, startIndex, count, projection };
}
