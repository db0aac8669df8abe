/**
 * The SCIM gate: every request under …/{tenant}/integrations/{id}/scim/v2 must carry the API token
 * of that integration's service account, and the integration must be enabled.
 */
import type { MiddlewareHandler } from "hono";
import type { BaseVariables } from "../../app-env";
import { createDb } from "../../db/client";
import { piggyback } from "../../db/piggyback";
import { shardBinding } from "../../db/shards";
import { countRefusal, type RefusalCause } from "../../iam/integration-activity";
import {
  credentialStatement,
  guardedCredentialStatement,
  judgeCredential,
  LAST_USED_RESOLUTION_MS,
  touchToken,
  type ScimCredential,
} from "../../iam/credentials";
import { costFits, evaluate, LOOKUP_CAP, ROW_BUDGET, sizesOf, type Cost } from "../model/cost";
import type { Action, Resource } from "../../iam/permissions";
import { ScimError } from "../model/errors";
import { tenantsDisabled, tenantsEnabled } from "../../config";
import { bearerToken, sha256Hex } from "../../auth/tokens";

/** What the gate tells later handlers. */
export type ScimVariables = BaseVariables & {
  /**
   * The tenant and integration the URL names: what queries are scoped to before the token is
   * checked.
   */
  scope: { tenantId: string; integrationId: string };
  /**
   * The SHA-256 of the presented token: a write hands it to the integration's writer, which checks
   * it with its first read.
   */
  tokenHash: string;
  /**
   * The token's credential, once looked up and found valid (its permissions may still fall short);
   * read it through `authenticate`.
   */
  credential?: ScimCredential;
  /**
   * Checks the token now unless a query already did, and answers the credential; throws the
   * refusal (401/403).
   */
  authenticate: () => Promise<ScimCredential>;
  /**
   * Takes the credential row the integration's writer read for this token (in its own first
   * batch) as the gate's own lookup, checked the same way; throws the refusal (401/403).
   */
  acceptCredential: (row: Record<string, unknown> | undefined) => Promise<void>;
  /**
   * The `RESOURCE:ACTION` permissions the route required: checked with the token, and again at a
   * write's commit.
   */
  requiredPermissions?: string[];
  /**
   * Prices the request's next query (src/scim/model/cost.ts): its guard refuses it (400 tooMany)
   * before it runs unless the price fits the tenant's sizes. Set before the query it prices.
   */
  price: (cost: Cost) => void;
};

export interface ScimAuthOptions {
  /** Realm named in `WWW-Authenticate`. */
  realm?: string;
}

/**
 * What a token that passed is, for the write it may now hand over unchecked: facts that never
 * change for a token.
 */
export interface PassedToken {
  tokenId: string;
  serviceAccountId: string;
}

/** How long this isolate lets a token that passed skip the Worker's own check on a write. */
export const PASSED_TOKEN_TTL_MS = 60_000;
const MAX_PASSED_TOKENS = 1_000;

// Tokens that passed the gate in this isolate lately, by tenant, integration and hash. Never a
// verdict (the integration's writer checks the token in its first read's batch): it only decides
// whether a write may reach the writer before the Worker checked it, so a wrong token never wakes
// an integration's Durable Object nor waits in its queue.
const passedTokens = new Map<string, PassedToken & { at: number }>();

const passedKey = (tenantId: string, integrationId: string, tokenHash: string) => `${tenantId}\n${integrationId}\n${tokenHash}`;

/**
 * A token that passed the gate for this tenant and integration within PASSED_TOKEN_TTL_MS, or
 * undefined. Any refusal of it (by the gate, or by the writer's own check) forgets it at once.
 */
export function passedToken(tenantId: string, integrationId: string, tokenHash: string, now = Date.now()): PassedToken | undefined {
  const key = passedKey(tenantId, integrationId, tokenHash);
  const found = passedTokens.get(key);
  if (!found) return undefined;
  if (now - found.at > PASSED_TOKEN_TTL_MS) {
    passedTokens.delete(key);
    return undefined;
  }
  return found;
}

function rememberPassed(key: string, token: PassedToken, now: number): void {
  passedTokens.delete(key);
  passedTokens.set(key, { tokenId: token.tokenId, serviceAccountId: token.serviceAccountId, at: now });
  if (passedTokens.size > MAX_PASSED_TOKENS) passedTokens.delete(passedTokens.keys().next().value!);
}

/**
 * The 400 of a request whose price (`rows`, for its tenant) is past ROW_BUDGET, or whose lookup
 * matches too many rows.
 */
export function overBudget(cost: Cost, rows: number): ScimError {
  const why =
    rows > ROW_BUDGET
      ? `it would read about ${Math.ceil(rows).toLocaleString("en-US")} rows of this tenant, and one request may read at most ${ROW_BUDGET.toLocaleString("en-US")}`
      : `one of its indexed lookups matches more than ${LOOKUP_CAP} rows of this tenant`;
  return new ScimError(400, `This request is refused before it runs: ${why} (README, "Limits"). To go on, ${cost.hint}.`, "tooMany");
}

