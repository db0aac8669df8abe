// `npm run bench`: starts scim-edge with fresh local state (wrangler dev, embedded D1), drives it
// over HTTP on loopback, prints a table and writes bench/results.json.
//
//   npm run bench -- [scenario …] [--users 10000] [--large 100000] [--duration 60] [--port 8788]
//                    [--attack 45] [--baseline 20] [--rate 10]
//
// Scenarios (see README "Performance"); name some to run only those (`npm run bench -- adversarial`),
// none to run them all:
//   initialCycle  Entra initial cycle: lookup-then-create for N users, then 500 groups and 50,000
//                 memberships in batched member PATCHes, at Entra-like concurrency.
//   flatness      Lookup flatness: userName, externalId and work-email lookups in a tenant of 1,000
//                 users and one of --large users (seeded straight into the local D1 file before the
//                 server starts); membership flatness: one member add and remove in a 100-member and
//                 a --large-member group, and GET /Groups?excludedAttributes=members in both. The
//                 two tenants are measured alternately, request by request, so that neither always
//                 goes first.
//   sustained     10 integrations at 25 requests per second each, a realistic mix.
//   ceiling       ServiceProviderConfig (the cheapest authenticated route) against GET /Users/{id}.
//   worstFilter   The costliest members filter the budget allows, next to another tenant's lookups.
//   decisions     POST /authz/check for a user in 10 groups, in a tenant of 100 groups and one of
//                 10,000 (each group bound to a role on its own namespace, 10 members each).
//   adversarial   Issue 20's attacker: a tenant of --large users and memberships with the red-team
//                 shapes sends its most expensive requests back to back for --attack seconds while a
//                 bystander tenant makes Entra lookups at --rate per second; prints the largest D1
//                 time of an accepted attacker request (from the server's log lines) and the
//                 bystander's p50/p99 during the attack against --baseline seconds without it.
//
//   npm run bench -- --peers [--directory 5000] [--requests 2000] [--concurrency 20]
//
// runs only the side-by-side comparison with two other SCIM servers instead (bench/side-by-side.mjs)
// and writes it under `sideBySide` in bench/results.json, keeping the scenarios already there.
//
//   npm run bench -- --shards N [--tenants-per-shard 4] [--tenant-users 2000] [--samples 300] [--heavy 30]
//
// runs only the sharding comparison (bench/shards.mjs): the same tenants (N × --tenants-per-shard,
// each of --tenant-users users) on one database and over N shards (N from 1 to 64: the run writes
// its own config with N SHARD_n bindings), per-database sizes, lookup and create latency, the
// directory's cost per identity and a heavy tenant's blast radius (--heavy seconds, 0: none);
// written under `shards.<N>` in bench/results.json.
// Every run records its command and the commit it measured (`git rev-parse --short HEAD`, and
// whether the work tree had changes) and prints them. Absolute times drift on a shared machine;
// the ratios are measured in the same run.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { started, stop } from "./processes.mjs";

const ROOT = join(fileURLToPath(import.meta.url), "..", "..");
const SCENARIOS = ["initialCycle", "flatness", "sustained", "ceiling", "worstFilter", "decisions", "adversarial"];
const VALUE_FLAGS = new Set([
  ...["users", "large", "duration", "port", "attack", "baseline", "rate", "directory", "requests", "concurrency", "spc"],
  ...["shards", "tenants-per-shard", "tenant-users", "samples", "heavy"],
]);
const BOOLEAN_FLAGS = new Set(["peers"]);
/** @type {Record<string, string>} */
const args = {};
/** @type {string[]} */
const named = [];
for (let i = 2; i < process.argv.length; i++) {
  const arg = process.argv[i];
  if (!arg.startsWith("--")) named.push(arg);
  else if (VALUE_FLAGS.has(arg.slice(2))) args[arg.slice(2)] = process.argv[++i] ?? "";
  else if (BOOLEAN_FLAGS.has(arg.slice(2))) args[arg.slice(2)] = "true";
  else throw new Error(`unknown option ${arg}; options: ${[...VALUE_FLAGS, ...BOOLEAN_FLAGS].map((f) => `--${f}`).join(" ")}`);
}
const unknown = named.filter((n) => !SCENARIOS.includes(n));
if (unknown.length) throw new Error(`unknown scenario ${unknown.join(", ")}; scenarios: ${SCENARIOS.join(" ")}`);
/** The scenarios this run measures, in their usual order. */
const SELECTED = new Set(named.length ? SCENARIOS.filter((n) => named.includes(n)) : SCENARIOS);
const N_USERS = Number(args.users ?? 10_000);
const N_LARGE = Number(args.large ?? 100_000);
const DURATION_S = Number(args.duration ?? 60);
const ATTACK_S = Number(args.attack ?? 45);
const BASELINE_S = Number(args.baseline ?? 20);
const BYSTANDER_RATE = Number(args.rate ?? 10);
const PORT = Number(args.port ?? 8788);
const BASE = `http://127.0.0.1:${PORT}`;
const STATE = join(ROOT, ".wrangler", "bench-state");
const ADMIN_TOKEN = randomBytes(32).toString("base64url");
const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler");
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const PEERS = args.peers === "true";
const SHARDS = args.shards !== undefined;
const RESULTS = join(ROOT, "bench", "results.json");

/** The code a run measures: the commit, and whether the work tree differed from it (and where). */
function codeVersion() {
  const git = (/** @type {string[]} */ argv) => {
    const res = spawnSync("git", argv, { cwd: ROOT, encoding: "utf8" });
    if (res.status !== 0) throw new Error(`git ${argv.join(" ")} failed: ${res.stderr}`);
    return res.stdout;
  };
  const changed = git(["status", "--porcelain"]).split("\n").filter(Boolean).map((line) => line.slice(3));
  return { commit: git(["rev-parse", "--short", "HEAD"]).trim(), dirty: changed.length > 0, changed };
}
/** The 1, 5 and 15 minute load averages: how busy the (shared) machine was besides the run. */
const load = () => loadavg().map((x) => Math.round(x * 100) / 100);
/** @type {{command: string, commit: string, dirty: boolean, changed: string[], startedAt: string, loadAtStart: number[], finishedAt?: string, loadAtEnd?: number[]}} */
const RUN = {
  command: process.argv.length > 2 ? `npm run bench -- ${process.argv.slice(2).join(" ")}` : "npm run bench",
  ...codeVersion(),
  startedAt: new Date().toISOString(),
  loadAtStart: load(),
};
const describeRun = () => `${RUN.command} on commit ${RUN.commit}${RUN.dirty ? ` with uncommitted changes (${RUN.changed.join(", ")})` : " (clean work tree)"}`;
/** @type {{run: typeof RUN, machine: Record<string, any>, scenarios: Record<string, any>, sideBySide?: Record<string, any>, shards?: Record<string, any>}} */
const results = { run: RUN, machine: {}, scenarios: {} };

/**
 * Writes results.json, keeping what the other kind of run (scenarios or side by side) left there,
 * and the scenarios this run did not measure (each scenario carries the run that measured it).
 */
function writeResults() {
  RUN.finishedAt = new Date().toISOString();
  RUN.loadAtEnd = load();
  /** @type {Record<string, any>} */
  let previous = {};
  try {
    previous = JSON.parse(readFileSync(RESULTS, "utf8"));
  } catch {}
  if (PEERS) {
    writeFileSync(RESULTS, `${JSON.stringify({ ...previous, sideBySide: { run: RUN, machine: results.machine, ...results.sideBySide } }, null, 2)}\n`);
    return;
  }
  if (SHARDS) {
    // One entry per shard count: a run with 10 shards keeps the one with 3.
    const shards = { ...(previous.shards ?? {}), [String(results.shards?.shards)]: { run: RUN, machine: results.machine, ...results.shards } };
    writeFileSync(RESULTS, `${JSON.stringify({ ...previous, shards }, null, 2)}\n`);
    return;
  }
  /** @type {Record<string, any>} */
  const scenarios = {};
  for (const [name, value] of Object.entries(previous.scenarios ?? {})) if (value?.run && !(name in results.scenarios)) scenarios[name] = value;
  for (const [name, value] of Object.entries(results.scenarios)) scenarios[name] = { ...value, run: RUN, machine: results.machine };
  const merged = {
    run: RUN,
    machine: results.machine,
    scenarios,
    ...(previous.sideBySide ? { sideBySide: previous.sideBySide } : {}),
    ...(previous.shards ? { shards: previous.shards } : {}),
  };
  writeFileSync(RESULTS, `${JSON.stringify(merged, null, 2)}\n`);
}

