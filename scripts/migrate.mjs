// Applies drizzle/ to every D1 database of a wrangler environment: the directory (`DB`) first,
// then each shard (`SHARD_n`), one `wrangler d1 migrations apply` each.
//   node scripts/migrate.mjs --local|--remote [--env NAME] [--persist-to DIR] [--config FILE]
// One line per database; wrangler's own output only when it fails (then the exit code is not 0).
// The bindings come from wrangler's reader of wrangler.toml, so the environment is resolved the
// way `wrangler dev` and `wrangler deploy` resolve it.
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { envWithNode22, ROOT } from "./node22.mjs";

const USAGE = "usage: node scripts/migrate.mjs --local|--remote [--env NAME] [--persist-to DIR] [--config FILE]";

// Wrangler's reader needs Node >= 22, like wrangler: on an older one, run again on Node 24.
if (Number(process.versions.node.split(".")[0]) < 22) {
  const again = spawnSync("node", process.argv.slice(1), { env: envWithNode22(), stdio: "inherit" });
  process.exit(again.status ?? 1);
}

/** @param {string} message @returns {never} */
function fail(message) {
  console.error(`[scim-edge] ${message}`);
  process.exit(1);
}

/**
 * @type {{
 *   local?: boolean; remote?: boolean; env?: string; "persist-to"?: string; config?: string
 * }}
 */
let options;
try {
  options = parseArgs({
    options: {
      local: { type: "boolean" },
      remote: { type: "boolean" },
      env: { type: "string" },
      "persist-to": { type: "string" },
      // Another wrangler config than the project's (the bench's generated one).
      config: { type: "string" },
    },
  }).values;
} catch (error) {
  fail(`${error instanceof Error ? error.message : error}\n${USAGE}`);
}
if (options.local === options.remote) fail(`say where to migrate: --local or --remote, one of them\n${USAGE}`);
if (options.remote && options["persist-to"]) fail("--persist-to is for --local only");
const where = options.local ? "--local" : "--remote";
const envName = options.env || undefined;
const configFile = options.config ? resolve(options.config) : join(ROOT, "wrangler.toml");

const { unstable_readConfig } = await import("wrangler");
/** @type {{ binding: string; database_name?: string }[]} */
let databases;
try {
  const config = unstable_readConfig({ config: configFile, env: envName }, { hideWarnings: true });
  // Typed by hand: wrangler's .d.ts takes Config from @cloudflare/workers-utils, which wrangler
  // bundles rather than installs, so it reads as `any` here.
  /** @type {{ binding: string; database_name?: string }[]} */
  const declared = config.d1_databases;
  databases = declared.map(({ binding, database_name }) => ({ binding, database_name }));
} catch (error) {
  // Wrangler's message names the problem, e.g. an environment wrangler.toml does not declare.
  fail(`cannot read wrangler.toml${envName ? ` for --env ${envName}` : ""}: ${error instanceof Error ? error.message : error}`);
}
if (!databases.some((d) => d.binding === "DB")) fail(`no D1 binding DB in ${envName ? `[env.${envName}]` : "wrangler.toml"}`);
// The directory first: a shard is of no use until the directory can say which tenants it holds.
databases.sort((a, b) => Number(b.binding === "DB") - Number(a.binding === "DB"));

const env = { ...envWithNode22(), CI: "true", NO_COLOR: "1" }; // CI: wrangler never prompts
const wrangler = join(ROOT, "node_modules", ".bin", "wrangler");
const scope = [
  ...(options.config ? ["--config", configFile] : []),
  ...(envName ? ["--env", envName] : []),
  ...(options["persist-to"] ? ["--persist-to", options["persist-to"]] : []),
];
for (const { binding, database_name } of databases) {
  const args = ["d1", "migrations", "apply", binding, where, ...scope];
  const run = spawnSync(wrangler, args, { cwd: ROOT, env, encoding: "utf8" });
  const name = `${options.local ? "local" : "remote"} D1 ${binding}${database_name ? ` (${database_name})` : ""}`;
  if (run.status !== 0) {
    process.stdout.write(run.stdout ?? "");
    process.stderr.write(run.stderr ?? "");
    if (run.error) console.error(run.error.message);
    fail(`applying the migrations to ${name} failed; see above (wrangler ${args.join(" ")}).`);
  }
  // Wrangler draws a table of the migrations it applies; one line says the same.
  const applied = new Set(run.stdout.match(/\d{4}_[\w-]+\.sql/g) ?? []).size;
  console.log(`[scim-edge] ${name} up to date${applied ? ` (${applied} migration${applied === 1 ? "" : "s"} applied)` : ""}`);
}
