// `npm run bench -- --shards N`: the same tenants on one database, then spread over N shards.
//
//   npm run bench -- --shards 3 [--tenants-per-shard 4] [--tenant-users 2000] [--samples 300]
//                    [--heavy 30] [--port 8788]
//
// Each layout gets fresh local state and its own wrangler dev (on --port and --port + 1): the
// default configuration (`DB` is directory and only shard) and a copy of `[env.sharded]` with N
// shard bindings `SHARD_1..N` (written to `.wrangler/bench-shards.toml`, so N may exceed the three
// the environment declares). Tenants and integrations are made over HTTP, then their users are
// written straight into the D1 files as the service shapes them (identities and links in the
// directory, each tenant's views and the identity copies in its shard), and a lookup of a seeded
// user of every tenant is checked before anything is timed. Both servers then run at once and are
// measured side by side, request by request (which goes first alternates), over the tenants:
//   - per database: tenants, users, size (D1's page count × page size, and what D1 reports in
//     GET /api/v1/shards), the bytes a seeded user adds, in all and by table (SQLite's dbstat);
//   - SCIM lookup (`userName eq`) and create latency, overall and per shard, and the D1 round trips
//     and rows read of each, from the Worker's log lines;
//   - the directory's bytes per identity with its link (its growth over the seeding, divided by
//     identities), and dbstat's split between the identity and the link;
//   - the blast radius of a heavy tenant (creates, 100-user pages, `co` filters, 8 at a time, for
//     --heavy seconds, in rounds of 5 s alternating with as long without it; 0 skips it) on
//     bystanders' lookups: on its own database, and sharded also on another shard (alternating
//     request by request), alone and meanwhile, with the D1 time of each from its log line.
// Locally every database is a Durable Object in one workerd process on this machine's cores, so a
// heavy tenant's CPU slows everyone; the blast-radius figures separate the shared CPU (the other
// shard's bystander) from the shared database (the same shard's).
import { randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { DatabaseSync } from "node:sqlite";

const USER = "urn:ietf:params:scim:schemas:core:2.0:User";

/**
 * @typedef {{ status: number, ms: number, json: any, requestId: string | undefined }} Timed
 * @typedef {{
 *   ROOT: string, PORT: number, ADMIN_TOKEN: string, args: Record<string, string>,
 *   request: (method: string, url: string, token: string, body?: unknown) => Promise<Timed>,
 *   pool: <T>(tasks: (() => Promise<T>)[], concurrency: number) => Promise<T[]>,
 *   startServer: (options: { config?: string, env?: string, state?: string, log?: string, port?: number }) => Promise<import("node:child_process").ChildProcess>,
 *   stop: (child: import("node:child_process").ChildProcess) => Promise<void>,
 *   logLines: (file: string) => Map<string, any>,
 *   percentile: (xs: number[], p: number) => number, round: (x: number, d?: number) => number,
 *   directoryInserts: (db: DatabaseSync) => Record<"user" | "view" | "email", import("node:sqlite").StatementSync>,
 * }} Kit
 */

/**
 * Runs both layouts and returns what they measured.
 * @param {Kit} kit
 */
export async function shardsBench(kit) {
  const { args, ROOT } = kit;
  const n = Number(args.shards);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`--shards takes a whole number of shards from 1 to 64, not '${args.shards}'`);
  const perShard = Number(args["tenants-per-shard"] ?? 4);
  const users = Number(args["tenant-users"] ?? 2000);
  const samples = Number(args.samples ?? 300);
  const heavyS = Number(args.heavy ?? 30);
  for (const [flag, v] of Object.entries({ "tenants-per-shard": perShard, "tenant-users": users, samples })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${flag} takes a whole number from 1, not '${args[flag]}'`);
  }
  if (!(heavyS >= 0)) throw new Error(`--heavy takes seconds (0: no blast radius), not '${args.heavy}'`);
  if (heavyS > 0 && perShard < 2) throw new Error("--tenants-per-shard must be at least 2: the blast radius needs a bystander beside the heavy tenant");
  const tenants = n * perShard;
  console.log(`shards: ${tenants} tenants of ${users.toLocaleString("en")} users, on one database and on ${n} shard${n === 1 ? "" : "s"}; ${samples} samples each, side by side`);
  // Both layouts are prepared (each its own wrangler dev, state and port), then measured side by
  // side: request by request, alternating which layout goes first, so that both see the same
  // machine (its load drifts: it is shared). The blast radius then runs on each in turn.
  const single = await prepare(kit, { shards: 0, tenants, users, port: kit.PORT });
  try {
    const sharded = await prepare(kit, { shards: n, tenants, users, port: kit.PORT + 1 });
    try {
      const measured = await measure(kit, [single, sharded], { samples, users, heavyS });
      return { shards: n, tenants, usersPerTenant: users, samples, interleaved: true, single: measured[0], sharded: measured[1] };
    } finally {
      await kit.stop(sharded.server);
    }
  } finally {
    await kit.stop(single.server);
    rmSync(join(ROOT, ".wrangler", "bench-shards.toml"), { force: true });
  }
}

/**
 * @typedef {{ id: string, shard: string, url: string, token: string, userNames: string[] }} Placed
 * @typedef {{
 *   name: string, port: number, log: string, server: import("node:child_process").ChildProcess,
 *   placed: Placed[], seedSeconds: number, databases: any[], directory: any,
 * }} Prepared
 */

/**
 * One layout made ready: fresh state, tenants placed round-robin (over `shards` shards, or on `DB`
 * with 0), users seeded into the files, its server started again on `port` and a seeded user of
 * every tenant found over HTTP.
 * @param {Kit} kit @param {{ shards: number, tenants: number, users: number, port: number }} o @returns {Promise<Prepared>}
 */
async function prepare(kit, o) {
  const { ROOT, startServer, stop, round } = kit;
  const request = kit.request;
  const name = o.shards ? `${o.shards} shard${o.shards === 1 ? "" : "s"}` : "one database";
  const state = join(ROOT, ".wrangler", o.shards ? "bench-shards-sharded" : "bench-shards-single");
  rmSync(state, { recursive: true, force: true });
  mkdirSync(state, { recursive: true });
  const config = o.shards ? shardedConfig(ROOT, o.shards) : join(ROOT, "wrangler.toml");
  const env = o.shards ? "sharded" : undefined;
  const migrate = spawnSync(process.execPath, [join(ROOT, "scripts", "migrate.mjs"), "--local", "--persist-to", state, "--config", config, ...(env ? ["--env", env] : [])], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (migrate.status !== 0) throw new Error(`migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);
  const base = `http://127.0.0.1:${o.port}`;
  const log = join(ROOT, ".wrangler", `bench-shards-${o.shards ? "sharded" : "single"}.log`);

  // Tenants and their integrations over HTTP: placement and credentials as the service makes them.
  let server = await startServer({ config, env, state, log, port: o.port });
  /** @type {Placed[]} */
  const placed = [];
  try {
    for (let i = 0; i < o.tenants; i++) {
      const id = `bench-${String(i).padStart(3, "0")}`;
      const shard = o.shards ? `SHARD_${(i % o.shards) + 1}` : undefined;
      const made = await adminCall(kit, o.port, "POST", "/tenants", shard ? { id, shard } : { id });
      const integration = await adminCall(kit, o.port, "POST", `/${id}/integrations`, { name: `bench ${id}` });
      placed.push({ id, shard: made.shard, url: integration.endpoint.replace(/^https?:\/\/[^/]+/, base), token: integration.secretToken, userNames: [] });
    }
  } finally {
    await stop(server);
  }
  // Users straight into the files (the server is stopped), and the sizes before and after.
  const files = databaseFiles(state, o.shards);
  const before = Object.fromEntries(Object.entries(files).map(([binding, file]) => [binding, sizeOf(file)]));
  const tablesBefore = Object.fromEntries(Object.entries(files).map(([binding, file]) => [binding, tableBytes(file)]));
  let t = performance.now();
  seed(files, placed, o.users, Boolean(o.shards), kit.directoryInserts);
  const seedS = round((performance.now() - t) / 1000, 1);
  const after = Object.fromEntries(Object.entries(files).map(([binding, file]) => [binding, sizeOf(file)]));
  const tablesAfter = Object.fromEntries(Object.entries(files).map(([binding, file]) => [binding, tableBytes(file)]));
  /** What the seeding added to each table of a database, with its indexes, per user seeded there. */
  const perUser = (/** @type {string} */ binding, /** @type {number} */ count) =>
    Object.fromEntries(
      Object.entries(tablesAfter[binding])
        .map(([table, bytes]) => [table, round((bytes - (tablesBefore[binding][table] ?? 0)) / Math.max(1, count), 0)])
        .filter(([, b]) => Number(b) > 0),
    );
  const identities = o.tenants * o.users;
  const databases = Object.keys(files).sort((a, b) => Number(b === "DB") - Number(a === "DB") || a.localeCompare(b, "en", { numeric: true })).map((binding) => ({
    binding,
    role: binding === "DB" ? (o.shards ? "directory" : "directory and only shard") : "shard",
    // The directory holds a row of every tenant and every identity; a shard, its tenants' views.
    tenants: binding === "DB" && o.shards ? o.tenants : placed.filter((p) => p.shard === binding).length,
    users: binding === "DB" && o.shards ? identities : placed.filter((p) => p.shard === binding).length * o.users,
    bytes: after[binding],
    bytesPerUser: binding === "DB" && o.shards ? null : round((after[binding] - before[binding]) / Math.max(1, placed.filter((p) => p.shard === binding).length * o.users), 0),
    // By table (SQLite's dbstat, each table with its indexes): where a user's bytes go.
    bytesPerUserByTable: binding === "DB" && o.shards ? null : perUser(binding, placed.filter((p) => p.shard === binding).length * o.users),
    /** @type {number | null} */
    reportedBytes: null,
  }));
  const grew = o.shards ? perUser("DB", identities) : {};
  const directory = o.shards
    ? {
        identities,
        links: identities,
        grewBytes: after.DB - before.DB,
        bytesPerIdentityWithOneLink: round((after.DB - before.DB) / identities, 0),
        // dbstat's split: the identity (`users` and its two indexes), and a link (`identity_links`,
        // a rowid table with its primary key's index).
        bytesPerIdentity: grew.users ?? null,
        bytesPerLink: grew.identity_links ?? null,
      }
    : null;
  console.log(`  ${name}: seeded ${identities.toLocaleString("en")} users in ${seedS} s`);

  server = await startServer({ config, env, state, log, port: o.port });
  // A seeded user of every tenant is found over HTTP before anything is timed.
  for (const p of placed) {
    const probe = await lookup(request, p, p.userNames[o.users - 1]);
    if (probe.status !== 200 || probe.json?.totalResults !== 1) {
      await stop(server);
      throw new Error(`${p.id}: a seeded user was not found (HTTP ${probe.status} ${JSON.stringify(probe.json)})`);
    }
  }
  return { name, port: o.port, log, server, placed, seedSeconds: seedS, databases, directory };
}

