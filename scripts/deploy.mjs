// `npm run deploy`: apply the D1 migrations to every remote database of the environment
// (scripts/migrate.mjs --remote: the directory, then each shard), then `wrangler deploy`.
// Extra arguments go to `wrangler deploy`; `--env NAME` to the migrations too, so
// `npm run deploy -- --env sharded` migrates and deploys the sharded environment.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { envWithNode22, ROOT } from "./node22.mjs";
import { migrateOrExit, pickFlags } from "./run-migrator.mjs";

const args = process.argv.slice(2);
migrateOrExit("--remote", pickFlags(args, ["--env"]), "not deployed: the remote D1 migrations failed; see above.");
const env = envWithNode22();
const deploy = spawnSync(join(ROOT, "node_modules", ".bin", "wrangler"), ["deploy", ...args], { cwd: ROOT, env, stdio: "inherit" });
if (deploy.error) console.error(`[scim-edge] could not run wrangler: ${deploy.error.message}`);
process.exit(deploy.status ?? 1);
