/**
 * Compiles a filter AST to a parameterized Drizzle SQL condition. The resource (Users, Groups)
 * supplies a resolver that maps an attribute path to where it lives: an indexed column, a JSON
 * field of the profile, or a multi-valued attribute stored as rows or as a JSON array.
 *
 * Values are always bound parameters; `co`/`sw`/`ew` use instr/substr rather than LIKE so that
 * `%` and `_` are data. Case sensitivity follows the attribute's `caseExact`.
 */
import { sql, type SQL } from "drizzle-orm";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import { ScimError } from "../errors";
import type { AttributeType } from "../schemas";
import { least, LOOKUP_CAP, plus, size, times, type Price } from "../cost";
import type { AttrPath, CompareOp, CompareValue, Filter } from "./parse";

/** A single value somewhere in the store. */
export interface ScalarTarget {
  kind: "scalar";
  /** The SQL expression of the value. */
  expr: SQL;
  type: AttributeType;
  caseExact: boolean;
  /**
   * When set, `expr` holds the value already lowercased (a `*_key` column): comparisons lowercase
   * the filter value in JavaScript (full Unicode) and hit the column's index.
   */
  keyColumn?: boolean;
  /** dateTime columns hold epoch milliseconds. */
  epochMs?: boolean;
  /** `eq` on this value is an index lookup (other operators are not). */
  indexed?: boolean;
  /** With `indexed`: at most one row has a given value (userName, id, a group's displayName). */
  unique?: boolean;
  /**
   * With `indexed` and not `unique`: the rows an `eq` matches, as `select 1 from … where …`
   * given the comparison, for the guard to count (at most LOOKUP_CAP, src/scim/model/cost.ts).
   */
  probe?: (cond: SQL) => SQL;
  /**
   * With `indexed`, instead of a probe: the most rows one value can have, as a price of the
   * tenant's sizes (a user's groups: the most groups one user is in).
   */
  rowsPerValue?: Price;
  /** What any other comparison reads of each row it is evaluated on; `column` when absent. */
  cost?: TermCost;
}

/** A multi-valued complex attribute: a filter on it means "some element matches". */
export interface MultiTarget {
  kind: "multi";
  /** `EXISTS (… element rows … AND cond)`. */
  exists: (cond: SQL | undefined) => SQL;
  /** Resolves a sub-attribute of one element. */
  sub: (name: string) => ScalarTarget | undefined;
  /**
   * Where the elements are rows of their own (emails, memberships, a declared unique value…),
   * read once per query by an uncorrelated sub-query: the rows it walks when no indexed `eq`
   * inside lets it seek. Absent: a JSON array inside each walked row's profile.
   */
  set?: { walks: Price };
}

/** A singular complex attribute (e.g. `name`): only presence can be tested on the whole. */
export interface ComplexTarget {
  kind: "complex";
  presence: SQL;
  /**
   * A complex attribute that compares as one of its sub-attributes (enterprise `manager` →
   * `value`).
   */
  comparesAs?: ScalarTarget;
}

export type Target = ScalarTarget | MultiTarget | ComplexTarget;

/**
 * What a term reads of each row it is evaluated on: a column or an index entry (one row), or a
 * value inside the row's profile JSON (it parses the profile: the view's units).
 */
export type TermCost = "column" | "json";

/**
 * Adds up, while a filter compiles, what its terms make the database walk, for
 * src/scim/model/query.ts to price once it knows which rows the query walks
 * (src/scim/model/cost.ts): terms evaluated on each walked row, work done once (a set's sub-query),
 * and the indexed `eq` terms that could drive it.
 */
export class CostMeter {
  /** Terms evaluated on each walked row, by what they read. */
  readonly perRow: Record<TermCost, number> = { column: 0, json: 0 };
  /**
   * Comparisons on each element of a JSON array of each walked row (the arrays' parses are `json`
   * terms).
   */
  elementTerms = 0;
  /** Work done once per query, in rows. */
  readonly once: Price[] = [];
  /**
   * Inside an `or` or a `not`: an indexed `eq` there does not bound the rows (the others walk
   * anyway), so it counts as a term on each row, and its probe is not asked for.
   */
  loose = 0;
  /**
   * Indexed `eq` terms on unique values that bound the rows (joined to the filter by `and` only).
   */
  unique = 0;
  /**
   * The probes of indexed `eq` terms on non-unique values that bound the rows: each must match at
   * most LOOKUP_CAP rows.
   */
  readonly probes: SQL[] = [];
  /** The most rows other bounding `eq` terms can match (ScalarTarget.rowsPerValue). */
  readonly bounded: Price[] = [];