// ---- helpers ------------------------------------------------------------------------------------

/** @param {number[]} xs @param {number} p */
const percentile = (xs, p) => {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const round = (/** @type {number} */ x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const stats = (/** @type {number[]} */ xs) => ({ n: xs.length, median: round(percentile(xs, 50)), p99: round(percentile(xs, 99)) });

// A bounded pool of keep-alive connections, as a real client has: past it requests wait on the
// client side (and that wait counts in their latency), instead of opening sockets without end.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/**
 * One timed request: its status, time, JSON body and the server's request id (`X-Request-Id`, the
 * `requestId` of the request's log line). A string body is sent as it is.
 * @param {string} method @param {string} url @param {string} token @param {unknown} [body]
 * @param {{contentType?: string, via?: http.Agent}} [options]
 * @returns {Promise<{status: number, ms: number, json: any, requestId: string | undefined}>}
 */
function request(method, url, token, body, { contentType = "application/scim+json", via = agent } = {}) {
  const started = performance.now();
  const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent: via,
        headers: {
          Authorization: `Bearer ${token}`,
          ...(payload === undefined ? {} : { "Content-Type": contentType, "Content-Length": Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        const chunks = /** @type {Buffer[]} */ ([]);
        res.on("data", (chunk) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json = null;
          try {
            json = text ? JSON.parse(text) : null;
          } catch {}
          const id = res.headers["x-request-id"];
          resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, json, requestId: Array.isArray(id) ? id[0] : id });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Runs `tasks` with at most `concurrency` in flight. @template T @param {(() => Promise<T>)[]} tasks @param {number} concurrency */
async function pool(tasks, concurrency) {
  /** @type {T[]} */
  const out = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await tasks[i]();
      }
    }),
  );
  return out;
}

/** @param {string} what @param {{status: number, json: any}} res @param {number[]} ok */
function expectStatus(what, res, ok) {
  if (!ok.includes(res.status)) throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.json)}`);
  return res;
}

/** @returns {Promise<any>} */
async function admin(/** @type {string} */ method, /** @type {string} */ path, /** @type {unknown} */ body) {
  const res = await fetch(`${BASE}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => null);
  if (res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** A tenant with one integration. @param {string} tenant */
async function integration(tenant, createTenant = true) {
  if (createTenant) await admin("POST", "/tenants", { id: tenant });
  const created = await admin("POST", `/${tenant}/integrations`, { name: `bench ${tenant}` });
  return { tenant, url: created.endpoint.replace(/^https?:\/\/[^/]+/, BASE), token: created.secretToken };
}

// ---- fresh state, seeded -------------------------------------------------------------------------

function wranglerSync(/** @type {string[]} */ argv) {
  const res = spawnSync(WRANGLER, argv, { cwd: ROOT, env: { ...process.env, CI: "true" }, encoding: "utf8" });
  if (res.status !== 0) throw new Error(`wrangler ${argv.join(" ")} failed:\n${res.stdout}\n${res.stderr}`);
}

function findDatabaseFile() {
  const dir = join(STATE, "v3", "d1", "miniflare-D1DatabaseObject");
  const file = readdirSync(dir).find((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
  if (!file) throw new Error(`no D1 database file in ${dir}`);
  return join(dir, file);
}

/** The statements that seed a directory, rows shaped as the service writes them. @param {DatabaseSync} db */
function directoryInserts(db) {
  return {
    tenant: db.prepare("INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)"),
    user: db.prepare("INSERT INTO users (id, user_name, user_name_key, version, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?)"),
    // The tenant's view of the user: what its directory provisioned.
    view: db.prepare(
      `INSERT INTO tenant_users (tenant_id, user_id, user_name, user_name_key, profile, manager_id, external_id, active, version, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, NULL, ?, 1, 1, ?, ?)`,
    ),
    email: db.prepare(
      "INSERT INTO tenant_user_emails (tenant_id, user_id, position, value, value_key, type, display, is_primary) VALUES (?, ?, 0, ?, ?, 'work', NULL, 1)",
    ),
    group: db.prepare(
      "INSERT INTO groups (id, tenant_id, display_name, display_name_key, external_id, version, created_at, updated_at) VALUES (?, ?, ?, ?, NULL, 1, ?, ?)",
    ),
    member: db.prepare("INSERT INTO group_members (group_id, user_id, tenant_id, created_at) VALUES (?, ?, ?, ?)"),
  };
}

/**
 * A tenant of `count` users `${tenant}-user<n>@contoso.com` (externalId `${tenant}-ext-<n>`, one
 * work email), each view with `profileOf(n, userName)` and created at `createdAt(n)`. Returns the ids.
 * @param {ReturnType<typeof directoryInserts>} insert @param {string} tenant @param {number} count @param {number} now
 * @param {(n: number, userName: string) => Record<string, unknown>} [profileOf] @param {(n: number) => number} [createdAt]
 */
function seedDirectory(insert, tenant, count, now, profileOf = defaultProfile, createdAt = () => now) {
  insert.tenant.run(tenant, tenant, now);
  const users = [];
  for (let n = 0; n < count; n++) {
    const uid = randomUUID();
    const userName = `${tenant}-user${n}@contoso.com`;
    const at = createdAt(n);
    insert.user.run(uid, userName, userName.toLowerCase(), at, at);
    insert.view.run(tenant, uid, userName, userName.toLowerCase(), JSON.stringify(profileOf(n, userName)), `${tenant}-ext-${n}`, at, at);
    insert.email.run(tenant, uid, userName, userName.toLowerCase());
    users.push(uid);
  }
  return users;
}

/** @param {number} n @param {string} userName */
function defaultProfile(n, userName) {
  return { name: { givenName: "User", familyName: `N${n}` }, emails: [{ value: userName, type: "work", primary: true }] };
}

/** A group of `members` in `tenant`. @param {ReturnType<typeof directoryInserts>} insert @param {string} tenant @param {string} name @param {string[]} members @param {number} now */
function seedGroup(insert, tenant, name, members, now) {
  const group = randomUUID();
  insert.group.run(group, tenant, name, name.toLowerCase(), now, now);
  for (const uid of members) insert.member.run(group, uid, tenant, now);
  return group;
}

/**
 * Seeds the tenants of the selected scenarios straight into the D1 file. Returns what the
 * scenarios need (ids) and how many users it wrote.
 */
function seed() {
  const db = new DatabaseSync(findDatabaseFile());
  const now = Date.now();
  db.exec("BEGIN");
  const insert = directoryInserts(db);
  /** @type {Record<string, any>} */
  const seeded = {};
  let users = 0;
  if (SELECTED.has("flatness") || SELECTED.has("worstFilter")) {
    for (const [tenant, size] of /** @type {[string, number][]} */ ([["bench-small", 1000], ["bench-large", N_LARGE]])) {
      const ids = seedDirectory(insert, tenant, size + 1, now);
      users += ids.length;
      const spare = /** @type {string} */ (ids.pop());
      const group = seedGroup(insert, tenant, `${tenant} everyone`, tenant === "bench-small" ? ids.slice(0, 100) : ids, now);
      seeded[tenant] = { users: ids, group, spare };
    }
  }
  if (SELECTED.has("decisions")) {
    seeded.authz = seedAuthz(db, now);
    users += 2000;
  }
  if (SELECTED.has("adversarial")) {
    seeded.adversarial = seedAdversarial(insert, now);
    users += N_LARGE + 1000;
  }
  db.exec("COMMIT");
  // No ANALYZE: a D1 database grown by the service's own inserts has no statistics, and the
  // query plans measured here must be the ones it gets (with statistics, SQLite hid a list query
  // that walked the tenant in provisioning order instead of using the externalId index).
  db.close();
  return { seeded, users };
}

/**
 * Two tenants for the decision benchmark, 100 and 10,000 groups: each group bound to a role on
 * its own namespace and holding 10 of 1,000 users; the subject is in 10 of the groups.
 * @param {DatabaseSync} db @param {number} now @returns {Record<string, {subject: string}>}
 */
function seedAuthz(db, now) {
  const insert = (/** @type {string} */ sql) => db.prepare(sql);
  const tenant = insert("INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)");
  const user = insert("INSERT INTO users (id, user_name, user_name_key, version, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?)");
  const view = insert(
    "INSERT INTO tenant_users (tenant_id, user_id, user_name, user_name_key, profile, manager_id, external_id, active, version, created_at, updated_at) VALUES (?, ?, ?, ?, '{}', NULL, NULL, 1, 1, ?, ?)",
  );
  const group = insert("INSERT INTO groups (id, tenant_id, display_name, display_name_key, external_id, version, created_at, updated_at) VALUES (?, ?, ?, ?, NULL, 1, ?, ?)");
  const member = insert("INSERT INTO group_members (group_id, user_id, tenant_id, created_at) VALUES (?, ?, ?, ?)");
  const role = insert("INSERT INTO roles (id, tenant_id, name, description, created_at, updated_at) VALUES (?, ?, ?, NULL, ?, ?)");
  const permission = insert("INSERT INTO role_permissions (role_id, resource, action) VALUES (?, ?, ?)");
  const binding = insert("INSERT INTO bindings (id, tenant_id, role_id, subject_type, subject_id, namespace, created_at) VALUES (?, ?, ?, 'GROUP', ?, ?, ?)");
  /** @type {Record<string, {subject: string}>} */
  const out = {};
  for (const [id, groups] of /** @type {[string, number][]} */ ([["bench-authz-100", 100], ["bench-authz-10k", 10_000]])) {
    tenant.run(id, id, now);
    const users = Array.from({ length: 1000 }, (_, n) => {
      const uid = randomUUID();
      const name = `${id}-u${n}@contoso.com`;
      user.run(uid, name, name, now, now);
      view.run(id, uid, name, name, now, now);
      return uid;
    });
    const roleId = randomUUID();
    role.run(roleId, id, "Flow editor", now, now);
    for (const action of ["READ", "UPDATE"]) permission.run(roleId, "FLOWS", action);
    for (let g = 0; g < groups; g++) {
      const gid = randomUUID();
      group.run(gid, id, `team ${g}`, `team ${g}`, now, now);
      binding.run(randomUUID(), id, roleId, gid, `company.team${g}`, now);
      // users[0] is the subject: in groups 0..9 only.
      for (let m = 0; m < 10; m++) member.run(gid, users[g < 10 && m === 0 ? 0 : 1 + ((g * 10 + m) % 999)], id, now);
    }
    out[id] = { subject: users[0] };
  }
  return out;
}

// The attacker's red-team shapes (issue 20), inside a tenant of N_LARGE users.
const ATTACKER = "bench-attacker";
const BYSTANDER = "bench-bystander";
const PHONE_USERS = 1000;
const PHONES_PER_USER = 100;
const BIG_PROFILE_USERS = 405;
const BIG_PROFILE_BYTES = 60_000;
const BIG_GROUP_MEMBERS = 400;
/** Declared-extension URNs: the first is the one the big profiles carry values of. */
const ADVERSARIAL_URN = (/** @type {number} */ k) => `urn:example:bench:adversarial${k}:2.0:User`;
const DECLARATIONS = 20;

/**
 * Issue 20's adversarial data: a tenant of N_LARGE users in one group (N_LARGE memberships) of
 * which the first 1,000 carry 100 phone numbers each and the next 405 profiles of about 60 KB
 * (100 values of the first adversarial extension, which a declaration with 100 unique attributes
 * indexes); 400 of those 405 form a second group. Users are created a millisecond apart, in order,
 * so pages in provisioning order are known. Plus a bystander tenant of 1,000 ordinary users.
 * @param {ReturnType<typeof directoryInserts>} insert @param {number} now
 */
function seedAdversarial(insert, now) {
  const types = ["work", "home", "mobile", "fax", "pager", "other"];
  const urn = ADVERSARIAL_URN(0);
  const profileOf = (/** @type {number} */ n, /** @type {string} */ userName) => {
    const profile = /** @type {Record<string, unknown>} */ (defaultProfile(n, userName));
    if (n < PHONE_USERS) {
      profile.phoneNumbers = Array.from({ length: PHONES_PER_USER }, (_, i) => ({ value: `+1 555 ${String(n).padStart(4, "0")} ${String(i).padStart(3, "0")}`, type: types[i % types.length] }));
    } else if (n < PHONE_USERS + BIG_PROFILE_USERS) {
      const width = Math.floor(BIG_PROFILE_BYTES / 100) - 8;
      profile.displayName = `Big profile ${n}`;
      profile[urn] = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`a${i}`, `u${n}-a${i}-`.padEnd(width, "x")]));
    }
    return profile;
  };
  const users = seedDirectory(insert, ATTACKER, N_LARGE, now - N_LARGE, profileOf, (n) => now - N_LARGE + n);
  const everyone = seedGroup(insert, ATTACKER, `${ATTACKER} everyone`, users, now);
  const big = seedGroup(insert, ATTACKER, `${ATTACKER} big profiles`, users.slice(PHONE_USERS, PHONE_USERS + BIG_GROUP_MEMBERS), now);
  seedDirectory(insert, BYSTANDER, 1000, now);
  return { everyone, big };
}

