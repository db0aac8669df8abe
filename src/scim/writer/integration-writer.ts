/**
 * One Durable Object per provisioning integration (`idFromName(integrationId)`): the single
 * writer of that integration's SCIM changes. Its public RPC methods are the protocol; each runs
 * through the queue, one at a time, reads what it needs, and commits as one D1 batch. Reads of
 * the SCIM API do not come here: they go straight from the Worker to D1. Nor do the admin's
 * changes of the integration (rotate, disable, delete): they must not wait behind its writes,
 * and every write re-checks its authority inside its own commit batch.
 *
 * Results are plain tagged unions (`kind`), since class instances do not survive RPC.
 */
import { DurableObject } from "cloudflare:workers";
import { createDb, type Db } from "../../db/client";
import { emptyStats, metered, type D1Stats } from "../../db/metered";
import { DIRECTORY, shardBinding } from "../../db/shards";
import { isTenantMoving } from "../../db/moving";
import { isTransientStoreError, RETRY_AFTER_SECONDS } from "../../db/transient";
import { createGroup, deleteGroup, updateGroup, type GroupSize, type GroupWriteResult } from "../../iam/groups";
import { coalesceMemberChanges, type MemberChange } from "../../iam/member-changes";
import { ROW_BUDGET } from "../model/cost";
import { SerialQueue } from "./serial-queue";
import { createUser, revokeUserAccess, updateUser, type DeleteResult, type UserWriteResult } from "../../iam/users";
import { authorityHolds, credentialStatement, guardedCredentialStatement, lostAuthority } from "../../iam/credentials";
import { authorizedAtCommit, failure, movingFailure, refusedAtCommit, TransientWriteError, type Authority, type WriteContext, type WriteFailure } from "../../iam/writes";
import { describeError } from "../../observability";
import { INVALID_TOKEN, judgeCredential } from "../../iam/credentials";
import { piggyback } from "../../db/piggyback";
import { ScimError } from "../model/errors";
import { memberCondition } from "../model/filter/targets";
import { FILTER_LIMITS, termsOf } from "../model/filter/parse";
import { applyPatch } from "../model/patch/apply";
import { memberIds, splitMemberOperations, type MemberOperation } from "../model/patch/members";
import { normalizePatch } from "../model/patch/normalize";
import { groupDoc, userDoc, userFields } from "../model/resources";
import { RESOURCE_TYPES } from "../model/schemas";
import { validateResource } from "../model/validate";
import { schemaOf, userTypeFor, userTypeWith } from "../model/extensions";

const GROUP_TYPE = RESOURCE_TYPES.find((t) => t.id === "Group")!;

/**
 * A SCIM write as the Worker hands it over: the request, the authority it must hold, the target
 * and the raw body (validated again in here). With `presented`, the gate has not checked the
 * token in this request (it passed lately, `passedToken`): this object checks it in its own first
 * D1 batch.
 */
export type WriteRequest = WriteContext & { presented?: PresentedToken };

/** A token to check here: its hash, and the permissions the route requires. */
export interface PresentedToken {
  tokenHash: string;
  /** `RESOURCE:ACTION` pairs. */
  permissions: string[];
}

export type ScimWrite = WriteRequest & { id?: string; body?: unknown; ifMatch?: string };

/**
 * What a write answers besides its result: this object's D1 work, and the token's row when it
 * checked the token.
 */
type Answered<T> = (T | WriteFailure) & { d1?: D1Stats; tokenChecked?: boolean; credentialRow?: Record<string, unknown> };

/**
 * A member operation as the store's change, with what it walks per member of the group (in rows):
 * only a filtered removal needs compiling and pricing; the others are the store's changes already.
 */
function toMemberChange(op: MemberOperation, tenantId: string): { change: MemberChange; rowsPerMember?: (maxViewUnits: number) => number } {
  if (op.kind === "removeWhere") {
    const { where, rowsPerMember } = memberCondition(op.filter, tenantId);
    // Found, then deleted: the group is walked twice.
    return { change: { kind: "removeWhere", where }, rowsPerMember: (units) => 2 * rowsPerMember(units) };
  }
  return { change: op };
}

/**
 * Refuses (400 tooMany), before compiling them, filtered member removals that compare more than
 * one filter may (FILTER_LIMITS.maxTerms) in all: compiling thousands of terms is CPU this
 * integration's writer would spend before any price could refuse them.
 */