  /**
   * Indexed `eq` terms that bound the rows (src/scim/model/query.ts asks whether a filter pins its
   * rows through one).
   */
  get indexed(): number {
    return this.unique + this.probes.length + this.bounded.length;
  }

  /** The most rows the bounding terms let through: undefined when none bounds them. */
  get pinnedRows(): Price | undefined {
    if (this.unique > 0) return 1;
    const bounds = [...(this.probes.length > 0 ? [LOOKUP_CAP] : []), ...this.bounded];
    return bounds.length === 0 ? undefined : least(...bounds);
  }

  /** Terms of any kind metered per row (what one element of a set or array is compared with). */
  get terms(): number {
    return this.perRow.column + this.perRow.json + this.elementTerms + this.indexed;
  }

  /** The units the per-row terms read on one row, given what each kind costs there. */
  rowPrice(row: Record<TermCost, Price>): Price {
    return plus(times(this.perRow.column, row.column), times(this.perRow.json, row.json));
  }
}

/**
 * One row of a set (an email, a membership): its own columns are one row; JSON, the largest view.
 */
const SET_ROW: Record<TermCost, Price> = { column: 1, json: size("maxViewUnits") };

/** Maps an attribute path to its target, or throws `invalidFilter`. */
export type Resolver = (path: AttrPath) => Target;

/**
 * D1 binds at most 100 parameters a statement; a list query needs a few of its own (tenant,
 * limit, offset), so a compiled filter may bind at most this many.
 */
export const MAX_FILTER_PARAMETERS = 90;

const dialect = new SQLiteSyncDialect();

/** Refuses (400) a compiled condition that binds more parameters than D1 takes. */
export function checkParameterBudget(condition: SQL, budget: number): void {
  const count = dialect.sqlToQuery(condition).params.length;
  if (count > budget) {
    filterError(`the filter compares too many values (${count}; at most ${budget}): split it into several requests.`);
  }
}

/** An attribute the resource does not have: root searches treat it as unassigned instead. */
export class UnknownAttributeError extends ScimError {
  constructor(detail: string) {
    super(400, `Invalid filter: ${detail}`, "invalidFilter");
  }
}

/**
 * For a search across resource types: an attribute this type does not have is unassigned (NULL)
 * rather than an error, so `userName eq "x"` finds users and no groups.
 */
export function unassignedWhenUnknown(resolve: Resolver): Resolver {
  return (path) => {
    try {
      return resolve(path);
    } catch (error) {
      if (error instanceof UnknownAttributeError) return UNASSIGNED;
      throw error;
    }
  };
}

/** An attribute the resource type does not have: never assigned, whatever its shape elsewhere. */
const UNASSIGNED: ScalarTarget = { kind: "scalar", expr: sql`null`, type: "string", caseExact: true };

/** Throws the `invalidFilter` error every unknown or unsupported attribute gets. */
export function filterError(detail: string): never {
  throw new ScimError(400, `Invalid filter: ${detail}`, "invalidFilter");
}

function describePath(path: AttrPath): string {
  return `${path.schema ? `${path.schema}:` : ""}${path.attribute}${path.subAttribute ? `.${path.subAttribute}` : ""}`;
}

/**
 * Joins conditions as a balanced tree, `((a or b) or (c or d))`: a flat chain of 90 terms nests
 * 90 deep in SQLite's parser and passes its expression-depth limit; balanced, it nests 7.
 */
function balanced(parts: SQL[], op: "and" | "or"): SQL {
  if (parts.length === 1) return parts[0]!;
  const middle = Math.ceil(parts.length / 2);
  return sql`(${balanced(parts.slice(0, middle), op)} ${sql.raw(op)} ${balanced(parts.slice(middle), op)})`;
}

/**
 * Compiles a filter for a resource; the result is a condition for its WHERE clause. `meter`
 * adds up what each term costs, for the caller to hold against FILTER_COST_BUDGET.
 */
