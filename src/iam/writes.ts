/**
 * What every write service shares: the result type the Durable Object hands back over RPC, the
 * request context recorded in the audit log, and the optimistic retry loop.
 */
import { is, sql, type SQL } from "drizzle-orm";
import { SQLiteSelectBase, type AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Db, Statement } from "../db/client";
import { violates } from "../db/constraints";
import { MOVING_DETAIL, MOVING_RETRY_AFTER_SECONDS } from "../db/moving";
import { commitGuards } from "../db/schema";
import { isTransientStoreError } from "../db/transient";
import type { Actor } from "./audit";

/**
 * What a SCIM write was let in with: the token, its integration and the permissions the route
 * required. Checked again inside the batch that commits the write (`authorizedAtCommit`).
 */
export interface Authority {
  tokenId: string;
  integrationId: string;
  serviceAccountId: string;
  /** `RESOURCE:ACTION` pairs. */
  permissions: string[];
}

/** Who writes, on whose behalf: recorded in the audit log. */
export interface WriteContext {
  tenantId: string;
  integrationId?: string;
  actor: Actor;
  requestId?: string;
  /** Set for SCIM writes: the write commits only while this still holds. */
  authority?: Authority;
  /** The binding of the tenant's shard (absent: `DB`, the only database). */
  shard?: string;
}

/** A refused write. `scimType` follows RFC 7644 §3.12. Plain data, so it crosses RPC. */
export interface WriteFailure {
  kind: "error";
  status: 400 | 401 | 403 | 404 | 409 | 412 | 413 | 429 | 500 | 503;
  scimType?: "uniqueness" | "invalidValue" | "mutability" | "noTarget" | "invalidPath" | "invalidSyntax" | "invalidFilter" | "tooMany";
  detail: string;
  /** For 429 and 503: when to try again, in seconds. */
  retryAfter?: number;
}

export const failure = (status: WriteFailure["status"], detail: string, scimType?: WriteFailure["scimType"]): WriteFailure => ({
  kind: "error",
  status,
  detail,
  ...(scimType ? { scimType } : {}),
});

/** The 503 of a write its tenant's move refused (src/db/moving.ts): retry in a few seconds. */
export const movingFailure = (): WriteFailure => ({ ...failure(503, MOVING_DETAIL), retryAfter: MOVING_RETRY_AFTER_SECONDS });

/**
 * Thrown when the store failed transiently and the write could not be retried safely (a create:
 * whether the first attempt committed is unknown, and a retry could turn its success into a 409).
 */
export class TransientWriteError extends Error {
  constructor(readonly original: unknown) {
    // The original's message is not copied: a failed query's message carries its parameters.
    super("The store failed transiently.", { cause: original });
    this.name = "TransientWriteError";
  }
}

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

// A FOREIGN KEY failure is a lost race too: a member's access (or a referenced row) went away
// between the plan's reads and its batch; planning again reads that and refuses cleanly.
function lostRace(error: unknown): boolean {
  return error instanceof WriteConflict || violates(error, "UNIQUE", "CHECK", "FOREIGN KEY");
}

/** How many times a write is planned again after losing a race. */
export const MAX_WRITE_ATTEMPTS = 5;

/**
 * Runs `attempt` (read, plan, batch; given its number, from 1) until it commits or stops losing
 * races. A constraint failure means another writer (another integration's object) changed the rows
 * read: reading again gives either a plan that commits or a clean refusal (409, 404). A transient
 * store failure is retried the same way when the write is idempotent (it re-reads and re-plans, so
 * a batch that did commit is simply found applied); otherwise it becomes a TransientWriteError.
 */
export async function withRetry<T>(attempt: (n: number) => Promise<T>, options: { idempotent?: boolean } = {}): Promise<T> {
  const idempotent = options.idempotent ?? true;
  for (let i = 1; ; i++) {
    try {
      return await attempt(i);
    } catch (error) {
      const transient = isTransientStoreError(error);
      if (transient && (!idempotent || i >= MAX_WRITE_ATTEMPTS)) throw new TransientWriteError(error);
      if (i >= MAX_WRITE_ATTEMPTS || !(transient || lostRace(error))) throw error;
      if (transient) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** i));
    }
  }
}

/** Weak ETag comparison for If-Match: `*` matches anything that exists. */
export function etagMatches(ifMatch: string | undefined, current: string): boolean {
  if (ifMatch === undefined) return true;
  return ifMatch.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t.replace(/^W\//, "") === current.replace(/^W\//, "");
  });
}

/** The 412 a write answers when If-Match names another version than `current`. */
export function preconditionFailure(ifMatch: string | undefined, current: string): WriteFailure | undefined {
  return etagMatches(ifMatch, current) ? undefined : failure(412, `If-Match ${ifMatch} does not match the current version ${current}.`);
}

/**
 * Commits statements as one D1 batch (atomic); a no-op when there is nothing to write. Returns
 * the batch's results, one per statement in order (a statement with RETURNING gives its rows),
 * so a write can answer with what it committed without reading it back.
 */
export async function commit(db: Db, statements: Statement[]): Promise<unknown[]> {
  if (statements.length === 0) return [];
  return db.batch(statements as [Statement, ...Statement[]]);
}

/** True for a batch of selects only: it writes nothing, so there is nothing to guard. */
const readsOnly = (statements: readonly Statement[]): boolean => statements.every((s) => is(s, SQLiteSelectBase));

/**
 * A Db whose every batch commits only while `holds` is true when the batch runs: the batch
 * starts by inserting `ok` = 1 into `commit_guards` (NULL when `holds` is false, which the
 * NOT NULL refuses, rolling the whole batch back) and ends by emptying the table. Reads are
 * untouched, a batch of selects included (a write's pre-commit reads in one round trip): it
 * stays a plain read, which the SCIM gate can merge with the token check (src/db/piggyback.ts).
 * A queued write thus re-checks its authorization at the moment it commits.
 */
export function authorizedAtCommit(db: Db, holds: SQL): Db {
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === "batch") {
        return async (statements: Statement[]) => {
          if (readsOnly(statements)) return target.batch(statements as [Statement, ...Statement[]]);
          const results = await target.batch([
            target.insert(commitGuards).values({ ok: sql`case when ${holds} then 1 end` }),
            ...statements,
            target.delete(commitGuards),
          ] as [Statement, ...Statement[]]);
          return results.slice(1, -1);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** True when a batch was refused by `authorizedAtCommit`'s guard. */
export function refusedAtCommit(error: unknown): boolean {
  return violates(error, "NOT NULL") && /commit_guards\.ok/.test(`${String((error as Error)?.message)} ${String((error as Error)?.cause)}`);
}
