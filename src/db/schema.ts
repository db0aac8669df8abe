/**
 * The whole IAM domain as D1 tables (see docs/storage.md for the why of each).
 *
 * Conventions: ids are UUIDv7 strings (time-ordered, so `ORDER BY id` is creation order and a
 * cursor is just the last id); times are epoch milliseconds; `*_key` columns hold the
 * Unicode-lowercased form of a case-insensitive value so that lookups and uniqueness use a
 * plain index instead of SQLite's ASCII-only NOCASE.
 */
// One module a part (src/db/tables/); this one is what the code and drizzle-kit import.
export * from "./tables/directory";
export * from "./tables/access";
export * from "./tables/records";
