/**
 * Moving a tenant to another shard, live, in bounded steps whose progress is kept in the
 * directory's row of the tenant, so a crash or a redeploy resumes where it stopped:
 *
 * 1. **freeze**: the old shard's row is frozen; from then on its triggers (migration 0021) refuse
 *    every write of the tenant there, so nothing acknowledged can land where the copy no longer
 *    looks (SCIM answers 503 with Retry-After; Entra retries). Reads go on from the old shard.
 * 2. **prepare**: whatever an earlier, failed move left of the tenant in the new shard goes; the
 *    new shard's row is made, frozen.
 * 3. **copy**: table by table, parents first, `CHUNK_ROWS` rows a batch, in key order after a
 *    cursor. Rows keep their ids and versions; `INSERT OR IGNORE` makes a redone chunk harmless.
 * 4. **switch**: the tenant's rows are counted in both shards; only if every table matches does
 *    the directory point at the new shard (unfrozen there). A mismatch ends the move as failed,
 *    the old shard unfrozen and still the tenant's home.
 * 5. **grace**, then **purge**: isolates trust their cached placement for PLACEMENT_TTL_MS, so the
 *    old shard is emptied only after twice that; a write sent there meanwhile is refused (503)
 *    and its retry reads the new placement. The old shard keeps the tenant's row alone, frozen,
 *    pointing at the new home.
 */
import { eq, sql, type SQL } from "drizzle-orm";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client";
import { MAX_BOUND_PARAMETERS } from "../db/chunk";
import { forgetPlacement, PLACEMENT_TTL_MS } from "../db/shards";
import { tenants } from "../db/schema";
import { auditStatement, type Actor } from "./audit";

/** Rows one copy or purge batch moves: small enough that no batch holds a shard for long. */
export const CHUNK_ROWS = 400;

/** How long the old shard stays whole after the switch (isolates' placements expire first). */
export const MOVE_GRACE_MS = 2 * PLACEMENT_TTL_MS;

export type MoveStep = "settle" | "freeze" | "prepare" | "copy" | "switch" | "grace" | "purge" | "done" | "failed";

/** A move's place, stored as JSON in the directory's `tenants.move_state`. */
export interface MoveState {
  step: MoveStep;
  from: string;
  /** copy and purge: the table they are at (in TABLES, or PURGE), and the last key done there. */
  table?: number;
  cursor?: unknown[] | null;
  switchedAt?: number;
  /** failed: why, when, and where the move was going. */
  reason?: string;
  failedAt?: number;
  to?: string;
  /** The last error a step met while the mover retries it (cleared by the next saved step). */
  lastError?: { at: number; message: string };
  actor?: Actor;
  requestId?: string;
}

/**
 * One table's rows of a tenant: how to select them in key order after a cursor (`?1` is the
 * tenant, the key's columns follow), and the key.
 */
interface TableSpec {
  table: string;
  key: string[];
  scope: string;
}

const byTenant = (table: string, key: string[]): TableSpec => ({ table, key, scope: "tenant_id = ?1" });

/** Parents before children (foreign keys); the purge goes the other way. */
const TABLES: TableSpec[] = [
  // The people's identities: the shard's replicas of the directory's rows, for the views' keys.
  { table: "users", key: ["id"], scope: "id in (select user_id from tenant_users where tenant_id = ?1)" },
  byTenant("tenant_users", ["user_id"]),
  byTenant("tenant_user_emails", ["user_id", "position"]),
  byTenant("tenant_user_values", ["attribute", "value_key"]),
  byTenant("scim_schemas", ["urn_key"]),
  byTenant("groups", ["id"]),
  byTenant("group_members", ["user_id", "group_id"]),
  byTenant("roles", ["id"]),
  { table: "role_permissions", key: ["role_id", "resource", "action"], scope: "role_id in (select id from roles where tenant_id = ?1)" },
  byTenant("service_accounts", ["id"]),
  byTenant("api_tokens", ["id"]),
  byTenant("integrations", ["id"]),
  byTenant("bindings", ["id"]),
  {
    table: "integration_refusals",
    key: ["integration_id", "hour", "cause"],
    scope: "integration_id in (select id from integrations where tenant_id = ?1)",
  },
  byTenant("audit_events", ["id"]),
];