/** Parses wrangler dev's stdout: the Worker's JSON log lines, by request id. @param {string} file */
function logLines(file) {
  /** @type {Map<string, any>} */
  const byId = new Map();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const start = line.indexOf('{"level"');
    if (start < 0) continue;
    try {
      const entry = JSON.parse(line.slice(start));
      if (typeof entry.requestId === "string") byId.set(entry.requestId, entry);
    } catch {}
  }
  return byId;
}

/**
 * Starts wrangler dev on the project's wrangler.toml and waits until it answers. The side-by-side
 * floor passes its own entry module (`script`), port and state directory and gets the same command
 * line otherwise. `log`: a file that receives wrangler dev's stdout at `--log-level log`, which
 * prints the Worker's per-request log lines (at `warn`, the level used otherwise, it does not).
 * `config` and `env`: another wrangler config, and an environment of it (the `--shards` run).
 * @param {{script?: string, port?: number, state?: string, log?: string, config?: string, env?: string}} [options]
 */
async function startServer({ script, port = PORT, state = STATE, log, config = join(ROOT, "wrangler.toml"), env } = {}) {
  const out = log === undefined ? "ignore" : openSync(log, "w");
  const child = spawn(
    WRANGLER,
    [
      "dev",
      ...(script ? [script] : []),
      "--config",
      config,
      ...(env ? ["--env", env] : []),
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--persist-to",
      state,
      "--var",
      `ADMIN_TOKEN:${ADMIN_TOKEN}`,
      "--log-level",
      log === undefined ? "warn" : "log",
    ],
    { cwd: ROOT, env: { ...process.env, CI: "true" }, stdio: ["ignore", out, "inherit"] },
  );
  if (typeof out === "number") closeSync(out);
  started.add(child);
  const probe = script ? `http://127.0.0.1:${port}/scim/v2/ServiceProviderConfig` : `http://127.0.0.1:${port}/api/v1/openapi.json`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(probe);
      if (res.ok) return child;
    } catch {}
    await new Promise((r) => setTimeout(r, 300));
  }
  await stop(child);
  throw new Error(`wrangler dev${script ? ` ${script}` : ""} did not answer within 60 s`);
}

// ---- scenarios -----------------------------------------------------------------------------------