/**
 * Lookups, then creates, alternating over the tenants and between the layouts request by request
 * (which layout goes first alternates too); then each layout's blast radius, the sizes D1
 * reports, and the D1 work of every request from the log lines.
 * @param {Kit} kit @param {Prepared[]} layouts @param {{ samples: number, users: number, heavyS: number }} o
 */
async function measure(kit, layouts, o) {
  const { request, pool, logLines } = kit;
  for (const l of layouts) await pool(l.placed.map((p) => () => lookup(request, p, p.userNames[0])), 4); // warm
  /** @type {{ shard: string, res: Timed }[][]} */
  const lookups = layouts.map(() => []);
  /** @type {{ shard: string, res: Timed }[][]} */
  const creates = layouts.map(() => []);
  const order = (/** @type {number} */ k) => (k % 2 === 0 ? layouts.map((_, i) => i) : layouts.map((_, i) => layouts.length - 1 - i));
  for (let k = 0; k < o.samples; k++) {
    for (const i of order(k)) {
      const p = layouts[i].placed[k % layouts[i].placed.length];
      lookups[i].push({ shard: p.shard, res: await lookup(request, p, p.userNames[(k * 7919) % o.users]) });
    }
  }
  for (let k = 0; k < o.samples; k++) {
    for (const i of order(k)) {
      const p = layouts[i].placed[k % layouts[i].placed.length];
      const res = await request("POST", `${p.url}/Users`, p.token, { schemas: [USER], userName: `created-${k}-${randomUUID().slice(0, 8)}@contoso.com` });
      if (res.status !== 201) throw new Error(`${p.id}: a create answered HTTP ${res.status} ${JSON.stringify(res.json)}`);
      creates[i].push({ shard: p.shard, res });
    }
  }
  const blasts = [];
  for (const l of layouts) blasts.push(o.heavyS ? await blastRadius(kit, l.placed, o.heavyS, o.users) : null);
  const out = [];
  for (const [i, l] of layouts.entries()) {
    // What each database's D1 reports as its size (GET /api/v1/shards), beside the file's.
    const listed = await adminCall(kit, l.port, "GET", "/shards");
    for (const d of l.databases) d.reportedBytes = listed.shards.find((/** @type {any} */ s) => s.name === d.binding)?.sizeBytes ?? null;
  }
  await new Promise((r) => setTimeout(r, 500)); // the last log lines reach the files
  for (const [i, l] of layouts.entries()) {
    const lines = logLines(l.log);
    const blast = blasts[i];
    out.push({
      layout: l.name,
      seedSeconds: l.seedSeconds,
      databases: l.databases,
      directory: l.directory,
      lookup: latency(kit, lookups[i], lines),
      create: latency(kit, creates[i], lines),
      blastRadius: blast ? summarizeBlast(kit, blast, lines) : null,
    });
  }
  return out;
}

