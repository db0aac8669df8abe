/** Times as the admin API writes them. */

/** ISO 8601 rendering of the epoch-millisecond times the store keeps. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** `iso`, or null for a time not known (or not yet). */
export function isoOrNull(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : iso(ms);
}
