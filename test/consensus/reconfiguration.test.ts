import assert from 'node:assert/strict';
import test from 'node:test';
import { utf8 } from '../../src/crypto/bytes.js';
import { CocoError } from '../../src/errors.js';
import type { LogEntry, ProposedEntry } from '../../src/consensus/log-entry.js';
import type { RaftNode } from '../../src/consensus/raft-node.js';
import type { AppendEntries, RaftMessage, VoteResponse } from '../../src/consensus/raft-messages.js';
import { ADDED_NODE_GRACE_ELECTION_TIMEOUTS } from '../../src/consensus/consensus-limits.js';
import { ELECTION_TICKS, elect, log, makeNode, pump, ticks } from './raft-fixtures.js';

const sig: ProposedEntry = { data: utf8('sig'), isSignature: true };
const tx: ProposedEntry = { data: utf8('tx'), isSignature: false };
const reconfigure = (nodes: string[]): ProposedEntry => ({ data: utf8(`configure ${nodes.join(',')}`), isSignature: false, configuration: nodes });
const isCode = (code: string) => (e: unknown) => e instanceof CocoError && e.code === code;

/** `spec` as in `log`, with a configuration set by the entry at each given seqno. */
function configuredLog(spec: string, configurations: Record<number, string[]>): LogEntry[] {
  return log(spec).map((entry) => (configurations[entry.seqno] ? { ...entry, configuration: configurations[entry.seqno] } : entry));
}

/** Node a starts a service alone (view 1 → leader of view 2, genesis committed), then each joiner in turn is added and caught up. */
function service(joiners: string[] = []): { nodes: Map<string, RaftNode>; a: RaftNode } {
  const a = makeNode('a', ['a'], [], 1);
  const nodes = new Map([['a', a]]);
  a.startElection();
  a.propose([reconfigure(['a']), sig]);
  a.persisted(a.lastSeqno);
  a.ready();
  for (const joiner of joiners) {
    nodes.set(joiner, makeNode(joiner, []));
    a.propose([reconfigure([...nodes.keys()]), sig]);
    a.persisted(a.lastSeqno);
    pump(nodes, a.ready().messages);
    pump(nodes, ticks(a, 2).messages); // tells the followers the commit
  }
  for (const node of nodes.values()) node.ready();
  return { nodes, a };
}

/** Delivers a leader's next heartbeats (and everything they cause) `rounds` times. */
function heartbeats(nodes: Map<string, RaftNode>, leader: RaftNode, rounds: number, drop: (m: RaftMessage) => boolean = () => false): void {
  for (let i = 0; i < rounds; i++) pump(nodes, ticks(leader, 2).messages, drop);
}

test('a node starting a service alone becomes leader of view 2 at once and commits the genesis entry by itself', () => {
  const a = makeNode('a', ['a'], [], 1);
  assert.deepEqual(a.ready().configurations, [['a']], 'the initial configuration is reported at construction');
  a.startElection();
  assert.equal(a.role, 'Leader');
  assert.equal(a.currentView, 2);
  const ready = a.ready();
  assert.deepEqual(ready.becameLeader, { view: 2 });
  assert.deepEqual(ready.hardState, { view: 2, votedFor: 'a' });
  assert.deepEqual(ready.messages, []);
  const [genesis, signature] = a.propose([reconfigure(['a']), sig]);
  assert.equal(a.commitSeqno, 0, 'not before the leader persisted it');
  a.persisted(a.lastSeqno);
  assert.equal(a.commitSeqno, signature!.seqno);
  assert.equal(a.statusOf(genesis!), 'Committed');
  assert.deepEqual(a.entry(genesis!.seqno)?.configuration, ['a']);
  assert.deepEqual(a.configurations, [['a']]);
});

test('a node in no configuration refuses to start an election, and one already leading stays leader', () => {
  assert.throws(() => makeNode('d', []).startElection(), isCode('NotInConfiguration'));
  const { a } = service();
  const view = a.currentView;
  a.startElection();
  assert.equal(a.role, 'Leader');
  assert.equal(a.currentView, view);
});

