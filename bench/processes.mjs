// The processes the benchmark starts (wrangler dev, the floor Worker's wrangler dev, the peers):
// what /proc says about them, and stopping them with every descendant, whatever happens.
import { existsSync, readFileSync, readdirSync } from "node:fs";

/** @param {number} pid */
export function parentOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return -1;
  }
}

/** @param {number} pid */
export function argv(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/** Every live descendant of `root`, parents before children. @param {number} root */
export function descendants(root) {
  const all = readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number);
  const byParent = new Map();
  for (const pid of all) {
    const parent = parentOf(pid);
    byParent.set(parent, [...(byParent.get(parent) ?? []), pid]);
  }
  /** @type {number[]} */
  const out = [];
  const walk = (/** @type {number} */ pid) => {
    for (const child of byParent.get(pid) ?? []) {
      out.push(child);
      walk(child);
    }
  };
  walk(root);
  return out;
}

export const alive = (/** @type {number} */ pid) => existsSync(`/proc/${pid}`);

/** Every process started here, stopped on the way out whatever happens. */
/** @type {Set<import("node:child_process").ChildProcess>} */
export const started = new Set();

/** SIGTERM, then SIGKILL to whatever of it (and its descendants, listed first) is left after 5 s. */
export async function stop(/** @type {import("node:child_process").ChildProcess} */ child) {
  started.delete(child);
  if (child.pid === undefined) return;
  const tree = [child.pid, ...descendants(child.pid)];
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }
  const deadline = Date.now() + 3000;
  while (tree.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of tree.filter(alive)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
}

function stopAllNow() {
  for (const child of started) {
    if (child.pid === undefined) continue;
    for (const pid of [...descendants(child.pid)].reverse()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    child.kill("SIGKILL");
  }
}
process.on("exit", stopAllNow);
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) {
  process.on(signal, () => {
    stopAllNow();
    process.exit(130);
  });
}

