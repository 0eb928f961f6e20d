import assert from 'node:assert/strict';
import test from 'node:test';
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

// TxIDs no transaction has (view or seqno 0), and numbers up to 2^64 - 1, held rounded past 2^53.
const UINT64_MAX = Number(2n ** 64n - 1n);
const edges: [string, number, number, TxStatus][] = [
  ['view 0 of a committed seqno', 0, 3, 'Invalid'],
  ['view 0 of a seqno held above commit', 0, 5, 'Invalid'],
  ['view 0 past the log end', 0, 9, 'Invalid'],
  ['seqno 0', 2, 0, 'Invalid'],
  ['0.0', 0, 0, 'Invalid'],
  ['the largest seqno, in the current view', 4, UINT64_MAX, 'Unknown'],
  ['the largest seqno, in a view before the committed view', 1, UINT64_MAX, 'Invalid'],
  ['the largest view, at a committed seqno', UINT64_MAX, 3, 'Invalid'],
  ['the largest view, past the log end', UINT64_MAX, 9, 'Unknown'],
];

for (const [name, view, seqno, expected] of edges) {
  test(`tx status of ${name} is ${expected}`, () => {
    assert.equal(statusOf({ view, seqno }, history), expected);
  });
}
