/**
 * Export of a tenant's audit events over a time range, oldest first, from the archive (R2) and
 * from D1 alike, as NDJSON or CSV. Both sources are read as sorted streams and merged by id, so
 * the output is in order and an event present in both (archived but not yet deleted) appears
 * once. Memory stays bounded: one D1 page and one archive object at a time.
 */
import { and, asc, eq, gt, gte, lt, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { auditEvents } from "../db/schema";
import { auditRecord, resourceNameKey, type AuditRecord } from "./audit";
import { dayPrefix, idRangeOfKey, readArchiveObject } from "./audit-archive";

export interface ExportQuery {
  /** Inclusive start (epoch ms). */
  from: number;
  /** Exclusive end (epoch ms). */
  to: number;
  integrationId?: string;
  resourceType?: string;
  /** Only events of resources of this name, in any case. */
  resourceName?: string;
  action?: string;
  outcome?: "SUCCESS" | "FAILURE";
}

const D1_PAGE = 500;
const DAY_MS = 86_400_000;

function matches(event: AuditRecord, query: ExportQuery): boolean {
  const at = Date.parse(event.createdAt);
  // The key of the name as D1 stored it: the same case-insensitive match as the index's.
  const nameKey = event.resourceName == null ? null : resourceNameKey(event.resourceName);
  return (
    at >= query.from &&
    at < query.to &&
    (!query.integrationId || event.integrationId === query.integrationId) &&
    (!query.resourceType || event.resourceType === query.resourceType) &&
    (!query.resourceName || nameKey === resourceNameKey(query.resourceName)) &&
    (!query.action || event.action === query.action) &&
    (!query.outcome || event.outcome === query.outcome)
  );
}

/** The archived events of the range, in id order, object by object. */
async function* fromArchive(bucket: R2Bucket, tenantId: string, query: ExportQuery): AsyncGenerator<AuditRecord> {
  const tenantPrefix = `audit/${tenantId}/`;
  // Keys sort by day, then by first id: start just before the first day of the range.
  const startAfter = dayPrefix(tenantId, Math.floor(query.from / DAY_MS) * DAY_MS - DAY_MS) + "~";
  const lastDay = dayPrefix(tenantId, Math.floor((query.to - 1) / DAY_MS) * DAY_MS);
  let cursor: string | undefined;
  do {
    const listing = await bucket.list({ prefix: tenantPrefix, ...(cursor ? { cursor } : { startAfter }) });
    for (const object of listing.objects) {
      if (object.key.slice(0, lastDay.length) > lastDay) return;
      if (!idRangeOfKey(object.key)) continue;
      const stored = await bucket.get(object.key);
      if (!stored) continue; // removed since the listing (an operator's lifecycle rule)
      for (const event of await readArchiveObject(stored.body)) if (matches(event, query)) yield event;
    }
    cursor = listing.truncated ? listing.cursor : undefined;
  } while (cursor);
}

/**
 * The range's events still in D1, in id order, a page at a time (keyset on the tenant's id index).
 */
async function* fromD1(db: Db, tenantId: string, query: ExportQuery): AsyncGenerator<AuditRecord> {
  let after: string | undefined;
  for (;;) {
    const rows = await exportPageQuery(db, tenantId, query, after);
    for (const row of rows) yield auditRecord(row);
    if (rows.length < D1_PAGE) return;
    after = rows[rows.length - 1]!.id;
  }
}

/** The query of one page of the export's D1 events, after the id `after` (tests read its plan). */
export function exportPageQuery(db: Db, tenantId: string, query: ExportQuery, after: string | undefined) {
  const conditions: (SQL | undefined)[] = [
    eq(auditEvents.tenantId, tenantId),
    after ? gt(auditEvents.id, after) : undefined,
    gte(auditEvents.createdAt, query.from),
    lt(auditEvents.createdAt, query.to),
    query.integrationId ? eq(auditEvents.integrationId, query.integrationId) : undefined,
    query.resourceType ? eq(auditEvents.resourceType, query.resourceType) : undefined,
    query.resourceName ? eq(auditEvents.resourceNameKey, resourceNameKey(query.resourceName)) : undefined,
    query.action ? eq(auditEvents.action, query.action) : undefined,
    query.outcome ? eq(auditEvents.outcome, query.outcome) : undefined,
  ];
  return db.select().from(auditEvents).where(and(...conditions)).orderBy(asc(auditEvents.id)).limit(D1_PAGE);
}

/** Merges two id-ordered streams into one, dropping an id the other stream already gave. */
async function* mergeById(a: AsyncGenerator<AuditRecord>, b: AsyncGenerator<AuditRecord>): AsyncGenerator<AuditRecord> {
  let [x, y] = await Promise.all([a.next(), b.next()]);
  let lastId = "";
  while (!x.done || !y.done) {
    let next: AuditRecord;
    if (y.done || (!x.done && x.value.id <= y.value.id)) {
      next = (x as IteratorYieldResult<AuditRecord>).value;
      x = await a.next();
    } else {
      next = y.value;
      y = await b.next();
    }
    if (next.id === lastId) continue;
    lastId = next.id;
    yield next;
  }
}

/** Every event of the tenant in the range and filters, oldest first, archive and D1 merged. */
export function exportAuditEvents(db: Db, bucket: R2Bucket, tenantId: string, query: ExportQuery): AsyncGenerator<AuditRecord> {
  return mergeById(fromArchive(bucket, tenantId, query), fromD1(db, tenantId, query));
}

export const CSV_COLUMNS = [
  "id",
  "createdAt",
  "tenant",
  "integrationId",
  "actorType",
  "actorId",
  "action",
  "resourceType",
  "resourceId",
  "resourceName",
  "outcome",
  "status",
  "detail",
  "diff",
  "requestId",
] as const;

/** What a spreadsheet runs as a formula at the start of a cell (OWASP, "CSV Injection"). */
const FORMULA_START = /^[ ]*[=+\-@]|^[\t\r\n]/;
/**
 * A formula character after a separator a spreadsheet may split on (`,` `;` tab `|` CR LF) or a
 * quote: a reader that splits there starts a cell with it.
 */
const FORMULA_AFTER_SEPARATOR = /[,;\t|\r\n"'][ ]*[=+\-@]/;
/**
 * Characters that make a cell quoted: RFC 4180's, and the separators other locales and tools use.
 */
const NEEDS_QUOTES = /[",;\t|\r\n]/;

/**
 * One CSV field (RFC 4180), neutralised as OWASP advises: a text cell that starts with `=`, `+`,
 * `-`, `@` (after spaces too), tab, CR or LF, or has one of `=+-@` right after a separator or
 * quote, is prefixed with `'` and quoted, so no spreadsheet runs it as a formula (an identity
 * provider chooses the values an audit event quotes); any cell holding a separator (`,` `;` tab
 * `|` CR LF) or a quote is quoted, so a reader splitting on another separator still sees one cell.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return String(value);
  let text = typeof value === "string" ? value : JSON.stringify(value);
  const formula = FORMULA_START.test(text) || FORMULA_AFTER_SEPARATOR.test(text);
  if (formula) text = `'${text}`;
  return formula || NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The CSV line of an event (CRLF-terminated), in `CSV_COLUMNS` order. */
export function csvLine(event: AuditRecord): string {
  const { actor, ...fields } = event;
  const cells: Record<(typeof CSV_COLUMNS)[number], unknown> = { ...fields, actorType: actor.type, actorId: actor.id };
  return CSV_COLUMNS.map((column) => csvField(cells[column])).join(",") + "\r\n";
}

/**
 * The export as a byte stream. A failure half-way errors the stream (the client sees a cut
 * transfer, never a file that silently lacks events) and is reported to `onError`.
 */
export function exportStream(events: AsyncGenerator<AuditRecord>, format: "ndjson" | "csv", onError: (err: unknown) => void): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        let text = "";
        if (!started && format === "csv") text = CSV_COLUMNS.join(",") + "\r\n";
        started = true;
        // Up to 200 events per chunk: few enqueues, bounded memory.
        for (let i = 0; i < 200; i++) {
          const next = await events.next();
          if (next.done) {
            if (text) controller.enqueue(encoder.encode(text));
            controller.close();
            return;
          }
          text += format === "csv" ? csvLine(next.value) : JSON.stringify(next.value) + "\n";
        }
        controller.enqueue(encoder.encode(text));
      } catch (err) {
        onError(err);
        controller.error(err);
      }
    },
    async cancel() {
      await events.return(undefined);
    },
  });
}