function refuseManyFilterTerms(members: MemberOperation[]): void {
  const terms = members.reduce((sum, op) => sum + (op.kind === "removeWhere" ? termsOf(op.filter) : 0), 0);
  if (terms > FILTER_LIMITS.maxTerms) {
    throw new ScimError(
      400,
      `This PATCH's filtered member removals compare ${terms} values in all, and one request may compare at most ${FILTER_LIMITS.maxTerms}: ` +
        `remove members by value ('members[value eq "id"]' or a 'value' list), or split the removals over several PATCHes.`,
      "tooMany",
    );
  }
}

/**
 * Refuses (400 tooMany) member operations that would walk more than ROW_BUDGET rows of a group
 * this size, before anything is written (src/scim/model/cost.ts).
 */
function memberWalkPrice(priced: { rowsPerMember?: (maxViewUnits: number) => number }[]): ((size: GroupSize) => WriteFailure | undefined) | undefined {
  const filtered = priced.filter((p) => p.rowsPerMember);
  if (filtered.length === 0) return undefined;
  return (size) => {
    const rows = filtered.reduce((sum, p) => sum + size.members * p.rowsPerMember!(size.maxViewUnits), 0);
    if (rows <= ROW_BUDGET) return undefined;
    return failure(
      400,
      `This PATCH is refused before it runs: its ${filtered.length} filtered member removal(s) would read about ${Math.ceil(rows).toLocaleString("en-US")} rows ` +
        `of this group of ${size.members.toLocaleString("en-US")} members, and one request may read at most ${ROW_BUDGET.toLocaleString("en-US")} (README, "Limits"). ` +
        `Remove members by value ('members[value eq "id"]' or a 'value' list), or send fewer filtered removals.`,
      "tooMany",
    );
  };
}

/** The member ids of a POST/PUT group body. */
function memberIdsOf(body: unknown): string[] {
  const members = Object.entries((body ?? {}) as Record<string, unknown>).find(([k]) => k.toLowerCase() === "members")?.[1];
  return memberIds(members, "members");
}

/** Writes one integration may have queued before new ones are refused with 429. */
export const MAX_PENDING_WRITES = 64;

export class IntegrationWriter extends DurableObject<Env> {
  // Input gates do not cover D1 calls: without this queue a second request would interleave
  // while the first awaits its reads, and both would plan from the same stale state.
  #queue = new SerialQueue();
  // Tasks run one at a time, so one set of counters, reset per task, measures each write.
  #stats: D1Stats = emptyStats();
  // The integration's tenant is on one shard at a time, named by each write (a move changes it).
  #stores = new Map<string, { d1: D1Database; db: Db }>();

  /** The metered database of shard `name` (the directory is `DB`). */
  #store(name: string): { d1: D1Database; db: Db } {
    let store = this.#stores.get(name);
    if (!store) {
      const d1 = metered(shardBinding(this.env, name), this.#stats);
      store = { d1, db: createDb(d1) };
      this.#stores.set(name, store);
    }
    return store;
  }

