// What `npm start` and `npm run deploy` share: picking the migrator's flags out of their own
// arguments, and running scripts/migrate.mjs on Node >= 22 (it reads wrangler.toml with
// wrangler's own reader, which needs it).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { envWithNode22, ROOT } from "./node22.mjs";

/**
 * The arguments among `args` that name one of `flags`, with their values (`--env NAME` or
 * `--env=NAME`), in their order.
 * @param {string[]} args @param {string[]} flags
 */
export function pickFlags(args, flags) {
  /** @type {string[]} */
  const picked = [];
  args.forEach((arg, i) => {
    if (flags.includes(arg)) picked.push(arg, args[i + 1] ?? "");
    else if (flags.some((flag) => arg.startsWith(`${flag}=`))) picked.push(arg);
  });
  return picked;
}

/**
 * Runs scripts/migrate.mjs `where` (`--local` or `--remote`) with `scope`; exits the process with
 * `failure` printed if it fails.
 * @param {"--local" | "--remote"} where @param {string[]} scope @param {string} failure
 */
export function migrateOrExit(where, scope, failure) {
  const node = Number(process.versions.node.split(".")[0]) >= 22 ? process.execPath : "node";
  const run = spawnSync(node, [join(ROOT, "scripts", "migrate.mjs"), where, ...scope], { cwd: ROOT, env: envWithNode22(), stdio: "inherit" });
  if (run.status !== 0) {
    console.error(`[scim-edge] ${failure}`);
    process.exit(run.status ?? 1);
  }
}
