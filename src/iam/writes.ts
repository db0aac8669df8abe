/**
 * What every write service shares: the result type the Durable Object hands back over RPC, the
 * request context recorded in the audit log, and the optimistic retry loop.
 */
import { sql, type SQL } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Db, Statement } from "../db/client";
import type { Actor } from "./audit";

/** Who writes, on whose behalf: recorded in the audit log. */
export interface WriteContext {
  tenantId: string;
  integrationId?: string;
  actor: Actor;
  requestId?: string;
}

/** A refused write. `scimType` follows RFC 7644 §3.12. Plain data, so it crosses RPC. */
export interface WriteFailure {
  kind: "error";
  status: 400 | 404 | 409 | 412;
  scimType?: "uniqueness" | "invalidValue" | "mutability" | "noTarget" | "invalidPath" | "invalidSyntax" | "invalidFilter";
  detail: string;
}

export const failure = (status: WriteFailure["status"], detail: string, scimType?: WriteFailure["scimType"]): WriteFailure => ({
  kind: "error",
  status,
  detail,
  ...(scimType ? { scimType } : {}),
});

/** Thrown by a plan when the store moved under it; the loop plans again from fresh reads. */
export class WriteConflict extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = "WriteConflict";
  }
}

/**
 * `version` becomes `version + 1` only if it is still `expected`; otherwise 0, which the table's
 * CHECK (version > 0) rejects, rolling back the whole batch.
 */
export function guardedVersion(column: AnySQLiteColumn, expected: number): SQL {
  return sql`case when ${column} = ${expected} then ${column} + 1 else 0 end`;
}

function isRetryable(error: unknown): boolean {
  const message = String((error as Error)?.message ?? error) + String((error as { cause?: Error })?.cause?.message ?? "");
  return error instanceof WriteConflict || /(UNIQUE|CHECK) constraint failed/.test(message);
}

/** How many times a write is planned again after losing a race. */
export const MAX_WRITE_ATTEMPTS = 5;

/**
 * Runs `attempt` (read, plan, batch) until it commits or stops losing races. A constraint
 * failure means another writer (another integration's object) changed the rows read: reading
 * again gives either a plan that commits or a clean refusal (409, 404).
 */
export async function withRetry<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (i >= MAX_WRITE_ATTEMPTS || !isRetryable(error)) throw error;
    }
  }
}

/** Commits statements as one D1 batch (atomic); a no-op when there is nothing to write. */
export async function commit(db: Db, statements: Statement[]): Promise<void> {
  if (statements.length === 0) return;
  await db.batch(statements as [Statement, ...Statement[]]);
}
