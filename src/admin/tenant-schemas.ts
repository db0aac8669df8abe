/** The admin API's request and response schemas of tenants and shards. */
import { z } from "@hono/zod-openapi";
import { TenantId, time } from "./schemas";

const shardName = z.string().openapi({ example: "SHARD_2", description: "A shard's D1 binding (GET /api/v1/shards)." });
export const TenantMove = z
  .object({
    from: shardName.openapi({ description: "Where the tenant was when the move started." }),
    to: shardName,
    // done and failed clear `moving` in the same write; they are listed for completeness.
    step: z.enum(["settle", "freeze", "prepare", "copy", "switch", "grace", "purge", "done", "failed"]).openapi({
      description:
        "settle (waiting out cached placements; writes go on), freeze, prepare, copy (writes refused with 503 from freeze to switch), switch, grace, purge (the old shard is emptied). docs/sharding.md.",
    }),
    copied: z.number().int().openapi({ description: "Rows copied so far." }),
    total: z.number().int().nullable().openapi({ description: "Rows to copy (known once the tenant is frozen)." }),
    startedAt: time.nullable(),
    lastError: z
      .object({ at: time, message: z.string() })
      .nullable()
      .openapi({ description: "The last error a step met; the mover retries it every 5 s. Cleared once a step succeeds." }),
  })
  .openapi("TenantMove");
export const Tenant = z
  .object({
    id: z.string(),
    name: z.string(),
    createdAt: time,
    shard: shardName,
    moving: TenantMove.nullable(),
    lastMoveFailed: z.string().optional().openapi({ description: "Why the last move failed (the tenant stayed where it was)." }),
    lastMoveFailedAt: time.nullable().optional(),
    lastMoveTo: shardName.optional().openapi({ description: "Where the failed move was going." }),
  })
  .openapi("Tenant");
export const CreateTenant = z
  .strictObject({ id: TenantId, name: z.string().trim().min(1).max(200).optional(), shard: shardName.optional() })
  .openapi("CreateTenant");
export const MoveTenant = z.strictObject({ shard: shardName }).openapi("MoveTenant");
export const Shard = z
  .object({
    name: shardName,
    directory: z.boolean().openapi({ description: "Whether this database is also the directory (one-database deployments)." }),
    tenants: z.number().int(),
    arriving: z.number().int().openapi({ description: "Tenants moving into this shard." }),
    sizeBytes: z.number().int().nullable(),
  })
  .openapi("Shard");
export const ShardList = z.object({ shards: z.array(Shard) }).openapi("ShardList");
