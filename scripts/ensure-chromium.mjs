// Makes sure the browser tests have Debian's Chromium (playwright-core never downloads one).
// Present: nothing to do. Missing: install it with apt-get when running as root, else say how.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (existsSync(chromium)) process.exit(0);

const isRoot = process.getuid?.() === 0;
const hasApt = spawnSync("sh", ["-c", "command -v apt-get"], { stdio: "ignore" }).status === 0;
if (!isRoot || !hasApt || process.env.CHROMIUM_PATH) {
  console.error(
    `[scim-edge] The browser tests need Chromium at ${chromium}. Install Debian's package (sudo apt-get install chromium) or set CHROMIUM_PATH to a Chromium binary.`,
  );
  process.exit(1);
}
console.log("[scim-edge] installing Debian's chromium for the browser tests (apt-get)…");
const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
for (const args of [["update", "-qq"], ["install", "-y", "-qq", "chromium"]]) {
  const result = spawnSync("apt-get", args, { env, stdio: ["ignore", "ignore", "inherit"] });
  if (result.status !== 0) {
    console.error(`[scim-edge] apt-get ${args.join(" ")} failed; install chromium by hand.`);
    process.exit(1);
  }
}
