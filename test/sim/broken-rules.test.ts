import assert from 'node:assert/strict';
import test from 'node:test';
import { BROKEN_RULES } from './broken-rules.js';
import { INVARIANTS, type Invariant } from './invariants.js';
import { runSeed, type Setup } from './simulation.js';

/** Seeds within which each broken rule must be caught; the correct nodes pass these seeds in simulation.test.ts. */
const SEEDS_MAX = 40;

const EXPECTED: Record<string, { setup: Setup; invariant: Invariant }> = {
  'minority-commit': { setup: '3', invariant: INVARIANTS.committedKept },
  'ack-before-durable': { setup: '5', invariant: INVARIANTS.committedKept },
  'vote-ignores-log': { setup: '5', invariant: INVARIANTS.committedKept },
  'vote-twice': { setup: '5', invariant: INVARIANTS.onePrimary },
  'status-ignores-view': { setup: 'grow', invariant: INVARIANTS.txStatus },
  'never-votes': { setup: '3', invariant: INVARIANTS.progress },
};

test('every broken rule has an expected violation', () => {
  assert.deepEqual(Object.keys(EXPECTED).sort(), Object.keys(BROKEN_RULES).sort());
});

for (const [name, rule] of Object.entries(BROKEN_RULES)) {
  const expected = EXPECTED[name] as { setup: Setup; invariant: Invariant };
  test(`the checker reports "${expected.invariant}" within ${SEEDS_MAX} seeds when ${rule.summary} (${name})`, () => {
    for (let seed = 1; seed <= SEEDS_MAX; seed++) {
      const { failure } = runSeed(seed, expected.setup, { makeNode: rule.makeNode });
      if (failure === undefined) continue;
      assert.equal(failure.invariant, expected.invariant, `seed ${seed}: ${failure.detail}`);
      assert.ok(failure.step > 0 && failure.detail.length > 0);
      return;
    }
    assert.fail(`no violation in ${SEEDS_MAX} seeds of --nodes ${expected.setup}`);
  });
}
