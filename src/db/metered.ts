/**
 * Counts what a request asks of D1, for its log line: round trips (in production each crosses the
 * network to the database), statements, and rows as D1 reports them
 * (`meta.rows_read`/`rows_written` on run, all and batch; rows returned for raw reads, which
 * carry no meta).
 */
export interface D1Stats {
  /** Calls that crossed to D1: each statement run on its own, or one batch of any size. */
  roundTrips: number;
  queries: number;
  rowsRead: number;
  rowsWritten: number;
  rowsReturned: number;
  /**
   * Milliseconds spent waiting on D1, as the isolate's clock sees them (it advances on I/O):
   * what this request held the database for, plus the network.
   */
  ms: number;
}

export const emptyStats = (): D1Stats => ({ roundTrips: 0, queries: 0, rowsRead: 0, rowsWritten: 0, rowsReturned: 0, ms: 0 });

/** Adds `more` into `into`. */
export function addStats(into: D1Stats, more: Partial<D1Stats> | undefined): void {
  if (!more) return;
  into.roundTrips += more.roundTrips ?? 0;
  into.queries += more.queries ?? 0;
  into.rowsRead += more.rowsRead ?? 0;
  into.rowsWritten += more.rowsWritten ?? 0;
  into.rowsReturned += more.rowsReturned ?? 0;
  into.ms += more.ms ?? 0;
}

/** Awaits `call`, adding the time it took to `stats.ms`. */
async function timed<T>(stats: D1Stats, call: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await call();
  } finally {
    stats.ms += Date.now() - started;
  }
}

function countMeta(stats: D1Stats, result: { meta?: { rows_read?: number; rows_written?: number }; results?: unknown[] }): void {
  stats.rowsRead += result.meta?.rows_read ?? 0;
  stats.rowsWritten += result.meta?.rows_written ?? 0;
  stats.rowsReturned += result.results?.length ?? 0;
}

// Statements handed back by the wrapper, mapped to the real ones: batch() needs the originals.
const originals = new WeakMap<object, D1PreparedStatement>();

function meterStatement(statement: D1PreparedStatement, stats: D1Stats): D1PreparedStatement {
  const wrapped = new Proxy(statement, {
    get(target, prop) {
      switch (prop) {
        case "bind":
          return (...values: unknown[]) => meterStatement(target.bind(...values), stats);
        case "run":
        case "all":
          return async (...args: unknown[]) => {
            stats.roundTrips++;
            stats.queries++;
            const result = await timed(stats, () => (target[prop] as (...a: unknown[]) => Promise<D1Result>)(...args));
            countMeta(stats, result);
            return result;
          };
        case "raw":
        case "first":
          return async (...args: unknown[]) => {
            stats.roundTrips++;
            stats.queries++;
            const result = await timed(stats, () => (target[prop] as (...a: unknown[]) => Promise<unknown>)(...args));
            if (Array.isArray(result)) stats.rowsReturned += result.length;
            else if (result !== null && result !== undefined) stats.rowsReturned += 1;
            return result;
          };
        default: {
          const value = Reflect.get(target, prop);
          return typeof value === "function" ? value.bind(target) : value;
        }
      }
    },
  });
  originals.set(wrapped, statement);
  return wrapped;
}

/** A D1 binding that adds what it does to `stats`. */
export function metered(db: D1Database, stats: D1Stats): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (query: string) => meterStatement(target.prepare(query), stats);
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          stats.roundTrips++;
          stats.queries += statements.length;
          const results = await timed(stats, () => target.batch(statements.map((s) => originals.get(s) ?? s)));
          for (const result of results) countMeta(stats, result);
          return results;
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
