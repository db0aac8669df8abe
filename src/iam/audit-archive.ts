/**
 * Audit retention: events older than the retention period move from D1 to R2, as gzip'd NDJSON
 * objects per tenant and UTC day (`audit/{tenant}/{yyyy}/{mm}/{dd}/{firstId}_{lastId}.ndjson.gz`).
 *
 * Safety, in the order a run does things:
 * - a run holds the `audit-archive` lease (job_leases); a second run finds it held and stops;
 * - it takes the oldest events in id order, a bounded batch at a time;
 * - an event is deleted only after an object holding it was written and read back (byte size,
 *   line count and ids checked), and the delete itself runs only while the lease is still held
 *   (the check is in the delete's own batch), so a run that lost its lease deletes nothing;
 * - a run that died between writing and deleting is resumed by the next: objects of that day
 *   whose id range meets the batch are read, and events already in one are deleted without being
 *   written again (no duplicates, no loss).
 */
import { and, asc, eq, gt, inArray, lt, lte, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { chunk, MAX_BOUND_PARAMETERS } from "../db/chunk";
import { auditEvents, jobLeases } from "../db/schema";
import { auditRecord, type AuditRecord } from "./audit";

const LEASE = "audit-archive";
const DAY_MS = 86_400_000;

export interface ArchiveOptions {
  /** Events created before `now - retentionDays` days are archived (0: everything before now). */
  retentionDays: number;
  now?: number;
  /** Events per batch (one D1 read, one R2 object per tenant-day, one delete batch). */
  batchSize?: number;
  /** How long the lease lasts without renewal; each batch renews it. */
  leaseMs?: number;
  /** Stop after this much wall time; the next run continues where this one stopped. */
  budgetMs?: number;
  /** Who holds the lease (tests name their runs). */
  holder?: string;
  /** Called between writing an object and deleting its events (tests interrupt runs here). */
  afterObjectsWritten?: () => Promise<void>;
}

export type ArchiveReport =
  | { kind: "busy"; holder: string }
  | {
      kind: "done" | "budget_spent" | "lease_lost";
      cutoff: number;
      /** Events deleted from D1 after being found in a verified object. */
      archived: number;
      /** Objects written by this run. */
      objects: number;
      /** Events found already archived by an earlier run (resumed) and only deleted now. */
      resumed: number;
      batches: number;
    };

/**
 * The first and last days a key names: years 0 to 9999, four digits, so keys sort as the days do.
 */
const FIRST_DAY = new Date(0).setUTCFullYear(0, 0, 1);
const LAST_DAY = Date.UTC(9999, 11, 31);

/**
 * The R2 key prefix of a tenant's archived events on one UTC day. The year is zero-padded (a day
 * of year 999 is `0999`, before `2026` as a string too) and days outside years 0–9999 are
 * clamped to them, so an export's range compares with the keys whatever year it names.
 */
export function dayPrefix(tenantId: string, day: number): string {
  const d = new Date(Math.min(Math.max(day, FIRST_DAY), LAST_DAY));
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `audit/${tenantId}/${pad(d.getUTCFullYear(), 4)}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/`;
}

/** `{firstId, lastId}` of an archive object's key, or undefined for a key not written here. */
export function idRangeOfKey(key: string): { firstId: string; lastId: string } | undefined {
  const match = /\/([0-9a-f-]{36})_([0-9a-f-]{36})\.ndjson\.gz$/.exec(key);
  return match ? { firstId: match[1]!, lastId: match[2]! } : undefined;
}

/** Gzips NDJSON lines. */
async function gzip(text: string): Promise<ArrayBuffer> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Response(stream).arrayBuffer();
}

/**
 * An archived line as a record: lines archived before events had a `resourceName` get it as
 * null, in its place after `resourceId`, so an export's old and new lines have the same shape.
 */
export function archivedRecord(line: string): AuditRecord {
  const parsed = JSON.parse(line) as Omit<AuditRecord, "resourceName"> & { resourceName?: string | null };
  if (parsed.resourceName !== undefined) return parsed as AuditRecord;
  return Object.fromEntries(
    Object.entries(parsed).flatMap(([key, value]) => (key === "resourceId" ? [[key, value], ["resourceName", null]] : [[key, value]])),
  ) as unknown as AuditRecord;
}

/** The events of an archive object, in the order they were written. */
export async function readArchiveObject(body: ReadableStream): Promise<AuditRecord[]> {
  const text = await new Response(body.pipeThrough(new DecompressionStream("gzip"))).text();
  return text
    .split("\n")
    .filter((line) => line.length > 0)
    .map(archivedRecord);
}

/**
 * Moves audit events older than the retention period from D1 to the archive bucket, oldest
 * first, until none is left, the budget is spent or the lease is lost.
 */
