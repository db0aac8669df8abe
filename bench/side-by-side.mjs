// `npm run bench -- --peers`: scim-edge next to the two leanest SCIM servers on npm, on the same
// machine, with the same client and the same work (issue 11).
//
//   npm run bench -- --peers [--directory 5000] [--requests 2000] [--concurrency 20] [--spc 1000] [--port 8788]
//
// The peers (bench/peers.package.json: SCIMMY 1.3.5 + scimmy-routers on express 4; Better Auth
// 1.7.5 + @better-auth/scim on node:sqlite) are installed on demand into bench/peers/ (ignored),
// their servers are bench/peer-*.mjs, copied there. The servers run one at a time, each fresh:
// --directory users provisioned over HTTP first (POST /Users, --concurrency in flight, which also
// warms each up), then the mix (25% POST /Users, 75% GET /Users?filter=userName eq "…" of
// provisioned users; --requests requests, --concurrency in flight, closed loop), then --spc
// requests of GET /ServiceProviderConfig. Between scim-edge and the peers, the same client drives a
// Worker that does nothing under the same wrangler dev: the runtime's floor, printed as its own row.
// Server CPU is utime + stime from /proc/<pid>/stat (every thread of the process) over each phase,
// divided by its requests. Under `wrangler dev` the request
// crosses three processes, reported apart: wrangler's ProxyWorker (a workerd serving the dev port),
// the workerd that runs the Worker (with its local D1 and Durable Objects), and wrangler's node
// process (which, among other things, prints each request's log line).
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { argv, descendants, parentOf, started, stop } from "./processes.mjs";

/**
 * @typedef {{status: number, ms: number, json: any}} Response
 * @typedef {{url: string, token: string}} Target
 * @typedef {{
 *   ROOT: string, PORT: number, args: Record<string, string>,
 *   request: (method: string, url: string, token: string, body?: unknown) => Promise<Response>,
 *   pool: <T>(tasks: (() => Promise<T>)[], concurrency: number) => Promise<T[]>,
 *   integration: (tenant: string) => Promise<{tenant: string, url: string, token: string}>,
 *   startServer: (options?: {script?: string, port?: number, state?: string}) => Promise<import("node:child_process").ChildProcess>,
 *   percentile: (xs: number[], p: number) => number,
 *   round: (x: number, d?: number) => number,
 * }} Deps
 */

const TICK_MS = 1000 / (Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100);

// ---- processes -----------------------------------------------------------------------------------

/** CPU time (user + system, every thread) a live process has used, in ms. @param {number} pid */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields[0] is field 3 (state)
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/**
 * The processes of one `wrangler dev` and what each does. `node_modules/.bin/wrangler` is a node
 * launcher that spawns wrangler's CLI (a second node process); the CLI runs esbuild and two workerd
 * processes: one serves the dev port (`--socket-addr=entry=127.0.0.1:<port>`: wrangler's
 * ProxyWorker, which forwards to the Worker), the other listens on a random port with the
 * inspector on and runs the Worker with its bindings (the local D1 and the Durable Objects).
 * @param {number} root @param {number} port
 */
function wranglerProcesses(root, port) {
  /** @type {{pid: number, parent: number, role: string, command: string}[]} */
  const out = [{ pid: root, parent: parentOf(root), role: "launcher", command: argv(root).slice(0, 3).join(" ") }];
  for (const pid of descendants(root)) {
    const a = argv(pid);
    const exe = basename(a[0] ?? "");
    let role = "other";
    if (exe === "workerd") role = a.includes(`--socket-addr=entry=127.0.0.1:${port}`) ? "proxy" : "worker";
    else if (exe === "node" && a.some((x) => x.endsWith("wrangler-dist/cli.js"))) role = "wrangler";
    else if (exe === "esbuild") role = "esbuild";
    out.push({ pid, parent: parentOf(pid), role, command: a.slice(0, 4).join(" ").slice(0, 160) });
  }
  return out;
}

/** Runs `fn`, returning its result, seconds, and each process's CPU ms over it. @template T */
async function measured(/** @type {number[]} */ pids, /** @type {() => Promise<T>} */ fn) {
  const before = pids.map(cpuMs);
  const client = process.cpuUsage();
  const started = performance.now();
  const result = await fn();
  const seconds = (performance.now() - started) / 1000;
  const clientUsage = process.cpuUsage(client);
  return { result, seconds, cpu: pids.map((pid, i) => cpuMs(pid) - before[i]), clientCpuMs: (clientUsage.user + clientUsage.system) / 1000 };
}