/** The databases a move step works on. */
export interface MoveStores {
  directory: Db;
  /** By shard binding name. */
  shard: (name: string) => Db;
}

export type AdvanceResult = { step: MoveStep; waitUntil?: number };

/**
 * Runs the tenant's move forward by up to `budget` rows (at least one step) and says where it
 * is: `done` or `failed` end it, `settle` and `grace` ask to be called again at `waitUntil`,
 * anything else to be called again now. Safe to call again at any point: each step commits its
 * progress with its work or is redone whole.
 */
export async function advanceMove(
  stores: MoveStores,
  tenantId: string,
  options: { budget?: number; settleMs?: number; graceMs?: number; now?: () => number } = {},
): Promise<AdvanceResult> {
  const budget = options.budget ?? 10 * CHUNK_ROWS;
  const now = options.now ?? (() => Date.now());
  let spent = 0;
  // Read once: only this tenant's mover writes a move's state, so each step carries on from the
  // state it just saved instead of reading it back.
  const row = await stores.directory.select().from(tenants).where(eq(tenants.id, tenantId)).get();
  if (!row?.moveTo || !row.moveState) return { step: "done" };
  let state = row.moveState as unknown as MoveState;
  const to = row.moveTo;
  const from = stores.shard(state.from);
  const target = stores.shard(to);
  const save = async ({ lastError: _, ...next }: MoveState, extra: Partial<typeof tenants.$inferInsert> = {}) => {
    await stores.directory
      .update(tenants)
      .set({ moveState: next as unknown as Record<string, unknown>, ...extra })
      .where(eq(tenants.id, tenantId));
    state = next;
  };
  for (;;) {
    switch (state.step) {
      case "settle": {
        // Isolates stop caching the tenant's placement once it moves (src/db/shards.ts); those
        // that cached it before must have let it expire before the switch can reach them all.
        const until = (row.moveStartedAt ?? 0) + (options.settleMs ?? PLACEMENT_TTL_MS);
        if (now() < until) return { step: "settle", waitUntil: until };
        await save({ ...state, step: "freeze" });
        break;
      }
      case "freeze": {
        await from.run(sql`update tenants set frozen = 1 where id = ${tenantId}`);
        const total = (await countRows(from, tenantId)).reduce((a, b) => a + b, 0);
        await save({ ...state, step: "prepare", table: 0, cursor: null }, { moveTotal: total, moveCopied: 0 });
        break;
      }
      case "prepare": {
        // An earlier failed move may have left rows of the tenant here: purge them first.
        const left = await purgeChunk(target, tenantId, state);
        spent += left.rows;
        if (left.next) {
          await save(left.next);
          break;
        }
        await target.run(sql`insert into tenants (id, name, created_at, shard, frozen) values (${tenantId}, ${row.name}, ${row.createdAt}, ${state.from}, 1)
            on conflict (id) do update set frozen = 1, shard = ${state.from}`);
        await save({ ...state, step: "copy", table: 0, cursor: null });
        break;
      }
      case "copy": {
        const spec = TABLES[state.table!]!;
        const rows = await from.all<Record<string, unknown>>(pageOf(spec, tenantId, state.cursor ?? null));
        if (rows.length > 0) await withPass(target, insertsOf(spec.table, rows));
        spent += rows.length;
        const last = rows.at(-1);
        const next: MoveState =
          rows.length === CHUNK_ROWS
            ? { ...state, cursor: spec.key.map((k) => last![k]) }
            : state.table! + 1 < TABLES.length
              ? { ...state, table: state.table! + 1, cursor: null }
              : { ...state, step: "switch", table: undefined, cursor: undefined };
        await save(next, { moveCopied: sql`coalesce(${tenants.moveCopied}, 0) + ${rows.length}` as unknown as number });
        break;
      }
      case "switch": {
        const [before, after] = await Promise.all([countRows(from, tenantId), countRows(target, tenantId)]);
        const differs = TABLES.map((spec, i) => (before[i] !== after[i] ? `${spec.table} ${after[i]} of ${before[i]}` : null)).filter(Boolean);
        if (differs.length > 0) {
          await from.run(sql`update tenants set frozen = 0 where id = ${tenantId}`);
          await save({ ...state, step: "failed", reason: `copied rows differ: ${differs.join(", ")}`, failedAt: now(), to }, { moveTo: null });
          return { step: "failed" };
        }
        const at = now();
        await target.batch([
          target.update(tenants).set({ frozen: 0, shard: to }).where(eq(tenants.id, tenantId)),
          auditStatement(
            target,
            {
              tenantId,
              actor: state.actor ?? { type: "ADMIN" },
              action: "UPDATE",
              resourceType: "TENANT",
              resourceId: tenantId,
              resourceName: row.name,
              diff: { shard: { before: state.from, after: to } },
              requestId: state.requestId,
            },
            at,
          ),
        ]);
        await stores.directory.update(tenants).set({ shard: to }).where(eq(tenants.id, tenantId));
        // The old row stays as a frozen pointer: a stale writer's batch there is refused.
        await from.run(sql`update tenants set shard = ${to} where id = ${tenantId}`);
        forgetPlacement(tenantId);
        await save({ ...state, step: "grace", switchedAt: at });
        break;
      }
      case "grace": {
        const until = (state.switchedAt ?? 0) + (options.graceMs ?? MOVE_GRACE_MS);
        if (now() < until) return { step: "grace", waitUntil: until };
        await save({ ...state, step: "purge", table: 0, cursor: null });
        break;
      }
      case "purge": {
        const left = await purgeChunk(from, tenantId, state);
        spent += left.rows;
        if (!left.next) {
          await save({ ...state, step: "done" }, { moveTo: null });
          return { step: "done" };
        }
        await save(left.next);
        break;
      }
      case "done":
      case "failed":
        return { step: state.step };
    }
    if (spent >= budget) return { step: state.step };
  }
}