test('an empty-log joiner is caught up from the leader, and once the entry adding it is appended commit needs its acknowledgement', () => {
  const { nodes, a } = service();
  const b = makeNode('b', []);
  nodes.set('b', b);
  assert.equal(b.ready().configurations, undefined, 'a joiner knows no configuration yet');
  const [, signature] = a.propose([reconfigure(['a', 'b']), sig]);
  assert.deepEqual(a.configurations, [['a'], ['a', 'b']], 'the new configuration is in force once appended');
  const messages = a.ready().messages;
  assert.ok(messages.some((m) => m.type === 'AppendEntries' && m.to === 'b'), 'the leader replicates to the joiner at once');
  a.persisted(a.lastSeqno);
  assert.equal(a.commitSeqno, 2, 'the leader alone no longer commits');
  const readies = pump(nodes, messages);
  assert.equal(b.lastSeqno, a.lastSeqno);
  assert.deepEqual(b.entry(1)?.configuration, ['a']);
  assert.deepEqual(b.configurations, [['a'], ['a', 'b']], 'the joiner does not know yet that its addition committed');
  assert.ok(readies.some((r) => r.configurations !== undefined && r.messages.some((m) => m.from === 'b')), 'the joiner reported the configurations it learnt');
  assert.equal(a.commitSeqno, signature!.seqno);
  assert.deepEqual(a.configurations, [['a', 'b']], 'committing it retires the old configuration');
  heartbeats(nodes, a, 1);
  assert.equal(b.commitSeqno, signature!.seqno);
  assert.deepEqual(b.configurations, [['a', 'b']]);

  const [later] = a.propose([tx, sig]).slice(-1);
  a.persisted(a.lastSeqno);
  pump(nodes, a.ready().messages, (m) => m.to === 'b');
  assert.equal(a.statusOf(later!), 'Pending', 'b must hold it too');
  heartbeats(nodes, a, 1);
  assert.equal(a.statusOf(later!), 'Committed');
});

test('growing from 2 to 3 nodes: while both configurations are active, a commit needs a majority of each', () => {
  const { nodes, a } = service(['b']);
  const c = makeNode('c', []);
  nodes.set('c', c);
  const [, first] = a.propose([reconfigure(['a', 'b', 'c']), sig]);
  a.persisted(a.lastSeqno);
  // a and b are a majority of [a, b] and of [a, b, c]: c may lag.
  pump(nodes, a.ready().messages, (m) => m.to === 'c');
  assert.equal(a.commitSeqno, first!.seqno);
  assert.deepEqual(a.configurations, [['a', 'b', 'c']]);
  heartbeats(nodes, a, 3);
  assert.equal(c.lastSeqno, a.lastSeqno, 'the joiner catches up by backtracking');
  assert.equal(c.commitSeqno, first!.seqno);
  // In [a, b, c], a and c are a majority without b.
  const [second] = a.propose([sig]);
  a.persisted(a.lastSeqno);
  pump(nodes, a.ready().messages, (m) => m.to === 'b');
  assert.equal(a.commitSeqno, second!.seqno);
});

test('a removed follower is no longer replicated to, learns the commit that removed it, and goes quiet', () => {
  const { nodes, a } = service(['b', 'c']);
  const c = nodes.get('c')!;
  const [, removal] = a.propose([reconfigure(['a', 'b']), sig]);
  a.persisted(a.lastSeqno);
  pump(nodes, a.ready().messages);
  assert.equal(a.commitSeqno, removal!.seqno);
  assert.deepEqual(a.configurations, [['a', 'b']]);
  assert.equal(c.commitSeqno, removal!.seqno);
  assert.deepEqual(c.configurations, [['a', 'b']]);
  assert.ok(ticks(a, 2).messages.every((m) => m.to === 'b'), 'heartbeats go to b only');
  assert.equal(c.leaderId, 'a');
  const quiet = ticks(c, ELECTION_TICKS * 3);
  assert.deepEqual(quiet.messages, [], 'c never campaigns');
  assert.equal(c.role, 'Follower');
  // Past an election timeout without the leader, c names none (a node then asks whether it retired):
  // it named the leader that no longer replicates to it for ever, and served reads frozen at its removal.
  assert.equal(c.leaderId, undefined);
  assert.equal(quiet.role?.leaderId, undefined, 'the role change is reported');
});

