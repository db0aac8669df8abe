/**
 * Writes of a tenant's groups and their memberships (one row per member): create, update with
 * member changes, delete. The reads are in ./group-reads.ts.
 */
import { and, asc, eq, getTableColumns, inArray, sql, type SQL } from "drizzle-orm";
import type { Db, Statement } from "../db/client";
import { chunk, MAX_BOUND_PARAMETERS } from "../db/chunk";
import { newId } from "../db/ids";
import { bindings, groupMembers, groups, tenantSizes, tenantUsers } from "../db/schema";
import { auditStatement, diffOf } from "./audit";
import { getGroup, memberDisplay, membersUpTo, type Group, type Member } from "./group-reads";
import type { MemberChange } from "./member-changes";
import { touchViews, type DeleteResult } from "./users";
import { commit, failure, guardedVersion, preconditionFailure, withRetry, type WriteContext, type WriteFailure } from "./writes";

export interface GroupFields {
  displayName: string;
  externalId: string | null;
}

export type GroupWriteResult =
  | {
      kind: "ok";
      group: Group;
      created: boolean;
      /**
       * Set by `createGroup`: the new group's members with their display, in user id order (as
       * `membersOfGroups` reads them), so POST /Groups answers without reading. Plain data (RPC).
       */
      members?: Member[];
    }
  | WriteFailure;

export const groupEtag = (group: Pick<Group, "version">) => `W/"${group.version}"`;

/**
 * Users of the tenant among `userIds`, with their display, in user id order. One statement for
 * any number of ids: they are bound as one JSON array (one parameter, so D1's 100 bound
 * parameters are no limit; the ids of a request body, at most 1 MiB, stay well under D1's 2 MB
 * for one value), a lookup of the view's primary key each.
 */
function tenantUsersAmong(db: Db, tenantId: string, userIds: string[]) {
  return db
    .select({ userId: tenantUsers.userId, display: memberDisplay })
    .from(tenantUsers)
    .where(and(eq(tenantUsers.tenantId, tenantId), idsIn(tenantUsers.userId, userIds)))
    .orderBy(asc(tenantUsers.userId));
}

const idsIn = (column: typeof tenantUsers.userId, ids: string[]) => sql`${column} in (select value from json_each(${JSON.stringify([...new Set(ids)])}))`;

/**
 * The ids of `wanted` not in `found` (the tenant's users among them), each once, in the order
 * asked. Members must be users with access to the tenant: anything else is refused before
 * anything is written.
 */
function missingOf(wanted: string[], found: Iterable<string>): string[] {
  const present = new Set(found);
  return [...new Set(wanted)].filter((id) => !present.has(id));
}

function memberInserts(db: Db, tenantId: string, groupId: string, userIds: string[], now: number): Statement[] {
  const rows = [...new Set(userIds)].map((userId) => ({ groupId, userId, tenantId, createdAt: now }));
  // 4 bound values a row: 25 rows a statement stay under D1's 100 parameters.
  return chunk(rows, Math.floor(MAX_BOUND_PARAMETERS / 4)).map((part) => db.insert(groupMembers).values(part).onConflictDoNothing());
}

/** The views of the group's current members (optionally only those matching `where`). */
function membersOf(db: Db, groupId: string, where?: SQL): SQL {
  return inArray(tenantUsers.userId, db.select({ id: groupMembers.userId }).from(groupMembers).where(and(eq(groupMembers.groupId, groupId), where)));
}

function isMember(groupId: string, present: boolean): SQL {
  const test = sql`exists (select 1 from ${groupMembers} where ${groupMembers.groupId} = ${groupId} and ${groupMembers.userId} = ${tenantUsers.userId})`;
  return present ? test : sql`not ${test}`;
}

/**
 * The statements of one member change, each preceded by the version bump of the views it changes.
 */
