import assert from 'node:assert/strict';
import test from 'node:test';
import { utf8 } from '../../src/crypto/bytes.js';
import { CocoError } from '../../src/errors.js';
import { APPEND_ENTRIES_PER_MESSAGE_MAX, APPEND_MESSAGES_IN_FLIGHT_MAX, LOST_ENTRIES_REJECTIONS } from '../../src/consensus/consensus-limits.js';
import { RaftNode } from '../../src/consensus/raft-node.js';
import type { AppendEntries, AppendEntriesResponse, RaftMessage } from '../../src/consensus/raft-messages.js';
import { ELECTION_TICKS, elect, log, makeNode, pump, ticks } from './raft-fixtures.js';

const PEERS3 = ['a', 'b', 'c'];

function cluster(logs: Record<string, string>, peers = Object.keys(logs)): Map<string, RaftNode> {
  return new Map(Object.entries(logs).map(([id, spec]) => [id, makeNode(id, peers, log(spec))]));
}

const tx = (n: number) => Array.from({ length: n }, (_, i) => ({ data: utf8(`tx${i}`), isSignature: false }));
const sig = [{ data: utf8('sig'), isSignature: true }];
const isCode = (code: string) => (e: unknown) => e instanceof CocoError && e.code === code;

test('a node that times out pre-votes without changing its view, then wins a vote and reports becameLeader', () => {
  const nodes = cluster({ a: '', b: '', c: '' });
  const a = nodes.get('a')!;
  const first = ticks(a, ELECTION_TICKS);
  assert.equal(a.role, 'PreCandidate');
  assert.equal(a.currentView, 0);
  assert.deepEqual(first.messages.map((m) => [m.type, m.to, m.view]), [['PreVoteRequest', 'b', 1], ['PreVoteRequest', 'c', 1]]);
  const readies = pump(nodes, first.messages);
  assert.equal(a.role, 'Leader');
  assert.equal(a.currentView, 1);
  assert.deepEqual(readies.find((r) => r.becameLeader)?.becameLeader, { view: 1 });
  assert.equal(nodes.get('b')!.leaderId, 'a');
});

test('a voter refuses a candidate whose last committable entry is older, and grants a newer one', () => {
  // b's last signature is 1.2; a's is 1.1 (its 1.3 is not committable); c's is 2.3.
  const nodes = cluster({ a: '1s 1t 1t', b: '1s 1s', c: '1s 1t 2s' });
  elect(nodes, 'a');
  assert.notEqual(nodes.get('a')!.role, 'Leader');
  const fresh = cluster({ a: '1s 1t 1t', b: '1s 1s', c: '1s 1t 2s' });
  elect(fresh, 'c');
  assert.equal(fresh.get('c')!.role, 'Leader');
});

test('a pre-vote is refused by a node that heard from its leader within an election timeout, and the view stays', () => {
  const nodes = cluster({ a: '', b: '', c: '' });
  elect(nodes, 'a');
  const c = nodes.get('c')!;
  const view = c.currentView;
  // c is cut off from a; b still hears a's heartbeats.
  const prevote = ticks(c, ELECTION_TICKS);
  const toB = prevote.messages.filter((m) => m.to === 'b');
  assert.deepEqual(toB.map((m) => m.type), ['PreVoteRequest']);
  const replies = pump(nodes, toB);
  assert.deepEqual(replies.flatMap((r) => r.messages).filter((m) => m.type === 'PreVoteResponse').map((m) => 'granted' in m && m.granted), [false]);
  assert.equal(c.currentView, view);
  assert.equal(nodes.get('a')!.role, 'Leader');
});

test('a leader that hears from no majority within an election timeout steps down (check-quorum)', () => {
  const nodes = cluster({ a: '', b: '', c: '' });
  elect(nodes, 'a');
  const a = nodes.get('a')!;
  const view = a.currentView;
  const ready = ticks(a, ELECTION_TICKS * 2);
  assert.equal(a.role, 'Follower');
  assert.equal(a.currentView, view);
  assert.equal(ready.role?.role, 'Follower');
  assert.deepEqual(ready.steppedDown, { cause: 'quorum-unheard', view, unheard: ['b', 'c'] }, 'why, for the log');
  assert.equal(a.ready().steppedDown, undefined, 'said once');
});