test('a leader whose own removal committed nominates its most up-to-date follower, which is elected at once, without the retired node and without a tick', () => {
  const { nodes, a } = service(['b', 'c', 'd']);
  const view = a.currentView;
  const [, removal] = a.propose([reconfigure(['b', 'c', 'd']), sig]);
  a.persisted(a.lastSeqno);
  assert.equal(a.role, 'Leader', 'it leads until its removal commits');
  // b lags (a's entries to it are lost); once a steps down, nothing reaches a any more.
  const lost = (m: RaftMessage) => (m.from === 'a' && m.to === 'b' && m.type === 'AppendEntries') || (m.to === 'a' && a.role !== 'Leader');
  const readies = pump(nodes, a.ready().messages, lost);
  // No node ticked: the successor did not wait for an election timeout (nor for pre-vote).
  assert.equal(a.role, 'Follower');
  assert.equal(a.commitSeqno, removal!.seqno);
  const nominations = readies.flatMap((r) => r.messages).filter((m) => m.type === 'ProposeRequestVote');
  assert.deepEqual(nominations.map((m) => [m.from, m.to, m.view]), [['a', 'c', view]], 'c, which matches the whole log (b lags), is nominated once');
  const c = nodes.get('c')!;
  assert.equal(c.role, 'Leader');
  assert.equal(c.currentView, view + 1);
  assert.ok(readies.flatMap((r) => r.messages).some((m) => m.type === 'VoteRequest' && m.from === 'c' && m.nominated), 'its vote requests say it was nominated');
  assert.equal(nodes.get('b')!.leaderId, 'c', 'b, which heard from a within its lease, still voted for the nominee');
  assert.deepEqual(ticks(a, ELECTION_TICKS * 3).messages, [], 'a retired node never campaigns');
  assert.deepEqual(c.configurations, [['b', 'c', 'd']]);
});

test('a retiring leader takes only signatures; a write it accepted before its removal committed is signed, committed before it steps down, and stays Committed under its successor', () => {
  const { nodes, a } = service(['b', 'c']);
  a.propose([reconfigure(['b', 'c']), sig]);
  a.persisted(a.lastSeqno);
  const removing = a.ready().messages;
  const [write] = a.propose([tx]); // accepted (the client got its TxID), unsigned: it does not travel yet
  a.persisted(a.lastSeqno);
  a.ready();
  const readies = pump(nodes, removing);
  assert.equal(a.role, 'Leader', 'it keeps leading while what it accepted is not committed');
  assert.deepEqual(a.configurations, [['b', 'c']], 'its removal committed');
  assert.deepEqual(readies.filter((r) => r.retiring !== undefined).map((r) => r.retiring), [{ view: a.currentView }], 'the caller is told once, to sign at once');
  assert.equal(a.acceptsWrites, false);
  assert.throws(() => a.propose([tx]), isCode('NotLeader'));
  a.propose([sig]);
  a.persisted(a.lastSeqno);
  const handover = pump(nodes, a.ready().messages, (m) => m.to === 'a' && a.role !== 'Leader');
  assert.equal(a.role, 'Follower');
  assert.deepEqual(handover.filter((r) => r.retired !== undefined).map((r) => r.retired), [{ view: a.currentView }], 'the caller is told once that it retired');
  assert.equal(a.statusOf(write!), 'Committed', 'the retired leader committed it before stepping down');
  const successor = [...nodes.values()].find((node) => node.role === 'Leader')!;
  assert.ok(successor !== undefined && successor.id !== 'a', 'a successor was elected without a tick');
  successor.propose([sig]); // as the caller does on becameLeader
  successor.persisted(successor.lastSeqno);
  pump(nodes, successor.ready().messages, (m) => m.to === 'a');
  for (const id of ['b', 'c']) assert.equal(nodes.get(id)!.statusOf(write!), 'Committed', `on ${id}`);
});

test('a retiring leader whose last entries do not commit steps down an election timeout after its removal committed, and still nominates a successor', () => {
  const { nodes, a } = service(['b', 'c']);
  a.propose([reconfigure(['b', 'c']), sig]);
  a.persisted(a.lastSeqno);
  const removing = a.ready().messages;
  a.propose([tx, sig]);
  a.persisted(a.lastSeqno);
  pump(nodes, removing, (m) => m.from === 'a' && a.configurations.length === 1); // nothing it sends after its removal committed arrives
  a.ready();
  assert.equal(a.role, 'Leader');
  for (let i = 1; i < ELECTION_TICKS; i++) a.tick();
  assert.equal(a.role, 'Leader');
  a.tick();
  assert.equal(a.role, 'Follower');
  assert.equal(a.ready().messages.filter((m) => m.type === 'ProposeRequestVote').length, 1);
});

