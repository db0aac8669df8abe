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
  /** What any other comparison walks; `scan` (the tenant's resources) when absent. */
  cost?: TermCost;
}

/** A multi-valued complex attribute: a filter on it means "some element matches". */
export interface MultiTarget {
  kind: "multi";
  /** `EXISTS (… element rows … AND cond)`. */
  exists: (cond: SQL | undefined) => SQL;
  /** Resolves a sub-attribute of one element. */
  sub: (name: string) => ScalarTarget | undefined;
  /** What presence (`members pr`) walks; `scan` when absent. */
  cost?: TermCost;
}

/** A singular complex attribute (e.g. `name`): only presence can be tested on the whole. */
export interface ComplexTarget {
  kind: "complex";
  presence: SQL;
  /** A complex attribute that compares as one of its sub-attributes (enterprise `manager` → `value`). */
  comparesAs?: ScalarTarget;
}

export type Target = ScalarTarget | MultiTarget | ComplexTarget;

/**
 * What one filter term costs the database: an index lookup; a comparison on each of the tenant's
 * resources; a sub-query over each resource's values (phoneNumbers, an email's type…); or a walk
 * over every membership of the tenant (members' and groups' sub-attributes).
 */
export type TermCost = "index" | "scan" | "elements" | "members";

/** Units of each kind of term, and the budget of one filter (README "SCIM support", limits). */
export const TERM_COST_UNITS: Record<TermCost, number> = { index: 1, scan: 2, elements: 4, members: 50 };
export const FILTER_COST_BUDGET = 100;

/** Adds up what a filter's terms cost while it compiles. */
export class CostMeter {
  total = 0;
  /** Indexed `eq` terms seen (src/scim/query.ts asks whether a filter pins its rows through one). */
  indexed = 0;
  add(cost: TermCost): void {
    this.total += TERM_COST_UNITS[cost];
    if (cost === "index") this.indexed++;
  }
}

/** Maps an attribute path to its target, or throws `invalidFilter`. */
export type Resolver = (path: AttrPath) => Target;

/**
 * D1 binds at most 100 parameters a statement; a list query needs a few of its own (tenant,
 * limit, offset), so a compiled filter may bind at most this many.
 */
export const MAX_FILTER_PARAMETERS = 90;

const dialect = new SQLiteSyncDialect();

/** Refuses (400) a filter whose terms cost more than FILTER_COST_BUDGET. */
export function checkCostBudget(meter: CostMeter): void {
  if (meter.total > FILTER_COST_BUDGET) {
    const { index, scan, elements, members } = TERM_COST_UNITS;
    filterError(
      `the filter would cost ${meter.total} units and one filter may cost at most ${FILTER_COST_BUDGET}: ` +
        `an indexed 'eq' (userName, externalId, id, emails.value, displayName, members.value, groups.value, manager) costs ${index}, ` +
        `another comparison on the resource itself ${scan}, one on the values of a multi-valued attribute ${elements}, ` +
        `and one on members' or groups' other sub-attributes walks every membership of the tenant (${members}).`,
    );
  }
}

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
      return balanced(filter.filters.map((f) => compileFilter(f, resolve, meter)), "or");
    case "not":
      return sql`(not coalesce(${compileFilter(filter.filter, resolve, meter)}, 0))`;
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
      const inner = compileFilter(filter.filter, (sub) => {
        if (sub.schema || sub.subAttribute) {
          filterError(`'${describePath(sub)}' inside '[...]' must be a sub-attribute of '${filter.path.attribute}'.`);
        }
        const resolved = target.sub(sub.attribute);
        if (!resolved) filterError(`'${filter.path.attribute}' has no sub-attribute '${sub.attribute}'.`);
        return resolved;
      }, meter);
      return target.exists(inner);
    }
  }
}

/** What a comparison (or presence test) on `target` costs. */
function termCost(filter: Extract<Filter, { kind: "compare" | "present" }>, target: ScalarTarget): TermCost {
  return filter.kind === "compare" && filter.op === "eq" && filter.value !== null && target.indexed ? "index" : (target.cost ?? "scan");
}

function attributeExpression(filter: Extract<Filter, { kind: "compare" | "present" }>, target: Target, meter: CostMeter): SQL {
  switch (target.kind) {
    case "scalar":
      meter.add(termCost(filter, target));
      return leaf(filter, target, filter.path);
    case "multi": {
      // `emails eq "x"` compares the elements' values; `emails pr` tests for any element.
      if (filter.kind === "present") {
        meter.add(target.cost ?? "scan");
        return target.exists(undefined);
      }
      const value = target.sub("value");
      if (!value) filterError(`'${describePath(filter.path)}' has no value to compare; filter a sub-attribute.`);
      meter.add(termCost(filter, value));
      return target.exists(leaf(filter, value, filter.path));
    }
    case "complex":
      meter.add(target.comparesAs ? termCost(filter, target.comparesAs) : "scan");
      if (filter.kind === "present") return target.presence;
      if (target.comparesAs) return leaf(filter, target.comparesAs, filter.path);
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
  // Unassigned (root /.search, another type's attribute): whatever the value's type, only `ne` holds.
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
