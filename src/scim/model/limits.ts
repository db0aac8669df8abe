/**
 * The server's limits: told to clients by /ServiceProviderConfig (./discovery.ts) and enforced by
 * the routes, validation and the Worker's body limit. A module of its own, importing nothing, so
 * every layer can read it without a circle.
 */
export const LIMITS = {
  /** Largest page a list returns (`filter.maxResults`). */
  maxResults: 200,
  /** Largest request body accepted, in bytes (`bulk.maxPayloadSize`). */
  maxPayloadSize: 1_048_576,
  /** Operations one /Bulk request may carry (`bulk.maxOperations`). */
  maxBulkOperations: 100,
  /** Values one multi-valued attribute (emails, phoneNumbers…) may hold. */
  maxValuesPerAttribute: 100,
  /** Bytes of JSON one user's attributes may take when stored (a PATCH cannot grow past it). */
  maxResourceBytes: 65_536,
  /** Members one response carries in all (a list stops early; a larger group omits them). */
  maxMembersPerResponse: 10_000,
} as const;
