import assert from 'node:assert/strict';
import test from 'node:test';
import { failureReport } from './cli.js';
import { SETUPS, runSeed, type Setup, type SimStats } from './simulation.js';

/** Seeds per setup in CI: 3 setups × 350 = 1,050 runs. `npm run sim -- --seeds N --from 351` explores further. */
const SEEDS_PER_SETUP = 350;
/** Share of runs that must see each fault, so that the fault mix stays meaningful as the code changes. */
const RUNS_SEEING_EACH_FAULT_MIN = 0.8;

const TITLES: Record<Setup, string> = {
  3: '3-node networks',
  5: '5-node networks',
  grow: 'networks growing from 1 node by joins and shrinking by retirements',
};

for (const setup of SETUPS) {
  test(`${TITLES[setup]} under loss, duplication, reordering, delays, symmetric and one-way partitions and crashes keep every invariant after every step and make progress once a majority is connected (${SEEDS_PER_SETUP} seeds)`, () => {
    const runs: SimStats[] = [];
    for (let seed = 1; seed <= SEEDS_PER_SETUP; seed++) {
      const outcome = runSeed(seed, setup);
      assert.equal(outcome.failure, undefined, failureReport(outcome));
      runs.push(outcome.stats);
    }
    const most = (what: string, saw: (stats: SimStats) => boolean): void => {
      const count = runs.filter(saw).length;
      assert.ok(count >= RUNS_SEEING_EACH_FAULT_MIN * runs.length, `only ${count} of ${runs.length} runs ${what}`);
    };
    most('elected primaries in two views or more', (s) => s.primaryViews >= 2);
    most('lost unflushed disk writes in a crash', (s) => s.writesLost > 0);
    most('had a symmetric partition', (s) => s.symmetricPartitions > 0);
    most('had a one-way partition', (s) => s.oneWayPartitions > 0);
    most('lost a message', (s) => s.messages.lost > 0);
    most('duplicated a message', (s) => s.messages.duplicated > 0);
    most('delivered a message out of order', (s) => s.messages.deliveredOutOfOrder > 0);
    most('delivered a message more than an election timeout late', (s) => s.messages.deliveredLate > 0);
    if (setup === 'grow') {
      most('grew to their target size', (s) => s.largestCommittedConfiguration === s.targetSize);
      most('committed a retirement', (s) => s.retirementsCommitted > 0);
    }
  });
}

test('a run replays exactly from its seed and setup: the same event trace, which another seed or setup changes', () => {
  const traceOf = (seed: number, setup: Setup): string[] => {
    const lines: string[] = [];
    assert.equal(runSeed(seed, setup, { faultSteps: 500, trace: (line) => lines.push(line) }).failure, undefined);
    return lines;
  };
  const trace = traceOf(7, 'grow');
  assert.ok(trace.length > 500);
  assert.deepEqual(traceOf(7, 'grow'), trace);
  assert.notDeepEqual(traceOf(8, 'grow'), trace);
  assert.notDeepEqual(traceOf(7, '5'), trace);
});
