/**
 * Starts the service the way a user does (`wrangler dev` on an embedded D1 with the migrations
 * applied) on a free port with a fresh database and a fresh admin token, for the browser tests.
 * Cloudflare Access sign-in is on, with a local stand-in for Access's certs endpoint: the tests
 * sign assertions with its key (the key pair is handed to them as JWKs).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    adminToken: string;
    chromiumPath: string;
    access: { teamDomain: string; audience: string; kid: string; privateJwk: JsonWebKey };
  }
}

/** A key pair and a certs endpoint on loopback, standing in for Cloudflare Access. */
async function accessStandIn(): Promise<{ teamDomain: string; kid: string; privateJwk: JsonWebKey; close: () => void }> {
  const algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) };
  const pair = await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
  const kid = `e2e-${randomBytes(4).toString("hex")}`;
  const { n, e } = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const certs = JSON.stringify({ keys: [{ kid, kty: "RSA", alg: "RS256", use: "sig", n, e }], public_certs: [] });
  const server = http.createServer((req, res) => {
    if (req.url === "/cdn-cgi/access/certs") res.writeHead(200, { "Content-Type": "application/json" }).end(certs);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address !== "object") throw new Error("the Access stand-in has no port");
  return { teamDomain: `http://127.0.0.1:${address.port}`, kid, privateJwk: await crypto.subtle.exportKey("jwk", pair.privateKey), close: () => server.close() };
}

const ROOT = join(import.meta.dirname, "..", "..");
const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function waitUntilServing(url: string, dev: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (dev.exitCode !== null) throw new Error(`wrangler dev exited (${dev.exitCode}):\n${output()}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`wrangler dev did not answer ${url} within 90 s:\n${output()}`);
}

export default async function setup(project: TestProject): Promise<() => void> {
  const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(chromiumPath)) {
    throw new Error(`The browser tests need Chromium at ${chromiumPath}: install Debian's package (apt-get install chromium), or set CHROMIUM_PATH.`);
  }
  const persist = mkdtempSync(join(tmpdir(), "scim-edge-e2e-"));
  const env = { ...process.env, CI: "true", NO_COLOR: "1" };
  const migrate = spawnSync(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist], { cwd: ROOT, env, encoding: "utf8" });
  if (migrate.status !== 0) throw new Error(`migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);

  const port = await freePort();
  const adminToken = randomBytes(32).toString("base64url");
  const access = await accessStandIn();
  const audience = `e2e-aud-${randomBytes(8).toString("hex")}`;
  let log = "";
  const dev = spawn(
    WRANGLER,
    ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persist, "--var", `ADMIN_TOKEN:${adminToken}`,
      "--var", `ACCESS_TEAM_DOMAIN:${access.teamDomain}`, "--var", `ACCESS_AUD:${audience}`, "--show-interactive-dev-session=false"],
    { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  dev.stdout?.on("data", (chunk: Buffer) => (log += chunk.toString()));
  dev.stderr?.on("data", (chunk: Buffer) => (log += chunk.toString()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const stop = () => {
    access.close();
    try {
      if (dev.pid) process.kill(-dev.pid, "SIGTERM");
    } catch {
      // already gone
    }
    rmSync(persist, { recursive: true, force: true });
  };
  try {
    await waitUntilServing(`${baseUrl}/ui/`, dev, () => log);
    const me = await fetch(`${baseUrl}/api/v1/me`, { headers: { Authorization: `Bearer ${adminToken}` } });
    if (me.status !== 200) throw new Error(`the test admin token was not accepted (${me.status}); is ADMIN_TOKEN set some other way?`);
  } catch (err) {
    stop();
    throw err;
  }
  project.provide("baseUrl", baseUrl);
  project.provide("adminToken", adminToken);
  project.provide("chromiumPath", chromiumPath);
  project.provide("access", { teamDomain: access.teamDomain, audience, kid: access.kid, privateJwk: access.privateJwk });
  return stop;
}