test('a joiner never campaigns, whatever the time without a leader, until a signed entry adds it', () => {
  const d = makeNode('d', []);
  const ready = ticks(d, ELECTION_TICKS * 5);
  assert.deepEqual(ready.messages, []);
  assert.equal(d.role, 'Follower');
  assert.equal(d.currentView, 0);
  // Added by an entry no signature covers yet: winning would truncate that entry away.
  const c = makeNode('c', [], configuredLog('1s 1t', { 1: ['a', 'b'], 2: ['a', 'b', 'c'] }), 1);
  assert.deepEqual(ticks(c, ELECTION_TICKS * 5).messages, []);
  assert.throws(() => c.startElection(), isCode('NotInConfiguration'));
});

test('rolling back an uncommitted configuration entry restores the earlier configuration', () => {
  const b = makeNode('b', ['a', 'b', 'c'], configuredLog('1s 1t', { 2: ['a', 'b', 'c', 'd'] }), 1);
  assert.deepEqual(b.ready().configurations, [['a', 'b', 'c'], ['a', 'b', 'c', 'd']]);
  const fromC: AppendEntries = { type: 'AppendEntries', from: 'c', to: 'b', view: 2, prevSeqno: 1, prevView: 1, entries: [{ ...log('1s 2t')[1]! }], leaderCommitSeqno: 0 };
  b.step(fromC);
  const ready = b.ready();
  assert.equal(ready.rollbackTo, 1);
  assert.deepEqual(ready.configurations, [['a', 'b', 'c']]);
  assert.deepEqual(b.configurations, [['a', 'b', 'c']]);
});

test('a configuration committed before a restart is the one in force after it, earlier ones retired', () => {
  const entries = configuredLog('1t 1s 1t 1s 1t', { 1: ['a'], 3: ['a', 'b'], 5: ['a', 'b', 'c'] });
  assert.deepEqual(makeNode('b', [], entries, 1, 4).configurations, [['a', 'b'], ['a', 'b', 'c']]);
  assert.deepEqual(makeNode('b', [], entries, 1, 0).configurations, [['a'], ['a', 'b'], ['a', 'b', 'c']]);
  assert.deepEqual(makeNode('b', [], [], 1, 0).configurations, []);
});

// Everyone holds a signature, then [a, d, e] (uncommitted) on top of the bootstrap [a, b, c]: both are active.
const twoConfigurations = () => new Map(['a', 'b', 'c', 'd', 'e'].map((id) => [id, makeNode(id, ['a', 'b', 'c'], configuredLog('1s 1t 1s', { 2: ['a', 'd', 'e'] }), 1)]));

test('a candidate needs a majority of every active configuration: one of them is not enough', () => {
  for (const [cutOff, name] of [[['d', 'e'], 'old'], [['b', 'c'], 'new']] as const) {
    const nodes = twoConfigurations();
    const a = nodes.get('a')!;
    a.persisted(a.lastSeqno);
    pump(nodes, ticks(a, ELECTION_TICKS).messages, (m) => (cutOff as readonly string[]).includes(m.to));
    assert.notEqual(a.role, 'Leader', `the votes of the ${name} configuration alone do not elect`);
    assert.equal(a.currentView, 1, 'and the pre-vote kept the view');
  }
  const nodes = twoConfigurations();
  elect(nodes, 'a');
  assert.equal(nodes.get('a')!.role, 'Leader');
});

test('a candidate gives up as soon as refusals make a majority impossible in one active configuration', () => {
  const a = twoConfigurations().get('a')!;
  ticks(a, ELECTION_TICKS);
  const refuse = (from: string) => a.step({ type: 'PreVoteResponse', from, to: 'a', view: 1, granted: false });
  refuse('b');
  refuse('d');
  assert.equal(a.role, 'PreCandidate', 'each configuration can still reach a majority');
  refuse('e');
  assert.equal(a.role, 'Follower');
});

test('a leader commits only with a majority of every active configuration, and keeps leading only while it hears from one', () => {
  for (const [first, then] of [[['b', 'c'], ['d', 'e']], [['d', 'e'], ['b', 'c']]]) {
    const nodes = twoConfigurations();
    elect(nodes, 'a');
    const a = nodes.get('a')!;
    const [signature] = a.propose([sig]);
    a.persisted(a.lastSeqno);
    pump(nodes, a.ready().messages, (m) => then!.includes(m.to));
    assert.equal(a.commitSeqno, 0, `${first} and a are a majority of one configuration only`);
    heartbeats(nodes, a, 1, (m) => first!.includes(m.to));
    assert.equal(a.commitSeqno, signature!.seqno);
    assert.deepEqual(a.configurations, [['a', 'd', 'e']]);
  }

  const again = twoConfigurations();
  elect(again, 'a');
  const leader = again.get('a')!;
  heartbeats(again, leader, ELECTION_TICKS, (m) => m.to === 'd' || m.to === 'e');
  assert.equal(leader.role, 'Follower', 'hearing from the old configuration only fails check-quorum');
});

