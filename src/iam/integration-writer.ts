/**
 * One Durable Object per provisioning integration (`idFromName(integrationId)`): the single
 * writer of that integration's changes. Its RPC methods are the protocol; each runs through the
 * queue below, one at a time, and commits as one D1 batch.
 */
import { DurableObject } from "cloudflare:workers";
import { createDb, type Db } from "../db/client";
import {
  deleteIntegration,
  rotateIntegrationToken,
  updateIntegration,
  type Context,
  type DeleteIntegrationResult,
  type IntegrationPatch,
  type RotateTokenResult,
  type UpdateIntegrationResult,
} from "./integrations";
import { SerialQueue } from "./serial-queue";

export class IntegrationWriter extends DurableObject<Env> {
  // Input gates do not cover D1 calls: without this chain, a second request would interleave
  // while the first awaits its reads, and both would plan from the same stale state.
  // A promise chain (SerialQueue) serializes them.
  #queue = new SerialQueue();
  #db: Db = createDb(this.env.DB);

  /** Changes the integration's name, description or enabled flag. */
  async updateIntegration(
    input: { tenantId: string; id: string; patch: IntegrationPatch } & Context,
  ): Promise<UpdateIntegrationResult> {
    return this.#serialize(() => updateIntegration(this.#db, input));
  }

  /** Replaces the integration's API token and returns the new secret. */
  async rotateToken(input: { tenantId: string; id: string } & Context): Promise<RotateTokenResult> {
    return this.#serialize(() => rotateIntegrationToken(this.#db, input));
  }

  /** Deletes the integration with its service account, tokens and bindings. */
  async deleteIntegration(input: { tenantId: string; id: string } & Context): Promise<DeleteIntegrationResult> {
    return this.#serialize(() => deleteIntegration(this.#db, input));
  }

  #serialize<T>(task: () => Promise<T>): Promise<T> {
    return this.#queue.run(task);
  }
}

/** The writer stub of an integration. */
export function integrationWriter(env: Env, integrationId: string): DurableObjectStub<IntegrationWriter> {
  const ns = env.INTEGRATION_WRITER as DurableObjectNamespace<IntegrationWriter>;
  return ns.get(ns.idFromName(integrationId));
}
