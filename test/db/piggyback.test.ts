/**
 * The guards of src/db/piggyback.ts, each pinned by a test that fails without it (issue 20,
 * point 8): a query's rows wait for the token's verdict; a write never rides in the token's
 * batch; a select whose columns share a name never rides; a guard stops its batch before the
 * query (nothing of the tenant is read for a wrong token or an over-budget price); and the guard's
 * SQL decides as the gate's verdict does.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/auth/tokens";
import { GUARD_FAILS, GUARD_STOP, isGuardStop, piggyback } from "../../src/db/piggyback";
import { guardedCredentialStatement } from "../../src/iam/credentials";
import { costFits, LOOKUP_CAP, ROW_BUDGET, type Cost } from "../../src/scim/model/cost";
import { sql } from "drizzle-orm";
import { newIntegration } from "../support/helpers";

const d1 = env.DB;

/** A rider that refuses: its check throws, as the gate's does for a wrong token. */
function refusing() {
  let checked = 0;
  return {
    rider: {
      statement: d1.prepare("select 1 as token_id"),
      check: () => {
        checked++;
        throw new Error("refused");
      },
    },
    checked: () => checked,
  };
}

describe("piggyback", () => {
  it("hands a query's rows back only once the rider passed: a refusal rejects the query", async () => {
    const { rider, checked } = refusing();
    const gate = piggyback(d1, rider);
    // The query itself succeeds in the batch; its rows must still never reach the caller.
    await expect(gate.binding.prepare("select 42 as answer").all()).rejects.toThrow("refused");
    expect(checked()).toBe(1);
    // And every later query waits for the same verdict.
    await expect(gate.binding.prepare("select 43 as answer").first()).rejects.toThrow("refused");
  });

  it("never lets a write ride in the rider's batch: a refused token's insert commits nothing", async () => {
    await d1.exec("create table if not exists piggyback_probe (id integer primary key)");
    const { rider } = refusing();
    const gate = piggyback(d1, rider);
    await expect(gate.binding.prepare("insert into piggyback_probe (id) values (1)").run()).rejects.toThrow("refused");
    await expect(gate.binding.batch([gate.binding.prepare("insert into piggyback_probe (id) values (2)")])).rejects.toThrow("refused");
    expect((await d1.prepare("select count(*) as n from piggyback_probe").first<{ n: number }>())?.n).toBe(0);
  });

  it("never merges a select whose result columns share a name (batch rows are objects)", async () => {
    const gate = piggyback(d1, { statement: d1.prepare("select 1 as token_id"), check: () => undefined });
    const rows = await gate.binding.prepare("select a.id, b.id from (select 1 as id) a join (select 2 as id) b").raw();
    expect(rows).toEqual([[1, 2]]);
  });

  it("sends the guard in the rider's place: a failing guard stops the batch before the query", async () => {
    const sent: string[][] = [];
    // A D1 whose batch records what it was sent and fails as SQLite does at the first failing statement.
    const recording = new Proxy(d1, {
      get(target, prop) {
        if (prop === "batch") {
          return (statements: D1PreparedStatement[]) => {
            sent.push(statements.map((s) => (s === guard ? "guard" : s === rider.statement ? "rider" : "query")));
            return target.batch(statements);
          };
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const guard = d1.prepare(`select ${GUARD_FAILS} as admitted`);
    let verdicts = 0;
    const rider = {
      statement: d1.prepare("select 1 as token_id"),
      check: () => {
        verdicts++;
        throw new Error("refused");
      },
      guard: () => guard,
    };
    const gate = piggyback(recording, rider);
    // A query that would fail on its own if it ran: the guard's refusal comes first.
    await expect(gate.binding.prepare("select json('not json') as boom").all()).rejects.toThrow("refused");
    expect(sent).toEqual([["guard", "query"]]);
    expect(verdicts).toBe(1);
  });

  it("asks the price's refusal when the guard stops a batch although the token holds", async () => {
    let priced: unknown;
    const gate = piggyback<string>(d1, {
      statement: d1.prepare("select 1 as token_id"),
      check: () => undefined,
      guard: (price) => (price === "too much" ? d1.prepare(`select ${GUARD_FAILS} as admitted`) : d1.prepare("select 1 as admitted")),
      overBudget: async (price) => {
        priced = price;
        throw new Error(`over budget: ${price}`);
      },
    });
    expect(await gate.binding.prepare("select 1 as one").first("one")).toBe(1);
    gate.price("too much");
    await expect(gate.binding.prepare("select 2 as two").first("two")).rejects.toThrow("over budget: too much");
    expect(priced).toBe("too much");
    // The price held for its query only.
    expect(await gate.binding.prepare("select 3 as three").first("three")).toBe(3);
  });

  it("recognises a guard's stop, wrapped or not, and nothing else", async () => {
    const error = await d1.prepare(`select ${GUARD_FAILS}`).all().catch((e: unknown) => e);
    expect(isGuardStop(error)).toBe(true);
    expect(isGuardStop(new Error("wrapped", { cause: error }))).toBe(true);
    expect(isGuardStop(new Error("D1_ERROR: no such table"))).toBe(false);
    expect(GUARD_STOP).toContain("scim-edge");
  });
});

describe("the guard's SQL", () => {
  async function admitted(statement: D1PreparedStatement): Promise<boolean> {
    return d1
      .batch([statement, d1.prepare("select 1 as after")])
      .then(() => true)
      .catch((error: unknown) => {
        if (isGuardStop(error)) return false;
        throw error;
      });
  }

  it("admits exactly the token the gate's verdict admits", async () => {
    const i = await newIntegration();
    const other = await newIntegration();
    const hash = await sha256Hex(i.token);
    const expect_ = (over: Partial<{ tokenHash: string; tenantId: string; integrationId: string; permissions: string[] }> = {}) =>
      guardedCredentialStatement(d1, { tokenHash: hash, tenantId: i.tenant, integrationId: i.id, permissions: ["USERS:READ"], ...over });
    expect(await admitted(expect_())).toBe(true);
    expect(await admitted(expect_({ tokenHash: await sha256Hex("garbage") }))).toBe(false);
    expect(await admitted(expect_({ tenantId: other.tenant }))).toBe(false);
    expect(await admitted(expect_({ integrationId: other.id }))).toBe(false);
    expect(await admitted(expect_({ permissions: ["USERS:READ", "SECRETS:DELETE"] }))).toBe(false);
    expect(await admitted(expect_({ permissions: [] }))).toBe(true);
    // Expired: the clock it is judged at is bound.
    await d1.prepare("update api_tokens set expires_at = ? where token_hash = ?").bind(Date.now() - 1, hash).run();
    expect(await admitted(expect_())).toBe(false);
    await d1.prepare("update api_tokens set expires_at = null where token_hash = ?").bind(hash).run();
    await d1.prepare("update integrations set enabled = 0 where id = ?").bind(i.id).run();
    expect(await admitted(expect_())).toBe(false);
  });

  it("admits a price only while it fits the tenant's sizes, and lookups only up to LOOKUP_CAP rows", async () => {
    const i = await newIntegration();
    const hash = await sha256Hex(i.token);
    const guard = (cost: Cost) =>
      guardedCredentialStatement(d1, { tokenHash: hash, tenantId: i.tenant, integrationId: i.id, permissions: [] }, costFits(cost, i.tenant));
    const scan: Cost = { price: { size: "viewUnits" }, probes: [], hint: "" };
    expect(await admitted(guard(scan))).toBe(true);
    await d1.prepare("update tenant_sizes set view_units = ? where tenant_id = ?").bind(ROW_BUDGET + 1, i.tenant).run();
    expect(await admitted(guard(scan))).toBe(false);
    // A lookup matching `n` rows (counted up to LOOKUP_CAP + 1).
    const probe = (n: number): Cost => ({
      price: 1,
      probes: [sql.raw(`with recursive k(v) as (select 0 union all select v + 1 from k where v < 1000) select 1 from k where v < ${n}`)],
      hint: "",
    });
    expect(await admitted(guard(probe(LOOKUP_CAP)))).toBe(true);
    expect(await admitted(guard(probe(LOOKUP_CAP + 1)))).toBe(false);
  });
});
