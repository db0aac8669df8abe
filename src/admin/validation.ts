/** Input validation of the admin API: zod schemas through Hono's validator, errors as problems. */
import type { ValidationTargets } from "hono";
import { validator } from "hono/validator";
import { z } from "zod";
import { ProblemError } from "./problem";

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** Turns zod issues into one readable sentence per field. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "body"}: ${issue.message}`)
    .join("; ");
}

/** Validates a JSON body; a body that is not JSON is 415/400, an invalid one 400 with the fields. */
export function jsonBody<S extends z.ZodType>(schema: S) {
  return validator("json", (value, c) => {
    const mediaType = (c.req.header("Content-Type") ?? "").split(";")[0]!.trim();
    if (!JSON_MEDIA_TYPE.test(mediaType)) {
      throw new ProblemError(415, "Send a JSON body with 'Content-Type: application/json'.");
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new ProblemError(400, describeIssues(parsed.error));
    return parsed.data as z.output<S>;
  });
}

/** Validates query parameters (or path parameters) against a schema. */
export function input<T extends keyof Pick<ValidationTargets, "query" | "param">, S extends z.ZodType>(
  target: T,
  schema: S,
) {
  return validator(target, (value) => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new ProblemError(400, describeIssues(parsed.error));
    return parsed.data as z.output<S>;
  });
}

/** `?limit=&cursor=` of every admin list. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

/** Encodes the last id of a page as an opaque cursor. */
export function encodeCursor(lastId: string): string {
  return btoa(lastId).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Decodes a cursor, or throws a 400 problem. */
export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  try {
    return atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    throw new ProblemError(400, "cursor: not a cursor returned by this API.");
  }
}

/** Builds `{results, nextCursor?}` from a page fetched with `limit + 1` rows. */
export function pageOf<T extends { id: string }, R>(rows: T[], limit: number, render: (row: T) => R) {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return {
    results: page.map(render),
    ...(more ? { nextCursor: encodeCursor(page[page.length - 1]!.id) } : {}),
  };
}

/** ISO 8601 rendering of the epoch-millisecond times the store keeps. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
