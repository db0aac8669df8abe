import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import * as schema from "./schema";

/** The Drizzle handle every service takes. */
export type Db = DrizzleD1Database<typeof schema>;

/** Wraps a D1 binding in Drizzle with the project's schema. */
export function createDb(d1: D1Database): Db {
  return drizzle(d1, { schema });
}

/** One statement of a `db.batch([...])`: what services plan and the writer commits. */
export type Statement = Parameters<Db["batch"]>[0][number];
