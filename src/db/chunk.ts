/** D1 binds at most 100 parameters per statement: split long id lists under that. */
export const MAX_BOUND_PARAMETERS = 100;

/** Splits `items` into chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/**
 * Runs a page query, and its count query only when the page cannot tell the total: a page that
 * is not full (and not past the end) is the last one, so total = offset + its length. Entra's
 * lookups (one match or none) then cost one D1 query, not two. `limitOf` reads the page's
 * own limit from its rows when the query decided it (a page of large rows holds fewer).
 */
export async function pageWithTotal<T>(
  page: () => Promise<T[]>,
  total: () => Promise<number>,
  window: { offset: number; limit: number },
  limitOf: (rows: T[]) => number = () => window.limit,
): Promise<{ total: number; rows: T[] }> {
  if (window.limit <= 0) return { total: await total(), rows: [] };
  const rows = await page();
  const known = rows.length < limitOf(rows) && (rows.length > 0 || window.offset === 0);
  return { total: known ? window.offset + rows.length : await total(), rows };
}