/**
 * Notes on the running move that a step failed and will be retried, with why (shown by the admin
 * API until the step succeeds). Best-effort: the directory may be what failed.
 */
export async function recordMoveError(directory: Db, tenantId: string, message: string, at = Date.now()): Promise<void> {
  await directory.run(sql`update tenants set move_state = json_set(move_state, '$.lastError', json_object('at', ${at}, 'message', ${message}))
    where id = ${tenantId} and move_to is not null and move_state is not null`);
}

/** The rows of each table the tenant has in `db` (by table name), in one batch. */
export async function countTenantRows(db: Db, tenantId: string): Promise<Record<string, number>> {
  const counts = await countRows(db, tenantId);
  return Object.fromEntries(TABLES.map((spec, i) => [spec.table, counts[i]!]));
}

/** The rows of each TABLES entry the tenant has in `db`, in one statement. */
async function countRows(db: Db, tenantId: string): Promise<number[]> {
  const counts = sql.join(
    TABLES.map((spec, i) => sql`(select count(*) from ${sql.raw(spec.table)} where ${scoped(spec, tenantId)}) as ${sql.raw(`n${i}`)}`),
    sql`, `,
  );
  const row = await db.get<Record<string, number>>(sql`select ${counts}`);
  return TABLES.map((_, i) => Number(row?.[`n${i}`] ?? 0));
}

/** A spec's scope with the tenant bound. */
function scoped(spec: TableSpec, tenantId: string): SQL {
  const [before, after] = spec.scope.split("?1") as [string, string];
  return sql`${sql.raw(before)}${tenantId}${sql.raw(after)}`;
}

/** The next page of a table's rows of the tenant, after `cursor` in key order. */
function pageOf(spec: TableSpec, tenantId: string, cursor: unknown[] | null): SQL {
  const keys = sql.raw(spec.key.join(", "));
  const after = cursor
    ? sql` and (${keys}) > (${sql.join(
        cursor.map((v) => sql`${v}`),
        sql`, `,
      )})`
    : sql``;
  return sql`select * from ${sql.raw(spec.table)} where ${scoped(spec, tenantId)}${after} order by ${keys} limit ${CHUNK_ROWS}`;
}

/** `INSERT OR IGNORE` statements for `rows`, within the bound-parameter limit each. */
function insertsOf(table: string, rows: Record<string, unknown>[]): SQL[] {
  const columns = Object.keys(rows[0]!);
  const perStatement = Math.max(1, Math.floor(MAX_BOUND_PARAMETERS / columns.length));
  const statements: SQL[] = [];
  for (let i = 0; i < rows.length; i += perStatement) {
    const values = rows.slice(i, i + perStatement).map(
      (row) =>
        sql`(${sql.join(
          columns.map((c) => sql`${row[c] ?? null}`),
          sql`, `,
        )})`,
    );
    statements.push(sql`insert or ignore into ${sql.raw(table)} (${sql.raw(columns.join(", "))}) values ${sql.join(values, sql`, `)}`);
  }
  return statements;
}

