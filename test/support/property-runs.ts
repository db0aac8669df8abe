/**
 * Property checks that say how many runs they made, and never make fewer than a floor.
 *
 * fast-check's own time limit (`interruptAfterTimeLimit`) passes a property that made any number
 * of runs, one included, and abandons an async run in flight, which then keeps writing to D1
 * while the next run or test reads it. Here runs are made in whole batches instead: the first
 * `minRuns` always, then further batches while the time limit allows, so a loaded machine makes
 * fewer extra runs but never a weaker check, and no run outlives the test.
 */
import fc, { type IAsyncProperty, type IProperty, type IRawProperty } from "fast-check";

export interface RunPlan {
  /** Runs wanted: all of them when the machine keeps up. */
  runs: number;
  /** Runs made whatever the load (the first batch): fewer would prove too little to pass on. */
  minRuns: number;
  /** Once this long (ms) has passed since the start, no further batch starts. */
  timeLimitMs: number;
}

/** Vitest's limit for a test checking a property: the floor's batch, then batches up to the time limit, on a loaded machine. */
export const PROPERTY_TEST_TIMEOUT_MS = 120_000;

/** What `checkProperty` made: runs in all, and whether the time limit stopped it short of `plan.runs`. */
export interface RunsMade {
  runs: number;
  stoppedByTimeLimit: boolean;
}

/**
 * Checks `property` in batches of whole runs (the first of `plan.minRuns`, each later one of at
 * most as many), starting no batch after `plan.timeLimitMs` once the floor is made. Throws
 * fast-check's report (seed, path, counterexample) on a failure, and an error when a batch made
 * fewer runs than asked. Prints `property "<name>": N of M runs` and returns what it made.
 */
export async function checkProperty<Ts>(name: string, property: IProperty<Ts> | IAsyncProperty<Ts>, plan: RunPlan, now: () => number = Date.now): Promise<RunsMade> {
  if (!(plan.minRuns >= 1 && plan.minRuns <= plan.runs)) throw new Error(`${name}: minRuns must be between 1 and runs (${plan.minRuns} of ${plan.runs})`);
  const started = now();
  let made = 0;
  while (made < plan.runs) {
    if (made >= plan.minRuns && now() - started >= plan.timeLimitMs) break;
    const batch = Math.min(plan.minRuns, plan.runs - made);
    const details = await fc.check(property as IRawProperty<Ts>, { numRuns: batch });
    if (details.failed) throw new Error(`property "${name}", after ${made} runs that passed: ${await fc.asyncDefaultReportMessage(details)}`);
    if (details.numRuns !== batch) throw new Error(`property "${name}": fast-check made ${details.numRuns} of the ${batch} runs asked (${details.numSkips} skipped)`);
    made += batch;
  }
  const stoppedByTimeLimit = made < plan.runs;
  console.log(`property "${name}": ${made} of ${plan.runs} runs${stoppedByTimeLimit ? ` (time limit of ${plan.timeLimitMs} ms reached; floor ${plan.minRuns})` : ""}`);
  return { runs: made, stoppedByTimeLimit };
}
