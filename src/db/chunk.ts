/** D1 binds at most 100 parameters per statement: split long id lists under that. */
export const MAX_BOUND_PARAMETERS = 100;

/** Splits `items` into chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
