/**
 * How long the Worker remembers a SCIM token that passed its gate (`passedToken`): a write with a
 * token remembered is handed to the integration's writer before the Worker checks it, so the
 * memory must end PASSED_TOKEN_TTL_MS after the token last passed. The token passes through a
 * real request; the clock is then given explicitly, so nothing here depends on how fast it runs.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PASSED_TOKEN_TTL_MS, passedToken } from "../../../src/scim/http/gate";
import { sha256Hex } from "../../../src/auth/tokens";
import { newIntegration, scim } from "../../support/helpers";

describe("a token that passed the SCIM gate", () => {
  it("is remembered for PASSED_TOKEN_TTL_MS after it passed, then forgotten", async () => {
    expect(PASSED_TOKEN_TTL_MS).toBe(60_000); // what SECURITY.md promises
    const i = await newIntegration();
    const hash = await sha256Hex(i.token);
    expect(passedToken(i.tenant, i.id, hash)).toBeUndefined(); // minted, never presented
    // It passes between `before` and `after` (the gate stamps it with its own Date.now()).
    const before = Date.now();
    const read = await scim(i, "GET", "/Users?count=1");
    const after = Date.now();
    expect(read.status).toBe(200);

    const remembered = passedToken(i.tenant, i.id, hash, after);
    expect(remembered?.serviceAccountId).toBe(i.serviceAccountId);
    // Not elsewhere: another integration or tenant in the URL, or another token.
    expect(passedToken(i.tenant, "another-integration", hash, after)).toBeUndefined();
    expect(passedToken("another-tenant", i.id, hash, after)).toBeUndefined();
    expect(passedToken(i.tenant, i.id, await sha256Hex(`${i.token}x`), after)).toBeUndefined();
    // Still remembered at the end of its 60 s, counted from the earliest moment it can have passed...
    expect(passedToken(i.tenant, i.id, hash, before + PASSED_TOKEN_TTL_MS)?.tokenId).toBe(remembered?.tokenId);
    // ...and no longer a millisecond past them, counted from the latest.
    expect(passedToken(i.tenant, i.id, hash, after + PASSED_TOKEN_TTL_MS + 1)).toBeUndefined();
    // Expired is forgotten, not just hidden: even an earlier clock no longer finds it.
    expect(passedToken(i.tenant, i.id, hash, after)).toBeUndefined();

    // Passing again starts a new 60 s.
    const again = Date.now();
    expect((await scim(i, "GET", "/Users?count=1")).status).toBe(200);
    expect(passedToken(i.tenant, i.id, hash, again + PASSED_TOKEN_TTL_MS)?.tokenId).toBe(remembered?.tokenId);
  });

  it("is forgotten as soon as the gate refuses it, and never remembered for a scope it does not hold", async () => {
    const i = await newIntegration();
    const other = await newIntegration();
    // Another integration's token naming this integration: refused, never remembered for it.
    expect((await scim({ ...i, token: other.token }, "GET", "/Users?count=1")).status).toBe(401);
    expect(passedToken(i.tenant, i.id, await sha256Hex(other.token), Date.now())).toBeUndefined();
    // A token that passed, then expired: the next request's refusal forgets it within its 60 s.
    const hash = await sha256Hex(i.token);
    expect((await scim(i, "GET", "/Users?count=1")).status).toBe(200);
    expect(passedToken(i.tenant, i.id, hash, Date.now())).toBeDefined();
    await env.DB.prepare("update api_tokens set expires_at = 1 where service_account_id = ?").bind(i.serviceAccountId).run();
    expect((await scim(i, "GET", "/Users?count=1")).status).toBe(401);
    expect(passedToken(i.tenant, i.id, hash, Date.now())).toBeUndefined();
  });
});