function memberStatements(db: Db, tenantId: string, groupId: string, change: MemberChange, now: number): Statement[] {
  const ofGroup = eq(groupMembers.groupId, groupId);
  // Ids a statement can bind next to the tenant and group ids.
  const idChunks = (ids: string[]) => chunk([...new Set(ids)], MAX_BOUND_PARAMETERS - 4);
  switch (change.kind) {
    case "add":
      return [
        ...idChunks(change.userIds).map((ids) => touchViews(db, tenantId, and(inArray(tenantUsers.userId, ids), isMember(groupId, false))!, now)),
        ...memberInserts(db, tenantId, groupId, change.userIds, now),
      ];
    case "remove":
      return idChunks(change.userIds).flatMap((ids) => [
        touchViews(db, tenantId, and(inArray(tenantUsers.userId, ids), isMember(groupId, true))!, now),
        db.delete(groupMembers).where(and(ofGroup, inArray(groupMembers.userId, ids))),
      ]);
    case "removeWhere":
      return [touchViews(db, tenantId, membersOf(db, groupId, change.where), now), db.delete(groupMembers).where(and(ofGroup, change.where))];
    case "removeAll":
      return [touchViews(db, tenantId, membersOf(db, groupId), now), db.delete(groupMembers).where(ofGroup)];
    case "replace":
      return [
        touchViews(db, tenantId, membersOf(db, groupId), now),
        db.delete(groupMembers).where(ofGroup),
        ...idChunks(change.userIds).map((ids) => touchViews(db, tenantId, inArray(tenantUsers.userId, ids), now)),
        ...memberInserts(db, tenantId, groupId, change.userIds, now),
      ];
  }
}

function addedIds(changes: MemberChange[]): string[] {
  return changes.flatMap((c) => (c.kind === "add" || c.kind === "replace" ? c.userIds : []));
}

/** The 400 of a write adding members that are not users of the tenant, if any. */
function memberProblem(unknown: string[]): WriteFailure | undefined {
  if (unknown.length === 0) return undefined;
  const shown = unknown.slice(0, 10).map((id) => `'${id}'`).join(", ");
  return failure(
    400,
    `members must be users of this tenant; not found: ${shown}${unknown.length > 10 ? ` and ${unknown.length - 10} more` : ""}. Nothing was changed.`,
    "invalidValue",
  );
}

function memberAudit(changes: MemberChange[]) {
  const diff: Record<string, { before?: unknown; after?: unknown }> = {};
  const added = addedIds(changes);
  const removed = changes.flatMap((c) => (c.kind === "remove" ? c.userIds : []));
  if (added.length) diff["members.added"] = { after: added.length > 100 ? `${added.length} members` : added };
  if (removed.length) diff["members.removed"] = { before: removed.length > 100 ? `${removed.length} members` : removed };
  if (changes.some((c) => c.kind === "removeAll" || c.kind === "replace")) diff["members.cleared"] = { before: "all", after: "none" };
  if (changes.some((c) => c.kind === "removeWhere")) diff["members.removedByFilter"] = { before: "matching", after: "none" };
  return diff;
}

/**
 * The group of the tenant named `displayName` (case-insensitively), as a list of at most one id.
 */
function groupNamed(db: Db, tenantId: string, displayName: string) {
  return db
    .select({ id: groups.id })
    .from(groups)
    .where(and(eq(groups.tenantId, tenantId), eq(groups.displayNameKey, displayName.toLowerCase())))
    .limit(1);
}

async function displayNameTaken(db: Db, tenantId: string, displayName: string, except?: string): Promise<boolean> {
  const [found] = await groupNamed(db, tenantId, displayName);
  return found !== undefined && found.id !== except;
}

const nameTaken = (displayName: string) =>
  failure(409, `A group with displayName '${displayName}' already exists in this tenant.`, "uniqueness");

/**
 * Creates a group with its initial members: one read (a batch of selects: the members with
 * their display, and whether the name is taken), then one commit batch. A member whose access
 * went away while the batch was planned fails the membership's foreign key: planned again, it
 * is a clean 400.
 */
