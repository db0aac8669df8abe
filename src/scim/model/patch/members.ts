/**
 * Group members never pass through the in-memory document: a group may hold more members than
 * one request may read. `splitMemberOperations` peels the member operations off a group PATCH as
 * member changes (src/iam/member-changes.ts) that become row inserts and deletes; only a
 * filtered removal stays a filter here, for the writer to price and compile to SQL.
 */
import type { MemberChange } from "../../../iam/member-changes";
import { ScimError } from "../errors";
import type { Filter } from "../filter/parse";
import type { Doc } from "../validate";
import type { PatchOperation } from "./normalize";
import { invalidPath } from "./path";

/**
 * A member operation: a store's member change, but a filtered removal keeps its filter, which
 * only the writer can compile (to a condition on `group_members` of the tenant).
 */
export type MemberOperation = Exclude<MemberChange, { kind: "removeWhere" }> | { kind: "removeWhere"; filter: Filter };

/** Reads member ids from a members value: `[{value: id}, …]`, a single object, or bare ids. */
export function memberIds(value: unknown, where: string): string[] {
  const items = value === null || value === undefined ? [] : Array.isArray(value) ? value : [value];
  return items.map((item, i) => {
    const id = typeof item === "string" ? item : item && typeof item === "object" ? (item as Doc).value : undefined;
    if (typeof id !== "string" || id === "") {
      throw new ScimError(400, `${where}[${i}] must be a member object with a 'value' (the user id).`, "invalidValue");
    }
    return id;
  });
}

/** The member ids a filter names when it is `value eq "id"` or an `or` of those, else undefined. */
function memberIdsNamed(filter: Filter): string[] | undefined {
  if (filter.kind === "or") {
    const parts = filter.filters.map(memberIdsNamed);
    return parts.every((p) => p !== undefined) ? parts.flat() as string[] : undefined;
  }
  const byValue =
    filter.kind === "compare" && filter.op === "eq" && typeof filter.value === "string" && filter.value !== "" &&
    !filter.path.schema && !filter.path.subAttribute && filter.path.attribute.toLowerCase() === "value";
  return byValue ? [filter.value as string] : undefined;
}

/** Splits a group PATCH into attribute operations and member operations, in order. */
export function splitMemberOperations(ops: PatchOperation[]): { attributes: PatchOperation[]; members: MemberOperation[] } {
  const attributes: PatchOperation[] = [];
  const members: MemberOperation[] = [];
  for (const op of ops) {
    if (op.path?.def?.name !== "members") {
      attributes.push(op);
      continue;
    }
    const path = op.path;
    if (path.sub) invalidPath(`'${path.text}': address members as a whole or with members[value eq "id"].`);
    if (op.op === "remove") {
      // Entra's and Okta's `members[value eq "id"]` (or several, joined by `or`) names members by
      // id: removed by key, as a `value` list is, not walked as a filter.
      const userIds = path.filter && memberIdsNamed(path.filter);
      if (userIds) members.push({ kind: "remove", userIds });
      else if (path.filter) members.push({ kind: "removeWhere", filter: path.filter });
      else if (op.value !== undefined && op.value !== null) members.push({ kind: "remove", userIds: memberIds(op.value, "value") });
      else members.push({ kind: "removeAll" });
    } else if (path.filter) {
      invalidPath(`'${path.text}': ${op.op} members without a filter, with the members in 'value'.`);
    } else if (op.op === "add") {
      members.push({ kind: "add", userIds: memberIds(op.value, "value") });
    } else {
      members.push({ kind: "replace", userIds: memberIds(op.value, "value") });
    }
  }
  return { attributes, members };
}
