// `npm run deploy`: apply the D1 migrations to every remote database of the environment
// (scripts/migrate.mjs --remote: the directory, then each shard), then `wrangler deploy`.
// Extra arguments go to `wrangler deploy`; `--env NAME` to the migrations too, so
// `npm run deploy -- --env sharded` migrates and deploys the sharded environment.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { envWithNode22, ROOT } from "./node22.mjs";

const args = process.argv.slice(2);
/** @type {string[]} */
const scope = [];
args.forEach((arg, i) => {
  if (arg === "--env") scope.push(arg, args[i + 1] ?? "");
  else if (arg.startsWith("--env=")) scope.push(arg);
});

const env = envWithNode22();
// The migrator reads wrangler.toml with wrangler's own reader, so it runs on Node >= 22 too.
const node = Number(process.versions.node.split(".")[0]) >= 22 ? process.execPath : "node";
const migrate = spawnSync(node, [join(ROOT, "scripts", "migrate.mjs"), "--remote", ...scope], { cwd: ROOT, env, stdio: "inherit" });
if (migrate.status !== 0) {
  console.error("[scim-edge] not deployed: the remote D1 migrations failed; see above.");
  process.exit(migrate.status ?? 1);
}
const deploy = spawnSync(join(ROOT, "node_modules", ".bin", "wrangler"), ["deploy", ...args], { cwd: ROOT, env, stdio: "inherit" });
if (deploy.error) console.error(`[scim-edge] could not run wrangler: ${deploy.error.message}`);
process.exit(deploy.status ?? 1);
