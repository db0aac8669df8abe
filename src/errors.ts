/**
 * The one place every error becomes a response. SCIM paths answer with a SCIM error body,
 * everything else with problem+json, so a client always gets the format it speaks.
 */
import type { Context } from "hono";
import { DrizzleQueryError } from "drizzle-orm";
import { HTTPException } from "hono/http-exception";
import { PROBLEM_CONTENT_TYPE, ProblemError, problemBody } from "./admin/problem";
import { isTenantMoving, MOVING_DETAIL, MOVING_RETRY_AFTER_SECONDS } from "./db/moving";
import { forgetPlacement } from "./db/shards";
import { isTransientStoreError, RETRY_AFTER_SECONDS } from "./db/transient";
import { describeError, tenantOfPath } from "./observability";
import { SCIM_CONTENT_TYPE, ScimError, scimErrorBody, type ScimType } from "./scim/model/errors";
import { isScimPath } from "./scim/http/paths";

interface Rendered {
  status: number;
  detail: string;
  scimType?: ScimType;
  headers: Record<string, string>;
  extra: Record<string, unknown>;
}

function classify(err: unknown, requestId: string | undefined): Rendered {
  // Drizzle wraps what a query throws: a refusal thrown from inside one (the SCIM gate checks the
  // token in the batch of the request's first query) is answered as itself, not logged as a defect.
  if (err instanceof DrizzleQueryError && (err.cause instanceof ScimError || err.cause instanceof ProblemError)) {
    return classify(err.cause, requestId);
  }
  if (err instanceof ScimError) {
    return { status: err.status, detail: err.detail, scimType: err.scimType, headers: err.headers, extra: {} };
  }
  if (err instanceof ProblemError) {
    return { status: err.status, detail: err.detail, headers: err.headers, extra: err.extra };
  }
  if (err instanceof HTTPException) {
    const headers: Record<string, string> = {};
    err.res?.headers.forEach((value, key) => {
      if (key.toLowerCase() !== "content-type" && key.toLowerCase() !== "content-length") headers[key] = value;
    });
    const detail = err.message || (err.status === 413 ? "The request body is too large." : "Request failed.");
    return { status: err.status, detail, headers, extra: {} };
  }
  if (isTenantMoving(err)) {
    return { status: 503, detail: MOVING_DETAIL, headers: { "Retry-After": String(MOVING_RETRY_AFTER_SECONDS) }, extra: {} };
  }
  if (isTransientStoreError(err)) {
    console.error(JSON.stringify({ level: "warn", requestId, message: "transient failure", error: describeError(err) }));
    return {
      status: 503,
      detail: `A transient storage failure; retry after ${RETRY_AFTER_SECONDS} s (request id ${requestId ?? "(none)"}).`,
      headers: { "Retry-After": String(RETRY_AFTER_SECONDS) },
      extra: {},
    };
  }
  console.error(JSON.stringify({ level: "error", requestId, message: "unhandled error", error: describeError(err) }));
  return {
    status: 500,
    detail: `Internal error; quote request id ${requestId ?? "(none)"} when reporting it.`,
    headers: {},
    extra: {},
  };
}

/** Hono `onError` handler: renders any thrown value in the format of the route it came from. */
export function renderError(err: unknown, c: Context): Response {
  const requestId = c.get("requestId") as string | undefined;
  const r = classify(err, requestId);
  // Refused by a move: the retry reads the tenant's placement again.
  if (r.status === 503 && isTenantMoving(err)) {
    const tenant = tenantOfPath(c.req.path);
    if (tenant) forgetPlacement(tenant);
  }
  if (isScimPath(c.req.path)) {
    return c.body(JSON.stringify(scimErrorBody(r.status, r.detail, r.scimType)), r.status as 400, {
      ...r.headers,
      "Content-Type": SCIM_CONTENT_TYPE,
    });
  }
  return c.body(JSON.stringify(problemBody(r.status, r.detail, r.extra)), r.status as 400, {
    ...r.headers,
    "Content-Type": PROBLEM_CONTENT_TYPE,
  });
}

/** Hono `notFound` handler, in the same two formats. */
export function renderNotFound(c: Context): Response {
  const detail = `No route for ${c.req.method} ${c.req.path}.`;
  return renderError(isScimPath(c.req.path) ? new ScimError(404, detail) : new ProblemError(404, detail), c);
}
