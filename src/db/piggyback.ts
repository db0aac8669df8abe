/**
 * One round trip for a read and its authentication: a D1 binding that sends a "rider" statement
 * (the SCIM token's credential lookup) in the same `batch` as the request's first query, and
 * checks the rider's result before that query's result is handed back. A check that throws (401,
 * 403) throws from the query, so nothing the query read reaches the caller. In production every
 * D1 call crosses the network to the database: a lookup then costs one crossing, not two.
 *
 * A query is merged only when its result survives the batch form, where rows are objects: a
 * select whose result columns share a name (two tables' `id`) would lose one, so such a query
 * waits for the rider alone instead (two round trips, never a wrong row).
 *
 * A rider may also come as a guard: the same lookup, sent in the rider's place, that fails
 * (GUARD_STOP) unless the token holds and the query's price fits the tenant's sizes. A batch
 * is one transaction that stops at its first failing statement, so SQLite never reaches the
 * query's rows for a wrong token or an over-budget request: nothing of the tenant is read before
 * the token is known good. Only a refused request pays a second round trip (the rider alone,
 * for its verdict). A later query with a price of its own is sent behind the guard again.
 */

/** What a guard fails with: SQLite's error for this JSON path, which names it. */
export const GUARD_STOP = "scim-edge guard: refused";

/** The expression a guard evaluates where it refuses: an error SQLite raises, naming GUARD_STOP. */
export const GUARD_FAILS = `json_extract('{}', '${GUARD_STOP}')`;

/** Whether `error` (a failed batch, possibly wrapped) is a guard's refusal. */
export function isGuardStop(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (String((e as { message?: unknown }).message ?? e).includes(GUARD_STOP)) return true;
  }
  return false;
}

interface Rider<Price> {
  /** The statement sent first; read when it is sent, so it may depend on what was decided since. */
  readonly statement: D1PreparedStatement;
  /** Checks its result; throws to refuse the request. */
  check: (result: D1Result) => void;
  /**
   * The rider as a guard for a query and its price (none: the token alone): the same row, but
   * it fails with GUARD_STOP unless the token holds and the price fits.
   */
  guard?: (price: Price | undefined) => D1PreparedStatement;
  /**
   * Called when a guard stopped a batch although the token holds: throws the price's refusal,
   * or returns when it fits after all (sizes changed in between), and the query runs alone.
   */
  overBudget?: (price: Price) => Promise<void>;
}

export interface Piggyback<Price> {
  /** The binding queries go through. */
  binding: D1Database;
  /**
   * The price of the next query (or batch): its guard holds it against the tenant's sizes first.
   */
  price(price: Price): void;
  /** Sends the rider alone unless a query already carried it, and checks it (throws as `check`). */
  settle(): Promise<void>;
  /**
   * Settles with the rider's result as read elsewhere (the integration's writer runs the same
   * statement in its own first batch), checked here as if sent here; a no-op once sent.
   */
  accept(result: Pick<D1Result, "results">): Promise<void>;
}

/**
 * The names of a top-level `select`'s result columns, or undefined when the text is not a plain
 * select this can read (then the query is not merged).
 */
export function resultColumnNames(sqlText: string): string[] | undefined {
  const text = sqlText.trim();
  if (!/^select\s/i.test(text)) return undefined;
  let depth = 0;
  let quote: string | null = null;
  let start = 6;
  const items: string[] = [];
  for (let i = 6; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === "`") quote = ch;
    else if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (depth === 0 && ch === ",") {
      items.push(text.slice(start, i));
      start = i + 1;
    } else if (depth === 0 && /\sfrom\s/i.test(text.slice(i - 1, i + 5))) {
      items.push(text.slice(start, i));
      return items.map(columnName);
    }
  }
  items.push(text.slice(start));
  return items.map(columnName);
}

/**
 * The name SQLite gives a result column: its alias, else the last identifier of a column reference.
 */
function columnName(item: string): string {
  const trimmed = item.trim().replace(/^distinct\s+/i, "");
  const alias = /\s+as\s+("?)([^"\s]+)\1$/i.exec(trimmed);
  if (alias) return alias[2]!;
  const reference = /(?:^|\.)"?([A-Za-z_][\w$]*)"?$/.exec(trimmed);
  return reference && !trimmed.endsWith(")") ? reference[1]! : trimmed;
}

/** Whether a statement's rows can be handed back from a batch without losing a column. */
function mergeable(sqlText: string): boolean {
  const names = resultColumnNames(sqlText);
  // A write must never commit in the batch whose credential then refuses it (a batch is one
  // transaction); other statements (a CTE) are not read here. Both wait for the check alone.
  if (!names) return false;
  return new Set(names).size === names.length;
}

