// `npm start`: local development on wrangler's embedded D1.
// 1. make sure .dev.vars holds an ADMIN_TOKEN (generate a strong one if not),
// 2. apply the D1 migrations to every local database of the environment (scripts/migrate.mjs:
//    one line each, wrangler's tables only when it fails),
// 3. run `wrangler dev` on $PORT (default 8787), and once it answers, say where the console is
//    and how to sign in.
// Extra arguments go to `wrangler dev`; `--env NAME` and `--persist-to DIR` to the migrations too,
// so `npm start -- --env sharded` migrates and runs the sharded environment.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { envWithNode22, ROOT } from "./node22.mjs";
import { migrateOrExit, pickFlags } from "./run-migrator.mjs";

const devVars = join(ROOT, ".dev.vars");
const current = existsSync(devVars) ? readFileSync(devVars, "utf8") : "";
if (!/^\s*ADMIN_TOKEN\s*=\s*\S+/m.test(current)) {
  const token = randomBytes(32).toString("base64url");
  appendFileSync(devVars, `${current && !current.endsWith("\n") ? "\n" : ""}ADMIN_TOKEN=${token}\n`, { mode: 0o600 });
  console.log(`[scim-edge] generated an admin token and wrote it to ${devVars}`);
}

const args = process.argv.slice(2);
// --env NAME and --persist-to DIR go to the migrator too.
migrateOrExit("--local", pickFlags(args, ["--env", "--persist-to"]), "applying the local D1 migrations failed; see above.");
const env = envWithNode22();

const port = process.env.PORT || "8787";
const wrangler = join(ROOT, "node_modules", ".bin", "wrangler");
const dev = spawn(wrangler, ["dev", "--port", port, ...args], { cwd: ROOT, env, stdio: "inherit" });
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

// Wrangler says "Ready on …" among its own lines; this says what to do next, once it answers.
const origin = `http://localhost:${port}`;
for (let tries = 0; tries < 240; tries++) {
  await new Promise((resolve) => setTimeout(resolve, 500));
  const answered = await fetch(`${origin}/ui/`, { redirect: "manual" }).then(
    (r) => r.status < 500,
    () => false,
  );
  if (!answered) continue;
  console.log(
    [
      "",
      `[scim-edge] Console:     ${origin}/ui/`,
      `[scim-edge] Sign in with the admin token: ADMIN_TOKEN in ${devVars}; \`npm run --silent admin-token\` prints it alone.`,
      `[scim-edge] Entra cannot reach localhost: for a real Test Connection, expose this port through a tunnel and set PUBLIC_URL (README, "Configure Microsoft Entra ID").`,
      "",
    ].join("\n"),
  );
  break;
}
