/** The console's files: served by the Worker at /ui with a strict CSP; deep links get the shell. */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, ORIGIN } from "../support/helpers";

describe("/ui", () => {
  it("redirects /ui to /ui/ and serves the shell with a strict Content-Security-Policy", async () => {
    const bare = await exports.default.fetch(`${ORIGIN}/ui`, { redirect: "manual" });
    expect(bare.status).toBe(308);
    expect(bare.headers.get("Location")).toBe("/ui/");
    const shell = await call("GET", "/ui/");
    expect(shell.status).toBe(200);
    expect(shell.headers.get("Content-Type")).toContain("text/html");
    const csp = shell.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(shell.headers.get("X-Frame-Options")).toBe("DENY");
    expect(shell.headers.get("Referrer-Policy")).toBe("no-referrer");
  });

  it("sends a person who opens the service's address to the console", async () => {
    for (const method of ["GET", "HEAD"]) {
      const root = await exports.default.fetch(`${ORIGIN}/`, { method, redirect: "manual" });
      expect(root.status, method).toBe(302);
      expect(root.headers.get("Location")).toBe("/ui/");
    }
    // Only the root: another unknown path is still a 404 problem.
    const other = await exports.default.fetch(`${ORIGIN}/nothing-here`, { redirect: "manual" });
    expect(other.status).toBe(404);
    expect(other.headers.get("Content-Type")).toContain("application/problem+json");
  });

  it("loads nothing from another origin (no CDN) and runs no inline script", async () => {
    const shell = (await call("GET", "/ui/")).text;
    const references = [...shell.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(references.length).toBeGreaterThan(0);
    for (const ref of references) expect(ref, ref).toMatch(/^(\/ui\/|#|data:)/);
    expect(shell).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    // Every module the console imports is served, with the same policy.
    const script = await call("GET", "/ui/app.js");
    expect(script.status).toBe(200);
    expect(script.headers.get("Content-Type")).toContain("javascript");
    const imports = [...script.text.matchAll(/from "(\.\/[^"]+)"/g)].map((m) => m[1]!);
    expect(imports).toContain("./views/provisioning.js");
    for (const path of imports) expect((await call("GET", `/ui/${path.slice(2)}`)).status, path).toBe(200);
  });

  it("answers a deep link with the same shell, and a missing file with 404", async () => {
    const shell = await call("GET", "/ui/");
    const deep = await call("GET", "/ui/t/acme/provisioning");
    expect(deep.status).toBe(200);
    expect(deep.text).toBe(shell.text);
    const missing = await call("GET", "/ui/nope.js");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("Content-Type")).toContain("application/problem+json");
  });

  it("revalidates cheaply: an unchanged file answers 304 to its ETag", async () => {
    const first = await call("GET", "/ui/style.css");
    const etag = first.headers.get("ETag");
    expect(etag).toBeTruthy();
    expect(first.headers.get("Cache-Control")).toBe("no-cache");
    const again = await exports.default.fetch(`${ORIGIN}/ui/style.css`, { headers: { "If-None-Match": etag! } });
    expect(again.status).toBe(304);
  });
});
