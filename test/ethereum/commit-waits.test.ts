// Waiting for transactions to be final on a node: each settles Committed or Invalid at the move of
// commit that decides it, or at its deadline with its status then; however many wait, the node is
// waited on once at a time.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { statusOf, type TxStatus } from '../../src/consensus/tx-status.js';
import { CommitWaits } from '../../src/ethereum/commit-waits.js';

/** A node's log (the view of each seqno) and commit, which the test moves. */
function node(views: number[]) {
  const state = { views, commit: 0, waitsOnCommit: 0 };
  let wake = () => {};
  const source = {
    status: (txId: { view: number; seqno: number }): TxStatus => statusOf(txId, { viewOf: (seqno) => (seqno === 0 ? 0 : state.views[seqno - 1]), commitSeqno: state.commit }),
    commitMoved: () => {
      state.waitsOnCommit += 1;
      return new Promise<void>((resolve) => (wake = resolve));
    },
  };
  const commitTo = (seqno: number) => {
    state.commit = seqno;
    wake();
  };
  return { state, waits: new CommitWaits(source), commitTo };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

test('a transaction settles Committed once commit reaches it, and at once when it already has', { timeout: 10_000 }, async () => {
  const { state, waits, commitTo } = node([2, 2, 2]);
  const settled: TxStatus[] = [];
  const first = waits.finality({ view: 2, seqno: 1 }, 10_000).then((status) => settled.push(status));
  const third = waits.finality({ view: 2, seqno: 3 }, 10_000).then((status) => settled.push(status));
  await turn();
  assert.equal(state.waitsOnCommit, 1, 'one wait on the node for both');
  commitTo(2);
  await first;
  await turn();
  assert.deepEqual(settled, ['Committed'], 'the other still waits');
  commitTo(3);
  await third;
  assert.deepEqual(settled, ['Committed', 'Committed']);
  assert.equal(await waits.finality({ view: 2, seqno: 2 }, 10_000), 'Committed');
});

test('a transaction an election rolled back settles Invalid once commit moves past it in the later view', { timeout: 10_000 }, async () => {
  const { state, waits, commitTo } = node([2, 2, 2]);
  commitTo(1);
  const rolledBack = waits.finality({ view: 2, seqno: 3 }, 10_000);
  // The new primary (view 3) holds seqno 2 but not 3, and commits its own entry at 3.
  state.views = [2, 2, 3];
  commitTo(3);
  assert.equal(await rolledBack, 'Invalid');
});

test('a transaction still undecided at its deadline settles with its status then', { timeout: 10_000 }, async () => {
  const { state, waits } = node([2, 2]);
  assert.equal(await waits.finality({ view: 2, seqno: 2 }, 20), 'Pending');
  // Its entry replaced by another view's, not yet committed: no one can tell yet.
  state.views = [2, 3];
  assert.equal(await waits.finality({ view: 2, seqno: 2 }, 20), 'Unknown');
});