test('check-quorum names only the nodes the leader did not hear from', () => {
  const peers = ['a', 'b', 'c', 'd', 'e'];
  const nodes = new Map(peers.map((id) => [id, makeNode(id, peers, log(''))]));
  elect(nodes, 'a');
  const a = nodes.get('a')!;
  // Only b answers a's heartbeats: two of five is no majority.
  let steppedDown;
  for (let i = 0; i < ELECTION_TICKS * 2 && a.role === 'Leader'; i++) {
    a.tick();
    const ready = a.ready();
    steppedDown = ready.steppedDown;
    pump(nodes, ready.messages, (m) => !(m.to === 'b' || (m.from === 'b' && m.to === 'a')));
  }
  assert.equal(a.role, 'Follower');
  assert.deepEqual(steppedDown, { cause: 'quorum-unheard', view: a.currentView, unheard: ['c', 'd', 'e'] });
});

test('a leader that hears of a newer view steps down and says from whom', () => {
  const nodes = cluster({ a: '', b: '', c: '' });
  elect(nodes, 'a');
  const a = nodes.get('a')!;
  const view = a.currentView;
  // b and c elect b while a hears nothing; b's first message to a then carries the newer view.
  const others = new Map([...nodes].filter(([id]) => id !== 'a'));
  ticks(nodes.get('c')!, ELECTION_TICKS); // c's lease for a runs out, so it grants b a vote
  elect(others, 'b');
  const b = nodes.get('b')!;
  assert.equal(b.role, 'Leader');
  const toA = ticks(b, ELECTION_TICKS).messages.filter((m) => m.to === 'a');
  assert.ok(toA.length > 0);
  a.step(toA[0]!);
  const ready = a.ready();
  assert.equal(a.role, 'Follower');
  assert.deepEqual(ready.steppedDown, { cause: 'newer-view', view, from: 'b', newView: b.currentView });
});

test("a leader's acks: each follower's matching seqno and the ticks since it last answered; elsewhere each other node, with no progress known (as CCF's backups)", () => {
  const nodes = cluster({ a: '', b: '', c: '' });
  elect(nodes, 'a');
  const a = nodes.get('a')!;
  ticks(a, 2); // heartbeats that reach no one
  a.propose([...tx(2), ...sig]);
  // c hears nothing: only b answers.
  pump(nodes, a.ready().messages, (m) => m.to === 'c' || m.from === 'c');
  ticks(a, 1);
  const byNode = new Map(a.acks.map((ack) => [ack.node, ack]));
  assert.deepEqual([...byNode.keys()].sort(), ['b', 'c']);
  assert.equal(byNode.get('b')!.seqno, a.lastSeqno);
  assert.equal(byNode.get('b')!.ticksAgo, 1);
  assert.equal(byNode.get('c')!.seqno, 0);
  assert.equal(byNode.get('c')!.ticksAgo, 3, 'c has been silent since a became leader');
  assert.deepEqual(nodes.get('b')!.acks, [{ node: 'a', seqno: 0, ticksAgo: 0 }, { node: 'c', seqno: 0, ticksAgo: 0 }], 'a follower knows no progress');
  assert.deepEqual(a.configurationSeqnos, [0], 'the bootstrap configuration');
});

test('commit advances only to a signature this view holds durably on a majority; the leader counts itself once persisted', () => {
  const nodes = cluster({ a: '', b: '', c: '' });
  elect(nodes, 'a');
  const a = nodes.get('a')!;
  a.propose(sig); // the new view's signature
  pump(nodes, a.ready().messages);
  a.persisted(a.lastSeqno);
  assert.equal(a.commitSeqno, 1);
  const ids = a.propose(tx(3));
  pump(nodes, a.ready().messages);
  a.persisted(a.lastSeqno);
  assert.equal(a.commitSeqno, 1, 'plain entries never commit on their own');
  assert.equal(a.statusOf(ids[2]!), 'Pending');
  const [signature] = a.propose(sig);
  // Only b receives the signature; the leader has not persisted it yet: one durable copy of three.
  pump(nodes, a.ready().messages, (m) => m.to === 'c', (id) => id !== 'a');
  assert.equal(a.commitSeqno, 1);
  a.persisted(a.lastSeqno);
  assert.equal(a.commitSeqno, signature!.seqno);
  assert.equal(a.statusOf(ids[0]!), 'Committed');
  assert.equal(a.ready().committedUpTo, signature!.seqno);
});

