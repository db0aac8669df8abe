/**
 * People signing in through Cloudflare Access: who an email is in each tenant. A tenant knows a
 * person by the userName or a work email that **this tenant** provisioned (its own view), so no
 * other tenant's provisioning can change who signs in here. What the person may do on the admin
 * API is what their tenant-wide bindings grant, on the user and on the groups the user is a
 * member of in that tenant: the permission table service-account tokens already use.
 *
 * One statement per call (one D1 round trip), read on every request: a deactivation, a member
 * removal or a binding change counts on the next one.
 */
import { sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { caseKey } from "./user-reads";

/** A person as one tenant knows them. */
export interface TenantMember {
  tenantId: string;
  userId: string;
  userName: string;
  active: boolean;
  /**
   * `RESOURCE:ACTION` pairs granted tenant-wide (namespaced bindings do not open the admin API).
   */
  permissions: string[];
}

export type MembershipResult =
  | { kind: "member"; member: TenantMember }
  /** The tenant has no user with this userName or work email (or the tenant does not exist). */
  | { kind: "unknown" }
  /**
   * Two users of the tenant match (one's userName, another's work email): signing in as either
   * would be a guess.
   */
  | { kind: "ambiguous" };

interface Row {
  tenant_id: string;
  user_id: string;
  user_name: string;
  active: number;
  permissions: string | null;
}

/**
 * `shard`: the binding of the database read; only tenants at home there count (a moving tenant's
 * old shard keeps its rows until the move's purge).
 */
function membersSql(email: string, shard: string, tenantId?: string) {
  const key = caseKey(email);
  const inTenant = (column: string) => (tenantId === undefined ? sql`` : sql`and ${sql.raw(column)} = ${tenantId}`);
  return sql`with matched(tenant_id, user_id) as (
    select tu.tenant_id, tu.user_id from tenant_users tu where tu.user_name_key = ${key} ${inTenant("tu.tenant_id")}
    union
    select e.tenant_id, e.user_id from tenant_user_emails e
      where e.value_key = ${key} and lower(coalesce(e.type, '')) = 'work' ${inTenant("e.tenant_id")}
  )
  select m.tenant_id, m.user_id, tu.user_name, tu.active,
    (select json_group_array(distinct rp.resource || ':' || rp.action)
      from bindings b join role_permissions rp on rp.role_id = b.role_id
      where b.tenant_id = m.tenant_id and b.namespace is null and (
        (b.subject_type = 'USER' and b.subject_id = m.user_id)
        or (b.subject_type = 'GROUP' and b.subject_id in (
          select gm.group_id from group_members gm where gm.tenant_id = m.tenant_id and gm.user_id = m.user_id)))) as permissions
  from matched m join tenant_users tu on tu.tenant_id = m.tenant_id and tu.user_id = m.user_id
    join tenants t on t.id = m.tenant_id and t.shard = ${shard}
  order by m.tenant_id, m.user_id`;
}

function member(row: Row): TenantMember {
  const permissions = (JSON.parse(row.permissions ?? "[]") as (string | null)[]).filter((p): p is string => p !== null).sort();
  return { tenantId: row.tenant_id, userId: row.user_id, userName: row.user_name, active: row.active === 1, permissions };
}

/** Who `email` is in `tenantId`: one member, nobody, or ambiguous. */
export async function memberByEmail(db: Db, shard: string, tenantId: string, email: string): Promise<MembershipResult> {
  const rows = await db.all<Row>(membersSql(email, shard, tenantId));
  if (rows.length === 0) return { kind: "unknown" };
  if (rows.length > 1) return { kind: "ambiguous" };
  return { kind: "member", member: member(rows[0]!) };
}

/**
 * Every tenant that knows `email` unambiguously, with the person's state and permissions there
 * (for the console's tenant list), asking every database that holds tenants at once. A tenant
 * where two users match is left out.
 */
export async function tenantsOfEmail(stores: { name: string; db: Db }[], email: string): Promise<TenantMember[]> {
  const rows = (await Promise.all(stores.map((store) => store.db.all<Row>(membersSql(email, store.name))))).flat();
  const byTenant = new Map<string, Row[]>();
  for (const row of rows) byTenant.set(row.tenant_id, [...(byTenant.get(row.tenant_id) ?? []), row]);
  return [...byTenant.values()].filter((matches) => matches.length === 1).map((matches) => member(matches[0]!));
}
