import assert from 'node:assert/strict';
import test from 'node:test';
import { utf8 } from '../../src/crypto/bytes.js';
import { CocoError } from '../../src/errors.js';
import type { LogEntry, ProposedEntry } from '../../src/consensus/log-entry.js';
import type { LogBase, ViewStart } from '../../src/consensus/raft-log.js';
import { RaftNode, type Ready } from '../../src/consensus/raft-node.js';
import type { AppendEntries, AppendEntriesResponse, VoteResponse } from '../../src/consensus/raft-messages.js';
import { ELECTION_TICKS, elect, log, makeNode, pump, ticks } from './raft-fixtures.js';

const PEERS3 = ['a', 'b', 'c'];
const sig: ProposedEntry = { data: utf8('sig'), isSignature: true };
const reconfigure = (nodes: string[]): ProposedEntry => ({ data: utf8(`configure ${nodes.join(',')}`), isSignature: false, configuration: nodes });
const isCode = (code: string) => (e: unknown) => e instanceof CocoError && e.code === code;

/** The base of a snapshot taken at `seqno` of `entries`: the view history read from their views. */
function baseAt(entries: readonly LogEntry[], seqno: number): LogBase {
  const viewHistory: ViewStart[] = [];
  for (const entry of entries.slice(0, seqno)) {
    if (viewHistory.at(-1)?.view !== entry.view) viewHistory.push({ view: entry.view, fromSeqno: entry.seqno });
  }
  return { seqno, view: entries[seqno - 1]!.view, viewHistory };
}

/** Node `id` started from a snapshot at `seqno` of `entries`, holding `suffix` after it (by default, every later entry). */
function fromSnapshot(id: string, configuration: readonly string[], entries: readonly LogEntry[], seqno: number, suffix = entries.slice(seqno), commitSeqno = seqno): RaftNode {
  const base = baseAt(entries, seqno);
  return makeNode(id, configuration, suffix, suffix.at(-1)?.view ?? base.view, commitSeqno, base);
}

const appendsTo = (to: string, readies: Ready[]): AppendEntries[] => readies.flatMap((r) => r.messages).filter((m): m is AppendEntries => m.type === 'AppendEntries' && m.to === to);
const answersFrom = (from: string, readies: Ready[]): AppendEntriesResponse[] => readies.flatMap((r) => r.messages).filter((m): m is AppendEntriesResponse => m.type === 'AppendEntriesResponse' && m.from === from);

test('a follower started from a snapshot at S catches up from a leader with a full log: the leader backtracks to S and sends S+1 on', () => {
  const full = log('1s 1t 1s 2t 2s 2t 2s');
  const b = fromSnapshot('b', PEERS3, full, 5, []);
  const nodes = new Map([['a', makeNode('a', PEERS3, full)], ['b', b], ['c', makeNode('c', PEERS3, full)]]);
  const a = nodes.get('a')!;
  const readies = elect(nodes, 'a');
  assert.equal(a.role, 'Leader', 'the base counts as the follower\'s last committable entry: a is as up to date');
  a.propose([sig]);
  a.persisted(a.lastSeqno);
  readies.push(...pump(nodes, a.ready().messages));
  assert.deepEqual(answersFrom('b', readies).filter((m) => !m.success).map((m) => [m.hintSeqno, m.hintView]), [[5, 2]], 'one refusal, hinting at the base');
  assert.deepEqual(appendsTo('b', readies).filter((m) => m.entries.length > 0).map((m) => [m.prevSeqno, m.prevView, m.entries[0]!.seqno]), [[5, 2, 6]]);
  assert.equal(b.lastSeqno, a.lastSeqno);
  assert.deepEqual([5, 6, 8].map((s) => b.entry(s)?.view), [undefined, 2, 3]);
  pump(nodes, ticks(a, 2).messages);
  assert.equal(b.commitSeqno, 8);
  assert.equal(a.commitSeqno, 8);
});

