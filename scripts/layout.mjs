// Checks the house's shape (README, "Layout"), and fails the test run when it slips:
//   1. imports under src/ only point down the floors below, and no module reaches itself again;
//   2. no source file under src/ is over MAX_LINES lines, and no comment line (src/, scripts/,
//      public/ui/) is over COMMENT_WIDTH columns;
//   3. every repository path the README, SECURITY.md and docs/ name exists.
//   node scripts/layout.mjs            → checks, prints the floors with their rooms
//   node scripts/layout.mjs --graph    → also prints every import between rooms
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const MAX_LINES = 450;
const COMMENT_WIDTH = 100;

// Top to bottom: a room may import its own floor's modules only within itself, and any room below.
const FLOORS = [
  ["src/index.ts"],
  ["src/errors.ts", "src/scheduled.ts"],
  ["src/admin"],
  ["src/scim/http"],
  ["src/scim/writer"],
  ["src/scim/model"],
  ["src/iam"],
  ["src/observability.ts"],
  ["src/app-env.ts", "src/config.ts"],
  ["src/db"],
  ["src/auth"],
];

/** @param {string} file */
const rel = (file) => path.relative(ROOT, file).split(path.sep).join("/");

/** @param {string} dir @param {RegExp} [pattern] @returns {string[]} */
function sourceFiles(dir, pattern = /\.ts$/) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full, pattern);
    return pattern.test(entry.name) && !entry.name.endsWith(".d.ts") ? [full] : [];
  });
}

/**
 * The room of a file: the longest FLOORS entry that is it or holds it, with its floor's number.
 * @param {string} file
 * @returns {{ room: string; floor: number } | undefined}
 */
function roomOf(file) {
  /** @type {{ room: string; floor: number } | undefined} */
  let best;
  FLOORS.forEach((rooms, floor) => {
    for (const room of rooms) {
      if ((file === room || file.startsWith(room + "/")) && (!best || room.length > best.room.length)) best = { room, floor };
    }
  });
  return best;
}

/** @param {string} file */
function importsOf(file) {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  /** @type {string[]} */
  const found = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;"']*?from\s*["'](\.{1,2}\/[^"']+)["']/g)) {
    const base = path.resolve(path.dirname(path.join(ROOT, file)), match[1]);
    const target = [base, `${base}.ts`, path.join(base, "index.ts")].find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
    if (target) found.push(rel(target));
  }
  return found;
}

/** @type {string[]} */
const problems = [];
const files = sourceFiles(path.join(ROOT, "src")).map(rel).sort();
const graph = new Map(files.map((f) => [f, importsOf(f)]));
/** @type {Map<string, number>} */
const arrows = new Map();

for (const [file, targets] of graph) {
  const from = roomOf(file);
  if (!from) {
    problems.push(`${file}: in no room of scripts/layout.mjs FLOORS; place it`);
    continue;
  }
  for (const target of targets) {
    const to = roomOf(target);
    if (!to) continue;
    if (from.room !== to.room) arrows.set(`${from.room} → ${to.room}`, (arrows.get(`${from.room} → ${to.room}`) ?? 0) + 1);
    if (to.floor < from.floor || (to.floor === from.floor && to.room !== from.room)) {
      problems.push(`${file} imports ${target}: against the grain (${from.room} is floor ${from.floor}, ${to.room} floor ${to.floor})`);
    }
  }
  const lines = fs.readFileSync(path.join(ROOT, file), "utf8").split("\n").length - 1;
  if (lines > MAX_LINES) problems.push(`${file}: ${lines} lines, over ${MAX_LINES}; split it by concern`);
}

// Comments wrap at the width the rest uses (code lines may run longer).
const COMMENTED = [...files, ...["scripts", "public/ui"].flatMap((dir) => sourceFiles(path.join(ROOT, dir), /\.(mjs|js)$/).map(rel))];
for (const file of COMMENTED) {
  fs.readFileSync(path.join(ROOT, file), "utf8")
    .split("\n")
    .forEach((line, i) => {
      if (/^\s*(\/\/|\*|\/\*)/.test(line) && [...line].length > COMMENT_WIDTH) {
        problems.push(`${file}:${i + 1}: a comment line of ${[...line].length} columns, over ${COMMENT_WIDTH}; wrap it`);
      }
    });
}

// Circles: a depth-first walk that finds an import back onto the path it is on.
/** @type {Map<string, "open" | "done">} */
const state = new Map();
/** @param {string} file @param {string[]} trail */
function walk(file, trail) {
  state.set(file, "open");
  for (const next of graph.get(file) ?? []) {
    if (state.get(next) === "open") problems.push(`circle: ${[...trail.slice(trail.indexOf(next)), next].join(" → ")}`);
    else if (!state.has(next)) walk(next, [...trail, next]);
  }
  state.set(file, "done");
}
for (const file of files) if (!state.has(file)) walk(file, [file]);

// Paths the prose names: `src/…`, `test/…` and the like, in backticks or bare.
// What the run writes (bench/results.json, bench/peers/) is named but ignored, so not in a clone.
const IGNORED = fs
  .readFileSync(path.join(ROOT, ".gitignore"), "utf8")
  .split("\n")
  .map((line) => line.trim().replace(/^\//, "").replace(/\/$/, ""))
  .filter((line) => line && !line.startsWith("#") && !/[*!]/.test(line));
/** @param {string} named */
const ignored = (named) => IGNORED.some((entry) => named === entry || named.startsWith(`${entry}/`));
const DOCS = ["README.md", "SECURITY.md", ...fs.readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
for (const doc of DOCS) {
  const text = fs.readFileSync(path.join(ROOT, doc), "utf8");
  for (const match of text.matchAll(/(?<![\w./-])((?:src|test|public|scripts|bench|docs|drizzle)\/[\w./*{},-]*[\w*}])/g)) {
    const named = match[1].replace(/[.,]+$/, "");
    if (/[*{]/.test(named)) {
      // A glob or brace list: its fixed head must exist.
      const head = named.slice(0, named.search(/[*{]/)).replace(/\/[^/]*$/, "");
      if (!fs.existsSync(path.join(ROOT, head))) problems.push(`${doc} names ${named}, but ${head} does not exist`);
    } else if (!fs.existsSync(path.join(ROOT, named)) && !ignored(named)) {
      problems.push(`${doc} names ${named}, which does not exist`);
    }
  }
}

FLOORS.forEach((rooms, floor) => console.log(`floor ${floor}: ${rooms.join(", ")}`));
if (process.argv.includes("--graph")) for (const [arrow, count] of [...arrows].sort()) console.log(`  ${arrow} (${count})`);
console.log(`${files.length} modules, ${arrows.size} arrows between rooms, ${problems.length} problem(s)`);
for (const problem of problems) console.error(`  ✗ ${problem}`);
process.exit(problems.length ? 1 : 0);
