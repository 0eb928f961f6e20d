import assert from 'node:assert/strict';
import test from 'node:test';
import { utf8 } from '../../src/crypto/bytes.js';
import type { LogEntry, ProposedEntry } from '../../src/consensus/log-entry.js';
import { RaftLog } from '../../src/consensus/raft-log.js';
import { RETAINED_ENTRIES_DEFAULT, RETAINED_ENTRY_BYTES_DEFAULT } from '../../src/consensus/consensus-limits.js';
import { RaftNode, type RaftConfig, type Ready } from '../../src/consensus/raft-node.js';
import type { AppendEntries } from '../../src/consensus/raft-messages.js';
import { ELECTION_TICKS, log, pump, ticks } from './raft-fixtures.js';

const PEERS3 = ['a', 'b', 'c'];
const write: ProposedEntry = { data: utf8('write'), isSignature: false };
const sig: ProposedEntry = { data: utf8('sig'), isSignature: true };

test('a compacted log keeps views, signatures and configurations, and rebuilds any compacted entry from its bytes', () => {
  const entries = log('1t 1s 2t 2s 2t 3s 3t');
  entries[2] = { ...entries[2]!, configuration: ['a', 'b'] };
  const raftLog = new RaftLog(entries);
  raftLog.compactTo(4);
  assert.equal(raftLog.baseSeqno, 4);
  assert.equal(raftLog.restorableAfter, 0);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map((s) => raftLog.viewOf(s)), [1, 1, 2, 2, 2, 3, 3, undefined]);
  assert.deepEqual([3, 4, 5].map((s) => raftLog.entry(s)?.seqno), [undefined, undefined, 5]);
  assert.deepEqual(raftLog.slice(1, 6).map((e) => e.seqno), [5, 6]);
  assert.deepEqual([1, 3, 5, 9].map((s) => raftLog.signatureAtOrBefore(s)), [0, 2, 4, 6]);
  assert.deepEqual([1, 2, 3, 5, 7].map((s) => raftLog.signatureAtOrAfter(s)), [2, 2, 4, 6, undefined], 'compacted signatures still cover their transactions');
  for (const entry of entries.slice(0, 4)) assert.deepEqual(raftLog.restore(entry.seqno, entry.data), entry, `entry ${entry.seqno} rebuilt`);
  raftLog.compactTo(6);
  assert.deepEqual(raftLog.restore(5, entries[4]!.data), entries[4]);
  assert.deepEqual(raftLog.lastMatchCandidate(7, 2), 5, 'matching still skips back over later views below the base');
  assert.throws(() => raftLog.restore(7, utf8('x')), /outside the compacted/);
  assert.throws(() => raftLog.compactTo(7), /not a signature/);
  assert.throws(() => raftLog.compactTo(5), /outside/, 'never back');
});

test('a log counts the data bytes of the entries it holds, through compaction and truncation', () => {
  // Entry n carries n bytes: seqnos 1..6, signatures at 2, 4 and 6.
  const entries = log('1t 1s 1t 1s 1t 1s').map((e) => ({ ...e, data: new Uint8Array(e.seqno) }));
  const raftLog = new RaftLog(entries);
  assert.deepEqual([0, 1, 4, 6, 9].map((s) => raftLog.dataBytesUpTo(s)), [0, 1, 10, 21, 21]);
  // The lowest s such that the entries after s up to 5 hold at most the bound.
  assert.deepEqual([15, 14, 12, 9, 5, 4, 0].map((max) => raftLog.seqnoKeepingBytes(5, max)), [0, 1, 2, 3, 4, 5, 5]);
  raftLog.compactTo(2);
  assert.deepEqual([2, 4, 6].map((s) => raftLog.dataBytesUpTo(s)), [0, 7, 18]);
  assert.deepEqual([18, 15, 11, 5].map((max) => raftLog.seqnoKeepingBytes(6, max)), [2, 3, 4, 6]);
  raftLog.truncateAfter(4);
  assert.equal(raftLog.dataBytesUpTo(6), 7);
  raftLog.append({ seqno: 5, view: 2, data: new Uint8Array(100), isSignature: true });
  assert.deepEqual([4, 5].map((s) => raftLog.dataBytesUpTo(s)), [7, 107]);
  assert.throws(() => raftLog.seqnoKeepingBytes(1, 0), /outside/);
});