test('a follower started from a snapshot accepts a previous entry before its base when its history agrees, skipping the entries up to the base and acknowledging only what the message covered', () => {
  const full = log('1s 1t 1s 2t 2s 3t 3s');
  const b = fromSnapshot('b', PEERS3, full, 5, []);
  b.ready();
  const from = (prevSeqno: number, prevView: number, entries: LogEntry[]): AppendEntries => ({ type: 'AppendEntries', from: 'a', to: 'b', view: 3, prevSeqno, prevView, entries, leaderCommitSeqno: 7 });

  b.step(from(0, 0, full.slice(0, 3)));
  let ready = b.ready();
  assert.deepEqual(ready.entriesToPersist, []);
  assert.deepEqual((ready.messages as AppendEntriesResponse[]).map((m) => [m.success, m.matchSeqno]), [[true, 3]], 'as CCF, not up to its base: the leader may not hold it');

  b.step(from(2, 1, full.slice(2)));
  ready = b.ready();
  assert.deepEqual(ready.entriesToPersist.map((e) => e.seqno), [6, 7]);
  assert.deepEqual((ready.messages as AppendEntriesResponse[]).map((m) => [m.success, m.matchSeqno]), [[true, 7]]);
  assert.equal(b.commitSeqno, 7);
});

test('a node started from a snapshot reports statuses of TxIDs up to its base from its view history', () => {
  const full = log('1s 1t 1s 2t 2s 4t 4s 4t');
  const b = fromSnapshot('b', PEERS3, full, 7);
  for (const [view, seqno, status] of [
    [1, 1, 'Committed'], [1, 3, 'Committed'], [2, 4, 'Committed'], [4, 7, 'Committed'],
    [2, 3, 'Invalid'], [1, 4, 'Invalid'], [3, 5, 'Invalid'], [3, 6, 'Invalid'], [4, 8, 'Pending'],
  ] as const) {
    assert.equal(b.statusOf({ view, seqno }), status, `${view}.${seqno}`);
  }
  assert.equal(b.baseSeqno, 7);
  assert.equal(b.entry(7), undefined);
  assert.equal(b.viewOf(6), 4);
});

test('a node started from a snapshot votes by its base when its log holds no later signature', () => {
  const full = log('1s 1t 1s 2t 2s');
  const b = fromSnapshot('b', PEERS3, full, 5);
  b.ready();
  b.step({ type: 'VoteRequest', from: 'a', to: 'b', view: 3, lastCommittableSeqno: 3, lastCommittableView: 1, nominated: false });
  b.step({ type: 'VoteRequest', from: 'c', to: 'b', view: 4, lastCommittableSeqno: 5, lastCommittableView: 2, nominated: false });
  assert.deepEqual((b.ready().messages as VoteResponse[]).map((m) => [m.to, m.granted]), [['a', false], ['c', true]]);
});

/** Node a after a restart from its snapshot at seqno 2 of a one-node service, with entries 3 and 4 after it; then leader of view 3. */
function restartedLeader(): { full: LogEntry[]; a: RaftNode } {
  const full = log('2t 2s 2t 2s').map((entry) => (entry.seqno === 1 ? { ...entry, configuration: ['a'] } : entry));
  const a = fromSnapshot('a', ['a'], full, 2, full.slice(2), 4);
  a.startElection();
  assert.equal(a.role, 'Leader');
  assert.equal(a.currentView, 3);
  a.propose([sig]);
  a.persisted(a.lastSeqno);
  a.ready();
  return { full, a };
}

