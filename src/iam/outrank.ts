/**
 * No token outlives or outranks its maker: the one rule behind every admin action through which
 * a caller could hand out, keep or take over authority (creating an integration or rotating its
 * token; minting a token for a service account, changing or deleting one, revoking its token;
 * creating, editing, binding or unbinding a role). Without it an expiring token could mint a
 * lasting one, and a token with SERVICE_ACCOUNTS:CREATE could mint one for any account stronger
 * than itself, namespaced grants included.
 *
 * Pure: callers load what each side holds (`holdingsOf` in ./authz) and turn a refusal into their
 * answer (src/admin/access.ts).
 */
import { namespaceCovers, type Holding } from "./authz";

export type { Holding } from "./authz";

/** Who acts: what it holds, and when its token stops working (epoch ms; null: never). */
export interface Maker {
  holdings: readonly Holding[];
  expiresAt: number | null;
}

/**
 * What it makes or acts on: the authority at stake (an account's holdings, a role's permissions)
 * and, when the action mints a token, that token's expiry (null: never).
 */
export interface Made {
  holdings: readonly Holding[];
  token?: { expiresAt: number | null };
}

/** Why the action is refused: the made side holds more, or its token would outlive the maker's. */
export type Outranking =
  | { kind: "stronger"; excess: Holding[] }
  | { kind: "outlives"; makerExpiresAt: number; tokenExpiresAt: number | null };

/**
 * Whether `made` outranks or outlives `maker`, or undefined when it does neither. Outranks: it
 * holds a permission on a namespace that no holding of the maker covers (tenant-wide covers every
 * namespace; `a.b` covers `a.b` and `a.b.*`, not `a.bc`: `namespaceCovers`). Outlives: the maker
 * expires and the minted token would not expire, or expire later. `excess` comes sorted,
 * tenant-wide first within a permission.
 */
export function outranking(maker: Maker, made: Made): Outranking | undefined {
  const excess = made.holdings.filter(
    (wanted) => !maker.holdings.some((held) => held.permission === wanted.permission && namespaceCovers(held.namespace, wanted.namespace)),
  );
  if (excess.length > 0) return { kind: "stronger", excess: dedupe(excess).sort(byPermissionThenNamespace) };
  if (made.token && maker.expiresAt !== null) {
    const until = made.token.expiresAt;
    if (until === null || until > maker.expiresAt) return { kind: "outlives", makerExpiresAt: maker.expiresAt, tokenExpiresAt: until };
  }
  return undefined;
}

/**
 * Tenant-wide holdings of these `RESOURCE:ACTION` pairs (what a role grants wherever it is bound).
 */
export function tenantWide(permissions: Iterable<string>): Holding[] {
  return [...permissions].map((permission) => ({ permission, namespace: null }));
}

/** A holding as a refusal names it: `SECRETS:DELETE`, or `SECRETS:DELETE on namespace 'prod'`. */
export function describeHolding(holding: Holding): string {
  return holding.namespace === null ? holding.permission : `${holding.permission} on namespace '${holding.namespace}'`;
}

function dedupe(holdings: Holding[]): Holding[] {
  const seen = new Map<string, Holding>();
  // No namespace is empty (`namespacePattern`), so "" stands for tenant-wide.
  for (const h of holdings) seen.set(`${h.permission} ${h.namespace ?? ""}`, h);
  return [...seen.values()];
}

function byPermissionThenNamespace(a: Holding, b: Holding): number {
  if (a.permission !== b.permission) return a.permission < b.permission ? -1 : 1;
  if (a.namespace === b.namespace) return 0;
  if (a.namespace === null) return -1;
  if (b.namespace === null) return 1;
  return a.namespace < b.namespace ? -1 : 1;
}