/** 1. Entra's initial cycle: lookup then create, then groups and memberships. */
async function initialCycle() {
  const it = await integration("bench-cycle");
  const concurrency = 8;
  const started = performance.now();
  const userIds = await pool(
    Array.from({ length: N_USERS }, (_, n) => async () => {
      const userName = `cycle.user${n}@contoso.com`;
      const found = expectStatus("lookup", await request("GET", `${it.url}/Users?filter=userName+eq+%22${encodeURIComponent(userName)}%22`, it.token), [200]);
      if (found.json.totalResults > 0) return found.json.Resources[0].id;
      const created = expectStatus("create user", await request("POST", `${it.url}/Users`, it.token, {
        schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
        externalId: randomUUID(),
        userName,
        active: true,
        emails: [{ primary: true, type: "work", value: userName }],
        name: { givenName: "Cycle", familyName: `User ${n}` },
      }), [201]);
      return created.json.id;
    }),
    concurrency,
  );
  const usersSeconds = (performance.now() - started) / 1000;
  const groupsStarted = performance.now();
  const groupCount = 500;
  const groupIds = await pool(
    Array.from({ length: groupCount }, (_, g) => async () => {
      const name = `Cycle group ${g}`;
      expectStatus("group lookup", await request("GET", `${it.url}/Groups?excludedAttributes=members&filter=displayName+eq+%22${encodeURIComponent(name)}%22`, it.token), [200]);
      return expectStatus("create group", await request("POST", `${it.url}/Groups`, it.token, { displayName: name }), [201]).json.id;
    }),
    concurrency,
  );
  // 50,000 memberships: 100 per group, sent as PATCHes of 50 member adds (Entra batches them).
  const memberships = 50_000;
  const perGroup = Math.floor(memberships / groupCount);
  const patches = groupIds.flatMap((groupId, g) =>
    Array.from({ length: perGroup / 50 }, (_, b) => async () => {
      const value = Array.from({ length: 50 }, (_, m) => ({ value: userIds[(g * perGroup + b * 50 + m) % userIds.length] }));
      expectStatus("add members", await request("PATCH", `${it.url}/Groups/${groupId}`, it.token, { schemas: [PATCH], Operations: [{ op: "Add", path: "members", value }] }), [204]);
    }),
  );
  await pool(patches, concurrency);
  const groupsSeconds = (performance.now() - groupsStarted) / 1000;
  return {
    users: N_USERS,
    usersSeconds: round(usersSeconds, 1),
    usersPerSecond: round(N_USERS / usersSeconds, 1),
    groups: groupCount,
    memberships,
    groupsAndMembershipsSeconds: round(groupsSeconds, 1),
    membershipsPerSecond: round(memberships / groupsSeconds, 1),
    objectsPerSecond: round((N_USERS + groupCount + memberships) / (usersSeconds + groupsSeconds), 1),
  };
}

/** Timed sequential samples of one request. @param {() => Promise<{status: number, ms: number}>} fn */
async function sample(fn, n = 300) {
  /** @type {number[]} */
  const times = [];
  for (let k = 0; k < 20; k++) await fn(); // warm up
  for (let k = 0; k < n; k++) {
    const res = await fn();
    if (res.status >= 300) throw new Error(`sample got HTTP ${res.status}`);
    times.push(res.ms);
  }
  return times;
}

/**
 * Timed samples of two requests taken alternately, one of each at a time: pair k sends `a` first
 * when k is even and `b` first when it is odd, so that neither side always goes first (a warm
 * cache, a queue just emptied) and drift over the run falls on both alike.
 * @param {() => Promise<{status: number, ms: number}>} a @param {() => Promise<{status: number, ms: number}>} b
 */
async function samplePair(a, b, n = 300) {
  /** @type {[number[], number[]]} */
  const times = [[], []];
  for (let k = 0; k < 20; k++) {
    await a();
    await b();
  }
  for (let k = 0; k < n; k++) {
    for (const side of k % 2 === 0 ? [0, 1] : [1, 0]) {
      const res = await (side === 0 ? a : b)();
      if (res.status >= 300) throw new Error(`sample got HTTP ${res.status}`);
      times[side].push(res.ms);
    }
  }
  return times;
}

/** 2 and 3. Flatness: the same requests in a small and a large tenant. */
async function flatness(/** @type {Record<string, any>} */ seeded) {
  const small = await integration("bench-small", false);
  const large = await integration("bench-large", false);
  const pick = (/** @type {string} */ tenant, /** @type {number} */ k, /** @type {number} */ size) => {
    const n = (k * 7919) % size;
    return { userName: `${tenant}-user${n}@contoso.com`, externalId: `${tenant}-ext-${n}` };
  };
  const lookups = {
    userName: (/** @type {any} */ it, /** @type {string} */ t, /** @type {number} */ size) => {
      let k = 0;
      return () => request("GET", `${it.url}/Users?filter=${encodeURIComponent(`userName eq "${pick(t, k++, size).userName}"`)}`, it.token);
    },
    externalId: (/** @type {any} */ it, /** @type {string} */ t, /** @type {number} */ size) => {
      let k = 0;
      return () => request("GET", `${it.url}/Users?filter=${encodeURIComponent(`externalId eq "${pick(t, k++, size).externalId}"`)}`, it.token);
    },
    workEmail: (/** @type {any} */ it, /** @type {string} */ t, /** @type {number} */ size) => {
      let k = 0;
      return () => request("GET", `${it.url}/Users?filter=${encodeURIComponent(`emails[type eq "work"].value eq "${pick(t, k++, size).userName}"`)}`, it.token);
    },
  };
  /** @type {Record<string, any>} */
  const out = {};
  for (const [name, make] of Object.entries(lookups)) {
    const [s, l] = (await samplePair(make(small, "bench-small", 1000), make(large, "bench-large", N_LARGE))).map(stats);
    out[name] = { small: s, large: l, ratio: round(l.median / s.median) };
  }
  const member = (/** @type {any} */ it, /** @type {{group: string, spare: string}} */ g) => {
    let add = true;
    return () => {
      const op = add ? { op: "Add", path: "members", value: [{ value: g.spare }] } : { op: "Remove", path: "members", value: [{ value: g.spare }] };
      add = !add;
      return request("PATCH", `${it.url}/Groups/${g.group}`, it.token, { schemas: [PATCH], Operations: [op] });
    };
  };
  const [s, l] = (await samplePair(member(small, seeded["bench-small"]), member(large, seeded["bench-large"]), 200)).map(stats);
  out.memberAddRemove = { small: s, large: l, ratio: round(l.median / s.median), groupSizes: [100, N_LARGE] };
  const groupGet = (/** @type {any} */ it, /** @type {string} */ t) => () =>
    request("GET", `${it.url}/Groups?excludedAttributes=members&filter=${encodeURIComponent(`displayName eq "${t} everyone"`)}`, it.token);
  const [gs, gl] = (await samplePair(groupGet(small, "bench-small"), groupGet(large, "bench-large"))).map(stats);
  out.groupLookupExcludingMembers = { small: gs, large: gl, ratio: round(gl.median / gs.median) };
  return out;
}