test('a node started from a snapshot becomes leader and replicates to a joiner that starts from the same snapshot', () => {
  const { full, a } = restartedLeader();
  const b = fromSnapshot('b', ['a'], full, 2, []);
  assert.deepEqual(b.ready().configurations, [['a']], 'the joiner connects to the nodes of the snapshot');
  const nodes = new Map([['a', a], ['b', b]]);
  const [, added] = a.propose([reconfigure(['a', 'b']), sig]);
  a.persisted(a.lastSeqno);
  const readies = pump(nodes, a.ready().messages);
  assert.equal(b.lastSeqno, a.lastSeqno);
  assert.deepEqual([2, 3, 4, 5, 6, 7].map((s) => b.entry(s)?.view), [undefined, 2, 2, 3, 3, 3]);
  assert.deepEqual(b.entry(6)?.configuration, ['a', 'b']);
  assert.ok(readies.every((r) => r.needsSnapshot === undefined));
  assert.equal(a.commitSeqno, added!.seqno, 'the joiner\'s acknowledgement commits its addition');
  pump(nodes, ticks(a, 2).messages);
  assert.equal(b.commitSeqno, added!.seqno);
  assert.equal(b.statusOf({ view: 2, seqno: 4 }), 'Committed');
});

test('a leader started from a snapshot reports a follower it cannot catch up, probes it only at heartbeats, and catches it up once it starts from a snapshot', () => {
  const { full, a } = restartedLeader();
  const nodes = new Map([['a', a], ['b', makeNode('b', [])]]);
  a.propose([reconfigure(['a', 'b']), sig]);
  a.persisted(a.lastSeqno);
  const first = a.ready();
  let readies = [first, ...pump(nodes, first.messages)];
  assert.equal(appendsTo('b', readies).length, 1, 'one probe');
  assert.deepEqual(answersFrom('b', readies).map((m) => [m.success, m.hintSeqno]), [[false, 0]], 'one refusal, no retry');
  assert.deepEqual(readies.map((r) => r.needsSnapshot).filter(Boolean), [['b']]);
  assert.equal(a.commitSeqno, 5);

  for (let round = 0; round < 2; round++) {
    readies = [ticks(a, 2)];
    readies.push(...pump(nodes, readies[0]!.messages));
    assert.deepEqual(appendsTo('b', readies).map((m) => [m.prevSeqno, m.prevView, m.entries.map((e) => e.seqno)]), [[2, 2, [3, 4, 5, 6, 7]]], 'one probe at the base per heartbeat');
    assert.ok(readies.every((r) => r.needsSnapshot === undefined), 'reported once');
  }

  const b = fromSnapshot('b', ['a'], full, 2, []);
  nodes.set('b', b);
  pump(nodes, ticks(a, 2).messages);
  assert.equal(b.lastSeqno, a.lastSeqno);
  assert.equal(a.commitSeqno, 7);
});

test('a leader started from a snapshot catches a follower up from seqno 1 once its caller holds the ledger before the snapshot: those entries carry their signatures and configurations', () => {
  const { full, a } = restartedLeader();
  const b = makeNode('b', []);
  const nodes = new Map([['a', a], ['b', b]]);
  a.holdLedgerBeforeBase({ afterSeqno: 0, signatures: [2], configurations: new Map([[1, ['a']]]) });
  a.propose([reconfigure(['a', 'b']), sig]);
  a.persisted(a.lastSeqno);
  const first = a.ready();
  const readies = [first, ...pump(nodes, first.messages)];
  assert.ok(readies.every((r) => r.needsSnapshot === undefined), 'no snapshot needed');
  const loads = readies.flatMap((r) => r.entriesToLoad ?? []);
  assert.deepEqual(loads, [{ peer: 'b', fromSeqno: 1, toSeqno: 2 }], 'the entries up to the snapshot are loaded from the ledger');
  a.loaded('b', 1, full.slice(0, 2).map((entry) => entry.data));
  pump(nodes, a.ready().messages);
  assert.equal(b.lastSeqno, a.lastSeqno);
  assert.deepEqual(b.entry(1), { ...full[0], configuration: ['a'] });
  assert.deepEqual(b.entry(2), full[1], 'a signature');
  assert.deepEqual(b.entry(6)?.configuration, ['a', 'b']);
  pump(nodes, ticks(a, 2).messages);
  assert.equal(a.commitSeqno, 7);
  assert.equal(b.commitSeqno, 7);
});

