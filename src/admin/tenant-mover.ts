/**
 * The Durable Object that moves one tenant (one object per tenant, named by its id): its alarm
 * runs `advanceMove` a bounded step at a time and sets itself again until the move ends. The
 * move's progress lives in the directory, so an alarm that dies mid-step (a crash, a redeploy)
 * is simply run again and resumes there.
 */
import { DurableObject } from "cloudflare:workers";
import { createDb } from "../db/client";
import { shardBinding } from "../db/shards";
import { advanceMove, recordMoveError } from "../iam/tenant-moves";
import { describeError } from "../observability";

/** Seconds before an alarm whose step failed runs again. */
const RETRY_MS = 5_000;

export class TenantMover extends DurableObject<Env> {
  /** Starts (or wakes) the tenant's move; `startMove` has recorded it in the directory. */
  async start(tenantId: string): Promise<void> {
    await this.ctx.storage.put("tenant", tenantId);
    await this.ctx.storage.setAlarm(Date.now());
  }

  override async alarm(): Promise<void> {
    const tenantId = await this.ctx.storage.get<string>("tenant");
    if (!tenantId) return;
    const stores = { directory: createDb(this.env.DB), shard: (name: string) => createDb(shardBinding(this.env, name)) };
    try {
      const wait = moveWaitMs(this.env);
      const result = await advanceMove(stores, tenantId, { settleMs: wait, graceMs: wait });
      if (result.step === "done" || result.step === "failed") {
        console.log(JSON.stringify({ level: "info", component: "tenant-mover", tenant: tenantId, step: result.step }));
        await this.ctx.storage.deleteAll();
        return;
      }
      await this.ctx.storage.setAlarm(result.waitUntil ?? Date.now());
    } catch (error) {
      const described = describeError(error);
      console.error(JSON.stringify({ level: "warn", component: "tenant-mover", tenant: tenantId, message: "a move step failed; retrying", error: described }));
      const cause = described.cause ? (JSON.parse(described.cause) as { message?: string }).message : undefined;
      const message = `${described.name}: ${described.message}${cause ? ` (${cause})` : ""}`.slice(0, 500);
      await recordMoveError(stores.directory, tenantId, message).catch(() => undefined);
      await this.ctx.storage.setAlarm(Date.now() + RETRY_MS);
    }
  }
}

/**
 * `TENANT_MOVE_GRACE_SECONDS`: how long a move waits for isolates' cached placements to expire,
 * before it freezes (default: the cache's lifetime) and before it empties the old shard (default:
 * twice that). Only tests shorten it; shorter than the cache's lifetime, an isolate could read
 * the old shard after the switch, or find it emptied.
 */
function moveWaitMs(env: Env): number | undefined {
  const raw = (env as { TENANT_MOVE_GRACE_SECONDS?: string }).TENANT_MOVE_GRACE_SECONDS?.trim();
  return raw && /^\d{1,5}$/.test(raw) ? Number(raw) * 1000 : undefined;
}

/** The mover of a tenant. */
export function tenantMover(env: Env, tenantId: string): DurableObjectStub<TenantMover> {
  const ns = env.TENANT_MOVER as DurableObjectNamespace<TenantMover>;
  return ns.get(ns.idFromName(tenantId));
}
