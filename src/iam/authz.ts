/**
 * Authorization decisions: may this subject do `action` on `resource` (in this namespace) in this
 * tenant, and by which bindings? Also a user's effective permissions in a tenant.
 *
 * Every call is exactly one D1 round trip: one SQL statement resolves the subject (a userName
 * too, by its key) and loads the bindings that apply to it, with their roles' permissions. It
 * reads only the subject's rows: its view, its memberships in the tenant, the bindings on it and
 * on its groups (each through `bindings_subject_idx`), their roles and role permissions (primary
 * keys). Its cost follows the subject's own memberships and bindings, never the tenant's size, a
 * group's size nor the number of bindings of others. Nothing is cached: a SCIM write (a user
 * deactivated, removed from a group, deleted) or a binding change counts on the very next call.
 *
 * Namespaces are matched here, in JS, over the subject's candidate bindings (they are few).
 */
import { sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import type { SubjectType } from "../db/schema";
import type { Action, Resource } from "./permissions";
import { caseKey } from "./user-reads";

// ---- namespaces --------------------------------------------------------------------------------

export const MAX_NAMESPACE_LENGTH = 255;

/**
 * Kestra namespaces: dot-separated segments of ASCII letters, digits, `_` and `-`; no empty
 * segment.
 */
export const namespacePattern = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;

/** Whether `value` is a well-formed namespace (the pattern, at most 255 characters). */
export function isValidNamespace(value: string): boolean {
  return value.length <= MAX_NAMESPACE_LENGTH && namespacePattern.test(value);
}

/**
 * Whether a binding on `bound` (null: tenant-wide) grants in `wanted` (null: no namespace asked).
 * Tenant-wide grants everywhere; `a.b` grants in `a.b` and `a.b.*`, not in `a.bc` nor `a`; a
 * check without a namespace is met only by tenant-wide bindings.
 */
export function namespaceCovers(bound: string | null, wanted: string | null): boolean {
  if (bound === null) return true;
  if (wanted === null) return false;
  return wanted === bound || wanted.startsWith(`${bound}.`);
}

// ---- types -----------------------------------------------------------------------------------

/**
 * Whose access is checked: a user (by id, or by this tenant's userName, case-insensitive) or a
 * service account.
 */
export type AuthzSubject =
  | { type: "USER"; id: string }
  | { type: "USER"; userName: string }
  | { type: "SERVICE_ACCOUNT"; id: string };

/** At most this many checks per call. */
export const MAX_CHECKS = 100;

export interface AccessCheck {
  resource: Resource;
  action: Action;
  /** Absent (or null): the check is met only by tenant-wide bindings. */
  namespace?: string | null;
}

/** The binding a permission comes through, and the subject it is bound to. */
export interface Grant {
  bindingId: string;
  roleId: string;
  roleName: string;
  /** The binding's namespace; null: tenant-wide. */
  namespace: string | null;
  via: {
    /**
     * USER: bound to the user itself; GROUP: to one of its groups; SERVICE_ACCOUNT: to the account.
     */
    type: SubjectType;
    id: string;
    /** The user's userName in the tenant, the group's displayName, the service account's name. */
    displayName?: string;
  };
}

export type DenialReason = "inactive" | "no_tenant_access";

export interface CheckResult {
  resource: Resource;
  action: Action;
  namespace: string | null;
  allowed: boolean;
  /** Every binding that allows it, by binding id (creation order); empty when denied. */
  grants: Grant[];
  /** Why everything is denied to this subject, when it is not about bindings. */
  reason?: DenialReason;
}

export type CheckAccessResult =
  | { kind: "not_found" }
  | { kind: "decided"; subject: { type: "USER" | "SERVICE_ACCOUNT"; id: string }; results: CheckResult[] };

export interface EffectivePermission {
  resource: Resource;
  action: Action;
  /** null: tenant-wide. */
  namespace: string | null;
  grants: Grant[];
}

export type EffectivePermissionsResult =
  | { kind: "not_found" }
  | {
      kind: "ok";
      user: { id: string; userName: string; active: boolean };
      reason?: "inactive";
      permissions: EffectivePermission[];
    };

// ---- the one query ---------------------------------------------------------------------------

/** One row of the query: the subject, and (unless null) one permission of one binding. */
interface Row {
  subject_id: string;
  subject_name: string | null;
  /** 1/0; null for a user without a view in the tenant. */
  subject_active: number | null;
  has_view: number;
  binding_id: string | null;
  role_id: string | null;
  role_name: string | null;
  namespace: string | null;
  via_type: SubjectType | null;
  via_id: string | null;
  via_name: string | null;
  resource: string | null;
  action: string | null;
}

/** A binding that applies to the subject, with what its role grants. */
interface LoadedBinding {
  grant: Grant;
  /** `RESOURCE:ACTION` pairs. */
  permissions: Set<string>;
}

interface Loaded {
  subject: { id: string; name: string | null; active: boolean; hasView: boolean };
  /** In binding id order. */
  bindings: LoadedBinding[];
}

const pairKey = (resource: string, action: string) => `${resource}:${action}`;

/**
 * The subject's row: (id, name, active, has_view); none when the subject is unknown to the tenant.
 */
function subjectSql(tenantId: string, subject: AuthzSubject): SQL {
  if (subject.type === "SERVICE_ACCOUNT") {
    return sql`select sa.id, sa.name, 1, 1 from service_accounts sa where sa.tenant_id = ${tenantId} and sa.id = ${subject.id}`;
  }
  if ("userName" in subject) {
    // The tenant's own names only: another tenant's userName is unknown here.
    return sql`select tu.user_id, tu.user_name, tu.active, 1 from tenant_users tu
      where tu.tenant_id = ${tenantId} and tu.user_name_key = ${caseKey(subject.userName)}`;
  }
  // A global user without a view in the tenant is found, with has_view = 0 (no tenant access),
  // in a tenant that exists (callers skip their own tenant lookup: not found answers 404).
  return sql`select u.id, tu.user_name, tu.active, tu.user_id is not null from users u
    left join tenant_users tu on tu.tenant_id = ${tenantId} and tu.user_id = u.id
    where u.id = ${subject.id} and exists (select 1 from tenants t where t.id = ${tenantId})`;
}

/**
 * What the subject's bindings may be on: (type, id, display name). CROSS JOIN fixes SQLite's join
 * order (subject, then its memberships, then their groups): with `g.tenant_id = ?` in sight and no
 * statistics, the planner would otherwise walk the tenant's groups and probe each for the user.
 */
function viaSql(tenantId: string, type: AuthzSubject["type"]): SQL {
  if (type === "SERVICE_ACCOUNT") return sql`select 'SERVICE_ACCOUNT', s.id, s.name from subject s`;
  // Only an active user with access has grants: the user itself and its groups in this tenant.
  return sql`select 'USER', s.id, s.name from subject s where s.has_view and s.active
    union all
    select 'GROUP', g.id, g.display_name from subject s
      cross join group_members gm on gm.tenant_id = ${tenantId} and gm.user_id = s.id
      cross join groups g on g.id = gm.group_id and g.tenant_id = ${tenantId}
    where s.has_view and s.active`;
}

/**
 * The single statement behind both functions. With `pairs`, only those `RESOURCE:ACTION`
 * permissions are read (passed as one JSON parameter, so 100 checks bind one value).
 *
 * EXPLAIN QUERY PLAN (checked in test/iam/authz.test.ts), SQLite flattening `via` into each arm,
 * every step a SEARCH:
 *   subject   tu index tenant_users_user_name_key_unique (tenant_id=? AND user_name_key=?)
 *             | u covering sqlite_autoindex_users_1 (id=?)
 *               + tu index sqlite_autoindex_tenant_users_1 (tenant_id=? AND user_id=?)
 *             | sa index sqlite_autoindex_service_accounts_1 (id=?)
 *   groups    gm covering group_members_tenant_user_idx (tenant_id=? AND user_id=?)
 *             g index groups_tenant_id_idx (tenant_id=? AND id=?)
 *   bindings  b index bindings_subject_idx (tenant_id=? AND subject_type=? AND subject_id=?)
 *             r index sqlite_autoindex_roles_1 (id=?)
 *             rp covering sqlite_autoindex_role_permissions_1 (role_id=?)
 * The only SCANs are of json_each (the asked pairs) and of `granted`, the materialized result;
 * a temp B-tree orders those few rows.
 */
function accessSql(tenantId: string, subject: AuthzSubject, pairs?: string[]): SQL {
  const wanted = pairs ? sql`and (rp.resource || ':' || rp.action) in (select value from json_each(${JSON.stringify(pairs)}))` : sql``;
  return sql`with
  subject(id, name, active, has_view) as (${subjectSql(tenantId, subject)}),
  via(type, id, name) as (${viaSql(tenantId, subject.type)}),
  granted as (
    select b.id as binding_id, b.role_id, r.name as role_name, b.namespace,
      v.type as via_type, v.id as via_id, v.name as via_name, rp.resource, rp.action
    from via v
    cross join bindings b on b.tenant_id = ${tenantId} and b.subject_type = v.type and b.subject_id = v.id
    cross join roles r on r.id = b.role_id and r.tenant_id = ${tenantId}
    cross join role_permissions rp on rp.role_id = b.role_id ${wanted})
select s.id as subject_id, s.name as subject_name, s.active as subject_active, s.has_view,
  gr.binding_id, gr.role_id, gr.role_name, gr.namespace, gr.via_type, gr.via_id, gr.via_name, gr.resource, gr.action
from subject s left join granted gr on 1
order by gr.binding_id, gr.resource, gr.action`;
}

/** Resolves the subject and loads its applicable bindings: one statement, one round trip. */
async function loadGrants(db: Db, tenantId: string, subject: AuthzSubject, pairs?: string[]): Promise<Loaded | undefined> {
  const rows = await db.all<Row>(accessSql(tenantId, subject, pairs));
  const first = rows[0];
  if (!first) return undefined;
  const byId = new Map<string, LoadedBinding>();
  for (const row of rows) {
    if (row.binding_id === null || row.resource === null || row.action === null) continue;
    let binding = byId.get(row.binding_id);
    if (!binding) {
      binding = {
        grant: {
          bindingId: row.binding_id,
          roleId: row.role_id ?? "",
          roleName: row.role_name ?? "",
          namespace: row.namespace,
          via: { type: row.via_type ?? "USER", id: row.via_id ?? "", ...(row.via_name !== null ? { displayName: row.via_name } : {}) },
        },
        permissions: new Set(),
      };
      byId.set(row.binding_id, binding);
    }
    binding.permissions.add(pairKey(row.resource, row.action));
  }
  return {
    subject: { id: first.subject_id, name: first.subject_name, active: first.subject_active === 1, hasView: first.has_view === 1 },
    // Rows come ordered by binding id; the map keeps that order.
    bindings: [...byId.values()],
  };
}

// ---- the decisions ---------------------------------------------------------------------------

/**
 * Decides each check for `subject` in `tenantId`, in the order asked. Unknown subject in the
 * tenant: not_found (a userName is looked up among this tenant's views only; a service account
 * of another tenant is unknown). A user that exists but has no view in the tenant is decided:
 * everything denied with reason `no_tenant_access`; a user inactive in the tenant: `inactive`.
 * Checks are validated by the caller (1..100, well-formed namespaces).
 */
export async function checkAccess(db: Db, tenantId: string, subject: AuthzSubject, checks: readonly AccessCheck[]): Promise<CheckAccessResult> {
  if (checks.length === 0 || checks.length > MAX_CHECKS) throw new RangeError(`checkAccess takes 1 to ${MAX_CHECKS} checks, got ${checks.length}.`);
  const pairs = [...new Set(checks.map((c) => pairKey(c.resource, c.action)))];
  const loaded = await loadGrants(db, tenantId, subject, pairs);
  if (!loaded) return { kind: "not_found" };
  const reason: DenialReason | undefined =
    subject.type === "SERVICE_ACCOUNT" ? undefined : !loaded.subject.hasView ? "no_tenant_access" : !loaded.subject.active ? "inactive" : undefined;
  const results = checks.map((check): CheckResult => {
    const namespace = check.namespace ?? null;
    const base = { resource: check.resource, action: check.action, namespace };
    if (reason) return { ...base, allowed: false, grants: [], reason };
    const key = pairKey(check.resource, check.action);
    const grants = loaded.bindings
      .filter((b) => b.permissions.has(key) && namespaceCovers(b.grant.namespace, namespace))
      .map((b) => b.grant);
    return { ...base, allowed: grants.length > 0, grants };
  });
  return { kind: "decided", subject: { type: subject.type, id: loaded.subject.id }, results };
}

/** A permission held through one binding: `RESOURCE:ACTION` on a namespace (null: tenant-wide). */
export interface Holding {
  permission: string;
  namespace: string | null;
}

/**
 * Everything `subject` holds in `tenantId`, namespaced bindings included, one entry per
 * (permission, namespace): a service account's bindings; a user's and their groups' (none when
 * the user is inactive in the tenant or has no access to it). Undefined for a subject the tenant
 * does not know. One statement (see `accessSql`).
 */
export async function holdingsOf(db: Db, tenantId: string, subject: AuthzSubject): Promise<Holding[] | undefined> {
  const loaded = await loadGrants(db, tenantId, subject);
  if (!loaded) return undefined;
  // A user inactive or without access has no bindings loaded (`viaSql`): holds nothing.
  const seen = new Map<string, Holding>();
  for (const binding of loaded.bindings) {
    for (const permission of binding.permissions) {
      seen.set(`${permission}\u0000${binding.grant.namespace ?? "\u0000"}`, { permission, namespace: binding.grant.namespace });
    }
  }
  return [...seen.values()];
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A user's effective permissions in a tenant: one entry per (resource, action, namespace) its
 * bindings and its groups' bindings grant, sorted by resource, action, then namespace (null,
 * tenant-wide, first), each with every binding that grants it. A user without a view in the
 * tenant is not_found; an inactive one has no permissions (reason `inactive`).
 */
export async function effectivePermissions(db: Db, tenantId: string, userId: string): Promise<EffectivePermissionsResult> {
  const loaded = await loadGrants(db, tenantId, { type: "USER", id: userId });
  if (!loaded || !loaded.subject.hasView) return { kind: "not_found" };
  const user = { id: loaded.subject.id, userName: loaded.subject.name ?? "", active: loaded.subject.active };
  if (!user.active) return { kind: "ok", user, reason: "inactive", permissions: [] };
  const entries = new Map<string, EffectivePermission>();
  for (const binding of loaded.bindings) {
    for (const pair of binding.permissions) {
      const [resource, action] = pair.split(":") as [Resource, Action];
      const key = `${pair}\u0000${binding.grant.namespace ?? ""}\u0000${binding.grant.namespace === null ? 0 : 1}`;
      let entry = entries.get(key);
      if (!entry) {
        entry = { resource, action, namespace: binding.grant.namespace, grants: [] };
        entries.set(key, entry);
      }
      // Bindings come in id order, so each entry's grants are too.
      entry.grants.push(binding.grant);
    }
  }
  const permissions = [...entries.values()].sort(
    (a, b) =>
      compare(a.resource, b.resource) ||
      compare(a.action, b.action) ||
      (a.namespace === b.namespace ? 0 : a.namespace === null ? -1 : b.namespace === null ? 1 : compare(a.namespace, b.namespace)),
  );
  return { kind: "ok", user, permissions };
}
