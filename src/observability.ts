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
    const d1 = metered(c.env.DB, stats);
    c.set("d1", d1);
    c.set("db", createDb(d1));
    try {
      await next();
      c.header("X-Request-Id", c.var.requestId);
    } finally {
      const scope = SCOPE.exec(c.req.path);
      const tenant = scope?.[1] && scope[1] !== "tenants" && scope[1] !== "users" && scope[1] !== "openapi.json" ? scope[1] : null;
      console.log(
        JSON.stringify({
          level: "info",
          requestId: c.var.requestId,
          correlationId: correlationId(c.req.header("X-Request-Id")),
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