const dialect = new SQLiteAsyncDialect();

/**
 * Runs `statements` as one D1 batch inside the mover's pass (the freeze triggers let them
 * through), and gives each statement's result. Raw: Drizzle's batch takes query builders only.
 */
async function withPass(db: Db, statements: SQL[]): Promise<D1Result[]> {
  const d1 = db.$client;
  const prepared = [sql`insert into move_passes (id) values (1)`, ...statements, sql`delete from move_passes`].map((statement) => {
    const query = dialect.sqlToQuery(statement);
    return d1.prepare(query.sql).bind(...query.params);
  });
  return (await d1.batch(prepared)).slice(1, -1);
}

/**
 * The purge's order: children first, and a tenant's identities (only those no other tenant's
 * view in the shard links to; their views go with them) before its remaining views.
 */
const PURGE: TableSpec[] = (() => {
  const reversed = [...TABLES].reverse();
  return [...reversed.slice(0, -2), reversed.at(-1)!, reversed.at(-2)!];
})();

/**
 * Deletes up to CHUNK_ROWS of the tenant's rows in `db`, in PURGE order from `state.table`, and
 * says where to go on (`next`, undefined once nothing is left).
 */
async function purgeChunk(db: Db, tenantId: string, state: MoveState): Promise<{ rows: number; next?: MoveState }> {
  for (let table = state.table ?? 0; table < PURGE.length; table++) {
    const spec = PURGE[table]!;
    const only =
      spec.table === "users" ? sql` and not exists (select 1 from tenant_users o where o.user_id = users.id and o.tenant_id <> ${tenantId})` : sql``;
    const victims = sql`select rowid from ${sql.raw(spec.table)} where ${scoped(spec, tenantId)}${only} limit ${CHUNK_ROWS}`;
    const [deleted] = await withPass(db, [sql`delete from ${sql.raw(spec.table)} where rowid in (${victims})`]);
    const rows = deleted?.meta.changes ?? 0;
    if (rows > 0) return { rows, next: { ...state, table, cursor: null } };
  }
  return { rows: 0 };
}

/** Why a move cannot start, or undefined. */
export type MoveRefusal = { status: 400 | 404 | 409; detail: string };

/**
 * Starts moving a tenant to shard `to`: one conditional update of the directory, so one move per
 * tenant runs at a time. The caller then has the mover run `advanceMove` until it ends.
 */
export async function startMove(
  directory: Db,
  input: { tenantId: string; to: string; shards: string[]; actor?: Actor; requestId?: string },
  now = Date.now(),
): Promise<MoveRefusal | undefined> {
  if (!input.shards.includes(input.to)) {
    return { status: 400, detail: `'${input.to}' is not a shard of this deployment (${input.shards.join(", ")}).` };
  }
  const row = await directory.select({ shard: tenants.shard, moveTo: tenants.moveTo }).from(tenants).where(eq(tenants.id, input.tenantId)).get();
  if (!row) return { status: 404, detail: `Tenant '${input.tenantId}' does not exist.` };
  if (row.moveTo) return { status: 409, detail: `Tenant '${input.tenantId}' is already moving to ${row.moveTo}.` };
  if (row.shard === input.to) return { status: 409, detail: `Tenant '${input.tenantId}' is already on ${input.to}.` };
  const state: MoveState = { step: "settle", from: row.shard, actor: input.actor, requestId: input.requestId };
  const started = await directory
    .update(tenants)
    .set({ moveTo: input.to, moveState: state as unknown as Record<string, unknown>, moveCopied: 0, moveTotal: null, moveStartedAt: now })
    .where(sql`${tenants.id} = ${input.tenantId} and ${tenants.moveTo} is null and ${tenants.shard} = ${row.shard}`)
    .returning({ id: tenants.id });
  if (started.length === 0) return { status: 409, detail: `Tenant '${input.tenantId}' started moving meanwhile.` };
  return undefined;
}
