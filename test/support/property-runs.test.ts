/**
 * The property runner of the fast-check tests (test/support/property-runs.ts): the floor of runs
 * is always made, later batches stop at the time limit, every run is counted and printed, and a
 * failure or a short batch fails the test. The clock is given, so nothing here depends on speed.
 */
import fc, { PreconditionFailure, type UniversalPlugin } from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { checkProperty } from "./property-runs";

/** A clock that says `step` ms more each time it is read. */
function steppingClock(step: number): () => number {
  let t = 0;
  return () => (t += step);
}

afterEach(() => vi.restoreAllMocks());

describe("checkProperty", () => {
  it("makes every run asked while the time limit is not reached, and says so", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    let calls = 0;
    const made = await checkProperty("all", fc.property(fc.integer(), () => void calls++), { runs: 100, minRuns: 30, timeLimitMs: 1_000 }, () => 0);
    expect(made).toEqual({ runs: 100, stoppedByTimeLimit: false });
    expect(calls).toBe(100);
    expect(log).toHaveBeenCalledWith('property "all": 100 of 100 runs');
  });

  it("makes the floor however late it is, then starts no batch past the time limit, and says how many it made", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    let calls = 0;
    // Every reading of the clock is past the limit: only the floor is made.
    const made = await checkProperty("late", fc.asyncProperty(fc.integer(), async () => void calls++), { runs: 100, minRuns: 30, timeLimitMs: 10 }, steppingClock(1_000));
    expect(made).toEqual({ runs: 30, stoppedByTimeLimit: true });
    expect(calls).toBe(30);
    expect(log).toHaveBeenCalledWith('property "late": 30 of 100 runs (time limit of 10 ms reached; floor 30)');
    // A limit reached after two batches: whole batches only.
    calls = 0;
    expect(await checkProperty("later", fc.property(fc.integer(), () => void calls++), { runs: 100, minRuns: 30, timeLimitMs: 1_500 }, steppingClock(1_000))).toEqual({ runs: 60, stoppedByTimeLimit: true });
    expect(calls).toBe(60);
  });

  it("fails with fast-check's report (seed and counterexample) when a run fails, in the floor or after it", async () => {
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    await expect(checkProperty("always", fc.property(fc.integer(), () => false), { runs: 10, minRuns: 5, timeLimitMs: 1_000 }, () => 0)).rejects.toThrow(
      /property "always", after 0 runs that passed: Property failed after 1 tests\s+\{ seed: -?\d+/,
    );
    let calls = 0;
    await expect(checkProperty("late failure", fc.property(fc.integer(), () => ++calls <= 12), { runs: 20, minRuns: 5, timeLimitMs: 1_000 }, () => 0)).rejects.toThrow(
      /property "late failure", after 10 runs that passed: Property failed after 3 tests[\s\S]*Counterexample/,
    );
  });

  it("fails when fast-check makes fewer runs than asked (a time limit or plugin configured elsewhere)", async () => {
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    // A plugin installed elsewhere that interrupts the third run of each check, as a global time
    // limit would on a slow machine (fast-check has no uninstall: it is switched off afterwards).
    let cutting = true;
    const interruptThird: UniversalPlugin = () => {
      let runs = 0;
      return { decorateRun: (run) => (value) => (cutting && ++runs >= 3 ? new PreconditionFailure(true) : run(value)) };
    };
    fc.installGlobalPlugin(interruptThird);
    try {
      await expect(checkProperty("cut short", fc.property(fc.integer(), () => true), { runs: 10, minRuns: 5, timeLimitMs: 1_000 }, () => 0)).rejects.toThrow(
        'property "cut short": fast-check made 2 of the 5 runs asked',
      );
    } finally {
      cutting = false;
    }
  });

  it("refuses a plan whose floor is not between 1 and the runs wanted", async () => {
    const property = fc.property(fc.integer(), () => true);
    await expect(checkProperty("none", property, { runs: 10, minRuns: 0, timeLimitMs: 1_000 })).rejects.toThrow("minRuns must be between 1 and runs");
    await expect(checkProperty("over", property, { runs: 10, minRuns: 11, timeLimitMs: 1_000 })).rejects.toThrow("minRuns must be between 1 and runs");
  });
});