export function compileFilter(filter: Filter, resolve: Resolver, meter = new CostMeter()): SQL {
  switch (filter.kind) {
    case "and":
      return balanced(filter.filters.map((f) => compileFilter(f, resolve, meter)), "and");
    case "or":
      return loosely(meter, () => balanced(filter.filters.map((f) => compileFilter(f, resolve, meter)), "or"));
    case "not":
      return loosely(meter, () => sql`(not coalesce(${compileFilter(filter.filter, resolve, meter)}, 0))`);
    case "present":
    case "compare":
      return attributeExpression(filter, resolve(filter.path), meter);
    case "valuePath": {
      const target = resolve(filter.path);
      // Root /.search: `phoneNumbers[…]` matches no Group rather than failing the whole search.
      if (target === UNASSIGNED) return sql`0`;
      if (target.kind !== "multi") {
        filterError(`'${describePath(filter.path)}' is not multi-valued; '[...]' needs a multi-valued attribute.`);
      }
      const innerMeter = new CostMeter();
      const inner = compileFilter(filter.filter, (sub) => {
        if (sub.schema || sub.subAttribute) {
          filterError(`'${describePath(sub)}' inside '[...]' must be a sub-attribute of '${filter.path.attribute}'.`);
        }
        const resolved = target.sub(sub.attribute);
        if (!resolved) filterError(`'${filter.path.attribute}' has no sub-attribute '${sub.attribute}'.`);
        return resolved;
      }, innerMeter);
      meterElements(meter, target, innerMeter);
      return target.exists(inner);
    }
  }
}

/** Compiles under `or` or `not`, where no term bounds the rows. */
function loosely(meter: CostMeter, compile: () => SQL): SQL {
  meter.loose++;
  try {
    return compile();
  } finally {
    meter.loose--;
  }
}

/** Meters a comparison (or presence test) on a scalar of the walked row, or of a set's element. */
function meterScalar(meter: CostMeter, filter: Extract<Filter, { kind: "compare" | "present" }>, target: ScalarTarget, cond: SQL): void {
  const bounds = meter.loose === 0 && filter.kind === "compare" && filter.op === "eq" && filter.value !== null && target.indexed;
  if (bounds && target.unique) meter.unique++;
  else if (bounds && target.rowsPerValue !== undefined) meter.bounded.push(target.rowsPerValue);
  else if (bounds && target.probe) meter.probes.push(target.probe(cond));
  else meter.perRow[target.cost ?? "column"]++;
}

/**
 * Meters a multi-valued attribute's elements compared with what `inner` metered: a set's rows
 * are read once by a sub-query (seeking through an indexed `eq` inside, else walking them all);
 * a JSON array is parsed on every walked row and each of its elements compared.
 */
function meterElements(meter: CostMeter, target: MultiTarget, inner: CostMeter): void {
  if (!target.set) {
    meter.perRow.json++;
    meter.elementTerms += inner.terms;
    return;
  }
  // An indexed eq inside lets the sub-query seek. Under an `or` or `not` of the outer filter a
  // probe is not asked for (it would refuse what bounds nothing), so such a seek is priced as
  // the walk it may turn into.
  const seek = meter.loose > 0 && inner.unique === 0 && inner.bounded.length === 0 ? undefined : inner.pinnedRows;
  meter.once.push(times(seek ?? target.set.walks, plus(1, inner.rowPrice(SET_ROW))));
  // A seek bounds the outer rows too (`user_id in (…)`), joined by `and` only.
  if (meter.loose === 0) {
    meter.unique += inner.unique;
    meter.probes.push(...inner.probes);
    meter.bounded.push(...inner.bounded);
  }
}

function attributeExpression(filter: Extract<Filter, { kind: "compare" | "present" }>, target: Target, meter: CostMeter): SQL {
  switch (target.kind) {
    case "scalar": {
      const cond = leaf(filter, target, filter.path);
      meterScalar(meter, filter, target, cond);
      return cond;
    }
    case "multi": {
      // `emails eq "x"` compares the elements' values; `emails pr` tests for any element.
      const inner = new CostMeter();
      if (filter.kind === "present") {
        meterElements(meter, target, inner);
        return target.exists(undefined);
      }
      const value = target.sub("value");
      if (!value) filterError(`'${describePath(filter.path)}' has no value to compare; filter a sub-attribute.`);
      const cond = leaf(filter, value, filter.path);
      meterScalar(inner, filter, value, cond);
      meterElements(meter, target, inner);
      return target.exists(cond);
    }
    case "complex":
      if (filter.kind === "present") {
        meter.perRow.json++;
        return target.presence;
      }
      if (target.comparesAs) {
        const cond = leaf(filter, target.comparesAs, filter.path);
        meterScalar(meter, filter, target.comparesAs, cond);
        return cond;
      }
      return filterError(`'${describePath(filter.path)}' is complex; compare one of its sub-attributes.`);
  }
}

