import assert from 'node:assert/strict';
import test from 'node:test';
import { CocoError } from '../../src/errors.js';
import { statusOf, type TxStatus } from '../../src/consensus/tx-status.js';
import { RaftLog } from '../../src/consensus/raft-log.js';
import { log } from './raft-fixtures.js';

// Local log: 1.1 1.2(sig) 2.3 2.4(sig) 2.5 4.6 — committed up to 4 (view 2).
const raftLog = new RaftLog(log('1t 1s 2t 2s 2t 4t'));
const history = { viewOf: (seqno: number) => raftLog.viewOf(seqno), commitSeqno: 4 };

const cases: [string, number, number, TxStatus][] = [
  ['committed, view matches', 2, 3, 'Committed'],
  ['committed seqno held in another view (rolled back by an election)', 1, 3, 'Invalid'],
  ['held in its view, above commit', 2, 5, 'Pending'],
  ['held in a later view than asked, asked view before the committed view', 1, 5, 'Invalid'],
  ['held in another view, asked view not before the committed view', 3, 6, 'Unknown'],
  ['past the log end in the current view', 4, 7, 'Unknown'],
  ['past the log end in a view before the committed view', 1, 9, 'Invalid'],
];

for (const [name, view, seqno, expected] of cases) {
  test(`tx status ${view}.${seqno} (${name}) is ${expected}`, () => {
    assert.equal(statusOf({ view, seqno }, history), expected);
  });
}

for (const [view, seqno] of [[0, 1], [1, 0], [1.5, 2], [-1, 3], [Number.NaN, 1]] as const) {
  test(`tx status of malformed TxID ${view}.${seqno} is refused`, () => {
    assert.throws(() => statusOf({ view, seqno }, history), (e: unknown) => e instanceof CocoError && e.code === 'InvalidQueryParameterValue');
  });
}
