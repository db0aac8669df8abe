// `npm run --silent admin-token`: prints the local admin token alone (ADMIN_TOKEN in .dev.vars),
// ready to paste into the console's sign-in box. `npm start` writes it the first time.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./node22.mjs";

const devVars = join(ROOT, ".dev.vars");
const line = existsSync(devVars) ? /^\s*ADMIN_TOKEN\s*=\s*(.*)$/m.exec(readFileSync(devVars, "utf8")) : null;
const token = line?.[1]?.trim().replace(/^(["'])(.*)\1$/, "$2");
if (!token) {
  console.error(`[scim-edge] no ADMIN_TOKEN in ${devVars} yet: \`npm start\` writes one.`);
  process.exit(1);
}
console.log(token);
