import type { RequestIdVariables } from "hono/request-id";
import type { Db } from "./db/client";

/** Variables every route can read: the request id (hono/request-id) and the Drizzle handle. */
export type BaseVariables = RequestIdVariables & { db: Db };

/** The Hono environment of the app: Worker bindings plus the base variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: BaseVariables;
}
