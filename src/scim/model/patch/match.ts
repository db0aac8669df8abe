/**
 * Which elements of a multi-valued attribute an operation touches: a value filter evaluated in
 * memory on one element (`emails[type eq "work"]`), the element a filter describes when it
 * matches none (Entra creates it), and the identity by which an `add` merges or a `remove`
 * drops an element.
 */
import type { CompareOp, CompareValue, Filter } from "../filter/parse";
import { findAttribute, type AttributeDef } from "../schemas";
import type { Doc } from "../validate";
import { invalidPath } from "./path";

function compareValues(op: CompareOp, actual: unknown, expected: CompareValue, caseExact: boolean): boolean {
  if (actual === undefined || actual === null) return op === "ne";
  if (typeof expected === "string" && typeof actual === "string") {
    const a = caseExact ? actual : actual.toLowerCase();
    const e = caseExact ? expected : expected.toLowerCase();
    switch (op) {
      case "eq": return a === e;
      case "ne": return a !== e;
      case "co": return a.includes(e);
      case "sw": return a.startsWith(e);
      case "ew": return a.endsWith(e);
      case "gt": return a > e;
      case "ge": return a >= e;
      case "lt": return a < e;
      case "le": return a <= e;
    }
  }
  if (typeof actual === "boolean" && typeof expected === "string") {
    return compareValues(op, actual, expected.toLowerCase() === "true", caseExact);
  }
  switch (op) {
    case "eq": return actual === expected;
    case "ne": return actual !== expected;
    case "gt": return (actual as number) > (expected as number);
    case "ge": return (actual as number) >= (expected as number);
    case "lt": return (actual as number) < (expected as number);
    case "le": return (actual as number) <= (expected as number);
    default: return false;
  }
}

/** Evaluates a value filter against one element of a multi-valued complex attribute. */
export function elementMatches(filter: Filter, element: unknown, def: AttributeDef): boolean {
  const item = element && typeof element === "object" ? (element as Doc) : { value: element };
  switch (filter.kind) {
    case "and": return filter.filters.every((f) => elementMatches(f, element, def));
    case "or": return filter.filters.some((f) => elementMatches(f, element, def));
    case "not": return !elementMatches(filter.filter, element, def);
    case "valuePath": return invalidPath("Value filters cannot be nested.");
    case "present":
    case "compare": {
      if (filter.path.schema || filter.path.subAttribute) invalidPath(`'${filter.path.attribute}' inside '[...]' must be a sub-attribute of '${def.name}'.`);
      const sub = findAttribute(def.subAttributes, filter.path.attribute);
      if (!sub) invalidPath(`'${def.name}' has no sub-attribute '${filter.path.attribute}'.`);
      const actual = item[sub.name];
      if (filter.kind === "present") return actual !== undefined && actual !== null && actual !== "";
      return compareValues(filter.op, actual, filter.value, sub.caseExact);
    }
  }
}

/** The sub-attribute values a filter pins with `eq` (`type eq "work"`): a new element's seed. */
export function equalities(filter: Filter, def: AttributeDef): Doc | undefined {
  if (filter.kind === "compare" && filter.op === "eq" && !filter.path.subAttribute) {
    const sub = findAttribute(def.subAttributes, filter.path.attribute);
    return sub ? { [sub.name]: filter.value } : undefined;
  }
  if (filter.kind === "and") {
    const parts = filter.filters.map((f) => equalities(f, def));
    if (parts.some((p) => p === undefined)) return undefined;
    return Object.assign({}, ...parts) as Doc;
  }
  return undefined;
}

/**
 * The identity of a multi-valued element for an `add`: its `value` (strings ignoring case), or
 * the whole element when it has none. Two elements are the same when their keys are equal, so a
 * merge looks elements up in a Map: linear in the values, whatever their number.
 */
export function elementKey(e: unknown): string {
  if (e && typeof e === "object" && "value" in (e as Doc)) {
    const v = (e as Doc).value;
    return typeof v === "string" ? `s:${v.toLowerCase()}` : `v:${JSON.stringify(v)}`;
  }
  return `e:${JSON.stringify(e)}`;
}