/**
 * Authenticates a SCIM request; rejections are SCIM error bodies (401, or 403 when disabled or
 * a permission is missing). The token's lookup rides in the same D1 batch as the request's first
 * query (one round trip for a lookup, src/db/piggyback.ts) and is checked before that query's
 * rows are used; a write's rides in the integration's writer's first batch instead (see
 * `acceptCredential`); a request that makes no query has it checked on its own before it is
 * answered.
 */
export function scimAuth(
  options: ScimAuthOptions = {},
): MiddlewareHandler<{ Bindings: Env; Variables: ScimVariables }> {
  const challenge = `Bearer realm="${options.realm ?? "scim-edge"}"`;
  const unauthorized = (detail: string) => new ScimError(401, detail, undefined, { "WWW-Authenticate": challenge });
  return async function scimAuthMiddleware(c, next) {
    if (!tenantsEnabled(c.env)) {
      throw new ScimError(403, tenantsDisabled("SCIM provisioning"));
    }
    const scope = { tenantId: c.req.param("tenant") ?? "", integrationId: c.req.param("integrationId") ?? "" };
    // Counted off the answer's path, for the integration's activity (never an audit event).
    const count = (cause: RefusalCause, detail: string) =>
      c.executionCtx.waitUntil(countRefusal(createDb(shardBinding(c.env, c.var.shard)), { ...scope, cause, detail }).catch(() => undefined));
    const presented = bearerToken(c.req.header("Authorization"));
    if (!presented) {
      const detail = "Send the integration's secret token as 'Authorization: Bearer <token>'.";
      count("unauthorized", "No bearer token was sent.");
      throw unauthorized(detail);
    }
    const hash = await sha256Hex(presented);
    const gate = piggyback<Cost>(c.var.d1, {
      // Built when sent: by then the route has said which permissions it requires, and only
      // those are read (a route that names none, /Bulk, reads them all and checks each operation).
      get statement() {
        return credentialStatement(c.var.d1, hash, c.var.requiredPermissions);
      },
      check(result) {
        const now = Date.now();
        const permissions = c.var.requiredPermissions ?? [];
        const verdict = judgeCredential((result.results as Record<string, unknown>[] | undefined)?.[0], { tokenHash: hash, ...scope, permissions }, now);
        const key = passedKey(scope.tenantId, scope.integrationId, hash);
        if (verdict.kind === "ok") rememberPassed(key, verdict.credential, now);
        else passedTokens.delete(key);
        const known = verdict.credential;
        if (known) {
          if (known.lastUsedAt === null || known.lastUsedAt < now - LAST_USED_RESOLUTION_MS) {
            c.executionCtx.waitUntil(touchToken(createDb(shardBinding(c.env, c.var.shard)), known.tokenId, now).catch(() => undefined));
          }
          // Known from here (a write refused for a missing permission is still audited as this
          // integration's).
          c.set("credential", known);
        }
        if (verdict.kind === "refused") {
          if (verdict.cause) count(verdict.cause, verdict.cause === "unauthorized" ? "A token that is not this integration's (wrong, rotated or revoked)." : verdict.detail);
          throw verdict.status === 401 ? unauthorized(verdict.detail) : new ScimError(403, verdict.detail);
        }
      },
      // The database itself goes on to the request's rows only while the token holds and the
      // request's price fits: a wrong token or an over-budget request reads none of them.
      guard: (cost) =>
        guardedCredentialStatement(c.var.d1, { tokenHash: hash, ...scope, permissions: c.var.requiredPermissions ?? [] }, cost && costFits(cost, scope.tenantId)),
      overBudget: async (cost) => {
        const row = await c.var.d1.prepare("select * from tenant_sizes where tenant_id = ?").bind(scope.tenantId).first<Record<string, unknown>>();
        const rows = evaluate(cost.price, sizesOf(row ?? undefined));
        // The sizes moved between the guard and this read, and the price fits now: the query runs.
        if (row && rows <= ROW_BUDGET && cost.probes.length === 0) return;
        throw overBudget(cost, rows);
      },
    });
    c.set("scope", scope);
    c.set("tokenHash", hash);
    c.set("db", createDb(gate.binding));
    c.set("authenticate", async () => {
      await gate.settle();
      return c.var.credential!; // the settled check set it, or threw
    });
    c.set("acceptCredential", (row) => gate.accept({ results: row ? [row] : [] }));
    c.set("price", (cost) => gate.price(cost));
    await next();
    // A request that made no query (discovery, or input refused before reading) is answered
    // only once its token holds: otherwise its answer becomes the refusal.
    await gate.settle();
  };
}

/**
 * Refuses (403, nothing changed or returned) unless the integration's service account holds every
 * listed permission through its bindings. Permissions come with the token lookup: never cached.
 */
export function requirePermission(
  ...required: (readonly [Resource, Action])[]
): MiddlewareHandler<{ Bindings: Env; Variables: ScimVariables }> {
  return async function requirePermissionMiddleware(c, next) {
    // Checked with the token, when it is looked up (with the first query, or on its own).
    c.set("requiredPermissions", required.map(([resource, action]) => `${resource}:${action}`));
    await next();
  };
}