test('vote requests from outside every active configuration are refused without a view change, and such answers are ignored', () => {
  const b = makeNode('b', ['a', 'b', 'c'], log('1s'), 1);
  b.ready();
  b.step({ type: 'PreVoteRequest', from: 'z', to: 'b', view: 2, lastCommittableSeqno: 1, lastCommittableView: 1, nominated: false });
  b.step({ type: 'VoteRequest', from: 'z', to: 'b', view: 5, lastCommittableSeqno: 1, lastCommittableView: 1, nominated: false });
  const answers = b.ready().messages as VoteResponse[];
  assert.deepEqual(answers.map((m) => [m.type, m.to, m.granted, m.view]), [['PreVoteResponse', 'z', false, 1], ['VoteResponse', 'z', false, 1]]);
  assert.equal(b.currentView, 1);

  const a = makeNode('a', ['a', 'b', 'c']);
  ticks(a, ELECTION_TICKS);
  for (const from of ['y', 'z']) a.step({ type: 'PreVoteResponse', from, to: 'a', view: 1, granted: true });
  assert.equal(a.role, 'PreCandidate');
  a.step({ type: 'AppendEntriesResponse', from: 'z', to: 'a', view: 7, success: true, matchSeqno: 0, durableSeqno: 0, rejectedPrevSeqno: 0, hintSeqno: 0, hintView: 0 });
  assert.equal(a.currentView, 0, 'an answer from outside is ignored');
});

test('a node outside the configurations of a lagging node still gets its vote when its log is newer: the lagging node may lack the entry adding it', () => {
  const b = makeNode('b', ['a', 'b'], log('1s'), 1);
  b.ready();
  b.step({ type: 'VoteRequest', from: 'c', to: 'b', view: 3, lastCommittableSeqno: 4, lastCommittableView: 2, nominated: false });
  assert.deepEqual((b.ready().messages as VoteResponse[]).map((m) => [m.type, m.granted, m.view]), [['VoteResponse', true, 3]]);
});

test('a retired node votes on its committed prefix: its longer log does not deny a node that missed its removal the vote it still needs', () => {
  const { nodes, a } = service(['b']);
  const b = nodes.get('b')!;
  a.propose([reconfigure(['b']), sig]);
  const removing = a.ready().messages;
  a.persisted(a.lastSeqno);
  a.propose([tx, sig]); // never reaches b: a's log ends up newer than b's
  a.persisted(a.lastSeqno);
  a.ready();
  pump(nodes, removing, (m) => m.from === 'a' && a.configurations.length === 1); // and the commit notice is lost
  assert.equal(a.role, 'Leader', 'retiring: its last entries are not committed');
  for (let i = 0; i < ELECTION_TICKS; i++) a.tick(); // and never will be: it steps down
  a.ready(); // its messages are lost
  assert.equal(a.role, 'Follower');
  assert.deepEqual(a.configurations, [['b']]);
  assert.deepEqual(b.configurations, [['a', 'b'], ['b']], 'b missed the commit: it still needs a majority of [a, b]');
  elect(nodes, 'b');
  assert.equal(b.role, 'Leader');
  assert.ok(a.lastSeqno > b.lastSeqno);

  // A node that was never in a configuration (a joiner) keeps judging by its whole log.
  const joiner = makeNode('d', [], configuredLog('1t 1s 1t 1s', { 1: ['a'] }), 1, 2);
  joiner.step({ type: 'VoteRequest', from: 'a', to: 'd', view: 2, lastCommittableSeqno: 2, lastCommittableView: 1, nominated: false });
  assert.deepEqual((joiner.ready().messages as VoteResponse[]).map((m) => m.granted), [false]);
});

test('a leader that restarts before its joiner received anything is re-elected with the vote of the joiner, which knows no configuration yet', () => {
  const { a } = service();
  const [, pending] = a.propose([reconfigure(['a', 'b']), sig]);
  a.persisted(a.lastSeqno);
  const entries = [1, 2, 3, 4].map((seqno) => a.entry(seqno)!);
  const restarted = makeNode('a', ['a'], entries, a.currentView, 2); // every message to b was lost
  const nodes = new Map([['a', restarted], ['b', makeNode('b', [])]]);
  assert.deepEqual(restarted.configurations, [['a'], ['a', 'b']]);
  elect(nodes, 'a');
  assert.equal(restarted.role, 'Leader');
  restarted.propose([sig]);
  restarted.persisted(restarted.lastSeqno);
  pump(nodes, restarted.ready().messages);
  heartbeats(nodes, restarted, 2);
  assert.equal(restarted.statusOf(pending!), 'Committed');
  assert.equal(nodes.get('b')!.statusOf(pending!), 'Committed');
});

