/** Deterministic interleavings: a Db whose first batch waits until the test lets it run. */
import type { Db } from "../../src/db/client";

export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A Db whose next batch waits: `reached` resolves when it is called, `release` lets it run. */
export function pausingDb(db: Db) {
  const reached = deferred();
  const release = deferred();
  let paused = false;
  const proxy = new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === "batch") {
        return async (statements: Parameters<Db["batch"]>[0]) => {
          if (!paused) {
            paused = true;
            reached.resolve();
            await release.promise;
          }
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db: proxy as Db, reached: reached.promise, release: () => release.resolve() };
}
