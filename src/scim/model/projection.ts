/**
 * `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5) on rendered resources, driven by the
 * schema definition: `id` and `schemas` (and anything `returned: always`) are always kept,
 * `returned: request` attributes appear only when asked for.
 */
import { ScimError } from "./errors";
import { isExtensionKey } from "./extensions";
import { parseAttrPath } from "./filter/parse";
import { findAttribute, type ResourceTypeDef, type SchemaDef } from "./schemas";

/** A requested path resolved against the resource's schemas. */
interface Selector {
  schema: SchemaDef;
  /** Canonical attribute name, or undefined for a whole extension. */
  attribute?: string;
  subAttribute?: string;
}

export interface Projection {
  attributes?: Selector[];
  excluded?: Selector[];
}

const ALWAYS = new Set(["id", "schemas"]);

function schemasOf(type: ResourceTypeDef): SchemaDef[] {
  return [type.schema, ...type.extensions.map((e) => e.schema)];
}

function resolveSelector(text: string, type: ResourceTypeDef, parameter: string): Selector | undefined {
  // Tolerance (README): a value filter in a projection (`emails[type eq "work"]`, which Microsoft's
  // reference server accepts) selects the attribute it filters; RFC 7644 §3.4.2.5 has names only.
  const trimmed = text.trim().replace(/^([^[\]]+)\[[^\]]*\](\.[A-Za-z$][\w$-]*)?$/, "$1$2");
  if (!trimmed) return undefined;
  const schemas = schemasOf(type);
  const whole = schemas.find((s) => s.id.toLowerCase() === trimmed.toLowerCase());
  if (whole) return whole === type.schema ? undefined : { schema: whole };
  let path;
  try {
    path = parseAttrPath(trimmed);
  } catch {
    throw new ScimError(400, `${parameter}: '${trimmed}' is not an attribute path.`, "invalidValue");
  }
  // Common attributes (id, externalId, meta) live in the core schema's namespace here.
  const candidates = path.schema ? schemas.filter((s) => s.id.toLowerCase() === path.schema!.toLowerCase()) : schemas;
  for (const schema of candidates) {
    const common = ["id", "externalId", "meta"].find((n) => n.toLowerCase() === path.attribute.toLowerCase());
    if (common && schema === type.schema) return { schema, attribute: common, subAttribute: path.subAttribute };
    const def = findAttribute(schema.attributes, path.attribute);
    if (def) {
      const sub = path.subAttribute ? findAttribute(def.subAttributes, path.subAttribute)?.name : undefined;
      if (path.subAttribute && !sub) return undefined;
      return { schema, attribute: def.name, subAttribute: sub };
    }
  }
  // Unknown attributes are ignored, as most servers do: clients ask for what they know.
  return undefined;
}

function parseList(value: string | undefined, type: ResourceTypeDef, parameter: string): Selector[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(",")
    .map((part) => resolveSelector(part, type, parameter))
    .filter((s): s is Selector => s !== undefined);
}

/** Reads the two query (or search body) parameters into a projection. */
export function parseProjection(
  type: ResourceTypeDef,
  attributes: string | undefined,
  excludedAttributes: string | undefined,
): Projection {
  const selected = parseList(attributes, type, "attributes");
  return {
    ...(selected && selected.length > 0 ? { attributes: selected } : {}),
    ...(excludedAttributes !== undefined ? { excluded: parseList(excludedAttributes, type, "excludedAttributes") } : {}),
  };
}

/** Whether a top-level attribute will be in the response: lets callers skip loading it. */
export function isReturned(projection: Projection, type: ResourceTypeDef, attribute: string): boolean {
  const schema = schemasOf(type).find((s) => findAttribute(s.attributes, attribute));
  const def = schema && findAttribute(schema.attributes, attribute);
  if (!schema || !def) return true;
  if (def.returned === "always") return true;
  if (def.returned === "never") return false;
  const matches = (s: Selector) => s.schema === schema && (s.attribute === undefined || s.attribute === def.name);
  if (projection.attributes) return projection.attributes.some(matches);
  if (def.returned === "request") return false;
  return !projection.excluded?.some((s) => matches(s) && s.subAttribute === undefined);
}

