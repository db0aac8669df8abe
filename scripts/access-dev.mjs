// A stand-in for Cloudflare Access on this machine, to try the console's Access sign-in locally:
// a signing key pair, its certs endpoint, and assertions signed with it.
//
//   node scripts/access-dev.mjs serve [--port 8790]
//       serves http://127.0.0.1:8790/cdn-cgi/access/certs
//   node scripts/access-dev.mjs sign <email> [--aud scim-edge-dev] [--ttl 600]
//       [--exp <epoch s>] [--key other]
//
// Then run the service with ACCESS_TEAM_DOMAIN=http://127.0.0.1:8790 and ACCESS_AUD=scim-edge-dev
// (in .dev.vars), and send the assertion as the Cf-Access-Jwt-Assertion header or the
// CF_Authorization cookie, as Access would. The key pair is kept in .wrangler/access-dev/, so
// the server and the signer agree across runs; `--key other` signs with a second, unpublished
// key (a forgery). Needs Node 22+ (WebCrypto, global fetch).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(fileURLToPath(import.meta.url), "..", "..");
const DIR = join(ROOT, ".wrangler", "access-dev");
const ALG = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };

const [command, ...rest] = process.argv.slice(2);
const flags = Object.fromEntries(rest.flatMap((arg, i, all) => (arg.startsWith("--") ? [[arg.slice(2), all[i + 1] ?? ""]] : [])));
const positional = rest.filter((arg, i) => !arg.startsWith("--") && !rest[i - 1]?.startsWith("--"));

const b64url = (/** @type {Uint8Array | string} */ data) => Buffer.from(data).toString("base64url");

/** The named key pair, made on first use and kept on disk. @param {string} name */
async function keyPair(name) {
  const file = join(DIR, `${name}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8"));
  mkdirSync(DIR, { recursive: true });
  const pair = await crypto.subtle.generateKey({ ...ALG, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) }, true, ["sign", "verify"]);
  // The forgery uses the same kid as the real key: only the signature can tell them apart.
  const kid = "scim-edge-dev-key";
  const saved = { kid, privateJwk: await crypto.subtle.exportKey("jwk", pair.privateKey), publicJwk: await crypto.subtle.exportKey("jwk", pair.publicKey) };
  writeFileSync(file, JSON.stringify(saved), { mode: 0o600 });
  return saved;
}

if (command === "serve") {
  const port = Number(flags.port || 8790);
  const { kid, publicJwk } = await keyPair("dev");
  const certs = JSON.stringify({ keys: [{ kid, kty: "RSA", alg: "RS256", use: "sig", n: publicJwk.n, e: publicJwk.e }], public_cert: { kid, cert: "" }, public_certs: [] });
  http
    .createServer((req, res) => {
      if (req.url === "/cdn-cgi/access/certs") res.writeHead(200, { "Content-Type": "application/json" }).end(certs);
      else res.writeHead(404).end();
    })
    .listen(port, "127.0.0.1", () => {
      console.log(`Access stand-in: http://127.0.0.1:${port}/cdn-cgi/access/certs`);
      console.log(`Put in .dev.vars:\n  ACCESS_TEAM_DOMAIN=http://127.0.0.1:${port}\n  ACCESS_AUD=scim-edge-dev`);
    });
} else if (command === "sign" && positional[0]) {
  const { kid, privateJwk } = await keyPair(flags.key || "dev");
  const key = await crypto.subtle.importKey("jwk", privateJwk, ALG, false, ["sign"]);
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    aud: [flags.aud || "scim-edge-dev"],
    email: positional[0],
    exp: flags.exp ? Number(flags.exp) : now + Number(flags.ttl || 600),
    iat: now,
    nbf: now,
    iss: flags.iss || `http://127.0.0.1:${flags.port || 8790}`,
    type: "app",
    sub: crypto.randomUUID(),
  };
  const signingInput = `${b64url(JSON.stringify({ alg: "RS256", kid, typ: "JWT" }))}.${b64url(JSON.stringify(payload))}`;
  const signature = new Uint8Array(await crypto.subtle.sign(ALG, key, new TextEncoder().encode(signingInput)));
  console.log(`${signingInput}.${b64url(signature)}`);
} else {
  console.error("usage: node scripts/access-dev.mjs serve [--port 8790] | sign <email> [--aud A] [--ttl S] [--exp EPOCH_S] [--iss URL] [--key other]");
  process.exit(2);
}
