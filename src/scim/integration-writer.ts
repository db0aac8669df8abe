/**
 * One Durable Object per provisioning integration (`idFromName(integrationId)`): the single
 * writer of that integration's changes. Its public RPC methods are the protocol; each runs
 * through the queue, one at a time, reads what it needs, and commits as one D1 batch. Reads of
 * the SCIM API do not come here: they go straight from the Worker to D1.
 *
 * Results are plain tagged unions (`kind`), since class instances do not survive RPC.
 */
import { DurableObject } from "cloudflare:workers";
import { createDb, type Db } from "../db/client";
import { emptyStats, metered, type D1Stats } from "../db/metered";
import { isTransientStoreError, RETRY_AFTER_SECONDS } from "../db/transient";
import { coalesceMemberChanges, createGroup, deleteGroup, updateGroup, type GroupWriteResult, type MemberChange } from "../iam/groups";
import {
  deleteIntegration,
  rotateIntegrationToken,
  updateIntegration,
  type Context,
  type DeleteIntegrationResult,
  type IntegrationPatch,
  type RotateTokenResult,
  type UpdateIntegrationResult,
} from "../iam/integrations";
import { SerialQueue } from "../iam/serial-queue";
import { createUser, revokeUserAccess, updateUser, type DeleteResult, type UserWriteResult } from "../iam/users";
import { lostAuthority, authorityHolds } from "../iam/service-accounts";
import { authorizedAtCommit, failure, refusedAtCommit, TransientWriteError, type WriteContext, type WriteFailure } from "../iam/writes";
import { describeError } from "../observability";
import { ScimError } from "./errors";
import { memberCondition } from "./filter/targets";
import { applyPatch, memberIds, normalizePatch, splitMemberOperations, type MemberOperation } from "./patch";
import { groupDoc, userDoc, userFields } from "./resources";
import { RESOURCE_TYPES } from "./schemas";
import { validateResource } from "./validate";
import { declaredSchemas, userTypeFor, userTypeWith } from "./extensions";

const USER_TYPE = RESOURCE_TYPES.find((t) => t.id === "User")!;
const GROUP_TYPE = RESOURCE_TYPES.find((t) => t.id === "Group")!;

/** A SCIM write: the request context, the target and the raw body (validated again in here). */
export interface ScimWrite extends WriteContext {
  id?: string;
  body?: unknown;
  ifMatch?: string;
}