test('followers learn a commit within a tick, not at the next heartbeat, and an unchanged commit sends nothing', () => {
  const nodes = cluster({ a: '', b: '', c: '' });
  elect(nodes, 'a');
  const a = nodes.get('a')!;
  a.propose(sig);
  pump(nodes, a.ready().messages);
  a.persisted(a.lastSeqno);
  assert.equal(a.commitSeqno, 1);
  assert.deepEqual(['b', 'c'].map((id) => nodes.get(id)!.commitSeqno), [0, 0], 'no message carried the commit yet');
  const told = ticks(a, 1).messages;
  assert.deepEqual(told.map((m) => [m.type, m.to, (m as AppendEntries).leaderCommitSeqno, (m as AppendEntries).entries.length]), [['AppendEntries', 'b', 1, 0], ['AppendEntries', 'c', 1, 0]]);
  pump(nodes, told);
  assert.deepEqual(['b', 'c'].map((id) => nodes.get(id)!.commitSeqno), [1, 1]);
  assert.deepEqual(ticks(a, 1).messages.filter((m) => m.type === 'AppendEntries').length, 2, 'the heartbeat');
  assert.deepEqual(ticks(a, 1).messages, [], 'nothing new to tell');
});

test('a new leader rolls back to its last committable entry and reports rollbackTo', () => {
  const nodes = cluster({ a: '1s 1t 1s 1t 1t', b: '1s 1t 1s', c: '1s' });
  const readies = elect(nodes, 'a');
  const a = nodes.get('a')!;
  assert.equal(a.role, 'Leader');
  assert.equal(readies.find((r) => r.rollbackTo !== undefined)?.rollbackTo, 3);
  assert.equal(a.lastSeqno, 3);
  assert.equal(a.statusOf({ view: 1, seqno: 4 }), 'Unknown');
});

test('a follower truncates a conflicting suffix, reports rollbackTo, and the leader backtracks by whole views', () => {
  // c holds entries of an old view 2 that never committed; a leads view 3.
  const nodes = cluster({ a: '1s 1s 3s', b: '1s 1s 3s', c: '1s 1s 2t 2t 2t 2t 2s' }, PEERS3);
  const a = makeNode('a', PEERS3, log('1s 1s 3s'), 3);
  nodes.set('a', a);
  const readies = elect(nodes, 'a');
  assert.equal(a.role, 'Leader');
  a.propose(sig);
  readies.push(...pump(nodes, a.ready().messages));
  const c = nodes.get('c')!;
  const rejections = readies.flatMap((r) => r.messages).filter((m): m is AppendEntriesResponse => m.type === 'AppendEntriesResponse' && m.from === 'c' && !m.success);
  assert.ok(rejections.length <= 2, `leader backtracked in ${rejections.length} steps`);
  assert.ok(readies.some((r) => r.rollbackTo === 2));
  assert.equal(c.lastSeqno, a.lastSeqno);
  assert.deepEqual([1, 2, 3, 4].map((s) => c.viewOf(s)), [1, 1, 3, 4]);
  assert.equal(c.commitSeqno, 0, 'c learns the commit with the next heartbeat');
  pump(nodes, ticks(a, 2).messages);
  assert.equal(c.commitSeqno, 4);
});

test('a leader batches entries per message and pipelines a bounded number of batches before acks', () => {
  const nodes = cluster({ a: '', b: '', c: '' });
  elect(nodes, 'a');
  const a = nodes.get('a')!;
  a.propose([...tx(APPEND_ENTRIES_PER_MESSAGE_MAX * (APPEND_MESSAGES_IN_FLIGHT_MAX + 2) - 1), ...sig]);
  const toB = a.ready().messages.filter((m): m is AppendEntries => m.type === 'AppendEntries' && m.to === 'b');
  assert.equal(toB.length, APPEND_MESSAGES_IN_FLIGHT_MAX);
  assert.ok(toB.every((m) => m.entries.length === APPEND_ENTRIES_PER_MESSAGE_MAX));
  assert.deepEqual(toB.map((m) => m.prevSeqno), toB.map((_, i) => i * APPEND_ENTRIES_PER_MESSAGE_MAX));
  pump(nodes, toB);
  assert.equal(nodes.get('b')!.lastSeqno, a.lastSeqno, 'acks release the rest of the log');
});

test('entries travel once a signature covers them: the unsigned tail waits on the leader, then goes in one message', () => {
  const nodes = cluster({ a: '', b: '', c: '' });
  elect(nodes, 'a');
  const a = nodes.get('a')!;
  const signedUpTo = a.lastSeqno;
  pump(nodes, a.ready().messages);
  a.propose(tx(3));
  const withoutSignature = a.ready().messages.filter((m): m is AppendEntries => m.type === 'AppendEntries');
  assert.deepEqual(withoutSignature, [], 'nothing to send before a signature');
  pump(nodes, ticks(a, 2).messages); // a heartbeat interval
  assert.equal(nodes.get('b')!.lastSeqno, signedUpTo, 'heartbeats do not carry unsigned entries either');
  a.propose(sig);
  a.persisted(a.lastSeqno);
  const withSignature = a.ready().messages.filter((m): m is AppendEntries => m.type === 'AppendEntries');
  assert.deepEqual(withSignature.map((m) => [m.to, m.entries.length]), [['b', 4], ['c', 4]]);
  pump(nodes, withSignature);
  assert.equal(nodes.get('b')!.lastSeqno, a.lastSeqno);
  assert.equal(a.commitSeqno, a.lastSeqno, 'the signature commits on acks from a majority');
});

