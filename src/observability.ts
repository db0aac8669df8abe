/**
 * One structured JSON log line per request: request id, tenant, integration, method, route
 * (the pattern, never the query string), status, duration and what it asked of D1. No token and
 * no personal data beyond ids.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "./app-env";
import { createDb } from "./db/client";
import { emptyStats, metered, type D1Stats } from "./db/metered";
import { DIRECTORY, placementOf, shardBinding } from "./db/shards";

const SCOPE = /^\/api\/v1\/([^/]+)(?:\/integrations\/([^/]+))?/;

/** First segments under /api/v1 that are routes of their own, not a tenant. */
const NOT_TENANTS = new Set(["tenants", "users", "me", "shards", "openapi.json"]);

/** The tenant a path under /api/v1 names (SCIM and the tenant's admin routes), or null. */
export function tenantOfPath(path: string): string | null {
  const first = SCOPE.exec(path)?.[1];
  return first && !NOT_TENANTS.has(first) ? first : null;
}

/**
 * Sets the request's databases: the directory, and as `db` the shard of the path's tenant (the
 * directory when there is none, or no such tenant: nothing of any tenant is then found).
 */
async function useStores(c: Context<AppEnv>, stats: D1Stats): Promise<void> {
  const directoryD1 = metered(c.env.DB, stats);
  const directory = createDb(directoryD1);
  c.set("directory", directory);
  const tenantId = tenantOfPath(c.req.path);
  const placement = tenantId ? ((await placementOf(c.env, directory, tenantId)) ?? null) : null;
  const shard = placement?.shard ?? DIRECTORY;
  const d1 = shard === DIRECTORY ? directoryD1 : metered(shardBinding(c.env, shard), stats);
  c.set("placement", placement);
  c.set("shard", shard);
  c.set("d1", d1);
  c.set("db", shard === DIRECTORY ? directory : createDb(d1));
}

/**
 * Gives the request its D1 counters and its databases (the directory, and the shard of the tenant
 * its path names, looked up through the isolate's cache), and logs the request when it ends.
 */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async function requestLogMiddleware(c, next) {
    const started = Date.now();
    const stats = emptyStats();
    c.set("d1Stats", stats);
    try {
      await useStores(c, stats);
      await next();
      c.header("X-Request-Id", c.var.requestId);
    } finally {
      const scope = SCOPE.exec(c.req.path);
      const tenant = tenantOfPath(c.req.path);
      console.log(
        JSON.stringify({
          level: "info",
          requestId: c.var.requestId,
          correlationId: correlationId(c.req.header("X-Request-Id")),
          tenant,
          integration: scope?.[2] ?? null,
          shard: c.var.shard ?? null,
          method: c.req.method,
          route: c.req.routePath,
          status: c.res.status,
          durationMs: Date.now() - started,
          d1: stats,
        }),
      );
    }
  };
}

/**
 * An error as it may be logged: name, message and stack frames, never a failed query's bound
 * parameters (Drizzle puts them in the message, and they are userNames, emails, filter values).
 * The SQL text itself holds only placeholders.
 */
export function describeError(error: unknown): { name: string; message: string; query?: string; cause?: string; stack?: string } {
  if (!(error instanceof Error)) return { name: typeof error, message: "(a thrown non-error value, withheld)" };
  const frames = error.stack
    ?.split("\n")
    .filter((line) => line.trimStart().startsWith("at "))
    .join("\n");
  // A cause is described the same way (a transient failure wraps the failed query).
  const cause = error.cause instanceof Error ? JSON.stringify(describeError(error.cause)) : undefined;
  const failed = error as Error & { query?: unknown; params?: unknown };
  if (typeof failed.query === "string" && "params" in failed) {
    return { name: error.name, message: "A query failed (its parameters are withheld).", query: failed.query, cause, stack: frames };
  }
  return { name: error.name, message: error.message, cause, stack: frames };
}

/**
 * The correlation id a client sent (`X-Request-Id`), kept apart from the server's own request
 * id: at most 64 characters of a safe set, otherwise dropped.
 */
export function correlationId(header: string | undefined): string | undefined {
  return header !== undefined && /^[\w.:=-]{1,64}$/.test(header) ? header : undefined;
}