export async function archiveAuditEvents(db: Db, bucket: R2Bucket, options: ArchiveOptions): Promise<ArchiveReport> {
  const now = options.now ?? Date.now();
  const cutoff = now - Math.max(0, options.retentionDays) * DAY_MS;
  const batchSize = options.batchSize ?? 1000;
  const leaseMs = options.leaseMs ?? 10 * 60_000;
  const budgetMs = options.budgetMs ?? 5 * 60_000;
  const holder = options.holder ?? crypto.randomUUID();
  const started = Date.now();

  const acquired = await db
    .insert(jobLeases)
    .values({ name: LEASE, holder, expiresAt: Date.now() + leaseMs })
    .onConflictDoUpdate({
      target: jobLeases.name,
      set: { holder, expiresAt: Date.now() + leaseMs },
      setWhere: lte(jobLeases.expiresAt, Date.now()),
    })
    .returning({ holder: jobLeases.holder });
  if (acquired.length === 0) {
    const current = await db.select({ holder: jobLeases.holder }).from(jobLeases).where(eq(jobLeases.name, LEASE)).get();
    return { kind: "busy", holder: current?.holder ?? "unknown" };
  }

  const report = { cutoff, archived: 0, objects: 0, resumed: 0, batches: 0 };
  try {
    for (;;) {
      if (Date.now() - started > budgetMs) return { kind: "budget_spent", ...report };
      // Renew the lease and read the next batch in one round trip.
      const [renewed, rows] = await db.batch([
        db
          .update(jobLeases)
          .set({ expiresAt: Date.now() + leaseMs })
          .where(and(eq(jobLeases.name, LEASE), eq(jobLeases.holder, holder), gt(jobLeases.expiresAt, Date.now())))
          .returning({ holder: jobLeases.holder }),
        // A tenant frozen here (moving) takes no delete: its events are archived where it lands.
        db
          .select()
          .from(auditEvents)
          .where(and(lt(auditEvents.createdAt, cutoff), sql`${auditEvents.tenantId} not in (select id from tenants where frozen = 1)`))
          .orderBy(asc(auditEvents.id))
          .limit(batchSize),
      ]);
      if (renewed.length === 0) return { kind: "lease_lost", ...report };
      if (rows.length === 0) return { kind: "done", ...report };
      report.batches++;

      const verified: string[] = [];
      for (const group of groupByTenantDay(rows.map(auditRecord))) {
        const done = await archiveGroup(bucket, group);
        verified.push(...group.events.map((e) => e.id));
        report.objects += done.written ? 1 : 0;
        report.resumed += done.alreadyArchived;
      }
      await options.afterObjectsWritten?.();

      // One atomic batch: every statement re-checks the lease, so a run that lost it (and whose
      // successor may be archiving the same events) deletes nothing.
      const leaseHeld = sql`exists (select 1 from ${jobLeases} where ${jobLeases.name} = ${LEASE} and ${jobLeases.holder} = ${holder} and ${jobLeases.expiresAt} > ${Date.now()})`;
      const deletes = chunk(verified, MAX_BOUND_PARAMETERS - 4).map((part) =>
        db.delete(auditEvents).where(and(inArray(auditEvents.id, part), leaseHeld)).returning({ id: auditEvents.id }),
      );
      const results = await db.batch(deletes as [(typeof deletes)[number], ...(typeof deletes)[number][]]);
      const deleted = results.reduce((n, r) => n + r.length, 0);
      if (deleted === 0) return { kind: "lease_lost", ...report };
      report.archived += deleted;
    }
  } finally {
    // Release the lease if still ours, so the next run need not wait for it to expire.
    await db
      .delete(jobLeases)
      .where(and(eq(jobLeases.name, LEASE), eq(jobLeases.holder, holder)))
      .catch(() => undefined);
  }

}

interface TenantDay {
  prefix: string;
  events: AuditRecord[];
}

/** Splits a batch (in id order) into tenant-days, each still in id order. */
function groupByTenantDay(events: AuditRecord[]): TenantDay[] {
  const groups = new Map<string, TenantDay>();
  for (const event of events) {
    const prefix = dayPrefix(event.tenant, Date.parse(event.createdAt));
    const group = groups.get(prefix) ?? { prefix, events: [] };
    group.events.push(event);
    groups.set(prefix, group);
  }
  return [...groups.values()];
}

/**
 * Makes sure every event of a tenant-day is in a verified archive object: events an earlier run
 * already archived (an object of that day whose id range meets these events holds them) are
 * not written again; the rest go into one new object, read back before this returns.
 */
async function archiveGroup(bucket: R2Bucket, group: TenantDay): Promise<{ written: boolean; alreadyArchived: number }> {
  const first = group.events[0]!.id;
  const last = group.events[group.events.length - 1]!.id;
  const archivedIds = new Set<string>();
  let cursor: string | undefined;
  do {
    const listing = await bucket.list({ prefix: group.prefix, cursor });
    for (const object of listing.objects) {
      const range = idRangeOfKey(object.key);
      if (!range || range.lastId < first || range.firstId > last) continue;
      const body = await bucket.get(object.key);
      if (!body) continue;
      for (const event of await readArchiveObject(body.body)) archivedIds.add(event.id);
    }
    cursor = listing.truncated ? listing.cursor : undefined;
  } while (cursor);

  const fresh = group.events.filter((e) => !archivedIds.has(e.id));
  if (fresh.length === 0) return { written: false, alreadyArchived: group.events.length };
  const key = `${group.prefix}${fresh[0]!.id}_${fresh[fresh.length - 1]!.id}.ndjson.gz`;
  const body = await gzip(fresh.map((e) => JSON.stringify(e)).join("\n") + "\n");
  await bucket.put(key, body, {
    // Stored as gzip bytes (no Content-Encoding: readers decompress themselves, whatever serves
    // them).
    httpMetadata: { contentType: "application/gzip" },
    customMetadata: { events: String(fresh.length), firstId: fresh[0]!.id, lastId: fresh[fresh.length - 1]!.id },
  });
  // Read back before anything leaves D1: same size, same events.
  const stored = await bucket.get(key);
  if (!stored || stored.size !== body.byteLength) throw new Error(`archive object ${key} did not read back at ${body.byteLength} bytes`);
  const readBack = await readArchiveObject(stored.body);
  if (readBack.length !== fresh.length || readBack.some((e, i) => e.id !== fresh[i]!.id)) {
    throw new Error(`archive object ${key} read back ${readBack.length} events, ${fresh.length} written`);
  }
  return { written: true, alreadyArchived: group.events.length - fresh.length };
}
