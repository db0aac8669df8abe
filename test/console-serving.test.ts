/** The console's files: served by the Worker at /ui with a strict CSP; deep links get the shell. */
import { describe, expect, it } from "vitest";
import { exports } from "cloudflare:workers";
import { call, ORIGIN } from "./helpers";

describe("/ui", () => {
  it("redirects /ui to /ui/ and serves the shell with a strict Content-Security-Policy", async () => {
    const bare = await exports.default.fetch(`${ORIGIN}/ui`, { redirect: "manual" });
    expect(bare.status).toBe(308);
    expect(bare.headers.get("Location")).toBe("/ui/");
    const shell = await call("GET", "/ui/");
    expect(shell.status).toBe(200);
    expect(shell.headers.get("Content-Type")).toContain("text/html");
    const csp = shell.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(shell.headers.get("X-Frame-Options")).toBe("DENY");
  });

  it("answers a deep link with the same shell, and a missing file with 404", async () => {
    const shell = await call("GET", "/ui/");
    const deep = await call("GET", "/ui/tenants/acme/provisioning");
    expect(deep.status).toBe(200);
    expect(deep.text).toBe(shell.text);
    expect((await call("GET", "/ui/nope.js")).status).toBe(404);
  });

  it("needs no token to load and never serves the API's data", async () => {
    const script = await call("GET", "/ui/app.js");
    expect(script.status).toBe(200);
    expect(script.headers.get("Content-Type")).toContain("javascript");
  });
});
