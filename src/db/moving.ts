/**
 * A write refused because its tenant is frozen in this shard while it moves (the triggers of
 * migration 0021 raise it). Nothing was changed; the client retries after a short wait.
 */

/** The message the freeze triggers raise. */
export const TENANT_MOVING = "scim-edge: tenant moving";

/** Seconds to wait before retrying a write refused by a move (a move's copy takes seconds). */
export const MOVING_RETRY_AFTER_SECONDS = 5;

/** Whether `error` (a failed batch, possibly wrapped) is a frozen tenant's refusal. */
export function isTenantMoving(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (String((e as { message?: unknown }).message ?? e).includes(TENANT_MOVING)) return true;
  }
  return false;
}

/** What a refused write answers: why, and when to come back. */
export const MOVING_DETAIL = `This tenant is being moved to another database: writes are paused until the move ends (reads go on). Nothing was changed; retry after ${MOVING_RETRY_AFTER_SECONDS} s.`;