test('a log started from a snapshot rebuilds only entries after the snapshot', () => {
  const raftLog = new RaftLog(log('2t 2s 2t').map((e) => ({ ...e, seqno: e.seqno + 3 })), { seqno: 3, view: 1, viewHistory: [{ view: 1, fromSeqno: 1 }] });
  raftLog.compactTo(5);
  assert.equal(raftLog.restorableAfter, 3);
  assert.deepEqual([1, 3, 4, 6].map((s) => raftLog.signatureAtOrAfter(s)), [3, 3, 5, undefined], 'the snapshot covers everything up to it');
  assert.equal(raftLog.restore(4, utf8('t')).view, 2);
  assert.throws(() => raftLog.restore(3, utf8('t')), /outside the compacted/);
});

type Retention = Pick<RaftConfig, 'retainedEntries' | 'retainedEntryBytes'>;

function node(id: string, retention: Retention): RaftNode {
  return new RaftNode({ id, configuration: PEERS3, electionTimeoutTicks: ELECTION_TICKS, heartbeatTicks: 2, random: () => 0, ...retention });
}

/**
 * a leads a, b, c (with nothing kept behind commit unless `retention` says otherwise); c was cut off
 * while `rounds` batches of three writes of `data` and a signature committed.
 */
function lagging(rounds: number, retention: Retention = { retainedEntries: 0 }, data = write.data): { a: RaftNode; b: RaftNode; c: RaftNode; nodes: Map<string, RaftNode>; ledger: LogEntry[] } {
  const [a, b, c] = [node('a', retention), node('b', retention), node('c', retention)];
  const nodes = new Map([['a', a], ['b', b], ['c', c]]);
  const first = ticks(a, ELECTION_TICKS);
  a.persisted(a.lastSeqno);
  pump(nodes, first.messages);
  assert.equal(a.role, 'Leader');
  const ledger: LogEntry[] = [];
  const keep = (ready: Ready): Ready => (ledger.push(...ready.entriesToPersist), ready);
  const toC = (m: { to: string }) => m.to === 'c';
  const big: ProposedEntry = { data, isSignature: false };
  for (let round = 0; round < rounds; round++) {
    a.propose([big, big, big, sig]);
    a.persisted(a.lastSeqno);
    pump(nodes, keep(a.ready()).messages, toC);
  }
  pump(nodes, keep(ticks(a, 2)).messages, toC);
  return { a, b, c, nodes, ledger };
}

/** Lets c catch up with a, serving the compacted entries a asks for from `ledger`; returns how many loads a asked for. */
function catchUp(a: RaftNode, c: RaftNode, nodes: Map<string, RaftNode>, ledger: LogEntry[]): number {
  let loads = 0;
  const serve = (ready: Ready): Ready[] => {
    const out = [ready];
    for (const load of ready.entriesToLoad ?? []) {
      loads++;
      assert.equal(load.peer, 'c');
      assert.ok(load.toSeqno - load.fromSeqno < 64 && load.toSeqno <= a.baseSeqno, 'a batch of compacted entries');
      a.loaded(load.peer, load.fromSeqno, ledger.slice(load.fromSeqno - 1, load.toSeqno).map((e) => e.data));
      out.push(...serve(a.ready()));
    }
    return out;
  };
  for (let round = 0; round < 100 && c.commitSeqno < a.commitSeqno; round++) {
    let messages = serve(ticks(a, 2)).flatMap((r) => r.messages);
    while (messages.length > 0) messages = pump(nodes, messages).flatMap(serve).flatMap((r) => r.messages);
  }
  return loads;
}

test('a leader catches up a follower from its ledger once it compacted the entries the follower lacks', () => {
  const { a, c, nodes, ledger } = lagging(20);
  assert.equal(a.commitSeqno, 80);
  assert.equal(a.baseSeqno, 80, 'nothing kept behind commit');
  assert.equal(c.lastSeqno, 0);
  const loads = catchUp(a, c, nodes, ledger);
  assert.ok(loads >= 2, `${loads} loads: the 80 entries take two batches`);
  assert.equal(c.lastSeqno, 80);
  assert.equal(c.commitSeqno, 80);
  for (let seqno = 1; seqno <= 80; seqno++) assert.equal(c.viewOf(seqno), ledger[seqno - 1]!.view);
  assert.equal(c.baseSeqno, 80, 'the follower compacts what it committed too');
});

