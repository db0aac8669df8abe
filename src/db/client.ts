import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";

/**
 * The Drizzle handle every service takes. Without the relational schema: nothing uses
 * `db.query.*`, and building its table map cost every request ≈ 5% of its CPU (profiled).
 */
export type Db = DrizzleD1Database & { $client: D1Database };

/** Wraps a D1 binding in Drizzle. */
export function createDb(d1: D1Database): Db {
  return drizzle(d1);
}

/** One statement of a `db.batch([...])`: what services plan and the writer commits. */
export type Statement = Parameters<Db["batch"]>[0][number];
