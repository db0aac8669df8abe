import { describe, expect, it } from "vitest";
import { bearerToken, digestsEqual, mintToken, secretMatches, sha256Hex, TOKEN_LENGTH } from "../../src/auth/tokens";

describe("tokens", () => {
  it("mints about 200 URL-safe characters, different every time", () => {
    const a = mintToken();
    const b = mintToken();
    expect(a).toHaveLength(TOKEN_LENGTH);
    expect(TOKEN_LENGTH).toBe(200);
    expect(a).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
  });

  it("hashes with SHA-256 as lowercase hex", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("compares digests in constant time and rejects different lengths", async () => {
    const h = await sha256Hex("x");
    expect(digestsEqual(h, h)).toBe(true);
    expect(digestsEqual(h, await sha256Hex("y"))).toBe(false);
    expect(digestsEqual(h, h.slice(1))).toBe(false);
    expect(await secretMatches("secret", "secret")).toBe(true);
    expect(await secretMatches("secret", "secreT")).toBe(false);
  });

  it("extracts bearer credentials", () => {
    expect(bearerToken("Bearer abc")).toBe("abc");
    expect(bearerToken("bearer   abc ")).toBe("abc");
    expect(bearerToken("Basic abc")).toBeNull();
    expect(bearerToken("Bearer")).toBeNull();
    expect(bearerToken("Bearer a b")).toBeNull();
    expect(bearerToken(undefined)).toBeNull();
  });
});

describe("ids", () => {
  it("are UUIDv7 and strictly increasing, even within one millisecond", async () => {
    const { newId } = await import("../../src/db/ids");
    const now = Date.now();
    const ids = Array.from({ length: 5000 }, () => newId(now));
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