test('an AppendEntries from an older view is answered with the newer view, which makes the old leader step down', () => {
  const nodes = cluster({ a: '', b: '', c: '' });
  elect(nodes, 'a');
  const a = nodes.get('a')!;
  const b = makeNode('b', PEERS3, [], 5);
  nodes.set('b', b);
  pump(nodes, ticks(a, 2).messages.filter((m) => m.to === 'b'));
  assert.equal(a.role, 'Follower');
  assert.equal(a.currentView, 5);
});

test('proposals are refused on a follower and when malformed', () => {
  const nodes = cluster({ a: '', b: '', c: '' });
  assert.throws(() => nodes.get('a')!.propose(sig), isCode('NotLeader'));
  elect(nodes, 'a');
  assert.throws(() => nodes.get('a')!.propose([]), isCode('InvalidProposal'));
  assert.throws(() => nodes.get('a')!.propose([{ data: 'text' as unknown as Uint8Array, isSignature: false }]), isCode('InvalidProposal'));
});

const goodAppend: AppendEntries = { type: 'AppendEntries', from: 'b', to: 'a', view: 2, prevSeqno: 0, prevView: 0, entries: log('1s 2t'), leaderCommitSeqno: 0 };
const malformed: [string, unknown][] = [
  ['not an object', 'hello'],
  ['a sender that is not a node ID', { ...goodAppend, from: '' }],
  ['this node as the sender', { ...goodAppend, from: 'a' }],
  ['a message to another node', { ...goodAppend, to: 'c' }],
  ['a negative view', { ...goodAppend, view: -1 }],
  ['a fractional seqno', { ...goodAppend, prevSeqno: 0.5 }],
  ['an unknown type', { ...goodAppend, type: 'Gossip' }],
  ['a gap between entries', { ...goodAppend, entries: [log('1s 2t')[1]] }],
  ['an entry from a later view than the message', { ...goodAppend, view: 1 }],
  ['entry data that is not bytes', { ...goodAppend, entries: [{ ...log('1s')[0], data: [1, 2] }] }],
  ['an entry configuration that is empty', { ...goodAppend, entries: [{ ...log('1s')[0], configuration: [] }] }],
  ['an entry configuration naming a node twice', { ...goodAppend, entries: [{ ...log('1s')[0], configuration: ['a', 'a'] }] }],
  ['an entry configuration that is not an array', { ...goodAppend, entries: [{ ...log('1s')[0], configuration: 'a,b' }] }],
  ['too many entries', { ...goodAppend, entries: log(Array(APPEND_ENTRIES_PER_MESSAGE_MAX + 1).fill('1t').join(' ')) }],
  ['a vote response without granted', { type: 'VoteResponse', from: 'b', to: 'a', view: 1 }],
  ['an acknowledgement durable past what it matches', { type: 'AppendEntriesResponse', from: 'b', to: 'a', view: 1, success: true, matchSeqno: 2, durableSeqno: 3, rejectedPrevSeqno: 0, hintSeqno: 0, hintView: 0 }],
];
for (const [name, message] of malformed) {
  test(`a consensus message with ${name} is refused`, () => {
    const a = makeNode('a', PEERS3);
    a.ready();
    assert.throws(() => a.step(message as RaftMessage), isCode('InvalidConsensusMessage'));
    assert.equal(a.hasReady(), false);
  });
}

test('invalid configurations and persisted states are refused', () => {
  const make = (over: object) => () => new RaftNode({ id: 'a', configuration: PEERS3, electionTimeoutTicks: 10, heartbeatTicks: 2, random: () => 0, ...over });
  assert.throws(make({ id: '' }), isCode('InvalidConsensusConfiguration'));
  assert.throws(make({ configuration: ['a', 'a', 'b'] }), isCode('InvalidConsensusConfiguration'));
  assert.throws(make({ heartbeatTicks: 10 }), isCode('InvalidConsensusConfiguration'));
  assert.throws(make({ electionTimeoutTicks: 0 }), isCode('InvalidConsensusConfiguration'));
  assert.throws(make({ initial: { hardState: { view: 0, votedFor: undefined }, entries: log('1s'), commitSeqno: 0 } }), isCode('InvalidConsensusState'));
  assert.throws(make({ initial: { hardState: { view: 1, votedFor: undefined }, entries: log('1s 1t'), commitSeqno: 2 } }), isCode('InvalidConsensusState'));
});