test('a leader refuses facts about the ledger before its snapshot that do not fit its log', () => {
  const { a } = restartedLeader();
  const cases: [string, number, number[], [number, string[]][]][] = [
    ['it starts at the base', 2, [2], []],
    ['it starts before seqno 0', -1, [2], []],
    ['the base is not its last signature', 0, [1], []],
    ['signatures out of order', 0, [2, 1], []],
    ['a signature past the base', 0, [1, 2, 3], []],
    ['a configuration past the base', 0, [2], [[3, ['a']]]],
    ['an empty configuration', 0, [2], [[1, []]]],
  ];
  for (const [why, afterSeqno, signatures, configurations] of cases) {
    assert.throws(() => a.holdLedgerBeforeBase({ afterSeqno, signatures, configurations: new Map(configurations) }), isCode('InvalidConsensusState'), why);
  }
  assert.doesNotThrow(() => a.holdLedgerBeforeBase({ afterSeqno: 1, signatures: [2], configurations: new Map() }));
});

test('rollback never crosses the base: a new leader keeps it as its last committable entry, a follower truncates down to it', () => {
  const full = log('2t 2s 2t 2t');
  const a = fromSnapshot('a', ['a'], full, 2, full.slice(2), 2);
  a.startElection();
  const ready = a.ready();
  assert.equal(ready.rollbackTo, 2);
  assert.equal(a.lastSeqno, 2);
  assert.equal(a.commitSeqno, 2);

  const b = fromSnapshot('b', PEERS3, full, 2, full.slice(2, 3));
  b.ready();
  b.step({ type: 'AppendEntries', from: 'c', to: 'b', view: 3, prevSeqno: 2, prevView: 2, entries: [{ ...full[2]!, view: 3 }], leaderCommitSeqno: 2 });
  assert.equal(b.ready().rollbackTo, 2);
  assert.equal(b.viewOf(3), 3);
  assert.equal(b.viewOf(2), 2);
});

test('invalid starts from a snapshot are refused', () => {
  const full = log('1s 1t 1s 2t 2s');
  const base = baseAt(full, 5);
  const make = (over: object) => () => new RaftNode({
    id: 'b',
    configuration: PEERS3,
    electionTimeoutTicks: ELECTION_TICKS,
    heartbeatTicks: 2,
    random: () => 0,
    ...over,
  });
  const initial = { hardState: { view: 2, votedFor: undefined }, entries: [], commitSeqno: 5, base };
  assert.doesNotThrow(make({ initial }));
  assert.throws(make({ initial: { ...initial, commitSeqno: 3 } }), isCode('InvalidConsensusState'), 'a commit before the base');
  assert.throws(make({ initial: { ...initial, commitSeqno: 0 } }), isCode('InvalidConsensusState'));
  assert.throws(make({ initial: { ...initial, hardState: { view: 1, votedFor: undefined } } }), isCode('InvalidConsensusState'), 'a view before the base view');
  assert.throws(make({ initial, configuration: [] }), isCode('InvalidConsensusState'), 'no configuration in force at the base');
  assert.throws(make({ initial: { ...initial, base: { ...base, view: 1 } } }), isCode('InvalidConsensusState'), 'a base view that is not its history\'s');
  assert.throws(make({ initial: { ...initial, base: null } }), isCode('InvalidConsensusState'));
  assert.throws(make({ initial: { ...initial, entries: full.slice(3) } }), isCode('InvalidConsensusState'), 'entries not right after the base');
  assert.throws(make({ initial: { ...initial, entries: log('1s 1t 1s 2t 2s 2t').slice(5), commitSeqno: 6 } }), isCode('InvalidConsensusState'), 'a commit that is not a signature');
});

test("a node started from a snapshot reports the configuration it holds as set at the snapshot's seqno, not at 0", () => {
  const full = log('1s 1t 1s 2t 2s');
  assert.deepEqual(fromSnapshot('b', PEERS3, full, 3).configurationSeqnos, [3]);
  assert.deepEqual(makeNode('a', PEERS3, full).configurationSeqnos, [0], 'without a snapshot, the bootstrap configuration');
});
