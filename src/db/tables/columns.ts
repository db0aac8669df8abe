/** Column helpers every table module shares. */
import { sql } from "drizzle-orm";
import { check, integer, type AnySQLiteColumn } from "drizzle-orm/sqlite-core";

/**
 * Versions are positive. A guarded write sets `version` to `CASE WHEN version = <read> THEN
 * version + 1 ELSE 0 END`: if another writer got there first, the check fails and D1 rolls the
 * whole batch back. That is the compare-and-set D1's lack of interactive transactions calls for.
 */
export const versionCheck = (name: string, column: AnySQLiteColumn) => check(name, sql`${column} > 0`);

export const createdAt = () => integer("created_at").notNull();
export const updatedAt = () => integer("updated_at").notNull();
