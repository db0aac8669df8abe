/** The admin API's Hono flavour: OpenAPI-described routes whose validation errors are problems. */
import { OpenAPIHono, type z } from "@hono/zod-openapi";
import type { AdminVariables } from "./gate";
import { ProblemError, PROBLEM_CONTENT_TYPE } from "./problem";
import { Problem } from "./schemas";

export type AdminEnv = { Bindings: Env; Variables: AdminVariables };
export type AdminApp = OpenAPIHono<AdminEnv>;

/** Turns zod issues into one readable sentence per field. */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "body"}: ${issue.message}`)
    .join("; ");
}

/** A new admin router: every invalid input becomes a 400 problem naming the fields. */
export function createAdminApp(): AdminApp {
  return new OpenAPIHono<AdminEnv>({
    defaultHook: (result) => {
      if (!result.success) throw new ProblemError(400, describeIssues(result.error as z.ZodError));
    },
  });
}

/** A JSON response entry of a route definition. */
export function json<T extends z.ZodType>(schema: T, description: string) {
  return { content: { "application/json": { schema } }, description };
}

/**
 * A JSON request body entry of a route definition. Required by default (an absent body is a
 * 400); an optional one may be left out entirely, and then validates as `{}`.
 */
export function body<T extends z.ZodType>(schema: T, options: { required?: boolean } = {}) {
  return { body: { content: { "application/json": { schema } }, required: options.required ?? true } };
}

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: "Invalid input; `detail` names the fields.",
  401: "Missing or invalid bearer token.",
  403: "The token may not do this (another tenant, or a missing permission).",
  404: "No such tenant or resource.",
  409: "Conflicts with the current state.",
  415: "The body is not JSON.",
};

/** Problem responses of a route definition. */
export function problems(...statuses: (keyof typeof PROBLEM_DESCRIPTIONS)[]) {
  return Object.fromEntries(
    statuses.map((status) => [status, { content: { [PROBLEM_CONTENT_TYPE]: { schema: Problem } }, description: PROBLEM_DESCRIPTIONS[status]! }]),
  );
}

/** The bearer security requirement every admin route has. */
export const bearer = [{ bearer: [] }];
