// `npm start`: local development on wrangler's embedded D1.
// 1. make sure .dev.vars holds an ADMIN_TOKEN (generate a strong one if not),
// 2. apply the D1 migrations to the local database,
// 3. run `wrangler dev` on $PORT (default 8787).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { envWithNode22, ROOT } from "./node22.mjs";

const devVars = join(ROOT, ".dev.vars");
const current = existsSync(devVars) ? readFileSync(devVars, "utf8") : "";
if (!/^\s*ADMIN_TOKEN\s*=\s*\S+/m.test(current)) {
  const token = randomBytes(32).toString("base64url");
  appendFileSync(devVars, `${current && !current.endsWith("\n") ? "\n" : ""}ADMIN_TOKEN=${token}\n`, { mode: 0o600 });
  console.log(`[scim-edge] generated an admin token and wrote it to ${devVars} (ADMIN_TOKEN=...)`);
} else {
  console.log(`[scim-edge] admin token: ADMIN_TOKEN in ${devVars}`);
}

const env = { ...envWithNode22(), CI: "true" };
const wrangler = join(ROOT, "node_modules", ".bin", "wrangler");
const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local"], { cwd: ROOT, env, stdio: "inherit" });
if (migrate.status !== 0) {
  console.error("[scim-edge] applying the local D1 migrations failed; see above.");
  process.exit(migrate.status ?? 1);
}

const port = process.env.PORT || "8787";
/** @type {NodeJS.ProcessEnv} */
const devEnv = { ...env };
if (process.env.CI === undefined) delete devEnv.CI; // CI=true only kept wrangler from prompting above
const dev = spawn(wrangler, ["dev", "--port", port, ...process.argv.slice(2)], { cwd: ROOT, env: devEnv, stdio: "inherit" });
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