test('committed entries retained in memory hold at most RETAINED_ENTRY_BYTES_DEFAULT bytes, however few they are; a follower behind them catches up from the ledger', () => {
  const mib = new Uint8Array(1024 * 1024);
  // 100 rounds of three 1 MiB writes and a signature: 400 entries, far fewer than RETAINED_ENTRIES_DEFAULT.
  const { a, b, c, nodes, ledger } = lagging(100, {}, mib);
  assert.ok(400 < RETAINED_ENTRIES_DEFAULT);
  assert.equal(a.commitSeqno, 400);
  for (const n of [a, b]) {
    assert.equal(n.commitSeqno, 400, n.id);
    assert.ok(n.retainedEntryDataBytes <= RETAINED_ENTRY_BYTES_DEFAULT, `${n.id} retains ${n.retainedEntryDataBytes} bytes`);
    // It keeps as much as fits, from a signature on: less than one round of writes short of the bound.
    assert.ok(n.retainedEntryDataBytes > RETAINED_ENTRY_BYTES_DEFAULT - 3 * mib.length, `${n.id} retains ${n.retainedEntryDataBytes} bytes`);
    assert.equal(n.baseSeqno % 4, 0, 'compacted to a signature');
    assert.equal(n.retainedEntryDataBytes, ((400 - n.baseSeqno) / 4) * (3 * mib.length + sig.data.length));
  }

  const loads = catchUp(a, c, nodes, ledger);
  assert.ok(loads > 0, 'c needed entries a no longer retained');
  assert.equal(c.commitSeqno, 400);
  for (let seqno = 1; seqno <= 400; seqno++) assert.equal(c.viewOf(seqno), ledger[seqno - 1]!.view);
  assert.ok(c.retainedEntryDataBytes <= RETAINED_ENTRY_BYTES_DEFAULT);
});

test('retainedEntryBytes bounds retention below retainedEntries: 0 keeps no committed entry', () => {
  const { a, b } = lagging(5, { retainedEntries: 100, retainedEntryBytes: 0 });
  for (const n of [a, b]) {
    assert.equal(n.baseSeqno, 20, n.id);
    assert.equal(n.retainedEntryDataBytes, 0, n.id);
  }
  const kept = lagging(5, { retainedEntries: 100, retainedEntryBytes: 2 * (3 * write.data.length + sig.data.length) });
  assert.equal(kept.a.baseSeqno, 12, 'the last two rounds fit');
  assert.throws(() => node('x', { retainedEntryBytes: -1 }), /retainedEntryBytes -1 is not a whole number/);
});

test('a leader asks for compacted entries once per heartbeat, ignores stale loads and keeps heartbeating meanwhile', () => {
  const { a, nodes, ledger } = lagging(2);
  const toC = (ready: Ready): AppendEntries[] => ready.messages.filter((m): m is AppendEntries => m.type === 'AppendEntries' && m.to === 'c');
  // c refuses the heartbeat (it holds nothing): a learns that c needs entries from seqno 1 on.
  const readies = pump(nodes, toC(ticks(a, 2)));
  assert.deepEqual(readies.flatMap((r) => r.entriesToLoad ?? []), [{ peer: 'c', fromSeqno: 1, toSeqno: 8 }]);
  assert.deepEqual(readies.flatMap(toC).map((m) => [m.prevSeqno, m.entries.length]), [[0, 0]], 'an empty probe keeps c from campaigning meanwhile');
  a.tick();
  assert.equal(a.ready().entriesToLoad, undefined, 'not again before the next heartbeat');
  a.loaded('c', 5, ledger.slice(4, 8).map((e) => e.data));
  assert.equal(a.ready().messages.length, 0, 'a load from where c no longer needs entries is dropped');
  a.loaded('c', 1, []);
  assert.equal(a.ready().messages.length, 0, 'an empty load sends nothing');
  const ready = ticks(a, 1);
  assert.deepEqual(ready.entriesToLoad, [{ peer: 'c', fromSeqno: 1, toSeqno: 8 }], 'asked again at the next heartbeat (the first load may have failed)');
  a.loaded('c', 1, ledger.slice(0, 8).map((e) => e.data));
  const sent = toC(a.ready());
  assert.deepEqual(sent.map((m) => [m.prevSeqno, m.entries.map((e) => e.seqno)]), [[0, [1, 2, 3, 4, 5, 6, 7, 8]]]);
  assert.deepEqual(sent[0]!.entries, ledger.slice(0, 8), 'the entries as they were written: views, signatures');
});