/**
 * An admin API call on the bench's server on `port`.
 * @param {Kit} kit @param {number} port @param {string} method @param {string} path @param {unknown} [body]
 */
async function adminCall(kit, port, method, path, body) {
  const res = await kit.request(method, `http://127.0.0.1:${port}/api/v1${path}`, kit.ADMIN_TOKEN, body);
  if (res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(res.json)}`);
  return res.json;
}

/** @param {Kit["request"]} request @param {{ url: string, token: string }} p @param {string} userName */
function lookup(request, p, userName) {
  return request("GET", `${p.url}/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`, p.token);
}

/**
 * Latency overall and per shard, with the D1 work of the median request from its log line.
 * @param {Kit} kit @param {{ shard: string, res: Timed }[]} timed @param {Map<string, any>} lines
 */
function latency(kit, timed, lines) {
  const { percentile, round } = kit;
  const summary = (/** @type {{ res: Timed }[]} */ xs) => {
    const ms = xs.map((x) => x.res.ms);
    const d1 = xs.map((x) => lines.get(x.res.requestId ?? "")?.d1).filter(Boolean);
    return {
      n: xs.length,
      p50: round(percentile(ms, 50)),
      p99: round(percentile(ms, 99)),
      roundTrips: d1.length ? percentile(d1.map((d) => d.roundTrips ?? 0), 50) : null,
      rowsRead: d1.length ? percentile(d1.map((d) => d.rowsRead ?? 0), 50) : null,
    };
  };
  const shards = [...new Set(timed.map((x) => x.shard))].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  return { all: summary(timed), byShard: Object.fromEntries(shards.map((s) => [s, summary(timed.filter((x) => x.shard === s))])) };
}

/**
 * A heavy tenant (creates, 100-user list pages and `co` filters over its userNames, 8 at a time)
 * against bystanders making lookups one after another: one on the heavy tenant's database and,
 * when there are shards, one on another shard. Their latency alone, then with the heavy tenant;
 * the D1 time of each request from its log line once the run is over (`summarizeBlast`).
 * @param {Kit} kit @param {{ id: string, shard: string, url: string, token: string, userNames: string[] }[]} placed
 * @param {number} seconds @param {number} users
 */
async function blastRadius(kit, placed, seconds, users) {
  const { request } = kit;
  const home = placed[0]?.shard ?? "DB";
  const [heavy, same] = placed.filter((p) => p.shard === home);
  const other = placed.find((p) => p.shard !== home);
  if (!heavy || !same) return null;
  const sides = /** @type {["same" | "other", typeof same][]} */ ([["same", same], ...(other ? [/** @type {const} */ (["other", other])] : [])]);
  /** @param {number} ms */
  const bystand = async (ms) => {
    /** @type {{ same: Timed[], other: Timed[] }} */
    const out = { same: [], other: [] };
    const end = Date.now() + ms;
    let k = 0;
    while (Date.now() < end) {
      for (const [side, p] of sides) {
        const res = await lookup(request, p, p.userNames[(k++ * 104729) % p.userNames.length]);
        if (res.status !== 200) throw new Error(`bystander ${p.id}: HTTP ${res.status}`);
        out[side].push(res);
      }
    }
    return out;
  };
  // Rounds of 5 s alone, then 5 s with the heavy tenant, so both phases see the machine's drift.
  /** @type {{ same: Timed[], other: Timed[] }} */
  const alone = { same: [], other: [] };
  /** @type {{ same: Timed[], other: Timed[] }} */
  const during = { same: [], other: [] };
  /** @type {Timed[]} */
  const heavyTimed = [];
  const pages = Math.max(1, users - 100);
  let heavySeconds = 0;
  const rounds = Math.max(1, Math.round(seconds / 5));
  for (let r = 0; r < rounds; r++) {
    const quiet = await bystand((seconds / rounds) * 1000);
    alone.same.push(...quiet.same);
    alone.other.push(...quiet.other);
    let stopHeavy = false;
    const t0 = performance.now();
    const workers = Array.from({ length: 8 }, async (_, w) => {
      for (let k = 0; !stopHeavy; k++) {
        const n = r * 1_000_000 + k;
        // A create, a 100-user page, and a `co` filter that walks the tenant's userName index.
        const res =
          k % 3 === 0
            ? await request("POST", `${heavy.url}/Users`, heavy.token, { schemas: [USER], userName: `heavy-${w}-${n}-${randomUUID().slice(0, 6)}@contoso.com` })
            : k % 3 === 1
              ? await request("GET", `${heavy.url}/Users?count=100&startIndex=${1 + ((n * 37) % pages)}`, heavy.token)
              : await request("GET", `${heavy.url}/Users?count=10&filter=${encodeURIComponent(`userName co "x${w}${n}"`)}`, heavy.token);
        heavyTimed.push(res);
      }
    });
    const busy = await bystand((seconds / rounds) * 1000);
    stopHeavy = true;
    await Promise.all(workers);
    heavySeconds += (performance.now() - t0) / 1000;
    during.same.push(...busy.same);
    during.other.push(...busy.other);
  }
  return {
    heavy: { tenant: heavy.id, shard: heavy.shard, timed: heavyTimed, seconds: heavySeconds },
    same: { tenant: same.id, shard: same.shard, alone: alone.same, during: during.same },
    other: other ? { tenant: other.id, shard: other.shard, alone: alone.other, during: during.other } : null,
  };
}

/**
 * The blast radius's figures: latency and D1 time (from the log lines) of the bystanders alone
 * and meanwhile, and how much D1 time the heavy tenant took per second of the run.
 * @param {Kit} kit @param {NonNullable<Awaited<ReturnType<typeof blastRadius>>>} b @param {Map<string, any>} lines
 */
function summarizeBlast(kit, b, lines) {
  const { percentile, round } = kit;
  const d1ms = (/** @type {Timed[]} */ xs) => xs.map((x) => lines.get(x.requestId ?? "")?.d1?.ms).filter((v) => typeof v === "number");
  const summary = (/** @type {Timed[]} */ xs) => {
    const ms = xs.map((x) => x.ms);
    const d1 = d1ms(xs);
    return {
      n: xs.length,
      p50: round(percentile(ms, 50)),
      p99: round(percentile(ms, 99)),
      d1p50: d1.length ? round(percentile(d1, 50)) : null,
      d1p99: d1.length ? round(percentile(d1, 99)) : null,
    };
  };
  const bystander = (/** @type {{ tenant: string, shard: string, alone: Timed[], during: Timed[] } | null} */ s) =>
    s ? { tenant: s.tenant, shard: s.shard, alone: summary(s.alone), withHeavy: summary(s.during) } : null;
  const heavyD1 = d1ms(b.heavy.timed);
  return {
    heavy: {
      tenant: b.heavy.tenant,
      shard: b.heavy.shard,
      concurrency: 8,
      requests: b.heavy.timed.length,
      errors: b.heavy.timed.filter((x) => x.status >= 300).length,
      perSecond: round(b.heavy.timed.length / b.heavy.seconds, 1),
      p50: round(percentile(b.heavy.timed.map((x) => x.ms), 50)),
      p99: round(percentile(b.heavy.timed.map((x) => x.ms), 99)),
      // D1 time its requests waited on, per second of wall time: > 1000 means several in flight.
      d1MsPerSecond: round(heavyD1.reduce((a, v) => a + v, 0) / b.heavy.seconds, 0),
    },
    sameShard: bystander(b.same),
    otherShard: bystander(b.other),
  };
}

/**
 * `[env.sharded]` with `count` shard bindings instead of its own, the rest of wrangler.toml as it
 * is, written to `.wrangler/bench-shards.toml` (wrangler resolves the paths in it from there).
 * @param {string} root @param {number} count
 */
function shardedConfig(root, count) {
  const text = readFileSync(join(root, "wrangler.toml"), "utf8");
  const blocks = text.split(/(?=^\[\[env\.sharded\.d1_databases\]\])/m);
  const head = blocks[0];
  const last = blocks.at(-1) ?? "";
  // What follows the last d1 block (the Durable Objects, R2) stays.
  const rest = last.slice(last.search(/^\[(?!\[env\.sharded\.d1_databases\])/m));
  if (blocks.length < 2 || !rest.startsWith("[")) throw new Error("wrangler.toml: [env.sharded] has no d1_databases to replace");
  const d1 = (/** @type {string} */ binding, /** @type {string} */ name, /** @type {number} */ k) =>
    `[[env.sharded.d1_databases]]\nbinding = "${binding}"\ndatabase_name = "${name}"\ndatabase_id = "00000000-0000-0000-0000-${String(10 + k).padStart(12, "0")}"\nmigrations_dir = "drizzle"\n\n`;
  const databases = [d1("DB", "scim-edge-directory", 0), ...Array.from({ length: count }, (_, i) => d1(`SHARD_${i + 1}`, `scim-edge-shard-${i + 1}`, i + 1))];
  const file = join(root, ".wrangler", "bench-shards.toml");
  mkdirSync(join(root, ".wrangler"), { recursive: true });
  // Paths in the copy are resolved from .wrangler/: point them back at the project.
  const fixed = `${head}${databases.join("")}${rest}`
    .replace(/^main = "([^"]+)"/m, 'main = "../$1"')
    .replace(/^directory = "([^"]+)"/m, 'directory = "../$1"')
    .replaceAll('migrations_dir = "drizzle"', 'migrations_dir = "../drizzle"');
  writeFileSync(file, fixed);
  return file;
}

/**
 * The D1 files of a layout by binding. Each database is a file named by a hash of its id, so they
 * are told apart by what they hold: the directory has tenants and no integrations (with one
 * database, the one file is both); a shard's tenants rows name it.
 * @param {string} state @param {number} shards @returns {Record<string, string>}
 */
function databaseFiles(state, shards) {
  const dir = join(state, "v3", "d1", "miniflare-D1DatabaseObject");
  const files = readdirSync(dir).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite").map((f) => join(dir, f));
  if (!shards) {
    if (files.length !== 1) throw new Error(`expected one D1 file in ${dir}, found ${files.length}`);
    return { DB: files[0] };
  }
  /** @type {Record<string, string>} */
  const byBinding = {};
  for (const file of files) {
    const db = new DatabaseSync(file, { readOnly: true });
    const integrations = Number(db.prepare("select count(*) as n from integrations").get()?.n ?? 0);
    const homes = /** @type {{ shard: string }[]} */ (db.prepare("select distinct shard from tenants").all());
    db.close();
    if (integrations === 0 && homes.length > 0) byBinding.DB = file;
    else if (homes.length === 1) byBinding[homes[0].shard] = file;
  }
  const missing = ["DB", ...Array.from({ length: shards }, (_, i) => `SHARD_${i + 1}`)].filter((b) => !byBinding[b]);
  if (missing.length) throw new Error(`could not tell which D1 file is ${missing.join(", ")} in ${dir}`);
  return byBinding;
}

/**
 * Bytes of each table with its indexes (SQLite's dbstat), by table name.
 * @param {string} file @returns {Record<string, number>}
 */
function tableBytes(file) {
  const db = new DatabaseSync(file, { readOnly: true });
  const rows = /** @type {{ t: string, b: number }[]} */ (
    db.prepare("select m.tbl_name as t, sum(d.pgsize) as b from dbstat d join sqlite_schema m on m.name = d.name group by m.tbl_name").all()
  );
  db.close();
  return Object.fromEntries(rows.map((r) => [r.t, Number(r.b)]));
}

/** A database file's size as SQLite counts it. @param {string} file */
function sizeOf(file) {
  const db = new DatabaseSync(file, { readOnly: true });
  const pages = Number(db.prepare("pragma page_count").get()?.page_count ?? 0);
  const size = Number(db.prepare("pragma page_size").get()?.page_size ?? 0);
  db.close();
  return pages * size;
}

/**
 * `users` users per tenant, as the service writes them: with one database, identity and view in
 * the one file; sharded, the identity and its link in the directory, and in the tenant's shard the
 * identity's copy, the view and its email. Records each tenant's userNames.
 * @param {Record<string, string>} files @param {{ id: string, shard: string, userNames: string[] }[]} placed @param {number} users @param {boolean} sharded
 * @param {Kit["directoryInserts"]} directoryInserts
 */
function seed(files, placed, users, sharded, directoryInserts) {
  const open = Object.fromEntries(Object.entries(files).map(([binding, file]) => [binding, new DatabaseSync(file)]));
  for (const db of Object.values(open)) db.exec("BEGIN");
  // The main bench's statements (one shape of each row for both), and the directory's link.
  const statements = Object.fromEntries(
    Object.entries(open).map(([binding, db]) => {
      const { user, view, email } = directoryInserts(db);
      return [binding, { identity: user, view, email, link: db.prepare("INSERT INTO identity_links (user_id, tenant_id) VALUES (?, ?)") }];
    }),
  );
  const now = Date.now();
  for (const p of placed) {
    const home = statements[p.shard];
    if (!home) throw new Error(`no D1 file for ${p.shard}`);
    for (let k = 0; k < users; k++) {
      const id = randomUUID();
      const userName = `${p.id}-user${k}@contoso.com`;
      const key = userName.toLowerCase();
      const profile = JSON.stringify({ name: { givenName: "User", familyName: `N${k}` }, emails: [{ value: userName, type: "work", primary: true }] });
      home.identity.run(id, userName, key, now, now);
      if (sharded) {
        statements.DB.identity.run(id, userName, key, now, now);
        statements.DB.link.run(id, p.id);
      }
      home.view.run(p.id, id, userName, key, profile, `${p.id}-ext-${k}`, now, now);
      home.email.run(p.id, id, userName, key);
      p.userNames.push(userName);
    }
  }
  for (const db of Object.values(open)) {
    db.exec("COMMIT");
    db.close();
  }
}

/**
 * The table of a `--shards` run.
 * @param {any} r @param {(rows: (string | number)[][]) => void} printTable
 */
export function reportShards(r, printTable) {
  const fmt = (/** @type {any} */ s) => (s ? `${s.p50} / ${s.p99} ms (${s.roundTrips ?? "?"} trips, ${s.rowsRead ?? "?"} rows)` : "–");
  console.log(`\n${r.tenants} tenants × ${r.usersPerTenant.toLocaleString("en")} users on one database and on ${r.shards} shards, measured side by side (p50 / p99, D1 work of the median)`);
  /** @type {(string | number)[][]} */
  const rows = [["", "one database", `${r.shards} shards`]];
  rows.push(["lookup, all", fmt(r.single.lookup.all), fmt(r.sharded.lookup.all)]);
  rows.push(["create, all", fmt(r.single.create.all), fmt(r.sharded.create.all)]);
  for (const shard of Object.keys(r.sharded.lookup.byShard)) {
    rows.push([`lookup, ${shard}`, "", fmt(r.sharded.lookup.byShard[shard])]);
    rows.push([`create, ${shard}`, "", fmt(r.sharded.create.byShard[shard])]);
  }
  printTable(rows);
  console.log("\ndatabases (after seeding; size: the file's pages, and what D1 reports in GET /api/v1/shards after the timed requests):");
  printTable([
    ["layout", "binding", "role", "tenants at home", "users", "size", "D1 reports", "bytes per user", "users in 8 GB"],
    ...[r.single, r.sharded].flatMap((l) =>
      l.databases.map((/** @type {any} */ d) => [
        l.layout,
        d.binding,
        d.role,
        d.tenants,
        d.users,
        `${(d.bytes / 1e6).toFixed(1)} MB`,
        d.reportedBytes === null || d.reportedBytes === undefined ? "–" : `${(d.reportedBytes / 1e6).toFixed(1)} MB`,
        d.bytesPerUser ?? "–",
        d.bytesPerUser ? Math.floor(8e9 / d.bytesPerUser).toLocaleString("en") : "–",
      ]),
    ),
  ]);
  const byTable = r.sharded.databases.find((/** @type {any} */ d) => d.bytesPerUserByTable)?.bytesPerUserByTable;
  if (byTable) console.log(`a user on a shard, by table (with indexes): ${Object.entries(byTable).map(([t, b]) => `${t} ${b} B`).join(", ")}`);
  if (r.sharded.directory) {
    const d = r.sharded.directory;
    console.log(
      `directory: +${(d.grewBytes / 1e6).toFixed(2)} MB for ${d.identities.toLocaleString("en")} identities with one link each: ${d.bytesPerIdentityWithOneLink} bytes per identity and link` +
        ` (dbstat: ${d.bytesPerIdentity} B the identity, ${d.bytesPerLink} B the link); 10 GB hold ${Math.floor(10e9 / d.bytesPerIdentityWithOneLink).toLocaleString("en")} such identities`,
    );
  }
  if (!r.single.blastRadius && !r.sharded.blastRadius) console.log("\nblast radius: not measured (--heavy 0)");
  const trips = (/** @type {any} */ l) => l.create.all.roundTrips;
  console.log(`a user create: ${trips(r.single)} D1 round trips on one database, ${trips(r.sharded)} sharded (the directory's link)`);
  for (const l of [r.single, r.sharded]) {
    const b = l.blastRadius;
    if (!b) continue;
    const row = (/** @type {string} */ label, /** @type {any} */ s) => [
      `${label}: ${s.tenant} on ${s.shard}`,
      `${s.alone.p50} / ${s.alone.p99} ms (D1 ${s.alone.d1p50 ?? "?"} / ${s.alone.d1p99 ?? "?"})`,
      `${s.withHeavy.p50} / ${s.withHeavy.p99} ms (D1 ${s.withHeavy.d1p50 ?? "?"} / ${s.withHeavy.d1p99 ?? "?"})`,
      `${s.alone.n} / ${s.withHeavy.n}`,
    ];
    console.log(
      `\nblast radius, ${l.layout}: ${b.heavy.tenant} on ${b.heavy.shard} sends ${b.heavy.perSecond} requests/s (creates, 100-user pages, co filters; ${b.heavy.concurrency} at a time; ` +
        `p50 ${b.heavy.p50} ms, ${b.heavy.errors} errors; its requests waited ${b.heavy.d1MsPerSecond} ms on D1 per second)`,
    );
    printTable([
      ["bystander lookups", "alone p50 / p99", "with the heavy tenant p50 / p99", "samples"],
      row("same database", b.sameShard),
      ...(b.otherShard ? [row("other shard", b.otherShard)] : []),
    ]);
  }
  console.log(
    "\nLocally every D1 database is a Durable Object inside one workerd process, sharing this machine's cores with the Worker and the client:" +
      " a heavy tenant's CPU slows every bystander. The same-database bystander minus the other-shard one is what sharing a database costs.",
  );
}
