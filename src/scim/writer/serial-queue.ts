/**
 * A promise chain that runs tasks one at a time, in arrival order. A failed task does not stop
 * the ones behind it; its caller sees the failure.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();
  #pending = 0;

  /** Number of tasks queued or running. */
  get size(): number {
    return this.#pending;
  }

  /** Runs `task` after every task queued before it has settled. */
  run<T>(task: () => Promise<T>): Promise<T> {
    this.#pending++;
    const run = this.#tail.then(task, task).finally(() => {
      this.#pending--;
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }
}
