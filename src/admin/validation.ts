/** Helpers of the admin API: validation messages, cursors, pages, times. */
import type { z } from "zod";
import { ProblemError } from "./problem";

/** Turns zod issues into one readable sentence per field. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "body"}: ${issue.message}`)
    .join("; ");
}

/** Encodes the last id of a page as an opaque cursor. */
export function encodeCursor(lastId: string): string {
  return btoa(lastId).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Decodes a cursor, or throws a 400 problem. */
export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  try {
    return atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    throw new ProblemError(400, "cursor: not a cursor returned by this API.");
  }
}

/** Builds `{results, nextCursor?}` from a page fetched with `limit + 1` rows. */
export function pageOf<T extends { id: string }, R>(rows: T[], limit: number, render: (row: T) => R) {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return {
    results: page.map(render),
    ...(more ? { nextCursor: encodeCursor(page[page.length - 1]!.id) } : {}),
  };
}

/** ISO 8601 rendering of the epoch-millisecond times the store keeps. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