test('malformed configurations are refused in proposals and in persisted logs', () => {
  const { a } = service();
  for (const configuration of [[], ['a', 'a'], [''], 'a' as unknown as string[], Array.from({ length: 65 }, (_, i) => `n${i}`)]) {
    assert.throws(() => a.propose([{ ...tx, configuration }]), isCode('InvalidProposal'), JSON.stringify(configuration));
  }
  assert.throws(() => makeNode('a', ['a'], configuredLog('1s', { 1: ['b', 'b'] }), 1), isCode('InvalidConsensusState'));
});

test('nodes just added count for check-quorum until they first answer, for ADDED_NODE_GRACE_ELECTION_TIMEOUTS at most: a leader trusting two slow-starting joiners at once stays leader', () => {
  const { nodes, a } = service();
  // The check-quorum period is almost over when b and c join ({a, b, c} needs one of them); neither answers yet.
  ticks(a, ELECTION_TICKS - 1);
  nodes.set('b', makeNode('b', []));
  nodes.set('c', makeNode('c', []));
  a.propose([reconfigure(['a', 'b', 'c']), sig]);
  a.persisted(a.lastSeqno);
  const starting = new Set(['b', 'c']);
  const silent = (m: RaftMessage) => starting.has(m.to) || starting.has(m.from);
  pump(nodes, a.ready().messages, silent);
  const graceRounds = (ADDED_NODE_GRACE_ELECTION_TIMEOUTS * ELECTION_TICKS) / 2; // a heartbeat round is 2 ticks
  heartbeats(nodes, a, graceRounds - 1, silent);
  assert.equal(a.role, 'Leader', `b and c have not answered within ${ADDED_NODE_GRACE_ELECTION_TIMEOUTS - 0.5} election timeouts: a still leads`);
  // b starts and answers: a commits with it; c never does, and no longer needs to.
  starting.delete('b');
  heartbeats(nodes, a, ELECTION_TICKS * 2, silent);
  assert.equal(a.role, 'Leader', 'a majority ({a, b}) answers');
  assert.equal(a.commitSeqno, a.lastSeqno, 'the configuration adding b and c committed with b');
});

test('a node added to the configuration that never answers counts against check-quorum once its grace is over', () => {
  const { nodes, a } = service();
  nodes.set('b', makeNode('b', []));
  a.propose([reconfigure(['a', 'b']), sig]);
  a.persisted(a.lastSeqno);
  const silent = (m: RaftMessage) => m.to === 'b' || m.from === 'b';
  pump(nodes, a.ready().messages, silent);
  let rounds = 0;
  while (a.role === 'Leader' && rounds < 100 * ELECTION_TICKS) {
    heartbeats(nodes, a, 1, silent);
    rounds++;
  }
  const graceTicks = ADDED_NODE_GRACE_ELECTION_TIMEOUTS * ELECTION_TICKS;
  assert.notEqual(a.role, 'Leader', 'b never answered');
  assert.ok(rounds * 2 >= graceTicks && rounds * 2 <= graceTicks + ELECTION_TICKS, `a stepped down ${rounds * 2} ticks after adding b, at the first check after its grace of ${graceTicks}`);
});

test('a node added to the configuration that answered and then went silent gets no grace: check-quorum fails at the next check, as for any node', () => {
  const { nodes, a } = service();
  ticks(a, ELECTION_TICKS - 1);
  nodes.set('b', makeNode('b', []));
  a.propose([reconfigure(['a', 'b']), sig]);
  a.persisted(a.lastSeqno);
  pump(nodes, a.ready().messages);
  heartbeats(nodes, a, 1);
  assert.equal(a.commitSeqno, a.lastSeqno, 'b answered: the configuration adding it committed');
  const silent = (m: RaftMessage) => m.to === 'b' || m.from === 'b';
  heartbeats(nodes, a, ELECTION_TICKS, silent); // two election timeouts: a whole check period without b
  assert.notEqual(a.role, 'Leader', 'b went silent: a steps down although b was added a moment ago');
});
