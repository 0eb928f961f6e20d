import assert from 'node:assert/strict';
import test from 'node:test';
import { CocoError } from '../../src/errors.js';
import { RaftLog } from '../../src/consensus/raft-log.js';
import { log } from './raft-fixtures.js';

test('the last signature and the signature at or before a seqno are found', () => {
  const raftLog = new RaftLog(log('1t 1s 1t 2t 2s 2t'));
  assert.deepEqual(raftLog.lastSignature(), { seqno: 5, view: 2 });
  assert.deepEqual([0, 1, 2, 4, 5, 6, 99].map((s) => raftLog.signatureAtOrBefore(s)), [0, 0, 2, 2, 5, 5, 5]);
  raftLog.truncateAfter(4);
  assert.deepEqual(raftLog.lastSignature(), { seqno: 2, view: 1 });
  assert.equal(raftLog.lastSeqno, 4);
});

test('the last match candidate skips back over entries of later views', () => {
  const raftLog = new RaftLog(log('1s 1t 3t 3t 3t'));
  assert.equal(raftLog.lastMatchCandidate(5, 2), 2);
  assert.equal(raftLog.lastMatchCandidate(9, 3), 5);
  assert.equal(raftLog.lastMatchCandidate(5, 0), 0);
});

for (const [name, entries] of [
  ['a gap in seqnos', [...log('1s'), { ...log('1s 1t')[1]!, seqno: 3 }]],
  ['a view going back', log('2s 1t')],
  ['not starting at seqno 1', log('1s 1t').slice(1)],
] as const) {
  test(`a persisted log with ${name} is refused`, () => {
    assert.throws(() => new RaftLog(entries), (e: unknown) => e instanceof CocoError && e.code === 'InvalidConsensusState');
  });
}
