/**
 * scripts/migrate.mjs as `npm start` and `npm run deploy` run it: every D1 database of the
 * environment gets every migration of drizzle/, once. The local databases are wrangler's own
 * sqlite files under --persist-to, read here with Node's built-in SQLite.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const MIGRATIONS = readdirSync(join(ROOT, "drizzle"))
  .filter((f) => /^\d{4}_.*\.sql$/.test(f))
  .sort();

function migrate(...args: string[]) {
  // CI only quiets wrangler further; the migrator sets it for wrangler anyway.
  const env = { ...process.env, CI: "true", NO_COLOR: "1" };
  const run = spawnSync(process.execPath, [join(ROOT, "scripts", "migrate.mjs"), ...args], { cwd: ROOT, env, encoding: "utf8" });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, output: `${run.stdout}\n${run.stderr}` };
}

/** The databases wrangler keeps under a --persist-to folder: one sqlite file per database id. */
function localDatabases(persist: string): string[] {
  const dir = join(persist, "v3", "d1", "miniflare-D1DatabaseObject");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")
    .map((f) => join(dir, f));
}

function inspect(file: string): { tables: string[]; applied: string[] } {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => String(r.name));
    const applied = tables.includes("d1_migrations")
      ? db.prepare("SELECT name FROM d1_migrations ORDER BY id").all().map((r) => String(r.name))
      : [];
    return { tables, applied };
  } finally {
    db.close();
  }
}

describe("scripts/migrate.mjs", () => {
  const persist = mkdtempSync(join(tmpdir(), "scim-edge-migrate-"));
  afterAll(() => rmSync(persist, { recursive: true, force: true }));

  it("applies every migration to the directory and each shard of --env sharded, directory first", () => {
    const run = migrate("--local", "--env", "sharded", "--persist-to", persist);
    expect(run.status, run.output).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines.map((line) => line.match(/local D1 (\w+) /)?.[1])).toEqual(["DB", "SHARD_1", "SHARD_2", "SHARD_3"]);
    for (const line of lines) expect(line).toContain(`(${MIGRATIONS.length} migrations applied)`);

    const databases = localDatabases(persist);
    expect(databases).toHaveLength(4);
    for (const file of databases) {
      const { tables, applied } = inspect(file);
      expect(tables).toEqual(expect.arrayContaining(["tenants", "d1_migrations"]));
      expect(applied).toEqual(MIGRATIONS);
    }
  });

  it("applies nothing the second time", () => {
    const run = migrate("--local", "--env=sharded", "--persist-to", persist);
    expect(run.status, run.output).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(line).toMatch(/ up to date$/);
    const databases = localDatabases(persist);
    expect(databases).toHaveLength(4);
    for (const file of databases) expect(inspect(file).applied).toEqual(MIGRATIONS);
  });

  it("refuses an environment wrangler.toml does not declare, naming it", () => {
    const run = migrate("--local", "--env", "no-such-env", "--persist-to", persist);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('No environment found in configuration with name "no-such-env"');
  });

  it("refuses to guess between --local and --remote", () => {
    for (const args of [[], ["--env", "sharded"], ["--local", "--remote"]]) {
      const run = migrate(...args);
      expect(run.status, args.join(" ")).not.toBe(0);
      expect(run.stderr).toContain("--local or --remote");
    }
  });
});