function toMemberChange(op: MemberOperation): MemberChange {
  switch (op.kind) {
    case "add":
      return { kind: "add", userIds: op.ids };
    case "remove":
      return { kind: "remove", userIds: op.ids };
    case "replace":
      return { kind: "replace", userIds: op.ids };
    case "removeAll":
      return { kind: "removeAll" };
    case "removeWhere":
      return { kind: "removeWhere", where: memberCondition(op.filter) };
  }
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
  #db: Db = createDb(metered(this.env.DB, this.#stats));

  /** Creates a user, or gives an existing global user access to the tenant. */
  async createUser(write: ScimWrite): Promise<UserWriteResult> {
    return this.#run(write, async (db) => {
      const type = await userTypeFor(db, write.tenantId, write.body);
      const { doc, externalId } = validateResource(type, write.body);
      return createUser(db, write, userFields(doc, externalId, type));
    });
  }

  /** PUT: replaces the user's attributes with the body's. */
  async replaceUser(write: ScimWrite & { id: string }): Promise<UserWriteResult> {
    return this.#run(write, async (db) => {
      // A PUT may drop extension data without naming its URN: it always knows the declarations.
      const type = userTypeWith(await declaredSchemas(db, write.tenantId));
      const { doc, externalId } = validateResource(type, write.body);
      return updateUser(db, write, { id: write.id, ifMatch: write.ifMatch, compute: () => userFields(doc, externalId, type) });
    });
  }

  /** PATCH: applies the operations to the user as it is when the write's turn comes. */
  async patchUser(write: ScimWrite & { id: string }): Promise<UserWriteResult> {
    return this.#run(write, async (db) => {
      // Extension data changes only where the PATCH names its URN: then the declarations are read.
      const type = await userTypeFor(db, write.tenantId, write.body);
      const ops = normalizePatch(type, write.body);
      if (ops.some((o) => o.op === "remove" && o.path?.schema === type.schema && o.path.def?.name === "active")) {
        // Unassigned would read as active: deprovisioning is `active` set to false.
        throw new ScimError(400, "'active' cannot be removed; set it to false to deactivate the user.", "invalidValue");
      }
      return updateUser(db, write, {
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
  async deleteUser(write: ScimWrite & { id: string }): Promise<DeleteResult> {
    return this.#run(write, (db) => revokeUserAccess(db, write, { id: write.id, ifMatch: write.ifMatch }));
  }

  /** Creates a group with its members. */
  async createGroup(write: ScimWrite): Promise<GroupWriteResult> {
    return this.#run(write, (db) => {
      const { doc, externalId } = validateResource(GROUP_TYPE, write.body);
      return createGroup(db, write, { displayName: doc.displayName as string, externalId, memberIds: memberIdsOf(write.body) });
    });
  }

  /** PUT: replaces the group's attributes and its whole member list. */
  async replaceGroup(write: ScimWrite & { id: string }): Promise<GroupWriteResult> {
    return this.#run(write, (db) => {
      const { doc, externalId } = validateResource(GROUP_TYPE, write.body);
      return updateGroup(db, write, {
        id: write.id,
        ifMatch: write.ifMatch,
        compute: () => ({ displayName: doc.displayName as string, externalId }),
        members: [{ kind: "replace", userIds: memberIdsOf(write.body) }],
      });
    });
  }

  /** PATCH: attribute operations in memory, member operations as row changes. */
  async patchGroup(write: ScimWrite & { id: string }): Promise<GroupWriteResult> {
    return this.#run(write, (db) => {
      const { attributes, members } = splitMemberOperations(normalizePatch(GROUP_TYPE, write.body));
      return updateGroup(db, write, {
        id: write.id,
        ifMatch: write.ifMatch,
        compute: (current) => {
          if (attributes.length === 0) return { displayName: current.displayName, externalId: current.externalId };
          const next = applyPatch(GROUP_TYPE, groupDoc(current), attributes);
          return { displayName: next.displayName as string, externalId: (next.externalId as string | undefined) ?? null };
        },
        members: coalesceMemberChanges(members.map(toMemberChange)),
      });
    });
  }

  /** Deletes a group with its memberships and bindings. */
  async deleteGroup(write: ScimWrite & { id: string }): Promise<DeleteResult> {
    return this.#run(write, (db) => deleteGroup(db, write, { id: write.id, ifMatch: write.ifMatch }));
  }

  /** Changes the integration's name, description or enabled flag. */
  async updateIntegration(
    input: { tenantId: string; id: string; patch: IntegrationPatch } & Context,
  ): Promise<UpdateIntegrationResult> {
    return this.#queue.run(() => updateIntegration(this.#db, input));
  }

  /** Replaces the integration's API token and returns the new secret. */
  async rotateToken(input: { tenantId: string; id: string } & Context): Promise<RotateTokenResult> {
    return this.#queue.run(() => rotateIntegrationToken(this.#db, input));
  }

  /** Deletes the integration with its service account, tokens and bindings. */
  async deleteIntegration(input: { tenantId: string; id: string } & Context): Promise<DeleteIntegrationResult> {
    return this.#queue.run(() => deleteIntegration(this.#db, input));
  }

  /**
   * Queues a SCIM write. Past MAX_PENDING_WRITES the write is refused at once with 429 (Entra
   * backs off and retries) rather than left to time out; validation errors and transient store
   * failures become failure results. The task's batches commit only while the write's authority
   * (unexpired token, enabled integration, permissions) still holds: a revocation answered while
   * the write waited stops it, with 401 or 403 and nothing changed.
   */
  #run<T>(write: ScimWrite, task: (db: Db) => Promise<T>): Promise<T | WriteFailure> {
    if (this.#queue.size >= MAX_PENDING_WRITES) {
      return Promise.resolve({
        ...failure(429, `Too many writes are queued for this integration (${this.#queue.size}); retry after ${RETRY_AFTER_SECONDS} s.`),
        retryAfter: RETRY_AFTER_SECONDS,
      });
    }
    return this.#queue.run(async () => {
      Object.assign(this.#stats, emptyStats());
      const db = write.authority ? authorizedAtCommit(this.#db, authorityHolds(write.tenantId, write.authority, Date.now())) : this.#db;
      try {
        const result = await task(db);
        return result && typeof result === "object" ? { ...result, d1: { ...this.#stats } } : result;
      } catch (error) {
        if (write.authority && refusedAtCommit(error)) {
          return { ...(await lostAuthority(this.#db, write.tenantId, write.authority)), d1: { ...this.#stats } };
        }
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
    });
  }
}

/** The writer stub of an integration. */
export function integrationWriter(env: Env, integrationId: string): DurableObjectStub<IntegrationWriter> {
  const ns = env.INTEGRATION_WRITER as DurableObjectNamespace<IntegrationWriter>;
  return ns.get(ns.idFromName(integrationId));
}
