import assert from 'node:assert/strict';
import test from 'node:test';
import { ActiveConfigurations, configurationProblem } from '../../src/consensus/configurations.js';

/** b's view: bootstrap [a, b, c], then [a, b, c, d] at seqno 4 and [b, c, d] at seqno 9, none committed. */
function pending(): ActiveConfigurations {
  const configs = new ActiveConfigurations('b', ['a', 'b', 'c']);
  configs.add(4, ['a', 'b', 'c', 'd']);
  configs.add(9, ['b', 'c', 'd']);
  return configs;
}

test('the quorum seqno is the lowest that a majority of each active configuration reached', () => {
  const durable: Record<string, number> = { a: 7, b: 5, c: 3, d: 9 };
  // [a,b,c] → 5 (a, b); [a,b,c,d] → 5 (d, a, b); [b,c,d] → 5 (d, b).
  assert.equal(pending().quorumSeqno((node) => durable[node] ?? 0), 5);
  durable.b = 2; // [b,c,d] now reaches only 3
  assert.equal(pending().quorumSeqno((node) => durable[node] ?? 0), 3);
  assert.equal(new ActiveConfigurations('z', []).quorumSeqno(() => 1), 0, 'no configuration, no quorum');
});

test('commit retires the configurations it supersedes, truncation drops the ones it removes, and a node knows it was retired', () => {
  const configs = pending();
  assert.equal(configs.commitTo(3), false);
  assert.equal(configs.truncateAfter(9), false);
  assert.equal(configs.commitTo(4), true);
  assert.deepEqual(configs.all.map((c) => c.seqno), [4, 9]);
  assert.deepEqual([...configs.nodes].sort(), ['a', 'b', 'c', 'd']);
  assert.equal(configs.truncateAfter(8), true);
  assert.deepEqual(configs.all.map((c) => c.seqno), [4]);
  assert.deepEqual([...configs.others].sort(), ['a', 'c', 'd']);

  const leaving = new ActiveConfigurations('a', ['a', 'b']);
  leaving.add(3, ['b']);
  assert.equal(leaving.isRetired, false, 'removal pending: still a member');
  leaving.commitTo(3);
  assert.equal(leaving.isMember, false);
  assert.equal(leaving.isRetired, true);
  const joiner = new ActiveConfigurations('c', []);
  joiner.add(1, ['a']);
  joiner.add(2, ['a', 'b']);
  joiner.commitTo(2);
  assert.equal(joiner.isRetired, false, 'a joiner was never a member');
  assert.equal(joiner.isMemberBy(2), false);
});

for (const [nodes, emptyAllowed, problem] of [
  [['a', 'b'], false, undefined],
  [[], true, undefined],
  [[], false, 'a configuration holds 1..64 nodes, not 0'],
  [['a', 'a'], false, 'a node appears twice in the configuration'],
  [['a', ''], false, 'node ID "" is not 1..256 characters'],
  [['x'.repeat(257)], false, `node ID "${'x'.repeat(257)}" is not 1..256 characters`],
  [[7], false, 'node ID 7 is not 1..256 characters'],
  ['a', false, 'the configuration is not an array of node IDs'],
] as const) {
  test(`configuration ${JSON.stringify(nodes).slice(0, 20)}${emptyAllowed ? ' (empty allowed)' : ''} is ${problem === undefined ? 'valid' : 'refused'}`, () => {
    assert.equal(configurationProblem(nodes, emptyAllowed), problem);
  });
}