/** 4. Ten integrations at 25 requests per second each, for DURATION_S seconds. */
async function sustained() {
  const integrations = [];
  for (let k = 0; k < 10; k++) integrations.push(await integration(`bench-load-${k}`));
  // Each tenant gets 50 users and 5 groups to work on.
  const fixtures = await Promise.all(
    integrations.map(async (it, k) => {
      const users = await pool(
        Array.from({ length: 50 }, (_, n) => async () =>
          expectStatus("seed user", await request("POST", `${it.url}/Users`, it.token, { userName: `load${k}.user${n}@contoso.com`, active: true }), [201]).json.id,
        ),
        4,
      );
      const groups = await pool(
        Array.from({ length: 5 }, (_, g) => async () => expectStatus("seed group", await request("POST", `${it.url}/Groups`, it.token, { displayName: `Load ${g}` }), [201]).json.id),
        4,
      );
      return { it, k, users, groups, created: 0 };
    }),
  );
  const rate = 25;
  const mix = (/** @type {(typeof fixtures)[number]} */ f, /** @type {number} */ n) => {
    const r = n % 20;
    const user = f.users[n % f.users.length];
    const group = f.groups[n % f.groups.length];
    if (r < 8) return request("GET", `${f.it.url}/Users?filter=${encodeURIComponent(`userName eq "load${f.k}.user${n % 50}@contoso.com"`)}`, f.it.token);
    if (r < 11) return request("GET", `${f.it.url}/Users/${user}`, f.it.token);
    if (r < 14) return request("PATCH", `${f.it.url}/Users/${user}`, f.it.token, { schemas: [PATCH], Operations: [{ op: "Replace", path: "title", value: `T${n}` }] });
    if (r < 16) return request("GET", `${f.it.url}/Groups?excludedAttributes=members&filter=${encodeURIComponent(`displayName eq "Load ${n % 5}"`)}`, f.it.token);
    if (r < 19) {
      const op = n % 2 ? "Add" : "Remove";
      return request("PATCH", `${f.it.url}/Groups/${group}`, f.it.token, { schemas: [PATCH], Operations: [{ op, path: "members", value: [{ value: user }] }] });
    }
    return request("POST", `${f.it.url}/Users`, f.it.token, { userName: `load${f.k}.new${f.created++}.${n}@contoso.com`, active: true });
  };
  /** @type {number[]} */
  const latencies = [];
  /** @type {Record<string, number>} */
  const errors = {};
  const inflight = [];
  const start = performance.now();
  const total = rate * DURATION_S;
  for (let n = 0; n < total; n++) {
    // Open loop: request n of every integration is sent at n / rate seconds, whatever the answers.
    const due = start + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (const f of fixtures) {
      inflight.push(
        mix(f, n)
          .then((res) => {
            latencies.push(res.ms);
            if (res.status >= 400) errors[res.status] = (errors[res.status] ?? 0) + 1;
          })
          .catch((e) => {
            errors[String(e.code ?? e.message)] = (errors[String(e.code ?? e.message)] ?? 0) + 1;
          }),
      );
    }
  }
  await Promise.all(inflight);
  const seconds = (performance.now() - start) / 1000;
  return {
    integrations: 10,
    ratePerIntegration: rate,
    seconds: round(seconds, 1),
    requests: latencies.length + Object.values(errors).reduce((a, b) => a + b, 0),
    achievedPerSecond: round(latencies.length / seconds, 1),
    ...stats(latencies),
    errors: Object.values(errors).reduce((a, b) => a + b, 0),
    errorsByStatus: errors,
  };
}

/** 5. The ceiling: the same closed-loop client on the cheapest route and on GET /Users/{id}. */
async function ceiling() {
  const it = await integration("bench-ceiling");
  const user = expectStatus("user", await request("POST", `${it.url}/Users`, it.token, { userName: "ceiling@contoso.com" }), [201]).json.id;
  const run = async (/** @type {string} */ path) => {
    /** @type {number[]} */
    const times = [];
    const end = performance.now() + 10_000;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (performance.now() < end) {
          const res = await request("GET", `${it.url}${path}`, it.token);
          if (res.status !== 200) throw new Error(`ceiling ${path}: HTTP ${res.status}`);
          times.push(res.ms);
        }
      }),
    );
    return { perSecond: round(times.length / 10, 1), ...stats(times) };
  };
  const spc = await run("/ServiceProviderConfig");
  const getUser = await run(`/Users/${user}`);
  return { serviceProviderConfig: spc, getUser, throughputRatio: round(getUser.perSecond / spc.perSecond) };
}

/**
 * 6. The costliest filter one tenant may send (two walks over every membership of a tenant whose
 * group holds --large members), next to another tenant's lookups; and an 80-term members filter,
 * which must be refused (400) before it reaches the database.
 */
async function worstFilter() {
  const attacker = await integration("bench-large", false);
  const bystander = await integration("bench-small", false);
  const enc = encodeURIComponent;
  const refusedFilter = `members.display pr and ${Array.from({ length: 80 }, (_, n) => `members[display co "x${n}"]`).join(" and ")}`;
  const refused = await request("GET", `${attacker.url}/Groups?excludedAttributes=members&filter=${enc(refusedFilter)}`, attacker.token);
  if (refused.status !== 400) throw new Error(`the 80-term filter answered HTTP ${refused.status}, not 400`);
  const costliest = [0, 1].map((n) => `members.display co "zz${n}"`).join(" or ");
  const worst = () => request("GET", `${attacker.url}/Groups?excludedAttributes=members&filter=${enc(costliest)}`, attacker.token);
  const lookup = () => request("GET", `${bystander.url}/Users?count=1`, bystander.token);
  const alone = stats(await sample(lookup, 100));
  /** @type {number[]} */
  const worstTimes = [];
  /** @type {Record<string, number>} */
  const worstStatuses = {};
  let running = true;
  const attack = (async () => {
    while (running) {
      const res = await worst();
      // A server whose cost model no longer allows this filter answers 400: the row says so.
      worstStatuses[res.status] = (worstStatuses[res.status] ?? 0) + 1;
      worstTimes.push(res.ms);
    }
  })();
  const during = stats(await sample(lookup, 100));
  running = false;
  await attack;
  const unexpected = Object.keys(worstStatuses).filter((st) => st !== "200" && st !== "400");
  if (unexpected.length) throw new Error(`the costliest filter answered HTTP ${unexpected.join(", ")}`);
  return { refused: { status: refused.status, scimType: refused.json?.scimType ?? null, ms: round(refused.ms) }, worst: { ...stats(worstTimes), statuses: worstStatuses }, bystanderAlone: alone, bystanderDuring: during, members: N_LARGE };
}

/**
 * The decision API in a tenant of 100 groups and one of 10,000: 10 checks for a user in 10
 * groups (5 allowed through a group's namespace, 5 denied), with the admin token.
 * @param {Record<string, any>} seeded
 */
async function decisions(seeded) {
  /** @param {string} tenant */
  const ask = (tenant) => {
    const checks = Array.from({ length: 10 }, (_, i) => ({ resource: "FLOWS", action: "UPDATE", namespace: i < 5 ? `company.team${i}.data` : `company.team${20 + i}.data` }));
    return async () => {
      const res = await request("POST", `${BASE}/api/v1/${tenant}/authz/check`, ADMIN_TOKEN, { subject: { type: "USER", id: seeded.authz[tenant].subject }, checks });
      expectStatus("authz check", res, [200]);
      const allowed = res.json.results.filter((/** @type {any} */ r) => r.allowed).length;
      if (allowed !== 5) throw new Error(`authz check in ${tenant}: ${allowed} allowed, 5 expected`);
      return res;
    };
  };
  const [small, large] = await samplePair(ask("bench-authz-100"), ask("bench-authz-10k"));
  return { small: stats(small), large: stats(large), ratio: round(percentile(large, 50) / percentile(small, 50)) };
}

/**
 * 8. Issue 20's attacker against a bystander. The attacker sends its most expensive requests one
 * after the other (the table's rows 1–5, then far pages and scans), every shape at least once and
 * then on for ATTACK_S seconds; meanwhile the bystander makes Entra's `userName eq` lookups at
 * BYSTANDER_RATE per second (open loop: each is sent on time whatever the others wait for), as it
 * did for BASELINE_S seconds before the attack. A request's D1 time is the `d1.ms` of its log line
 * (matched by X-Request-Id). Before the attack, the garbage-token probe is timed against the
 * attacker's tenant and a tenant that does not exist, alternately.
 * @param {{everyone: string, big: string}} ids @param {string} logFile
 */
