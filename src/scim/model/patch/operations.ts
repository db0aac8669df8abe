/**
 * The three PATCH operations on one attribute (RFC 7644 §3.5.2.1–3), each given a target resolved
 * once from the path (apply.ts): the object holding the attribute, its key and definition, and
 * the part the path selects (elements by a value filter, a sub-attribute, or both). `add` and
 * `replace` differ only where the RFC makes them: a whole multi-valued value is merged or
 * replaced, a matched element merged or replaced, and an empty value ignored or removing.
 */
import { ScimError } from "../errors";
import type { Filter } from "../filter/parse";
import type { AttributeDef } from "../schemas";
import { attributeValue, type Doc } from "../validate";
import { elementKey, elementMatches, equalities } from "./match";
import { invalidPath } from "./path";

/** Where an operation lands, resolved once from its path. */
export interface Target {
  /** The document, or the extension's object in it, that holds the attribute. */
  container: Doc;
  /** The attribute's key in `container`: its canonical name. */
  key: string;
  def: AttributeDef;
  /** Selects elements by value (for a singular complex attribute, the attribute itself). */
  filter?: Filter;
  /** Selects a sub-attribute of the attribute, or of each selected element. */
  sub?: AttributeDef;
  /** The path as sent, for messages. */
  label: string;
}

const isObject = (v: unknown): v is Doc => !!v && typeof v === "object";

export function add(t: Target, value: unknown): void {
  if (t.filter) return setSelected(t, t.filter, value, (element, v) => ({ ...(element as Doc), ...(v as Doc) }));
  if (t.sub) return setSub(t, t.sub, value);
  const v = attributeValue(t.def, value, t.label);
  if (v === undefined) return;
  if (t.def.multiValued) t.container[t.key] = mergeElements(t.container[t.key], v as unknown[]);
  else setSingle(t, v);
}

export function replace(t: Target, value: unknown): void {
  if (t.filter) return setSelected(t, t.filter, value, (_element, v) => v);
  if (t.sub) return setSub(t, t.sub, value);
  const v = attributeValue(t.def, value, t.label);
  if (v === undefined) delete t.container[t.key];
  else if (t.def.multiValued) t.container[t.key] = v;
  else setSingle(t, v);
}

export function remove(t: Target, value: unknown): void {
  const { container, key, def, filter, sub } = t;
  const current = container[key];
  if (!def.multiValued) {
    // Filtered, it is removed when it matches, left alone when not (RFC 7644 §3.5.2.2: no match,
    // no change).
    if (filter && (current === undefined || current === null || !elementMatches(filter, current, def))) return;
    if (!sub) delete container[key];
    else if (isObject(current)) delete current[sub.name];
    return;
  }
  const elements = Array.isArray(current) ? current : [];
  if (sub) {
    for (const e of elements) if ((!filter || elementMatches(filter, e, def)) && isObject(e)) delete e[sub.name];
  } else if (filter) {
    container[key] = elements.filter((e) => !elementMatches(filter, e, def));
  } else if (value !== undefined && value !== null) {
    // Entra's default dialect: remove only the listed elements.
    const listed = attributeValue(def, value, t.label) as unknown[] | undefined;
    const removed = new Set((listed ?? []).map(elementKey));
    container[key] = elements.filter((e) => !removed.has(elementKey(e)));
  } else {
    delete container[key];
  }
}

/**
 * add or replace on the elements a filter selects: each matched element is changed by `change`
 * (or gets the sub-attribute); when none matches, Entra expects the element the filter describes
 * to be created.
 */
function setSelected(t: Target, filter: Filter, value: unknown, change: (element: unknown, value: unknown) => unknown): void {
  const { container, key, def, sub, label } = t;
  if (!def.multiValued) invalidPath(`'${label}': '${def.name}' is single-valued; a value filter selects it only to remove it.`);
  const current = container[key];
  const v = sub ? attributeValue(sub, value, label) : attributeValue({ ...def, multiValued: false }, value, label);
  const touched = new Set<unknown>();
  const next = (Array.isArray(current) ? current : []).map((e) => {
    if (!elementMatches(filter, e, def)) return e;
    const changed = sub ? { ...(e as Doc), [sub.name]: v } : change(e, v);
    touched.add(changed);
    return changed;
  });
  if (touched.size === 0) {
    const seed = equalities(filter, def);
    if (!seed) throw new ScimError(400, `'${label}' matches no value, and its filter does not describe one to create.`, "noTarget");
    const created = sub ? { ...seed, [sub.name]: v } : { ...seed, ...(v as Doc) };
    touched.add(created);
    next.push(created);
  }
  container[key] = attributeValue(def, preferPrimary(next, touched), def.name);
}

/** add or replace of a sub-attribute: of the attribute, or of each element when multi-valued. */
function setSub(t: Target, sub: AttributeDef, value: unknown): void {
  const { container, key, def } = t;
  const current = container[key];
  const v = attributeValue(sub, value, t.label);
  if (def.multiValued) {
    const elements = Array.isArray(current) ? current : [];
    container[key] = elements.length > 0 ? elements.map((e) => ({ ...(e as Doc), [sub.name]: v })) : v === undefined ? undefined : [{ [sub.name]: v }];
  } else {
    container[key] = { ...((current as Doc | undefined) ?? {}), [sub.name]: v };
  }
}

/** add and replace of a singular complex attribute both merge sub-attributes (RFC 7644 §3.5.2). */
function setSingle(t: Target, v: unknown): void {
  const current = t.container[t.key];
  t.container[t.key] = t.def.type === "complex" && isObject(current) ? { ...current, ...(v as Doc) } : v;
}

/** add of multi-valued elements: each merges into the element with its key, or is appended. */
function mergeElements(current: unknown, items: unknown[]): unknown[] {
  const merged = Array.isArray(current) ? [...current] : [];
  const positions = new Map<string, number>();
  merged.forEach((e, at) => {
    const key = elementKey(e);
    if (!positions.has(key)) positions.set(key, at);
  });
  const touched = new Set<unknown>();
  for (const item of items) {
    const key = elementKey(item);
    const at = positions.get(key);
    const next = at !== undefined ? { ...(merged[at] as Doc), ...(item as Doc) } : item;
    if (at !== undefined) merged[at] = next;
    else positions.set(key, merged.push(next) - 1);
    touched.add(next);
  }
  return preferPrimary(merged, touched);
}

/**
 * When an operation makes an element primary, the others stop being so (RFC 7643 §2.4: at most
 * one primary), whatever their order.
 */
function preferPrimary(elements: unknown[], touched: Set<unknown>): unknown[] {
  const claims = [...touched].some((e) => e && typeof e === "object" && (e as Doc).primary === true);
  if (!claims) return elements;
  return elements.map((e) => {
    if (touched.has(e) || !e || typeof e !== "object" || (e as Doc).primary !== true) return e;
    const { primary: _dropped, ...rest } = e as Doc;
    return rest;
  });
}
