/** Reading a SCIM request's JSON body: the media types clients send, and how deep it may nest. */
import type { ScimContext } from "./context";
import { ScimError } from "../model/errors";

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** How deep a request body may nest: far past any SCIM resource, short of any stack. */
export const MAX_JSON_DEPTH = 32;

/** The nesting depth of a parsed JSON value, measured without recursion. */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (!item || typeof item !== "object") continue;
    deepest = Math.max(deepest, depth);
    if (deepest > MAX_JSON_DEPTH) return deepest;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** Reads a JSON body: application/scim+json or application/json (any charset), else 415. */
export async function readJson(c: ScimContext): Promise<unknown> {
  const contentType = c.req.header("Content-Type");
  if (contentType && !JSON_MEDIA_TYPE.test(contentType.split(";")[0]!.trim())) {
    throw new ScimError(415, `Send the body as application/scim+json or application/json, not ${contentType}.`);
  }
  const text = await c.req.text();
  if (text.trim() === "") throw new ScimError(400, "The request body is empty; a JSON object is expected.", "invalidSyntax");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    // Only the position: the parser's message can quote the body, and bodies can hold passwords.
    const position = /position (\d+)/.exec(String((error as Error).message))?.[1];
    throw new ScimError(400, `The request body is not valid JSON${position ? ` (at character ${position})` : ""}.`, "invalidSyntax");
  }
  if (depthOf(body) > MAX_JSON_DEPTH) {
    throw new ScimError(400, `The request body nests deeper than ${MAX_JSON_DEPTH} levels; no SCIM resource does.`, "invalidSyntax");
  }
  return body;
}
