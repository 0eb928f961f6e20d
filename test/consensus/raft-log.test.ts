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

// A log started from a snapshot at 1.1 2.4 ... taken at seqno 7 (view 4), holding 8 and 9 after it.
const history = [{ view: 1, fromSeqno: 1 }, { view: 2, fromSeqno: 4 }, { view: 4, fromSeqno: 6 }];
const base = { seqno: 7, view: 4, viewHistory: history };
const after = (spec: string, from: number) => log(spec).map((entry) => ({ ...entry, seqno: entry.seqno + from }));

test('a log started from a base answers views up to it from the history and holds entries only after it', () => {
  const raftLog = new RaftLog(after('4t 5t', 7), base);
  assert.equal(raftLog.baseSeqno, 7);
  assert.equal(raftLog.lastSeqno, 9);
  assert.deepEqual([0, 1, 3, 4, 5, 6, 7, 8, 9, 10].map((s) => raftLog.viewOf(s)), [0, 1, 1, 2, 2, 4, 4, 4, 5, undefined]);
  assert.deepEqual([6, 7, 8].map((s) => raftLog.entry(s)?.seqno), [undefined, undefined, 8]);
  assert.deepEqual(raftLog.slice(1, 8).map((e) => e.seqno), [8]);
  assert.deepEqual(raftLog.slice(8, 99).map((e) => e.seqno), [8, 9]);
  assert.deepEqual(new RaftLog([], base).lastSignature(), { seqno: 7, view: 4 }, 'the base is a commit point');
  assert.equal(new RaftLog([], base).lastView, 4);
});

test('a log started from a base finds commit points at the base and after it, none known before it', () => {
  const raftLog = new RaftLog(after('4t 4s 5t', 7), base);
  assert.deepEqual(raftLog.lastSignature(), { seqno: 9, view: 4 });
  assert.deepEqual([0, 6, 7, 8, 9, 10, 99].map((s) => raftLog.signatureAtOrBefore(s)), [0, 0, 7, 7, 9, 9, 9]);
  raftLog.truncateAfter(8);
  assert.deepEqual(raftLog.lastSignature(), { seqno: 7, view: 4 });
});

test('the last match candidate of a log with a base goes back through the view history', () => {
  const raftLog = new RaftLog(after('5t 6t', 7), base);
  assert.equal(raftLog.lastMatchCandidate(9, 6), 9);
  assert.equal(raftLog.lastMatchCandidate(9, 5), 8);
  assert.equal(raftLog.lastMatchCandidate(9, 4), 7, 'stops at the base when its view agrees');
  assert.equal(raftLog.lastMatchCandidate(9, 3), 5, 'before view 4 started');
  assert.equal(raftLog.lastMatchCandidate(4, 3), 4);
  assert.equal(raftLog.lastMatchCandidate(9, 1), 3);
  assert.equal(raftLog.lastMatchCandidate(9, 0), 0);
});

test('a log never truncates below its base, and appends only right after its end', () => {
  const raftLog = new RaftLog(after('4t', 7), base);
  raftLog.truncateAfter(7);
  assert.equal(raftLog.lastSeqno, 7);
  assert.throws(() => raftLog.truncateAfter(6), (e: unknown) => e instanceof CocoError && e.code === 'InternalError');
  assert.throws(() => raftLog.append(after('4t', 8)[0]!), (e: unknown) => e instanceof CocoError && e.code === 'InternalError');
  assert.throws(() => raftLog.append(after('3t', 7)[0]!), (e: unknown) => e instanceof CocoError && e.code === 'InternalError', 'not before the base view');
});

for (const [name, badBase, entries] of [
  ['seqno 0', { ...base, seqno: 0 }, []],
  ['a fractional seqno', { ...base, seqno: 7.5 }, []],
  ['view 0', { ...base, view: 0, viewHistory: [{ view: 0, fromSeqno: 1 }] }, []],
  ['a view other than the last of its history', { ...base, view: 5 }, []],
  ['an empty view history', { ...base, viewHistory: [] }, []],
  ['a view history that is not an array', { ...base, viewHistory: 'views' }, []],
  ['a view history not starting at seqno 1', { ...base, viewHistory: history.slice(1) }, []],
  ['a view starting after the base', { ...base, seqno: 5 }, []],
  ['views going back', { ...base, viewHistory: [history[0], { view: 5, fromSeqno: 4 }, { view: 4, fromSeqno: 6 }] }, []],
  ['two views starting at the same seqno', { ...base, viewHistory: [history[0], { view: 2, fromSeqno: 6 }, { view: 4, fromSeqno: 6 }] }, []],
  ['a view history item that is not an object', { ...base, viewHistory: [history[0], null] }, []],
  ['entries that do not start right after it', base, after('4t', 8)],
  ['entries that start at seqno 1', base, log('4t')],
  ['entries of a view before its own', base, after('3t', 7)],
] as const) {
  test(`a log base with ${name} is refused`, () => {
    assert.throws(() => new RaftLog(entries as never, badBase as never), (e: unknown) => e instanceof CocoError && e.code === 'InvalidConsensusState');
  });
}