export async function createGroup(
  db: Db,
  ctx: WriteContext,
  input: GroupFields & { memberIds: string[] },
  now = Date.now(),
): Promise<GroupWriteResult> {
  const change: MemberChange = { kind: "add", userIds: input.memberIds };
  return withRetry(async () => {
    const [named, members = []] = await db.batch([
      groupNamed(db, ctx.tenantId, input.displayName),
      ...(input.memberIds.length > 0 ? [tenantUsersAmong(db, ctx.tenantId, input.memberIds)] : []),
    ]);
    const problem = memberProblem(missingOf(input.memberIds, members.map((m) => m.userId)));
    if (problem) return problem;
    if (named.length > 0) return nameTaken(input.displayName);
    const id = newId(now);
    await commit(db, [
      db.insert(groups).values({
        id,
        tenantId: ctx.tenantId,
        displayName: input.displayName,
        displayNameKey: input.displayName.toLowerCase(),
        externalId: input.externalId,
        createdAt: now,
        updatedAt: now,
      }),
      ...memberStatements(db, ctx.tenantId, id, change, now),
      auditStatement(
        db,
        {
          ...ctx,
          action: "CREATE",
          resourceType: "GROUP",
          resourceId: id,
          resourceName: input.displayName,
          diff: { ...diffOf({}, { displayName: input.displayName, externalId: input.externalId }), ...memberAudit([change]) },
        },
        now,
      ),
    ]);
    // What the batch wrote, without reading it back.
    const group: Group = {
      id,
      tenantId: ctx.tenantId,
      displayName: input.displayName,
      displayNameKey: input.displayName.toLowerCase(),
      externalId: input.externalId,
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
    return { kind: "ok", group, created: true, members: members.map((m) => ({ userId: m.userId, display: m.display })) } as const;
  }, { idempotent: false });
}

/**
 * Reads a group with, in the same statement, which of `userIds` are users of the tenant (as a
 * JSON array): a write's pre-commit reads in one round trip. One statement rather than a batch:
 * the write's only batch is then its commit, where the race tests pause it.
 */
async function groupWithUsers(
  db: Db,
  tenantId: string,
  id: string,
  userIds: string[],
  withSize = false,
): Promise<{ group: Group; found: string[]; size?: GroupSize } | undefined> {
  const found =
    userIds.length > 0
      ? sql<string>`${db
          .select({ ids: sql`json_group_array(${tenantUsers.userId})` })
          .from(tenantUsers)
          .where(and(eq(tenantUsers.tenantId, tenantId), idsIn(tenantUsers.userId, userIds)))}`
      : sql<string>`'[]'`;
  // Counted up to a bound: past it, any member change priced by it is refused anyway.
  const members = withSize
    ? membersUpTo(sql`${id}`, MAX_COUNTED_MEMBERS)
    : sql<number>`null`;
  const maxViewUnits = withSize
    ? sql<number>`coalesce((select ${tenantSizes.maxViewUnits} from ${tenantSizes} where ${tenantSizes.tenantId} = ${tenantId}), 1)`
    : sql<number>`null`;
  const row = await db
    .select({ ...getTableColumns(groups), found: found.as("found_users"), members: members.as("member_count"), maxViewUnits: maxViewUnits.as("max_units") })
    .from(groups)
    .where(and(eq(groups.tenantId, tenantId), eq(groups.id, id)))
    .get();
  if (!row) return undefined;
  const { found: ids, members: count, maxViewUnits: units, ...group } = row;
  return { group, found: JSON.parse(ids) as string[], ...(withSize ? { size: { members: Number(count), maxViewUnits: Number(units) } } : {}) };
}

/** Members a group's size is counted up to. */
const MAX_COUNTED_MEMBERS = 100_001;

/**
 * What a member change walks is priced by: the group's members, and the largest view of its tenant.
 */
export interface GroupSize {
  members: number;
  maxViewUnits: number;
}

/**
 * Updates a group: `compute` gives the new attributes from the current ones, `members` the
 * membership changes. Members are rows, so a change costs the same in any group size; attribute
 * changes are guarded by the group's version against a concurrent writer. One read (the group
 * and the added members' existence), then one commit batch whose RETURNING gives the group as
 * committed.
 */
export async function updateGroup(
  db: Db,
  ctx: WriteContext,
  input: {
    id: string;
    ifMatch?: string;
    compute: (current: Group) => GroupFields;
    members: MemberChange[];
    /**
     * Refuses the change, before it commits, for what it would walk in a group of this size (read
     * with the group).
     */
    price?: (size: GroupSize) => WriteFailure | undefined;
  },
  now = Date.now(),
): Promise<GroupWriteResult> {
  const added = addedIds(input.members);
  return withRetry(async (attempt) => {
    const read = await groupWithUsers(db, ctx.tenantId, input.id, added, input.price !== undefined);
    if (!read) return failure(404, `Group '${input.id}' not found.`);
    const refused = read.size && input.price?.(read.size);
    if (refused) return refused;
    const current = read.group;
    const stale = preconditionFailure(input.ifMatch, groupEtag(current));
    if (stale) return stale;
    const next = input.compute(current);
    const attributeDiff = diffOf(
      { displayName: current.displayName, externalId: current.externalId },
      { displayName: next.displayName, externalId: next.externalId },
    );
    const problem = memberProblem(missingOf(added, read.found));
    if (problem) return problem;
    if (Object.keys(attributeDiff).length === 0 && input.members.length === 0) {
      return { kind: "ok", group: current, created: false } as const;
    }
    // A rename to a taken name fails the commit on the unique index, which withRetry takes for a
    // lost race and plans again: the first attempt skips the check (a rename costs no extra read),
    // a replanned one reads it and answers 409 cleanly.
    if (
      attempt > 1 &&
      next.displayName.toLowerCase() !== current.displayNameKey &&
      (await displayNameTaken(db, ctx.tenantId, next.displayName, current.id))
    ) {
      return nameTaken(next.displayName);
    }
    const renamed = next.displayName !== current.displayName;
    const changesAttributes = Object.keys(attributeDiff).length > 0;
    const [updated] = (await commit(db, [
      db
        .update(groups)
        .set({
          // Only a write that changes them writes the attributes (under the version guard): a
          // member change must not write back what it read over another writer's rename.
          ...(changesAttributes ? { displayName: next.displayName, displayNameKey: next.displayName.toLowerCase(), externalId: next.externalId } : {}),
          // Attribute changes, and any change made under If-Match, need the version read; member
          // changes without If-Match commute and just bump it.
          version: changesAttributes || input.ifMatch !== undefined ? guardedVersion(groups.version, current.version) : sql`${groups.version} + 1`,
          updatedAt: now,
        })
        .where(eq(groups.id, current.id))
        // The group as committed (version, updatedAt), without reading it back.
        .returning(),
      // Members show the group's displayName in their `groups`.
      ...(renamed ? [touchViews(db, ctx.tenantId, membersOf(db, current.id), now)] : []),
      ...input.members.flatMap((change) => memberStatements(db, ctx.tenantId, current.id, change, now)),
      auditStatement(
        db,
        {
          ...ctx,
          action: "UPDATE",
          resourceType: "GROUP",
          resourceId: current.id,
          resourceName: next.displayName,
          diff: { ...attributeDiff, ...memberAudit(input.members) },
        },
        now,
      ),
    ])) as [Group[], ...unknown[]];
    const group = updated[0];
    if (!group) return failure(404, `Group '${input.id}' not found.`);
    return { kind: "ok", group, created: false } as const;
  });
}

/** Deletes a group with its memberships and bindings. */
export async function deleteGroup(
  db: Db,
  ctx: WriteContext,
  input: { id: string; ifMatch?: string },
  now = Date.now(),
): Promise<DeleteResult> {
  return withRetry(async () => {
    const current = await getGroup(db, ctx.tenantId, input.id);
    if (!current) return failure(404, `Group '${input.id}' not found.`);
    const stale = preconditionFailure(input.ifMatch, groupEtag(current));
    if (stale) return stale;
    await commit(db, [
      // Under If-Match the version compared above must still be the one deleted.
      ...(input.ifMatch !== undefined ? [db.update(groups).set({ version: guardedVersion(groups.version, current.version) }).where(eq(groups.id, current.id))] : []),
      touchViews(db, ctx.tenantId, membersOf(db, current.id), now),
      db.delete(groupMembers).where(eq(groupMembers.groupId, current.id)),
      db
        .delete(bindings)
        .where(and(eq(bindings.tenantId, ctx.tenantId), eq(bindings.subjectType, "GROUP"), eq(bindings.subjectId, current.id))),
      db.delete(groups).where(eq(groups.id, current.id)),
      auditStatement(
        db,
        {
          ...ctx,
          action: "DELETE",
          resourceType: "GROUP",
          resourceId: current.id,
          resourceName: current.displayName,
          diff: diffOf({ displayName: current.displayName, externalId: current.externalId }, {}),
        },
        now,
      ),
    ]);
    return { kind: "deleted" } as const;
  });
}