async function adversarial(ids, logFile) {
  const attacker = await integration(ATTACKER, false);
  const bystander = await integration(BYSTANDER, false);
  const enc = encodeURIComponent;
  const bystanderAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  // ---- the attacker's requests
  const phoneFilter = Array.from({ length: 25 }, (_, i) => `phoneNumbers.type eq "nomatch-${i}"`).join(" or ");
  const phonePath = `/Users?count=1&filter=${enc(phoneFilter)}`;
  const nowhere = `${BASE}/api/v1/bench-no-such-tenant/integrations/${randomUUID()}/scim/v2`;
  const garbage = randomBytes(32).toString("base64url");
  const patchBody = JSON.stringify({
    schemas: [PATCH],
    Operations: Array.from({ length: 120 }, (_, op) => ({
      op: "remove",
      path: `members[${Array.from({ length: 90 }, (_, t) => `display co "nomatch-${String(op).padStart(3, "0")}-${String(t).padStart(2, "0")}"`).join(" or ")}]`,
    })),
  });
  const declaration = (/** @type {number} */ k) =>
    JSON.stringify({
      name: `Adversarial ${k}`,
      description: "issue 20: 100 unique attributes, about 0.9 MB",
      attributes: Array.from({ length: 100 }, (_, i) => ({
        name: `a${i}`,
        type: "string",
        uniqueness: "server",
        description: `attribute ${i} `.padEnd(1000, "d"),
        canonicalValues: Array.from({ length: 38 }, (_, v) => `k${k}-a${i}-v${v}-`.padEnd(200, "c")),
      })),
    });
  const declarations = Array.from({ length: DECLARATIONS }, (_, k) => declaration(k));
  let k = 0;
  let created = 0;
  const put = () => request("PUT", `${BASE}/api/v1/${ATTACKER}/scim-schemas/${enc(ADVERSARIAL_URN(k))}`, ADMIN_TOKEN, declarations[k], { contentType: "application/json" });
  /** @type {{shape: string, send: () => ReturnType<typeof request>}[]} */
  const shapes = [
    { shape: "401 probe: 25-term phoneNumbers.type filter, count=1, garbage token, attacker's tenant", send: () => request("GET", `${attacker.url}${phonePath}`, garbage) },
    { shape: "401 probe: the same, a tenant that does not exist", send: () => request("GET", `${nowhere}${phonePath}`, garbage) },
    { shape: "GET /Users?count=1&filter=<25 × phoneNumbers.type eq … or …>, valid token", send: () => request("GET", `${attacker.url}${phonePath}`, attacker.token) },
    {
      shape: `PATCH /Groups/{${BIG_GROUP_MEMBERS} members}: 120 remove ops × 90-term members[display co …] (${Math.round(patchBody.length / 1024)} KB)`,
      send: () => request("PATCH", `${attacker.url}/Groups/${ids.big}`, attacker.token, patchBody),
    },
    { shape: `PUT scim-schemas/{urn}: 100 uniqueness: server attributes (${round(declarations[0].length / 2 ** 20, 2)} MiB), a new URN each round`, send: put },
    { shape: "PUT scim-schemas/{urn}: the same declaration again (nothing changed)", send: put },
    { shape: `GET /Schemas (up to ${DECLARATIONS} such declarations)`, send: () => request("GET", `${attacker.url}/Schemas`, attacker.token) },
    {
      shape: "POST /Users naming a declared extension URN",
      send: () =>
        request("POST", `${attacker.url}/Users`, attacker.token, {
          schemas: ["urn:ietf:params:scim:schemas:core:2.0:User", ADVERSARIAL_URN(0)],
          userName: `attacker.new${created++}@contoso.com`,
          [ADVERSARIAL_URN(0)]: { a0: `new-${randomUUID()}` },
        }),
    },
    { shape: "GET /Users?count=200 (unfiltered, first page)", send: () => request("GET", `${attacker.url}/Users?count=200`, attacker.token) },
    { shape: `GET /Users?startIndex=${PHONE_USERS + 1}&count=200 (a page of ~60 KB profiles)`, send: () => request("GET", `${attacker.url}/Users?startIndex=${PHONE_USERS + 1}&count=200`, attacker.token) },
    { shape: `GET /Users?startIndex=${N_LARGE - 1000}&count=200 (a far page)`, send: () => request("GET", `${attacker.url}/Users?startIndex=${N_LARGE - 1000}&count=200`, attacker.token) },
    { shape: 'GET /Users?count=200&filter=displayName co "…" (a scan)', send: () => request("GET", `${attacker.url}/Users?count=200&filter=${enc('displayName co "nomatch"')}`, attacker.token) },
    {
      shape: `GET /Users?count=200&filter=groups.display eq "<the group of ${N_LARGE.toLocaleString("en")}>"`,
      send: () => request("GET", `${attacker.url}/Users?count=200&filter=${enc(`groups.display eq "${ATTACKER} everyone"`)}`, attacker.token),
    },
    {
      shape: 'GET /Groups?excludedAttributes=members&filter=members.display co "…" or members.display co "…"',
      send: () => request("GET", `${attacker.url}/Groups?excludedAttributes=members&filter=${enc('members.display co "nomatch0" or members.display co "nomatch1"')}`, attacker.token),
    },
    { shape: `GET /Groups/{the group of ${N_LARGE.toLocaleString("en")}}`, send: () => request("GET", `${attacker.url}/Groups/${ids.everyone}`, attacker.token) },
  ];

  // ---- the bystander's lookups, open loop
  const lookup = (/** @type {number} */ n) =>
    request("GET", `${bystander.url}/Users?filter=${enc(`userName eq "${BYSTANDER}-user${(n * 7919) % 1000}@contoso.com"`)}`, bystander.token, undefined, { via: bystanderAgent });
  /** Lookups at BYSTANDER_RATE per second until `done()`. @param {() => boolean} done */
  const lookups = async (done) => {
    /** @type {number[]} */
    const times = [];
    /** @type {Record<string, number>} */
    const errors = {};
    const inflight = [];
    const start = performance.now();
    for (let n = 0; !done(); n++) {
      const wait = start + (n * 1000) / BYSTANDER_RATE - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      inflight.push(
        lookup(n).then(
          (res) => {
            if (res.status === 200 && res.json?.totalResults === 1) times.push(res.ms);
            else errors[res.status] = (errors[res.status] ?? 0) + 1;
          },
          (/** @type {any} */ e) => {
            errors[String(e.code ?? e.message)] = (errors[String(e.code ?? e.message)] ?? 0) + 1;
          },
        ),
      );
    }
    await Promise.all(inflight);
    return { n: times.length, p50: round(percentile(times, 50)), p99: round(percentile(times, 99)), max: round(Math.max(...times)), errors };
  };

  for (let n = 0; n < 20; n++) await lookup(n); // warm up
  console.log(`   the bystander alone: ${BASELINE_S} s of lookups at ${BYSTANDER_RATE}/s`);
  const baselineEnd = performance.now() + BASELINE_S * 1000;
  const alone = await lookups(() => performance.now() >= baselineEnd);

  // ---- the 401 probe: attacker's tenant and nowhere alternately, which goes first alternating too
  /** @type {Record<"attacker" | "nowhere", {ms: number, requestId?: string, status: number}[]>} */
  const probes = { attacker: [], nowhere: [] };
  const probeEnd = performance.now() + 30_000;
  for (let n = 0; n < 20 && (n < 6 || performance.now() < probeEnd); n++) {
    /** @type {("attacker" | "nowhere")[]} */
    const order = n % 2 === 0 ? ["attacker", "nowhere"] : ["nowhere", "attacker"];
    for (const where of order) {
      const res = await shapes[where === "attacker" ? 0 : 1].send();
      probes[where].push({ ms: res.ms, requestId: res.requestId, status: res.status });
    }
  }

  // ---- the attack, with the bystander's lookups alongside
  console.log(`   the attack: ${shapes.length} shapes back to back, each at least once, for ${ATTACK_S} s, the bystander's lookups alongside`);
  /** @type {{shape: string, status: number, ms: number, requestId?: string, detail?: string}[]} */
  const sent = [];
  let attacking = true;
  const attackStart = performance.now();
  const over = () => performance.now() - attackStart >= ATTACK_S * 1000;
  const during = lookups(() => !attacking);
  let rounds = 0;
  try {
    while (rounds === 0 || !over()) {
      for (const { shape, send } of shapes) {
        if (rounds > 0 && over()) break;
        // A connection the server drops is a result too (status 0), not the end of the run.
        const res = await send().catch((/** @type {any} */ e) => ({ status: 0, ms: NaN, json: { detail: `no answer: ${e.code ?? e.message}` }, requestId: undefined }));
        const detail = res.status >= 300 || res.status === 0 ? `${res.json?.scimType ? `${res.json.scimType}: ` : ""}${String(res.json?.detail ?? res.json?.title ?? "")}`.slice(0, 160) : undefined;
        sent.push({ shape, status: res.status, ms: res.ms, requestId: res.requestId, detail });
      }
      rounds++;
      k = (k + 1) % DECLARATIONS;
    }
  } finally {
    attacking = false;
  }
  const attackSeconds = (performance.now() - attackStart) / 1000;
  const withAttack = await during;
  bystanderAgent.destroy();

  // ---- each request's D1 time, from the log lines (wrangler writes the last ones a moment later)
  await new Promise((r) => setTimeout(r, 2000));
  const logs = logLines(logFile);
  const d1Of = (/** @type {string | undefined} */ id) => (id === undefined ? undefined : /** @type {number | undefined} */ (logs.get(id)?.d1?.ms));
  const measured = sent.map((r) => ({ ...r, d1Ms: d1Of(r.requestId) }));
  const accepted = measured.filter((r) => r.status >= 200 && r.status < 300);
  const unlogged = accepted.filter((r) => r.d1Ms === undefined).length;
  /** @type {(typeof measured)[number] | undefined} */
  let worst;
  for (const r of accepted) if (r.d1Ms !== undefined && (worst?.d1Ms === undefined || r.d1Ms > worst.d1Ms)) worst = r;
  const byShape = shapes.map(({ shape }) => {
    const rs = measured.filter((r) => r.shape === shape);
    /** @type {Record<string, number>} */
    const statuses = {};
    for (const r of rs) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    const d1 = /** @type {number[]} */ (rs.map((r) => r.d1Ms).filter((x) => x !== undefined));
    return {
      shape,
      n: rs.length,
      statuses,
      ms: { median: round(percentile(rs.map((r) => r.ms), 50)), max: round(Math.max(...rs.map((r) => r.ms))) },
      d1Ms: d1.length ? { median: round(percentile(d1, 50)), max: Math.max(...d1) } : null,
      refusal: rs.find((r) => r.detail)?.detail,
    };
  });
  const probe = (/** @type {{ms: number, requestId?: string, status: number}[]} */ xs) => {
    const ms = xs.map((x) => x.ms);
    const d1 = /** @type {number[]} */ (xs.map((x) => d1Of(x.requestId)).filter((x) => x !== undefined));
    return { n: xs.length, statuses: [...new Set(xs.map((x) => x.status))], median: round(percentile(ms, 50)), p10: round(percentile(ms, 10)), p90: round(percentile(ms, 90)), d1MsMedian: d1.length ? percentile(d1, 50) : null };
  };
  const big = probe(probes.attacker);
  const none = probe(probes.nowhere);
  return {
    data: {
      attackerUsers: N_LARGE,
      memberships: N_LARGE + BIG_GROUP_MEMBERS,
      phoneNumbers: `${PHONE_USERS} users × ${PHONES_PER_USER}`,
      bigProfiles: `${BIG_PROFILE_USERS} users of ~${Math.round(BIG_PROFILE_BYTES / 1000)} KB`,
      bigGroupMembers: BIG_GROUP_MEMBERS,
      bystanderUsers: 1000,
    },
    attackSeconds: round(attackSeconds, 1),
    rounds,
    requests: sent.length,
    shapes: byShape,
    worstAccepted: worst ? { shape: worst.shape, status: worst.status, d1Ms: worst.d1Ms, ms: round(worst.ms) } : null,
    acceptedWithoutLogLine: unlogged,
    bystander: { ratePerSecond: BYSTANDER_RATE, aloneSeconds: BASELINE_S, alone, duringAttack: withAttack },
    probe401: {
      attackerTenant: big,
      nonexistentTenant: none,
      // Within noise: each median lies inside the other side's p10–p90 spread.
      withinNoise: big.median >= none.p10 && big.median <= none.p90 && none.median >= big.p10 && none.median <= big.p90,
    },
    targets: {
      acceptedD1AtMost100ms: { value: worst?.d1Ms ?? null, pass: worst?.d1Ms !== undefined && unlogged === 0 && worst.d1Ms <= 100 },
      bystanderP99Under150ms: { value: withAttack.p99, pass: withAttack.p99 < 150 && Object.keys(withAttack.errors).length === 0 },
    },
  };
}

