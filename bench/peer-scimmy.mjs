// @ts-nocheck -- its packages are installed on demand into bench/peers/ (see bench/side-by-side.mjs)
//
// The SCIMMY peer of `npm run bench -- --peers`: scimmy with scimmy-routers mounted on express 4
// (the major scimmy-routers is built and tested against; on express 5 its pagination casts are
// lost, scimmy-routers issue #36), as their READMEs show: the User resource declared with
// ingress/egress/degress handlers over an in-memory store, a bearer check in the routers'
// authentication handler. The store stands in for the application's database: a Map by id and a
// unique index by userName (case-insensitive, as SCIM's userName is), so `userName eq` is an index
// lookup as a database query would be; any other filter goes through SCIMMY's own Filter#match.
// The bench copies this file into bench/peers/ and runs it there, so the packages resolve from
// bench/peers/node_modules.
//
//   node bench/peers/peer-scimmy.mjs --port 8789
//
// Prints one line `ready <base URL of the SCIM service> <bearer token>` once it listens.
import { randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const args = Object.fromEntries(
  process.argv.slice(2).flatMap((arg, i, all) => (arg.startsWith("--") ? [[arg.slice(2), all[i + 1] ?? ""]] : [])),
);
const port = Number(args.port ?? 8789);
const token = randomBytes(32).toString("base64url");
const expected = Buffer.from(`Bearer ${token}`);

/** @type {Map<string, any>} */
const users = new Map();
/** @type {Map<string, string>} lower-cased userName → id */
const byUserName = new Map();

/** The filter is exactly `userName eq "…"`: SCIMMY parses it to [{userName: ["eq", value]}]. */
const userNameEq = (/** @type {any} */ filter) => {
  if (!filter || filter.length !== 1) return undefined;
  const keys = Object.keys(filter[0]);
  const [op, value] = filter[0].userName ?? [];
  return keys.length === 1 && op === "eq" && typeof value === "string" ? value : undefined;
};

SCIMMY.Resources.declare(SCIMMY.Resources.User)
  .ingress((resource, instance) => {
    const now = new Date();
    const key = instance.userName.toLowerCase();
    if (resource.id) {
      const existing = users.get(resource.id);
      if (!existing) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
      const holder = byUserName.get(key);
      if (holder && holder !== resource.id) throw new SCIMMY.Types.Error(409, "uniqueness", "userName is not unique");
      byUserName.delete(existing.userName.toLowerCase());
      const updated = { ...instance, id: resource.id, meta: { created: existing.meta.created, lastModified: now } };
      users.set(resource.id, updated);
      byUserName.set(key, resource.id);
      return updated;
    }
    if (byUserName.has(key)) throw new SCIMMY.Types.Error(409, "uniqueness", "userName is not unique");
    const created = { ...instance, id: randomUUID(), meta: { created: now, lastModified: now } };
    users.set(created.id, created);
    byUserName.set(key, created.id);
    return created;
  })
  .egress((resource) => {
    if (resource.id) {
      const user = users.get(resource.id);
      if (!user) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
      return user;
    }
    const userName = userNameEq(resource.filter);
    if (userName !== undefined) {
      const id = byUserName.get(userName.toLowerCase());
      return id ? [users.get(id)] : [];
    }
    // SCIMMY's ListResponse applies startIndex and count to what egress returns.
    const all = [...users.values()];
    return resource.filter ? resource.filter.match(all) : all;
  })
  .degress((resource) => {
    const user = users.get(resource.id);
    if (!user) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
    users.delete(resource.id);
    byUserName.delete(user.userName.toLowerCase());
  });

const app = express();
app.use(
  "/scim/v2",
  new SCIMMYRouters({
    type: "bearer",
    handler: (request) => {
      const given = Buffer.from(request.header("Authorization") ?? "");
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new Error("Authorization not detected!");
      return "bench";
    },
  }),
);
const server = app.listen(port, "127.0.0.1", () => {
  console.log(`ready http://127.0.0.1:${port}/scim/v2 ${token}`);
});
server.keepAliveTimeout = 65_000;
process.on("SIGTERM", () => server.close(() => process.exit(0)));
