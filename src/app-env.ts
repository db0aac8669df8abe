import type { RequestIdVariables } from "hono/request-id";
import type { Db } from "./db/client";
import type { D1Stats } from "./db/metered";
import type { Placement } from "./db/shards";

/**
 * Variables every route can read: the request id (hono/request-id), the Drizzle handle, and the
 * request's D1 counters (writes done by the Durable Object are added to them when they return).
 */
export type BaseVariables = RequestIdVariables & {
  /** The database of the request's tenant (its shard), else the directory. */
  db: Db;
  /** The directory (`DB`): tenants, their placement and the global identities. */
  directory: Db;
  /** The binding name of `db`. */
  shard: string;
  /** Where the request's tenant is (null: no tenant in the path, or no such tenant). */
  placement: Placement | null;
  /**
   * The request's D1 binding under `db` (metered), for gates that wrap it (src/db/piggyback.ts).
   */
  d1: D1Database;
  d1Stats: D1Stats;
};

/** The Hono environment of the app: Worker bindings plus the base variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: BaseVariables;
}
