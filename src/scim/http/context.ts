/**
 * What every SCIM handler shares: its Hono context (with what the gate set), the integration's
 * absolute base URL, and the SCIM JSON answer.
 */
import type { Context } from "hono";
import type { ScimVariables } from "./gate";
import { scimEndpoint } from "./paths";
import { publicBaseUrl } from "../../config";
import { SCIM_CONTENT_TYPE } from "../model/errors";
import type { ScimBase } from "../model/resources";

export type ScimContext = Context<{ Bindings: Env; Variables: ScimVariables }>;

/** The absolute base URL of this integration's SCIM endpoint. */
export function scimBase(c: ScimContext): ScimBase {
  const { tenantId, integrationId } = c.var.scope;
  return scimEndpoint(publicBaseUrl(c.env, c.req.url), tenantId, integrationId);
}

/** Sends a SCIM JSON document. */
export function scimJson(c: ScimContext, body: unknown, status: 200 | 201 = 200, headers: Record<string, string> = {}) {
  return c.body(JSON.stringify(body), status, { ...headers, "Content-Type": SCIM_CONTENT_TYPE });
}
