// Runs npm scripts (or, after `--`, one command) with a Node >= 22 first on PATH.
//   node scripts/with-node.mjs typecheck test:unit     → npm run typecheck && npm run test:unit
//   node scripts/with-node.mjs -- wrangler dev          → wrangler dev
import { spawnSync } from "node:child_process";
import { envWithNode22, ROOT } from "./node22.mjs";

const args = process.argv.slice(2);
const env = envWithNode22();
const commands = args[0] === "--" ? [[args[1], ...args.slice(2)]] : args.map((script) => ["npm", "run", "--silent", script]);

for (const [command, ...rest] of commands) {
  const result = spawnSync(command, rest, { cwd: ROOT, env, stdio: "inherit" });
  if (result.error) {
    console.error(`[scim-edge] could not run ${command}: ${result.error.message}`);
    process.exit(1);
  }
  if (result.status !== 0) process.exit(result.status ?? 1);
}
