/**
 * Failures worth retrying: D1's transient errors (Cloudflare's D1 error list) and Durable Object
 * errors flagged `retryable` or `overloaded`. Constraint and SQL errors are never transient.
 */
const TRANSIENT_D1 = [
  "Network connection lost",
  "D1 DB reset because its code was updated",
  "storage caused object to be reset",
  "Cannot resolve D1 DB due to transient issue",
  "D1 DB storage operation exceeded timeout",
  "D1 DB is overloaded",
  "Can't read from request stream because client disconnected",
  "Durable Object reset because its code was updated",
  "internal error",
];

function messages(error: unknown): string {
  const e = error as { message?: unknown; cause?: { message?: unknown } } | undefined;
  return `${String(e?.message ?? error)} ${String(e?.cause?.message ?? "")}`;
}

/** True for an error a later identical request may not meet. */
export function isTransientStoreError(error: unknown): boolean {
  const flags = error as { retryable?: unknown; overloaded?: unknown } | undefined;
  if (flags && (flags.retryable === true || flags.overloaded === true)) return true;
  const text = messages(error);
  if (/constraint failed|SQLITE_ERROR|syntax error|no such/i.test(text)) return false;
  return TRANSIENT_D1.some((m) => text.toLowerCase().includes(m.toLowerCase()));
}

/** Seconds a client should wait before retrying after a transient failure or overload. */
export const RETRY_AFTER_SECONDS = 1;