// ---- main ----------------------------------------------------------------------------------------

async function main() {
  results.machine = { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: round(totalmem() / 2 ** 30, 1), node: process.version, platform: `${process.platform} ${process.arch}` };
  console.log(`scim-edge bench: ${describeRun()}`);
  if (PEERS) return peers();
  if (SHARDS) return shardsRun();
  console.log(`scenarios: ${[...SELECTED].join(", ")}; ${N_USERS} users, large tenant ${N_LARGE}, sustained ${DURATION_S} s, on ${results.machine.cpus} × ${results.machine.cpu}`);
  rmSync(STATE, { recursive: true, force: true });
  mkdirSync(STATE, { recursive: true });
  wranglerSync(["d1", "migrations", "apply", "DB", "--local", "--persist-to", STATE]);
  let t = performance.now();
  const { seeded, users } = seed();
  console.log(`seeded ${users.toLocaleString("en")} users straight into D1 in ${round((performance.now() - t) / 1000, 1)} s`);
  /** @type {[string, () => Promise<any>][]} */
  const steps = [
    ["initialCycle", initialCycle],
    ["flatness", () => flatness(seeded)],
    ["sustained", sustained],
    ["ceiling", ceiling],
    ["worstFilter", worstFilter],
    ["decisions", () => decisions(seeded)],
  ];
  const plain = steps.filter(([name]) => SELECTED.has(name));
  if (plain.length) {
    const server = await startServer();
    try {
      for (const [name, run] of plain) {
        t = performance.now();
        results.scenarios[name] = await run();
        console.log(`${name} done in ${round((performance.now() - t) / 1000, 1)} s`);
      }
    } finally {
      await stop(server);
    }
  }
  if (SELECTED.has("adversarial")) {
    // Its own wrangler dev on the same state, printing the Worker's log lines (d1.ms) to a file.
    const logFile = join(ROOT, ".wrangler", "bench-adversarial.log");
    const server = await startServer({ log: logFile });
    try {
      t = performance.now();
      results.scenarios.adversarial = await adversarial(seeded.adversarial, logFile);
      console.log(`adversarial done in ${round((performance.now() - t) / 1000, 1)} s (wrangler dev's output: ${logFile})`);
    } finally {
      await stop(server);
    }
  }
  agent.destroy();
  writeResults();
  report();
}

/** `--peers`: scim-edge with fresh state next to the two peers (bench/side-by-side.mjs). */
async function peers() {
  const { sideBySide, reportSideBySide } = await import("./side-by-side.mjs");
  rmSync(STATE, { recursive: true, force: true });
  mkdirSync(STATE, { recursive: true });
  wranglerSync(["d1", "migrations", "apply", "DB", "--local", "--persist-to", STATE]);
  try {
    results.sideBySide = await sideBySide({ ROOT, PORT, args, request, pool, integration, startServer, percentile, round });
  } finally {
    agent.destroy();
  }
  writeResults();
  const ok = reportSideBySide(/** @type {Record<string, any>} */ (results.sideBySide));
  console.log(`\nwritten to bench/results.json (sideBySide): ${describeRun()}`);
  console.log(`load average (1/5/15 min) on ${results.machine.cpus} cores: ${RUN.loadAtStart.join(" / ")} at the start, ${RUN.loadAtEnd?.join(" / ")} at the end`);
  console.log(ok ? "targets met" : "TARGETS MISSED: see the table");
  process.exitCode = ok ? 0 : 1;
}

/** `--shards N`: the same tenants on one database and over N shards (bench/shards.mjs). */
async function shardsRun() {
  const { shardsBench, reportShards } = await import("./shards.mjs");
  try {
    results.shards = await shardsBench({ ROOT, PORT, ADMIN_TOKEN, args, request, pool, startServer, stop, logLines, percentile, round, directoryInserts });
  } finally {
    agent.destroy();
  }
  writeResults();
  reportShards(results.shards, printTable);
  console.log(`\nwritten to bench/results.json (shards.${results.shards?.shards}): ${describeRun()}`);
  console.log(`load average (1/5/15 min) on ${results.machine.cpus} cores: ${RUN.loadAtStart.join(" / ")} at the start, ${RUN.loadAtEnd?.join(" / ")} at the end`);
}

