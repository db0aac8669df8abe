/**
 * Pages of the admin API's lists: `{results, nextCursor?}`, and the opaque cursors they resume at.
 */
import { ProblemError } from "./problem";

/** Encodes the key of a page's last row as an opaque cursor. */
function encodeCursor(key: string): string {
  return btoa(key).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
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

/**
 * Builds `{results, nextCursor?}` from a page fetched with `limit + 1` rows. The cursor holds the
 * last row's key, `cursorOf` (its id by default): a list in another order than its ids resumes
 * from the key it is ordered by.
 */
export function pageOf<T extends { id: string }, R>(
  rows: T[],
  limit: number,
  render: (row: T) => R,
  cursorOf: (row: T) => string = (row) => row.id,
) {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return {
    results: page.map(render),
    ...(more ? { nextCursor: encodeCursor(cursorOf(page[page.length - 1]!)) } : {}),
  };
}
