/**
 * Changes of a group's members, applied in order as row inserts and deletes. One type for both
 * ends: the SCIM model reads it from a PATCH, the writer passes it through, and src/iam/groups.ts
 * turns it into statements.
 */
import type { SQL } from "drizzle-orm";

/** Member changes, applied in order as row inserts and deletes. */
export type MemberChange =
  | { kind: "add"; userIds: string[] }
  | { kind: "remove"; userIds: string[] }
  /** Remove the members matching a condition on `group_members` (a compiled value filter). */
  | { kind: "removeWhere"; where: SQL }
  | { kind: "removeAll" }
  | { kind: "replace"; userIds: string[] };

/**
 * Merges runs of adds and runs of removes (a PATCH of 1,000 one-member adds is one add of 1,000),
 * keeping the order between runs, so a batch stays within D1's statement limits.
 */
export function coalesceMemberChanges(changes: MemberChange[]): MemberChange[] {
  const out: MemberChange[] = [];
  for (const change of changes) {
    const last = out[out.length - 1];
    if (last && (last.kind === "add" || last.kind === "remove") && last.kind === change.kind) {
      out[out.length - 1] = { kind: last.kind, userIds: [...last.userIds, ...(change as typeof last).userIds] };
    } else {
      out.push(change);
    }
  }
  return out;
}