/** Prints the table of what this run measured, and its targets. */
function report() {
  const s = /** @type {any} */ (results.scenarios);
  const f = s.flatness;
  const large = N_LARGE.toLocaleString("en");
  /** @type {(string | number)[][]} */
  const rows = [];
  if (s.initialCycle) {
    rows.push(
      ["Entra initial cycle: users (lookup + create)", `${s.initialCycle.users} in ${s.initialCycle.usersSeconds} s`, `${s.initialCycle.usersPerSecond} users/s`],
      ["Entra initial cycle: 500 groups + 50,000 memberships", `${s.initialCycle.groupsAndMembershipsSeconds} s`, `${s.initialCycle.membershipsPerSecond} memberships/s`],
      ["Entra initial cycle: all objects", "", `${s.initialCycle.objectsPerSecond} objects/s`],
    );
  }
  if (f) {
    rows.push(
      ...["userName", "externalId", "workEmail"].map((k) => [
        `lookup by ${k}: 1,000 vs ${large} users`,
        `median ${f[k].small.median} / ${f[k].large.median} ms, p99 ${f[k].small.p99} / ${f[k].large.p99} ms`,
        `ratio ${f[k].ratio} (≤ 1.3)`,
      ]),
      [`member add+remove: 100 vs ${large} members`, `median ${f.memberAddRemove.small.median} / ${f.memberAddRemove.large.median} ms`, `ratio ${f.memberAddRemove.ratio} (≤ 1.3)`],
      ["GET /Groups?excludedAttributes=members", `median ${f.groupLookupExcludingMembers.small.median} / ${f.groupLookupExcludingMembers.large.median} ms`, `ratio ${f.groupLookupExcludingMembers.ratio} (≤ 1.3)`],
    );
  }
  if (s.sustained) rows.push([`sustained: 10 integrations × 25 req/s, ${s.sustained.seconds} s`, `median ${s.sustained.median} ms, p99 ${s.sustained.p99} ms`, `${s.sustained.errors} errors of ${s.sustained.requests}`]);
  if (s.ceiling) {
    rows.push(
      ["ceiling: ServiceProviderConfig", `${s.ceiling.serviceProviderConfig.perSecond} req/s`, `median ${s.ceiling.serviceProviderConfig.median} ms`],
      ["ceiling: GET /Users/{id}", `${s.ceiling.getUser.perSecond} req/s`, `${s.ceiling.throughputRatio} of the ceiling`],
    );
  }
  if (s.worstFilter) {
    rows.push(
      [
        `costliest allowed filter (2 walks over ${large} memberships)`,
        `median ${s.worstFilter.worst.median} ms, p99 ${s.worstFilter.worst.p99} ms`,
        `${s.worstFilter.worst.n} runs: ${Object.entries(s.worstFilter.worst.statuses).map(([st, n]) => `HTTP ${st}×${n}`).join(", ")}`,
      ],
      ["bystander tenant's GET /Users?count=1: alone / during", `median ${s.worstFilter.bystanderAlone.median} / ${s.worstFilter.bystanderDuring.median} ms`, `p99 ${s.worstFilter.bystanderAlone.p99} / ${s.worstFilter.bystanderDuring.p99} ms`],
      ["80-term members filter", `HTTP ${s.worstFilter.refused.status} in ${s.worstFilter.refused.ms} ms`, `refused: ${s.worstFilter.refused.scimType ?? "(no scimType)"}`],
    );
  }
  if (s.decisions) {
    rows.push([
      "authz check (10 checks, user in 10 groups): 100 vs 10,000 groups",
      `median ${s.decisions.small.median} / ${s.decisions.large.median} ms, p99 ${s.decisions.small.p99} / ${s.decisions.large.p99} ms`,
      `ratio ${s.decisions.ratio} (≤ 1.3)`,
    ]);
  }
  printTable(rows);
  let ok = true;
  if (f || s.decisions) {
    const ratios = [...(f ? ["userName", "externalId", "workEmail", "memberAddRemove", "groupLookupExcludingMembers"].map((k) => f[k].ratio) : []), ...(s.decisions ? [s.decisions.ratio] : [])];
    ok &&= ratios.every((r) => r <= 1.3);
  }
  if (s.sustained) ok &&= s.sustained.errors === 0;
  if (s.adversarial) ok = reportAdversarial(s.adversarial) && ok;
  console.log(`\nwritten to bench/results.json: ${describeRun()}`);
  console.log(`load average (1/5/15 min) on ${results.machine.cpus} cores: ${RUN.loadAtStart.join(" / ")} at the start, ${RUN.loadAtEnd?.join(" / ")} at the end`);
  console.log(ok ? "targets met" : "TARGETS MISSED: see the tables");
  process.exitCode = ok ? 0 : 1;
}

/** @param {(string | number)[][]} rows */
function printTable(rows) {
  if (!rows.length) return;
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  console.log("");
  for (const row of rows) console.log(`| ${row.map((cell, c) => String(cell).padEnd(widths[c])).join(" | ")} |`);
}

/** The adversarial scenario's tables and its two figures with their verdicts. @param {any} a */
function reportAdversarial(a) {
  const verdict = (/** @type {boolean} */ pass) => (pass ? "PASS" : "FAIL");
  console.log(`\nadversarial: ${a.requests} attacker requests in ${a.attackSeconds} s (${a.rounds} round${a.rounds === 1 ? "" : "s"} of ${a.shapes.length} shapes); ${a.data.attackerUsers.toLocaleString("en")} users, ${a.data.memberships.toLocaleString("en")} memberships, ${a.data.phoneNumbers} phoneNumbers, ${a.data.bigProfiles}, a ${a.data.bigGroupMembers}-member group`);
  printTable([
    ["attacker's request", "n", "statuses", "latency median / max ms", "D1 ms median / max"],
    ...a.shapes.map((/** @type {any} */ x) => [
      x.shape,
      x.n,
      Object.entries(x.statuses).map(([st, n]) => `${st}×${n}`).join(" "),
      `${x.ms.median} / ${x.ms.max}`,
      x.d1Ms ? `${x.d1Ms.median} / ${x.d1Ms.max}` : "no log line",
    ]),
  ]);
  const refused = a.shapes.filter((/** @type {any} */ x) => x.refusal);
  if (refused.length) {
    console.log("\nrefused (status, latency median / max, the server's words):");
    for (const x of refused) console.log(`  ${x.shape}: ${Object.keys(x.statuses).filter((st) => Number(st) >= 300).join("/")} in ${x.ms.median} / ${x.ms.max} ms: ${x.refusal}`);
  }
  const t = a.targets;
  const w = a.worstAccepted;
  console.log(
    `\n(a) largest D1 time of an accepted attacker request: ${w ? `${w.d1Ms} ms (${w.shape}, HTTP ${w.status}, answered in ${w.ms} ms)` : "none accepted"}` +
      `${a.acceptedWithoutLogLine ? `; ${a.acceptedWithoutLogLine} accepted requests had no log line` : ""}; target ≤ 100 ms: ${verdict(t.acceptedD1AtMost100ms.pass)}`,
  );
  const b = a.bystander;
  console.log(
    `(b) the bystander's userName lookups (${b.ratePerSecond}/s): p50 ${b.duringAttack.p50} ms, p99 ${b.duringAttack.p99} ms during the attack (n ${b.duringAttack.n}, max ${b.duringAttack.max} ms${Object.keys(b.duringAttack.errors).length ? `, errors ${JSON.stringify(b.duringAttack.errors)}` : ""}) ` +
      `vs p50 ${b.alone.p50} ms, p99 ${b.alone.p99} ms alone (n ${b.alone.n}); target p99 < 150 ms: ${verdict(t.bystanderP99Under150ms.pass)}`,
  );
  const p = a.probe401;
  console.log(
    `401 for a garbage token (25-term filter): median ${p.attackerTenant.median} ms (p10–p90 ${p.attackerTenant.p10}–${p.attackerTenant.p90}, D1 ${p.attackerTenant.d1MsMedian} ms) on the attacker's tenant ` +
      `vs ${p.nonexistentTenant.median} ms (${p.nonexistentTenant.p10}–${p.nonexistentTenant.p90}, D1 ${p.nonexistentTenant.d1MsMedian} ms) on a tenant that does not exist, ${p.attackerTenant.n} each: ` +
      `${p.withinNoise ? "within noise: PASS" : "apart: FAIL"} (statuses ${[...new Set([...p.attackerTenant.statuses, ...p.nonexistentTenant.statuses])].join(", ")})`,
  );
  return t.acceptedD1AtMost100ms.pass && t.bystanderP99Under150ms.pass && p.withinNoise;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