  /** The directory, when the tenant's shard is another database (identities are linked there). */
  #directory(write: ScimWrite): Db | undefined {
    const shard = write.shard ?? DIRECTORY;
    return shard === DIRECTORY ? undefined : this.#store(DIRECTORY).db;
  }

  /** Creates a user, or gives an existing global user access to the tenant. */
  async createUser(write: ScimWrite): Promise<Answered<UserWriteResult>> {
    return this.#run(write, async (db, ctx) => {
      const type = await userTypeFor(db, write.tenantId, write.body);
      const { doc, externalId } = validateResource(type, write.body);
      return createUser(db, ctx, userFields(doc, externalId, type), Date.now(), this.#directory(write));
    });
  }

  /** PUT: replaces the user's attributes with the body's. */
  async replaceUser(write: ScimWrite & { id: string }): Promise<Answered<UserWriteResult>> {
    return this.#run(write, async (db, ctx) => {
      // A body that fails validation is refused before anything is read, as a POST or PATCH is
      // (the declarations are read first only when it names a URN this server does not define).
      validateResource(await userTypeFor(db, write.tenantId, write.body), write.body);
      // A PUT may drop extension data without naming its URN: it always needs the declarations,
      // read in the same round trip as the user.
      return updateUser(db, ctx, {
        id: write.id,
        ifMatch: write.ifMatch,
        withDeclarations: true,
        compute: (_current, declared) => {
          const type = userTypeWith(declared.map(schemaOf));
          const { doc, externalId } = validateResource(type, write.body);
          return userFields(doc, externalId, type);
        },
      });
    });
  }

  /** PATCH: applies the operations to the user as it is when the write's turn comes. */
  async patchUser(write: ScimWrite & { id: string }): Promise<Answered<UserWriteResult>> {
    return this.#run(write, async (db, ctx) => {
      // Extension data changes only where the PATCH names its URN: then the declarations are read.
      const type = await userTypeFor(db, write.tenantId, write.body);
      const ops = normalizePatch(type, write.body);
      return updateUser(db, ctx, {
        id: write.id,
        ifMatch: write.ifMatch,
        compute: (current) => {
          const next = applyPatch(type, userDoc(current), ops);
          return userFields(next, (next.externalId as string | undefined) ?? null, type);
        },
      });
    });
  }

  /** DELETE: revokes the user's access to the tenant (the global user stays). */
  async deleteUser(write: ScimWrite & { id: string }): Promise<Answered<DeleteResult>> {
    return this.#run(write, (db, ctx) => revokeUserAccess(db, ctx, { id: write.id, ifMatch: write.ifMatch }));
  }

  /** Creates a group with its members. */
  async createGroup(write: ScimWrite): Promise<Answered<GroupWriteResult>> {
    return this.#run(write, (db, ctx) => {
      const { doc, externalId } = validateResource(GROUP_TYPE, write.body);
      return createGroup(db, ctx, { displayName: doc.displayName as string, externalId, memberIds: memberIdsOf(write.body) });
    });
  }

  /** PUT: replaces the group's attributes and its whole member list. */
  async replaceGroup(write: ScimWrite & { id: string }): Promise<Answered<GroupWriteResult>> {
    return this.#run(write, (db, ctx) => {
      const { doc, externalId } = validateResource(GROUP_TYPE, write.body);
      return updateGroup(db, ctx, {
        id: write.id,
        ifMatch: write.ifMatch,
        compute: () => ({ displayName: doc.displayName as string, externalId }),
        members: [{ kind: "replace", userIds: memberIdsOf(write.body) }],
      });
    });
  }

  /** PATCH: attribute operations in memory, member operations as row changes. */
  async patchGroup(write: ScimWrite & { id: string }): Promise<Answered<GroupWriteResult>> {
    return this.#run(write, (db, ctx) => {
      const { attributes, members } = splitMemberOperations(normalizePatch(GROUP_TYPE, write.body));
      refuseManyFilterTerms(members);
      const priced = members.map((op) => toMemberChange(op, write.tenantId));
      return updateGroup(db, ctx, {
        id: write.id,
        ifMatch: write.ifMatch,
        compute: (current) => {
          if (attributes.length === 0) return { displayName: current.displayName, externalId: current.externalId };
          const next = applyPatch(GROUP_TYPE, groupDoc(current), attributes);
          return { displayName: next.displayName as string, externalId: (next.externalId as string | undefined) ?? null };
        },
        members: coalesceMemberChanges(priced.map((p) => p.change)),
        price: memberWalkPrice(priced),
      });
    });
  }

  /** Deletes a group with its memberships and bindings. */
  async deleteGroup(write: ScimWrite & { id: string }): Promise<Answered<DeleteResult>> {
    return this.#run(write, (db, ctx) => deleteGroup(db, ctx, { id: write.id, ifMatch: write.ifMatch }));
  }

  /**
   * Queues a SCIM write. Past MAX_PENDING_WRITES the write is refused at once with 429 (Entra
   * backs off and retries) rather than left to time out; validation errors and transient store
   * failures become failure results. The task's batches commit only while the write's authority
   * (unexpired token, enabled integration, permissions) still holds: a revocation answered while
   * the write waited stops it, with 401 or 403 and nothing changed.
   *
   * A presented token is checked here, in the batch of the task's first read (src/db/piggyback.ts),
   * before anything read reaches the task: the write then costs two D1 round trips, that batch and
   * the commit. Only tokens that passed the Worker's gate lately are presented (`passedToken`):
   * any other was checked by the Worker before it got here.
   */
  async #run<T extends object>(write: ScimWrite, task: (db: Db, ctx: WriteContext) => Promise<T>): Promise<Answered<T>> {
    const full = this.#queueFull();
    if (full) return full;
    return this.#queue.run(async () => {
      Object.assign(this.#stats, emptyStats());
      const { presented, id: _id, body: _body, ifMatch: _ifMatch, ...ctx } = write;
      const store = this.#store(write.shard ?? DIRECTORY);
      let base = store.db;
      let gate: ReturnType<typeof piggyback> | undefined;
      let checked: { row?: Record<string, unknown> } | undefined;
      if (presented) {
        const expected = { tokenHash: presented.tokenHash, tenantId: write.tenantId, integrationId: write.integrationId ?? "", permissions: presented.permissions };
        gate = piggyback(store.d1, {
          statement: credentialStatement(store.d1, presented.tokenHash, presented.permissions),
          check: (result) => {
            checked = { row: (result.results as Record<string, unknown>[] | undefined)?.[0] };
            const verdict = judgeCredential(checked.row, expected);
            if (verdict.kind === "refused") throw new ScimError(verdict.status, verdict.detail);
            // The authority the Worker handed over is this token's (a hash names one token).
            if (verdict.credential.tokenId !== write.authority?.tokenId) throw new ScimError(401, INVALID_TOKEN);
          },
          // The first read's batch goes on to the tenant's rows only while the token holds.
          guard: () => guardedCredentialStatement(store.d1, expected),
        });
        base = createDb(gate.binding);
      }
      const authority = ctx.authority;
      const db = authority ? authorizedAtCommit(base, authorityHolds(ctx.tenantId, authority, Date.now())) : base;
      let outcome: { ok: true; result: T } | { ok: false; error: unknown };
      try {
        outcome = { ok: true, result: await task(db, ctx) };
      } catch (error) {
        outcome = { ok: false, error };
      }
      const answered = await this.#answer(write, authority, gate, outcome);
      // Handed back only when the check ran: a store failure before it is a 503, not a verdict.
      const verdict = checked ? { tokenChecked: true, ...(checked.row ? { credentialRow: checked.row } : {}) } : {};
      return { ...answered, d1: { ...this.#stats }, ...verdict };
    });
  }

  /** The result of a task, or the failure its error means (the token's refusal first). */
  async #answer<T extends object>(
    write: ScimWrite,
    authority: Authority | undefined,
    gate: ReturnType<typeof piggyback> | undefined,
    outcome: { ok: true; result: T } | { ok: false; error: unknown },
  ): Promise<T | WriteFailure> {
    if (gate) {
      // A task refused before it read anything (a body that fails validation, say) is answered
      // only once its token holds, as the gate answers a request that made no query.
      try {
        await gate.settle();
      } catch (refusal) {
        if (refusal instanceof ScimError) return failure(refusal.status as WriteFailure["status"], refusal.detail);
        outcome = { ok: false, error: refusal };
      }
    }
    if (outcome.ok) return outcome.result;
    const { error } = outcome;
    if (isTenantMoving(error)) return movingFailure();
    if (authority && refusedAtCommit(error)) return lostAuthority(this.#store(write.shard ?? DIRECTORY).db, write.tenantId, authority);
    if (error instanceof ScimError && error.status < 500) {
      return failure(error.status as WriteFailure["status"], error.detail, error.scimType as WriteFailure["scimType"]);
    }
    if (error instanceof TransientWriteError || isTransientStoreError(error)) {
      console.error(JSON.stringify({ level: "warn", component: "integration-writer", message: "transient store failure", error: describeError(error) }));
      return {
        ...failure(503, `The store failed transiently; nothing was changed unless a retry finds it done. Retry after ${RETRY_AFTER_SECONDS} s.`),
        retryAfter: RETRY_AFTER_SECONDS,
      };
    }
    // A defect, answered as one: what reaches the caller as a thrown error is then always the
    // call itself failing (the object reset or unreachable), which the route answers with 503.
    console.error(JSON.stringify({ level: "error", component: "integration-writer", requestId: write.requestId, error: describeError(error) }));
    return failure(500, `Internal error; quote request id ${write.requestId ?? "(none)"} when reporting it.`);
  }

  /** The 429 of a full queue, or undefined. */
  #queueFull(): WriteFailure | undefined {
    if (this.#queue.size < MAX_PENDING_WRITES) return undefined;
    return {
      ...failure(429, `Too many writes are queued for this integration (${this.#queue.size}); retry after ${RETRY_AFTER_SECONDS} s.`),
      retryAfter: RETRY_AFTER_SECONDS,
    };
  }
}

/** The writer stub of an integration. */
export function integrationWriter(env: Env, integrationId: string): DurableObjectStub<IntegrationWriter> {
  const ns = env.INTEGRATION_WRITER as DurableObjectNamespace<IntegrationWriter>;
  return ns.get(ns.idFromName(integrationId));
}
