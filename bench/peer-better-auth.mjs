// @ts-nocheck -- its packages are installed on demand into bench/peers/ (see bench/side-by-side.mjs)
//
// The Better Auth peer of `npm run bench -- --peers`: better-auth with its @better-auth/scim
// plugin, set up as their documentation says, on Node's built-in SQLite (node:sqlite's
// DatabaseSync, which better-auth takes as `database` directly and runs through its Kysely
// adapter with interactive transactions, as the SCIM plugin requires). The bench copies this file
// into bench/peers/ and runs it there, so the packages resolve from bench/peers/node_modules.
//
//   node bench/peers/peer-better-auth.mjs --port 8790 --db /tmp/x.sqlite
//
// Prints one line `ready <base URL of the SCIM service> <bearer token>` once it listens.
import { randomBytes } from "node:crypto";
import http from "node:http";
import { DatabaseSync } from "node:sqlite";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { scim } from "@better-auth/scim";

const args = Object.fromEntries(
  process.argv.slice(2).flatMap((arg, i, all) => (arg.startsWith("--") ? [[arg.slice(2), all[i + 1] ?? ""]] : [])),
);
const port = Number(args.port ?? 8790);
const baseURL = `http://127.0.0.1:${port}`;
// A code-defined connection with one static bearer credential: the plugin's documented set-up
// ("create a high-entropy bearer token ... configure the same value in Better Auth and your
// directory").
const token = randomBytes(32).toString("base64url");

const options = {
  baseURL,
  secret: randomBytes(32).toString("base64url"),
  // A file database, as a deployment has; the driver's defaults (no pragmas of our own).
  database: new DatabaseSync(args.db ?? ":memory:"),
  // The bench is one client on one address sending thousands of requests: the default limiter
  // (100 requests per 10 s per address, on in production) would only measure 429s.
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
  plugins: [scim({ connections: [{ id: "bench", credentials: [{ type: "bearer", id: "bench", token }] }] })],
};

// `npx auth migrate` in code: create the core and SCIM tables.
const { runMigrations } = await getMigrations(options);
await runMigrations();

const auth = betterAuth(options);
const server = http.createServer(toNodeHandler(auth));
server.keepAliveTimeout = 65_000;
server.listen(port, "127.0.0.1", () => {
  console.log(`ready ${baseURL}/api/auth/scim/v2 ${token}`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
