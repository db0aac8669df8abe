/** Times as the admin API writes them. */

/** ISO 8601 rendering of the epoch-millisecond times the store keeps. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