// ---- the peers -----------------------------------------------------------------------------------

/** Installs bench/peers.package.json into bench/peers/ when it is missing or outdated. @param {string} root */
function ensurePeers(root) {
  const dir = join(root, "bench", "peers");
  const template = readFileSync(join(root, "bench", "peers.package.json"), "utf8");
  const lock = readFileSync(join(root, "bench", "peers.package-lock.json"), "utf8");
  const pinned = /** @type {Record<string, string>} */ (JSON.parse(template).dependencies);
  const installedVersion = (/** @type {string} */ name) => {
    try {
      return JSON.parse(readFileSync(join(dir, "node_modules", name, "package.json"), "utf8")).version;
    } catch {
      return undefined;
    }
  };
  const current = existsSync(join(dir, "package.json")) ? readFileSync(join(dir, "package.json"), "utf8") : "";
  const upToDate = current === template && Object.entries(pinned).every(([name, version]) => installedVersion(name) === version);
  if (upToDate) return;
  console.log(`installing the peers into bench/peers/ (${Object.entries(pinned).map(([n, v]) => `${n}@${v}`).join(", ")})`);
  execFileSync("mkdir", ["-p", dir]);
  writeFileSync(join(dir, "package.json"), template);
  writeFileSync(join(dir, "package-lock.json"), lock);
  execFileSync("npm", ["install", "--prefix", dir, "--no-audit", "--no-fund"], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  const wrong = Object.entries(pinned).filter(([name, version]) => installedVersion(name) !== version);
  if (wrong.length) throw new Error(`bench/peers: ${wrong.map(([n, v]) => `${n} is ${installedVersion(n)}, not ${v}`).join("; ")}`);
}

/**
 * Starts one peer (bench/<script>, copied into bench/peers/ so that its imports resolve there) and
 * waits for its `ready <url> <token>` line.
 * @param {string} root @param {string} script @param {number} port @param {string[]} extra
 */
async function startPeer(root, script, port, extra = []) {
  const dir = join(root, "bench", "peers");
  copyFileSync(join(root, "bench", script), join(dir, script));
  const child = spawn(process.execPath, [join(dir, script), "--port", String(port), ...extra], {
    cwd: dir,
    env: { ...process.env, NODE_ENV: "production" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  started.add(child);
  const target = await new Promise((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => reject(new Error(`${script} did not print its ready line within 60 s`)), 60_000);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code ?? signal}) before it was ready`));
    });
    child.stdout?.on("data", (chunk) => {
      buffered += chunk;
      const match = buffered.match(/^ready (\S+) (\S+)$/m);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1], token: match[2] });
      }
    });
  });
  return { child, ...target };
}

// ---- the floor of wrangler dev ---------------------------------------------------------------------

// A Worker that does no work: it answers the mix's requests at once, in the shape the client checks
// (a lookup echoes the userName it was asked for). It runs under the project's own wrangler.toml
// (same compatibility date and flags, same bindings: D1, the Durable Object namespace, R2, assets
// with run_worker_first, vars, observability, placement) and the same `wrangler dev` command line
// as scim-edge (run.mjs's startServer); only the entry module, the port and the state directory
// differ. So it exports a Durable Object class of the bound name, which it never calls, and it
// writes no log line (scim-edge writes one per request). What its workerd spends per request is
// what wrangler dev's runtime costs before any code of ours runs: the floor under the Worker column.
const FLOOR_WORKER = `import { DurableObject } from "cloudflare:workers";
export class IntegrationWriter extends DurableObject {}
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (request.method === "POST") {
      await request.text();
      return Response.json({ id: crypto.randomUUID() }, { status: 201 });
    }
    const userName = /userName eq "([^"]*)"/.exec(url.searchParams.get("filter") ?? "")?.[1];
    return Response.json(userName === undefined ? { schemas: [] } : { totalResults: 1, Resources: [{ userName }] });
  },
};
`;

/**
 * Starts the floor Worker on `port`: the same startServer as scim-edge, with the floor's entry module.
 * @param {Deps} deps @param {number} port
 */
async function startFloor(deps, port) {
  const dir = mkdtempSync(join(tmpdir(), "scim-edge-bench-floor-"));
  writeFileSync(join(dir, "floor.mjs"), FLOOR_WORKER);
  const child = await deps.startServer({ script: join(dir, "floor.mjs"), port, state: join(dir, "state") });
  return { child, dir, url: `http://127.0.0.1:${port}/scim/v2`, token: "floor" };
}