/**
 * Wraps `d1` so that the first query (or batch) carries `rider`. Later queries wait until the
 * rider passed.
 */
export function piggyback<Price = never>(d1: D1Database, rider: Rider<Price>): Piggyback<Price> {
  let sent: Promise<void> | undefined;
  let pending: Price | undefined;
  const inner = new WeakMap<object, D1PreparedStatement>();
  const sqlOf = new WeakMap<object, string>();

  /**
   * Checks the rider's result once it comes. When the store failed before the check could run,
   * the verdict is forgotten, so a retry sends the rider again instead of failing for good.
   */
  function judge(result: Promise<D1Result>): Promise<void> {
    let ran = false;
    const verdict = result.then((r) => {
      ran = true;
      rider.check(r);
    });
    sent = verdict;
    verdict.catch(() => {
      if (!ran && sent === verdict) sent = undefined;
    });
    return verdict;
  }

  const settle = () => sent ?? judge(rider.statement.all());

  /**
   * Runs `statements` in one batch behind the rider (unless it was sent already) and the guard;
   * their results come only once the rider passed.
   */
  function carry(statements: D1PreparedStatement[]): Promise<D1Result[]> {
    const price = pending;
    pending = undefined;
    const first = !sent;
    const head = rider.guard?.(price) ?? rider.statement;
    const batch = d1.batch([head, ...statements]);
    // A failed batch still gets the rider's verdict, alone: an unauthenticated caller hears 401,
    // not how the query failed (nor whether the guard stopped it).
    const verdict = first ? judge(batch.then((results) => results[0]!, () => rider.statement.all())) : sent!;
    return verdict.then(() => batch).then(
      (results) => results.slice(1),
      async (error: unknown) => {
        if (!isGuardStop(error)) throw error;
        // The token holds (judged above, or before): the price did not fit, or the guard and
        // the verdict saw different moments. Either way the statements have not run.
        if (price !== undefined && rider.overBudget) await rider.overBudget(price);
        return statements.length === 0 ? [] : d1.batch(statements);
      },
    );
  }

  /** Settles the rider, then sends a pending price's guard alone (a query that cannot ride). */
  async function settleAndGuard(): Promise<void> {
    await settle();
    if (pending !== undefined) await carry([]);
  }

  function wrap(statement: D1PreparedStatement, sqlText: string): D1PreparedStatement {
    const proxy: D1PreparedStatement = new Proxy(statement, {
      get(target, prop) {
        switch (prop) {
          case "bind":
            return (...values: unknown[]) => wrap(target.bind(...values), sqlText);
          case "all":
          case "run":
          case "raw":
          case "first":
            return async (...args: unknown[]) => {
              const call = () => (target[prop] as (...a: unknown[]) => Promise<unknown>)(...args);
              if ((sent && pending === undefined) || !mergeable(sqlText)) {
                await settleAndGuard();
                return call();
              }
              const [result] = await carry([target]);
              return asCalled(prop, result!, args);
            };
          default: {
            const value = Reflect.get(target, prop);
            return typeof value === "function" ? value.bind(target) : value;
          }
        }
      },
    });
    inner.set(proxy, statement);
    sqlOf.set(proxy, sqlText);
    return proxy;
  }

  const binding = new Proxy(d1, {
    get(target, prop) {
      if (prop === "prepare") return (query: string) => wrap(target.prepare(query), query);
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          const originals = statements.map((s) => inner.get(s) ?? s);
          if ((sent && pending === undefined) || !statements.every((s) => mergeable(sqlOf.get(s) ?? ""))) {
            await settleAndGuard();
            return target.batch(originals);
          }
          return carry(originals);
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });

  const accept = (result: Pick<D1Result, "results">) => sent ?? judge(Promise.resolve(result as D1Result));

  const price = (p: Price) => {
    pending = p;
  };

  return { binding, settle, accept, price };
}

/** A batch result in the form the statement method that was called returns. */
function asCalled(method: "all" | "run" | "raw" | "first", result: D1Result, args: unknown[]): unknown {
  const rows = (result.results ?? []) as Record<string, unknown>[];
  switch (method) {
    case "all":
    case "run":
      return result;
    case "raw": {
      const values = rows.map((row) => Object.values(row));
      const options = args[0] as { columnNames?: boolean } | undefined;
      return options?.columnNames ? [Object.keys(rows[0] ?? {}), ...values] : values;
    }
    case "first": {
      const row = rows[0] ?? null;
      const column = args[0] as string | undefined;
      return column === undefined ? row : (row?.[column] ?? null);
    }
  }
}