test('a new leader does not commit an earlier view\'s signature by counting replicas, only with a signature of its own view', () => {
  const nodes = cluster({ a: '1s 2s', b: '1s 2s', c: '1s 2s' });
  elect(nodes, 'a');
  const a = nodes.get('a')!;
  pump(nodes, ticks(a, 2).messages);
  assert.equal(a.commitSeqno, 0);
  const [signature] = a.propose(sig);
  a.persisted(a.lastSeqno);
  pump(nodes, a.ready().messages);
  assert.equal(a.commitSeqno, signature!.seqno);
  assert.equal(a.statusOf({ view: 2, seqno: 2 }), 'Committed');
});

test('ticks that elapsed together count at once: a leader behind on its timers sends one round of heartbeats at once, a follower starts an election', () => {
  const nodes = cluster({ a: '', b: '', c: '' });
  elect(nodes, 'a');
  const a = nodes.get('a')!;
  a.ready();
  a.tick(ELECTION_TICKS - 1);
  const heartbeats = a.ready().messages.filter((m) => m.type === 'AppendEntries');
  assert.deepEqual(heartbeats.map((m) => m.to).sort(), ['b', 'c'], 'one heartbeat per follower, not one per elapsed tick');
  assert.equal(a.role, 'Leader');

  const b = nodes.get('b')!;
  b.ready();
  b.tick(ELECTION_TICKS * 2);
  assert.equal(b.role, 'PreCandidate', 'a follower whose timers ran out asks for pre-votes');
  assert.throws(() => b.tick(0), /whole positive numbers/);
  assert.throws(() => b.tick(1.5), /whole positive numbers/);
});

test('a follower that lost entries it had acknowledged as durable (its ledger restored from an older copy) is caught up again, and the leader reports it once', () => {
  const nodes = cluster({ a: '1s', b: '1s', c: '1s' });
  elect(nodes, 'a');
  const a = nodes.get('a')!;
  a.propose([...sig, ...tx(3), ...sig]);
  pump(nodes, a.ready().messages);
  a.persisted(a.lastSeqno);
  assert.equal(nodes.get('c')!.lastSeqno, 6);
  assert.equal(a.acks.find((ack) => ack.node === 'c')?.seqno, 6);
  // c restarts on a copy of its ledger from before it received anything from a.
  const restored = makeNode('c', PEERS3, log('1s'), a.currentView);
  nodes.set('c', restored);
  const readies: ReturnType<typeof a.ready>[] = [];
  for (let heartbeat = 0; heartbeat < LOST_ENTRIES_REJECTIONS + 2; heartbeat++) {
    const ready = ticks(a, 2);
    readies.push(ready, ...pump(nodes, ready.messages));
  }
  assert.equal(restored.lastSeqno, a.lastSeqno, 'c holds the whole log again');
  assert.equal(restored.commitSeqno, a.commitSeqno);
  const reports = readies.flatMap((r) => r.followersLostEntries ?? []);
  assert.deepEqual(reports, [{ peer: 'c', acknowledgedSeqno: 6, holdsSeqno: 1 }]);
});

test('a late rejection of an entry the follower has since acknowledged is ignored: no resend, no report', () => {
  const nodes = cluster({ a: '1s', b: '1s', c: '1s' });
  elect(nodes, 'a');
  const a = nodes.get('a')!;
  a.propose([...sig, ...tx(2), ...sig]);
  pump(nodes, a.ready().messages);
  a.persisted(a.lastSeqno);
  const stale: AppendEntriesResponse = { type: 'AppendEntriesResponse', from: 'c', to: 'a', view: a.currentView, success: false, matchSeqno: 0, durableSeqno: 0, rejectedPrevSeqno: 3, hintSeqno: 1, hintView: 1 };
  for (let i = 0; i < LOST_ENTRIES_REJECTIONS - 1; i++) a.step({ ...stale });
  const ready = a.ready();
  assert.equal(ready.followersLostEntries, undefined);
  assert.deepEqual(ready.messages, [], 'nothing is sent again');
  // An acknowledgement in between starts the count again.
  pump(nodes, ticks(a, 2).messages);
  a.step({ ...stale });
  assert.equal(a.ready().followersLostEntries, undefined);
});
