/**
 * One structured JSON log line per request: request id, tenant, integration, method, route
 * (the pattern, never the query string), status, duration and what it asked of D1. No token and
 * no personal data beyond ids.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./app-env";
import { createDb } from "./db/client";
import { emptyStats, metered } from "./db/metered";

const SCOPE = /^\/api\/v1\/([^/]+)(?:\/integrations\/([^/]+))?/;

/** Gives the request its metered Drizzle handle and logs the request when it ends. */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async function requestLogMiddleware(c, next) {
    const started = Date.now();
    const stats = emptyStats();
    c.set("d1Stats", stats);
    c.set("db", createDb(metered(c.env.DB, stats)));
    try {
      await next();
    } finally {
      const scope = SCOPE.exec(c.req.path);
      const tenant = scope?.[1] && scope[1] !== "tenants" && scope[1] !== "users" && scope[1] !== "openapi.json" ? scope[1] : null;
      console.log(
        JSON.stringify({
          level: "info",
          requestId: c.var.requestId,
          tenant,
          integration: scope?.[2] ?? null,
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