function leaf(filter: Extract<Filter, { kind: "compare" | "present" }>, target: ScalarTarget, path: AttrPath): SQL {
  if (filter.kind === "present") {
    return target.type === "string" || target.type === "reference" || target.type === "binary"
      ? sql`(${target.expr} is not null and ${target.expr} <> '')`
      : sql`(${target.expr} is not null)`;
  }
  if (filter.value === null) {
    if (filter.op === "eq") return sql`(${target.expr} is null)`;
    if (filter.op === "ne") return sql`(${target.expr} is not null)`;
    filterError(`'${filter.op}' cannot compare with null.`);
  }
  // Unassigned (root /.search, another type's attribute): whatever the value's type, only `ne`
  // holds.
  if (target === UNASSIGNED) return filter.op === "ne" ? sql`1` : sql`0`;
  return compare(target, filter.op, filter.value, describePath(path));
}

function compare(target: ScalarTarget, op: CompareOp, raw: Exclude<CompareValue, null>, name: string): SQL {
  switch (target.type) {
    case "boolean": {
      const value = typeof raw === "string" ? { true: true, false: false }[raw.toLowerCase()] : raw;
      if (typeof value !== "boolean") filterError(`'${name}' is a boolean; compare it with true or false.`);
      if (op !== "eq" && op !== "ne") filterError(`'${op}' does not apply to the boolean '${name}'; use eq or ne.`);
      // JSON holds true/false, columns 1/0: both compare equal to 1/0 in SQLite.
      const bit = value ? 1 : 0;
      return op === "eq" ? sql`(${target.expr} = ${bit})` : sql`(${target.expr} is null or ${target.expr} <> ${bit})`;
    }
    case "integer":
    case "decimal": {
      if (typeof raw !== "number") filterError(`'${name}' is a number; compare it with a number.`);
      if (op === "co" || op === "sw" || op === "ew") filterError(`'${op}' does not apply to the number '${name}'.`);
      return ordered(target.expr, op, raw);
    }
    case "dateTime": {
      if (typeof raw !== "string") filterError(`'${name}' is a dateTime; compare it with a quoted ISO 8601 time.`);
      const ms = Date.parse(raw);
      if (Number.isNaN(ms)) filterError(`'${raw}' is not an ISO 8601 dateTime.`);
      if (op === "co" || op === "sw" || op === "ew") filterError(`'${op}' does not apply to the dateTime '${name}'.`);
      return ordered(target.expr, op, target.epochMs ? ms : new Date(ms).toISOString());
    }
    case "complex":
      return filterError(`'${name}' is complex; compare one of its sub-attributes.`);
    case "string":
    case "reference":
    case "binary": {
      // A number compares as its text (`employeeNumber eq 1815`); a boolean is a mistake.
      if (typeof raw === "boolean") filterError(`'${name}' is a string; quote the value.`);
      const value = String(raw);
      if (target.caseExact) return text(target.expr, op, value);
      if (target.keyColumn) return text(target.expr, op, value.toLowerCase());
      return text(sql`lower(${target.expr})`, op, value.toLowerCase());
    }
  }
}

function ordered(expr: SQL, op: CompareOp, value: string | number): SQL {
  switch (op) {
    case "eq":
      return sql`(${expr} = ${value})`;
    case "ne":
      return sql`(${expr} is null or ${expr} <> ${value})`;
    case "gt":
      return sql`(${expr} > ${value})`;
    case "ge":
      return sql`(${expr} >= ${value})`;
    case "lt":
      return sql`(${expr} < ${value})`;
    case "le":
      return sql`(${expr} <= ${value})`;
    case "co":
    case "sw":
    case "ew":
      return filterError(`'${op}' applies to strings only.`);
  }
}

function text(expr: SQL, op: CompareOp, value: string): SQL {
  switch (op) {
    case "co":
      return sql`(instr(${expr}, ${value}) > 0)`;
    // SQLite counts characters in code points, as the spread does. Lengths are inlined integers,
    // not parameters, to leave D1's 100 bound parameters to the values.
    case "sw":
      return sql`(substr(${expr}, 1, ${sql.raw(String([...value].length))}) = ${value})`;
    case "ew":
      return value === "" ? sql`(${expr} is not null)` : sql`(substr(${expr}, ${sql.raw(String(-[...value].length))}) = ${value})`;
    default:
      return ordered(expr, op, value);
  }
}
