import assert from 'node:assert/strict';
import test from 'node:test';
import { utf8 } from '../../src/crypto/bytes.js';
import type { LogEntry } from '../../src/consensus/log-entry.js';
import type { LogBase, ViewStart } from '../../src/consensus/raft-log.js';
import { type RaftNode, type Ready } from '../../src/consensus/raft-node.js';
import type { AppendEntries, AppendEntriesResponse } from '../../src/consensus/raft-messages.js';
import { ELECTION_TICKS, elect, log, makeNode, pump, ticks } from './raft-fixtures.js';

// Nodes restored from copies taken at different points: the majority's copies end before the
// newest copy does, so the majority elects a primary and writes new entries where the newest
// copy's node committed others. That node must find out and stop, not keep serving its history.

const PEERS3 = ['a', 'b', 'c'];
const sig = [{ data: utf8('sig'), isSignature: true }];
/** The service's history: seqnos 1..9 in views 1 and 2, committed at 9. */
const HISTORY = log('1s 1t 1s 2t 2s 2t 2s 2t 2s');

function baseAt(entries: readonly LogEntry[], seqno: number): LogBase {
  const viewHistory: ViewStart[] = [];
  for (const entry of entries.slice(0, seqno)) {
    if (viewHistory.at(-1)?.view !== entry.view) viewHistory.push({ view: entry.view, fromSeqno: entry.seqno });
  }
  return { seqno, view: entries[seqno - 1]!.view, viewHistory };
}

/** c restored from the newest copy (committed to 9, from its ledger or its snapshot there); a and b from copies committed to 5. */
function restoredService(newest: 'ledger' | 'snapshot'): Map<string, RaftNode> {
  const older = HISTORY.slice(0, 5);
  const c = newest === 'ledger' ? makeNode('c', PEERS3, HISTORY, 2, 9) : makeNode('c', PEERS3, [], 2, 9, baseAt(HISTORY, 9));
  return new Map([['a', makeNode('a', PEERS3, older, 2, 5)], ['b', makeNode('b', PEERS3, older, 2, 5)], ['c', c]]);
}

const answersFrom = (from: string, readies: Ready[]): AppendEntriesResponse[] =>
  readies.flatMap((r) => r.messages).filter((m): m is AppendEntriesResponse => m.type === 'AppendEntriesResponse' && m.from === from);

for (const newest of ['ledger', 'snapshot'] as const) {
  test(`a node restored from a newer copy (its ${newest}) than the majority's finds the split at the new primary's first entry, reports it once, answers nothing more and never campaigns; the majority commits without it`, () => {
    const nodes = restoredService(newest);
    const [a, c] = [nodes.get('a')!, nodes.get('c')!];
    const readies = elect(nodes, 'a');
    assert.equal(a.role, 'Leader', 'b votes for a: their copies are alike');
    a.propose(sig);
    a.persisted(a.lastSeqno);
    readies.push(...pump(nodes, a.ready().messages));
    for (let heartbeat = 0; heartbeat < 3; heartbeat++) readies.push(...pump(nodes, ticks(a, 2).messages));

    const splits = readies.flatMap((r) => r.historySplit ?? []);
    assert.deepEqual(splits, [{ leader: 'a', view: 3, seqno: 6, leaderView: 3, localView: 2, commitSeqno: 9, commitView: 2 }], 'a holds 3.6 where c committed 2.6');
    assert.ok(answersFrom('c', readies).every((m) => m.matchSeqno <= 5), `c never claims to match a's log past 5: ${JSON.stringify(answersFrom('c', readies))}`);
    const splitAt = readies.findIndex((r) => r.historySplit !== undefined);
    assert.ok(readies.slice(splitAt).every((r) => r.messages.every((m) => m.from !== 'c')), 'nothing from c after the split');
    assert.equal(readies.some((r) => r.followersPastLogEnd !== undefined), false);
    assert.equal(a.commitSeqno, 6, 'a and b commit the new view');
    assert.equal(c.commitSeqno, 9, 'c keeps its commit, for its caller to report');

    c.tick(ELECTION_TICKS * 3);
    assert.equal(c.hasReady(), false, 'c never campaigns');
    assert.equal(c.role, 'Follower');
    assert.equal(c.statusOf({ view: 2, seqno: 9 }), 'Committed', 'its own history, which its caller must no longer serve');
  });
}

test('a follower refuses to take part once a heartbeat\'s previous entry contradicts one it committed', () => {
  const c = makeNode('c', PEERS3, HISTORY, 2, 9);
  c.ready();
  const heartbeat: AppendEntries = { type: 'AppendEntries', from: 'a', to: 'c', view: 3, prevSeqno: 7, prevView: 3, entries: [], leaderCommitSeqno: 7 };
  c.step(heartbeat);
  const ready = c.ready();
  assert.deepEqual(ready.messages, [], 'no refusal with a hint: a would backtrack below c\'s commit');
  assert.deepEqual(ready.historySplit, { leader: 'a', view: 3, seqno: 7, leaderView: 3, localView: 2, commitSeqno: 9, commitView: 2 });
  c.step({ ...heartbeat, prevSeqno: 5, prevView: 2 });
  assert.equal(c.hasReady(), false, 'later messages are ignored, and the split is not reported again');
});

test('past its commit a follower still rolls back a conflicting suffix: only committed entries make a split', () => {
  const c = makeNode('c', PEERS3, HISTORY, 2, 5);
  c.ready();
  c.step({ type: 'AppendEntries', from: 'a', to: 'c', view: 3, prevSeqno: 5, prevView: 2, entries: log('2s 2s 2s 2s 2s 3s').slice(5), leaderCommitSeqno: 6 });
  const ready = c.ready();
  assert.equal(ready.historySplit, undefined);
  assert.equal(ready.rollbackTo, 5);
  assert.deepEqual((ready.messages as AppendEntriesResponse[]).map((m) => [m.success, m.matchSeqno]), [[true, 6]]);
});

test('a leader ignores a follower that acknowledges past its log end and reports it once per view, not at each answer', () => {
  const nodes = new Map(PEERS3.map((id) => [id, makeNode(id, PEERS3, log('1s'))]));
  const a = nodes.get('a')!;
  elect(nodes, 'a');
  a.propose(sig);
  a.persisted(a.lastSeqno);
  pump(nodes, a.ready().messages);
  const past: AppendEntriesResponse = { type: 'AppendEntriesResponse', from: 'c', to: 'a', view: a.currentView, success: true, matchSeqno: 613, durableSeqno: 613, rejectedPrevSeqno: 0, hintSeqno: 0, hintView: 0 };
  const reports = [];
  for (let i = 0; i < 10; i++) {
    a.step({ ...past });
    reports.push(...(a.ready().followersPastLogEnd ?? []));
  }
  assert.deepEqual(reports, [{ peer: 'c', acknowledgedSeqno: 613, lastSeqno: 2 }]);
  assert.equal(a.acks.find((ack) => ack.node === 'c')?.seqno, 2, 'c counts for what it matched before');
  assert.equal(a.role, 'Leader');
});
