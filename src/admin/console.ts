/**
 * The browser console at /ui: static files (public/ui) served through the Workers assets binding.
 * Every path without a file extension is the single page's shell, so a deep link or a reload
 * lands on the right view. The console talks only to /api/v1 with the token it keeps in
 * sessionStorage; nothing here reads a token, and no page needs one to load.
 */
import { Hono } from "hono";
import type { AppEnv } from "../app-env";

/**
 * Scripts and styles only from this origin, no inline code, no framing, no form posts, and
 * fetches only to this origin: an injected string cannot run or carry a token elsewhere.
 */
const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  // The console builds the page from text nodes only; with Trusted Types, a future innerHTML fails
  // loudly.
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

const SHELL = "/ui/index.html";

export const consoleRoutes = new Hono<AppEnv>();

consoleRoutes.on(["GET", "HEAD"], "/*", async function serveConsole(c) {
  const url = new URL(c.req.url);
  // Relative links in the shell resolve against /ui/, not /.
  if (url.pathname === "/ui") return c.redirect(`/ui/${url.search}`, 308);
  const isFile = /\.[a-z0-9]+$/i.test(url.pathname);
  const target = isFile ? url : new URL(SHELL, url);
  // Only the method and the revalidation header go through: the assets store needs nothing else.
  const headers = new Headers();
  const ifNoneMatch = c.req.header("If-None-Match");
  if (ifNoneMatch && isFile) headers.set("If-None-Match", ifNoneMatch);
  const asset = await c.env.ASSETS.fetch(new Request(target, { method: c.req.method, headers }));
  if (asset.status === 404) return c.notFound();
  const response = new Response(asset.body, asset);
  response.headers.set("Content-Security-Policy", CONSOLE_CSP);
  // Files are not fingerprinted: revalidate each time (cheap, an ETag match is a 304).
  response.headers.set("Cache-Control", "no-cache");
  return response;
});