function pick(source: Record<string, unknown>, name: string): [string, unknown] | undefined {
  const key = Object.keys(source).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : [key, source[key]];
}

function pickSub(value: unknown, sub: string): unknown {
  if (Array.isArray(value)) {
    const picked = value.map((v) => pickSub(v, sub)).filter((v) => v !== undefined && Object.keys(v as object).length > 0);
    return picked.length > 0 ? picked : undefined;
  }
  if (value && typeof value === "object") {
    const entry = pick(value as Record<string, unknown>, sub);
    return entry ? { [entry[0]]: entry[1] } : undefined;
  }
  return undefined;
}

function merge(target: Record<string, unknown>, key: string, value: unknown): void {
  const existing = target[key];
  if (existing && typeof existing === "object" && !Array.isArray(existing) && value && typeof value === "object" && !Array.isArray(value)) {
    target[key] = { ...(existing as object), ...(value as object) };
  } else if (Array.isArray(existing) && Array.isArray(value)) {
    target[key] = existing.map((e, i) => ({ ...(e as object), ...(value[i] as object) }));
  } else {
    target[key] = value;
  }
}

function containerOf(resource: Record<string, unknown>, schema: SchemaDef, type: ResourceTypeDef) {
  if (schema === type.schema) return resource;
  const ext = resource[schema.id];
  return ext && typeof ext === "object" ? (ext as Record<string, unknown>) : undefined;
}

/** Applies a projection to a rendered resource. */
export function project(resource: Record<string, unknown>, projection: Projection, type: ResourceTypeDef): Record<string, unknown> {
  if (projection.attributes) {
    const out: Record<string, unknown> = { schemas: resource.schemas, id: resource.id };
    for (const selector of projection.attributes) {
      const container = containerOf(resource, selector.schema, type);
      if (!container) continue;
      const target =
        selector.schema === type.schema ? out : ((out[selector.schema.id] ??= {}) as Record<string, unknown>);
      if (selector.attribute === undefined) {
        out[selector.schema.id] = container;
        continue;
      }
      const entry = pick(container, selector.attribute);
      if (!entry) continue;
      const value = selector.subAttribute ? pickSub(entry[1], selector.subAttribute) : entry[1];
      if (value !== undefined) merge(target, entry[0], value);
    }
    return withSchemas(out, type);
  }
  if (!projection.excluded || projection.excluded.length === 0) return resource;
  const out: Record<string, unknown> = structuredClone(resource);
  for (const selector of projection.excluded) {
    const container = containerOf(out, selector.schema, type);
    if (!container) continue;
    if (selector.attribute === undefined) {
      delete out[selector.schema.id];
      continue;
    }
    if (ALWAYS.has(selector.attribute)) continue;
    const entry = pick(container, selector.attribute);
    if (!entry) continue;
    if (!selector.subAttribute) {
      delete container[entry[0]];
      continue;
    }
    const values = Array.isArray(entry[1]) ? entry[1] : [entry[1]];
    for (const v of values) {
      if (v && typeof v === "object") {
        const sub = pick(v as Record<string, unknown>, selector.subAttribute);
        if (sub) delete (v as Record<string, unknown>)[sub[0]];
      }
    }
  }
  return withSchemas(out, type);
}

/** Drops empty extension objects and lists in `schemas` only the extensions still present. */
function withSchemas(out: Record<string, unknown>, type: ResourceTypeDef): Record<string, unknown> {
  for (const ext of type.extensions) {
    const value = out[ext.schema.id];
    if (value && typeof value === "object" && Object.keys(value).length === 0) delete out[ext.schema.id];
  }
  // Undeclared extensions (kept as sent) are listed by the keys they are under.
  const undeclared = Object.keys(out).filter((k) => isExtensionKey(k) && !type.extensions.some((e) => e.schema.id === k));
  out.schemas = [type.schema.id, ...type.extensions.filter((e) => out[e.schema.id] !== undefined).map((e) => e.schema.id), ...undeclared];
  return out;
}