// ---- the work ------------------------------------------------------------------------------------

const directoryUser = (/** @type {number} */ n) => `directory.user${n}@contoso.com`;
const userBody = (/** @type {string} */ userName, /** @type {number} */ n) => ({
  schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
  externalId: `ext-${userName}`,
  userName,
  active: true,
  emails: [{ primary: true, type: "work", value: userName }],
  name: { givenName: "Directory", familyName: `User ${n}` },
});

/**
 * Provisioning, the mix and ServiceProviderConfig against one server.
 * @param {Deps} deps @param {Target} target @param {number[]} pids
 * @param {{directory: number, requests: number, concurrency: number, spc: number}} o
 */
async function drive(deps, target, pids, o) {
  const { request, pool, percentile, round } = deps;
  const check = (/** @type {string} */ what, /** @type {Response} */ res, /** @type {number} */ status) => {
    if (res.status !== status) throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.json)?.slice(0, 300)}`);
    return res;
  };
  const provisioning = await measured(pids, () =>
    pool(
      Array.from({ length: o.directory }, (_, n) => async () => {
        check("provision", await request("POST", `${target.url}/Users`, target.token, userBody(directoryUser(n), n)), 201);
      }),
      o.concurrency,
    ),
  );
  /** @type {number[]} */
  const latencies = [];
  /** @type {Record<string, number>} */
  const errors = {};
  const mix = await measured(pids, () =>
    pool(
      Array.from({ length: o.requests }, (_, k) => async () => {
        let res;
        let ok;
        if (k % 4 === 0) {
          const userName = `mix.user${k}@contoso.com`;
          res = await request("POST", `${target.url}/Users`, target.token, userBody(userName, o.directory + k));
          ok = res.status === 201;
        } else {
          const userName = directoryUser((k * 7919) % o.directory);
          res = await request("GET", `${target.url}/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`, target.token);
          ok = res.status === 200 && res.json?.totalResults === 1 && res.json.Resources?.[0]?.userName === userName;
        }
        latencies.push(res.ms);
        if (!ok) errors[res.status] = (errors[res.status] ?? 0) + 1;
      }),
      o.concurrency,
    ),
  );
  /** @type {number[]} */
  const spcLatencies = [];
  const spc = await measured(pids, () =>
    pool(
      Array.from({ length: o.spc }, () => async () => {
        const res = check("ServiceProviderConfig", await request("GET", `${target.url}/ServiceProviderConfig`, target.token), 200);
        spcLatencies.push(res.ms);
      }),
      o.concurrency,
    ),
  );
  const perRequest = (/** @type {number[]} */ cpu, /** @type {number} */ n) => cpu.map((ms) => round(ms / n, 3));
  return {
    provisioning: { users: o.directory, seconds: round(provisioning.seconds, 1), perSecond: round(o.directory / provisioning.seconds, 1), cpuMsPerRequest: perRequest(provisioning.cpu, o.directory) },
    mix: {
      requests: o.requests,
      seconds: round(mix.seconds, 2),
      perSecond: round(o.requests / mix.seconds, 1),
      p50: round(percentile(latencies, 50)),
      p99: round(percentile(latencies, 99)),
      errors: Object.values(errors).reduce((a, b) => a + b, 0),
      errorsByStatus: errors,
      cpuMsPerRequest: perRequest(mix.cpu, o.requests),
      clientCpuMsPerRequest: round(mix.clientCpuMs / o.requests, 3),
    },
    serviceProviderConfig: {
      requests: o.spc,
      perSecond: round(o.spc / spc.seconds, 1),
      p50: round(percentile(spcLatencies, 50)),
      cpuMsPerRequest: perRequest(spc.cpu, o.spc),
    },
  };
}

/**
 * The whole comparison; scim-edge's fresh state is already prepared (migrated, not started).
 * @param {Deps} deps
 */
export async function sideBySide(deps) {
  const { ROOT, PORT, args } = deps;
  const o = {
    directory: Number(args.directory || 5000),
    requests: Number(args.requests || 2000),
    concurrency: Number(args.concurrency || 20),
    spc: Number(args.spc || 1000),
  };
  ensurePeers(ROOT);
  /** @type {Record<string, any>} */
  const out = { ...o, mix: "25% POST /Users, 75% GET /Users?filter=userName eq (a provisioned user)", servers: {} };

  // scim-edge under wrangler dev.
  console.log(`side by side: scim-edge (wrangler dev), ${o.directory} users, then ${o.requests} requests of the mix, ${o.concurrency} in flight`);
  const wrangler = await deps.startServer();
  started.add(wrangler);
  try {
    const procs = wranglerProcesses(/** @type {number} */ (wrangler.pid), PORT);
    const pids = procs.map((p) => p.pid);
    const it = await deps.integration("bench-peers");
    const run = await drive(deps, it, pids, o);
    // Which workerd runs the Worker: the one not serving the dev port, and the one whose CPU grows
    // with the requests the most. The two must agree.
    const workers = procs.filter((p) => p.role === "worker");
    const byGrowth = [...procs].sort((a, b) => run.provisioning.cpuMsPerRequest[pids.indexOf(b.pid)] - run.provisioning.cpuMsPerRequest[pids.indexOf(a.pid)]);
    if (workers.length !== 1) throw new Error(`expected one workerd besides the ProxyWorker under wrangler dev: ${JSON.stringify(procs)}`);
    const agree = byGrowth[0].pid === workers[0].pid;
    if (!agree) console.warn(`the workerd not serving the dev port (${workers[0].pid}) is not the one whose CPU grew most (${byGrowth[0].pid}): see processes in results.json`);
    const pick = (/** @type {any} */ section, /** @type {string} */ role) =>
      procs.filter((p) => p.role === role).reduce((sum, p) => sum + section.cpuMsPerRequest[pids.indexOf(p.pid)], 0);
    /** @type {Record<string, any>} */
    const server = { name: "scim-edge (wrangler dev)", short: "scim-edge", processes: procs, workerIsTheBusiestProcess: agree };
    for (const phase of /** @type {const} */ (["provisioning", "mix", "serviceProviderConfig"])) {
      const section = run[phase];
      server[phase] = {
        ...section,
        cpuMsPerRequest: {
          worker: deps.round(pick(section, "worker"), 3),
          proxyWorkerd: deps.round(pick(section, "proxy"), 3),
          wranglerNode: deps.round(pick(section, "wrangler"), 3),
          all: deps.round(section.cpuMsPerRequest.reduce((/** @type {number} */ a, /** @type {number} */ b) => a + b, 0), 3),
        },
      };
    }
    server.identification = `workerd pid ${workers[0].pid}, child of wrangler's node pid ${workers[0].parent}: the workerd not serving the dev port ${PORT} (that one, ${procs.filter((p) => p.role === "proxy").map((p) => p.pid).join(", ")}, is wrangler's ProxyWorker) ${agree ? "and" : "but NOT"} the process whose CPU grew most while provisioning`;
    out.servers.scimEdge = server;
  } finally {
    await stop(wrangler);
  }

  // The floor: the same client and requests against a Worker that does nothing, same wrangler dev.
  console.log("side by side: the floor of wrangler dev (a Worker that answers at once)");
  const floor = await startFloor(deps, PORT + 3);
  try {
    const procs = wranglerProcesses(/** @type {number} */ (floor.child.pid), PORT + 3);
    const pids = procs.map((p) => p.pid);
    // Its "directory" is 200 POSTs: warm-up only, nothing is stored.
    const run = await drive(deps, floor, pids, { ...o, directory: 200 });
    const pick = (/** @type {any} */ section, /** @type {string} */ role) =>
      procs.filter((p) => p.role === role).reduce((sum, p) => sum + section.cpuMsPerRequest[pids.indexOf(p.pid)], 0);
    /** @type {Record<string, any>} */
    const server = {
      name: "a Worker that answers at once, under the same wrangler dev (same wrangler.toml and command line; only the entry module differs)",
      short: "floor: no-op Worker",
      processes: procs,
    };
    for (const phase of /** @type {const} */ (["mix", "serviceProviderConfig"])) {
      server[phase] = {
        ...run[phase],
        cpuMsPerRequest: {
          worker: deps.round(pick(run[phase], "worker"), 3),
          proxyWorkerd: deps.round(pick(run[phase], "proxy"), 3),
          wranglerNode: deps.round(pick(run[phase], "wrangler"), 3),
          all: deps.round(run[phase].cpuMsPerRequest.reduce((/** @type {number} */ a, /** @type {number} */ b) => a + b, 0), 3),
        },
      };
    }
    out.floor = server;
  } finally {
    await stop(floor.child);
    rmSync(floor.dir, { recursive: true, force: true });
  }

  // The peers, one at a time.
  const stateDir = mkdtempSync(join(tmpdir(), "scim-edge-bench-peers-"));
  try {
    for (const [key, name, short, script, extra] of /** @type {[string, string, string, string, string[]][]} */ ([
      ["scimmy", "SCIMMY 1.3.5 + scimmy-routers 1.3.2 (express 4.22.3, in-memory store)", "SCIMMY (express, in memory)", "peer-scimmy.mjs", []],
      ["betterAuth", "Better Auth 1.7.5 + @better-auth/scim 1.7.5 (node:sqlite file)", "Better Auth (node:sqlite)", "peer-better-auth.mjs", ["--db", join(stateDir, "better-auth.sqlite")]],
    ])) {
      console.log(`side by side: ${name}`);
      const peer = await startPeer(ROOT, script, PORT + (key === "scimmy" ? 1 : 2), extra);
      try {
        const pid = /** @type {number} */ (peer.child.pid);
        const run = await drive(deps, peer, [pid], o);
        /** @type {Record<string, any>} */
        const server = { name, short, processes: [{ pid, role: "server", command: argv(pid).slice(0, 2).join(" ") }] };
        for (const phase of /** @type {const} */ (["provisioning", "mix", "serviceProviderConfig"])) {
          server[phase] = { ...run[phase], cpuMsPerRequest: { server: run[phase].cpuMsPerRequest[0] } };
        }
        out.servers[key] = server;
      } finally {
        await stop(peer.child);
      }
    }
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }

  // The targets, against the better peer on each measure.
  const s = out.servers;
  const peers = [s.scimmy, s.betterAuth];
  const bestCpu = Math.min(...peers.map((p) => p.mix.cpuMsPerRequest.server));
  const bestRate = Math.max(...peers.map((p) => p.mix.perSecond));
  out.targets = {
    workerCpuAtMostHalfTheBetterPeer: { ours: s.scimEdge.mix.cpuMsPerRequest.worker, limit: deps.round(bestCpu / 2, 3), pass: s.scimEdge.mix.cpuMsPerRequest.worker <= bestCpu / 2 },
    throughputAtLeastTheBetterPeer: { ours: s.scimEdge.mix.perSecond, limit: bestRate, pass: s.scimEdge.mix.perSecond >= bestRate },
    serviceProviderConfigCpuAtMost1ms: { ours: s.scimEdge.serviceProviderConfig.cpuMsPerRequest.worker, limit: 1, pass: s.scimEdge.serviceProviderConfig.cpuMsPerRequest.worker <= 1 },
  };
  for (const p of peers) {
    p.ours = {
      throughputRatio: deps.round(s.scimEdge.mix.perSecond / p.mix.perSecond),
      // The Worker's workerd alone, and the whole of wrangler dev, against the peer's one process.
      workerCpuRatio: deps.round(s.scimEdge.mix.cpuMsPerRequest.worker / p.mix.cpuMsPerRequest.server),
      wranglerDevCpuRatio: deps.round(s.scimEdge.mix.cpuMsPerRequest.all / p.mix.cpuMsPerRequest.server),
    };
  }
  return out;
}

/** Prints the one table: each CPU row names the process(es) it covers. @param {Record<string, any>} r */
export function reportSideBySide(r) {
  const s = r.servers;
  const t = r.targets;
  const verdict = (/** @type {{pass: boolean}} */ x) => (x.pass ? "PASS" : "FAIL");
  const header = ["server: process(es) the CPU figures cover", "mix req/s", "p50 ms", "p99 ms", "CPU ms/req (mix)", "CPU ms/req (SPC)", "ours: req/s ratio", "ours: CPU ratio", "CPU ≤ 0.5× better peer", "req/s ≥ better peer", "SPC CPU ≤ 1 ms"];
  const e = s.scimEdge;
  const blank = (/** @type {number} */ n) => Array.from({ length: n }, () => "");
  /** The three processes of a wrangler dev and their sum, as rows under its Worker's row. @param {any} x */
  const parts = (x) => [
    ["  + wrangler's ProxyWorker (workerd)", "", "", "", x.mix.cpuMsPerRequest.proxyWorkerd, x.serviceProviderConfig.cpuMsPerRequest.proxyWorkerd, ...blank(5)],
    ["  + wrangler's node process", "", "", "", x.mix.cpuMsPerRequest.wranglerNode, x.serviceProviderConfig.cpuMsPerRequest.wranglerNode, ...blank(5)],
    ["  = all of wrangler dev (every process)", "", "", "", x.mix.cpuMsPerRequest.all, x.serviceProviderConfig.cpuMsPerRequest.all, ...blank(5)],
  ];
  const rows = [
    [
      "scim-edge: the Worker's workerd",
      e.mix.perSecond,
      e.mix.p50,
      e.mix.p99,
      e.mix.cpuMsPerRequest.worker,
      e.serviceProviderConfig.cpuMsPerRequest.worker,
      "",
      "",
      `${verdict(t.workerCpuAtMostHalfTheBetterPeer)} (${t.workerCpuAtMostHalfTheBetterPeer.ours} vs ≤ ${t.workerCpuAtMostHalfTheBetterPeer.limit})`,
      `${verdict(t.throughputAtLeastTheBetterPeer)} (${t.throughputAtLeastTheBetterPeer.ours} vs ≥ ${t.throughputAtLeastTheBetterPeer.limit})`,
      `${verdict(t.serviceProviderConfigCpuAtMost1ms)} (${t.serviceProviderConfigCpuAtMost1ms.ours})`,
    ],
    ...parts(e),
    ...(r.floor
      ? [
          ["floor: a no-op Worker's workerd, same wrangler dev", r.floor.mix.perSecond, r.floor.mix.p50, r.floor.mix.p99, r.floor.mix.cpuMsPerRequest.worker, r.floor.serviceProviderConfig.cpuMsPerRequest.worker, ...blank(5)],
          ...parts(r.floor),
        ]
      : []),
    ...[s.scimmy, s.betterAuth].map((p) => [
      `${p.short}: its node process`,
      p.mix.perSecond,
      p.mix.p50,
      p.mix.p99,
      p.mix.cpuMsPerRequest.server,
      p.serviceProviderConfig.cpuMsPerRequest.server,
      `${p.ours.throughputRatio}×`,
      `Worker ${p.ours.workerCpuRatio}×, all ${p.ours.wranglerDevCpuRatio}×`,
      "",
      "",
      "",
    ]),
  ];
  const all = [header, ...rows].map((row) => row.map(String));
  const widths = header.map((_, c) => Math.max(...all.map((row) => row[c].length)));
  console.log("");
  console.log(`side by side: ${r.directory} users provisioned in each, then ${r.requests} requests (${r.mix}), ${r.concurrency} in flight; SPC: ${r.spc} requests`);
  all.forEach((row, i) => {
    console.log(`| ${row.map((cell, c) => cell.padEnd(widths[c])).join(" | ")} |`);
    if (i === 0) console.log(`| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`);
  });
  const errors = Object.values(s).reduce((n, p) => n + p.mix.errors, 0) + (r.floor?.mix.errors ?? 0);
  if (r.floor) {
    const less = (/** @type {number} */ a, /** @type {number} */ b) => Math.round((a - b) * 1000) / 1000;
    console.log(
      `the floor: a Worker that does nothing costs its workerd ${r.floor.mix.cpuMsPerRequest.worker} ms per request of the mix and ${r.floor.serviceProviderConfig.cpuMsPerRequest.worker} ms per GET ` +
        `(all of its wrangler dev: ${r.floor.mix.cpuMsPerRequest.all} and ${r.floor.serviceProviderConfig.cpuMsPerRequest.all} ms); ` +
        `scim-edge's Worker spends ${less(e.mix.cpuMsPerRequest.worker, r.floor.mix.cpuMsPerRequest.worker)} ms more on the mix and ${less(e.serviceProviderConfig.cpuMsPerRequest.worker, r.floor.serviceProviderConfig.cpuMsPerRequest.worker)} ms more on SPC ` +
        `(its own work and its per-request log line, which the floor does not write)`,
    );
  }
  console.log(`provisioning ${r.directory} users: ${Object.values(s).map((p) => `${p.short} ${p.provisioning.seconds} s`).join(", ")}; mix errors: ${errors}`);
  console.log(`peers: ${[s.scimmy, s.betterAuth].map((p) => p.name).join("; ")}`);
  console.log(`scim-edge's Worker: ${e.identification}`);
  return Object.values(t).every((x) => x.pass) && errors === 0;
}
