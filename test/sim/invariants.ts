// The safety properties of a simulated network, checked after every step against what no single node
// knows: who led each view, the committed log and the view each part of it committed in, the prefix
// digest of every (view, seqno) any log ever held, and every final transaction status any node
// reported. Each check looks only at what changed since the last one, so checking every step is cheap.

import type { TxStatus } from '../../src/consensus/tx-status.js';
import type { RaftNode } from '../../src/consensus/raft-node.js';
import type { LogEntry } from '../../src/consensus/log-entry.js';
import type { TxId } from '../../src/ledger/tx-id.js';
import { DigestLog } from './digest-log.js';
import type { SimHost } from './sim-host.js';

export const INVARIANTS = {
  onePrimary: 'at most one primary per view',
  committedKept: 'a committed entry is never lost or changed',
  logMatching: 'logs that share an entry share the whole prefix',
  txStatus: 'transaction statuses are final and agree across nodes',
  progress: 'the service makes progress once a majority is connected',
  readyComplete: 'Ready batches report every log change',
  membersLead: 'only members of a configuration campaign or lead',
  noSplitReported: 'nodes whose disks keep what they wrote never report a split history',
} as const;

export type Invariant = (typeof INVARIANTS)[keyof typeof INVARIANTS];

export class InvariantViolation extends Error {
  constructor(readonly invariant: Invariant, readonly detail: string) {
    super(`invariant "${invariant}" violated: ${detail}`);
    this.name = 'InvariantViolation';
  }
}

/** (view, seqno) as one number; views stay far below this in a simulated run. */
const VIEWS_PER_SEQNO = 2 ** 20;

function keyOf(view: number, seqno: number): number {
  if (view >= VIEWS_PER_SEQNO) throw new Error(`view ${view} is beyond what the checker indexes`);
  return seqno * VIEWS_PER_SEQNO + view;
}

/** What the checker remembers of the running incarnation of one node. */
interface NodeTrack {
  incarnation: number;
  commit: number;
  /** The view of the entry at `commit`: while it stays, a commit move changes statuses only up to the new commit. */
  commitView: number;
  /** The final statuses (Committed, Invalid) this incarnation reported, by (view, seqno) key. */
  finals: Map<number, TxStatus>;
  /** Statuses from this seqno on may have changed since they were last read. */
  statusDirtyFrom: number;
}

/** The smallest seqno ≤ `upTo` where the prefixes of `a` and `b` differ (prefix digests differ from there on). */
function firstDifference(a: DigestLog, b: DigestLog, upTo: number): number {
  let low = 0;
  let high = upTo;
  while (low < high) {
    const mid = (low + high + 1) >>> 1;
    if (a.digestAt(mid) === b.digestAt(mid)) low = mid;
    else high = mid - 1;
  }
  return low + 1;
}

/** The last item matching `test` (Array.prototype.findLast is beyond the ES2022 library). */
function findLast<T>(items: readonly T[], test: (item: T) => boolean): T | undefined {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i] as T)) return items[i];
  return undefined;
}

function describe(entry: LogEntry | undefined, seqno: number): string {
  return entry === undefined ? `nothing at ${seqno}` : `${entry.view}.${seqno}`;
}

export class InvariantChecker {
  /** The node seen leading each view. */
  private readonly leaders = new Map<number, string>();
  private readonly committed = new DigestLog();
  /** Where the committed log grew, each with the view of the node first seen committing that far; one per view. */
  private readonly commitPoints: { seqno: number; view: number }[] = [];
  private readonly committedConfigurations: { seqno: number; nodes: readonly string[] }[] = [];
  private lastCommittedSignature = 0;
  /** For every (view, seqno) any log held: the digest of the prefix it ended, and where it was first seen. */
  private readonly prefixes = new Map<number, { digest: number; where: string }>();
  /** Views of the transactions proposed at each seqno. */
  private readonly txViewsAt: number[][] = [];
  private txSeqnoMax = 0;
  private proposedFrom = Infinity;
  private readonly finalStatus = new Map<number, { status: TxStatus; node: string }>();
  private readonly tracks = new Map<string, NodeTrack>();

  joinsCommitted = 0;
  retirementsCommitted = 0;
  largestCommittedConfiguration: number;

  /** `bootstrap`: the configuration in force before the first configuration entry. */
  constructor(private readonly bootstrap: readonly string[]) {
    this.largestCommittedConfiguration = bootstrap.length;
  }

  /** Views that had a primary. */
  get primaryViews(): number {
    return this.leaders.size;
  }

  get committedSeqno(): number {
    return this.committed.length;
  }

  /** Transactions a leader accepted: their statuses are watched on every node from now on. */
  recordProposed(ids: readonly TxId[]): void {
    for (const { view, seqno } of ids) {
      (this.txViewsAt[seqno] ??= []).push(view);
      this.txSeqnoMax = Math.max(this.txSeqnoMax, seqno);
      this.proposedFrom = Math.min(this.proposedFrom, seqno);
    }
  }

  /** Checks every invariant on what changed since the last call. */
  check(hosts: readonly SimHost[]): void {
    for (const host of hosts) this.checkHost(host, hosts);
    this.proposedFrom = Infinity;
  }

  /** Also compares each node's whole log with its shadow and reads every status again: for the end of a run. */
  checkFully(hosts: readonly SimHost[]): void {
    for (const host of hosts) {
      const raft = host.raft;
      if (raft === undefined) continue;
      // Up to the base, the node compacted its entries away (committed, checked as such).
      for (let seqno = raft.baseSeqno + 1; seqno <= host.shadow.length; seqno++) {
        if (raft.entry(seqno) !== host.shadow.entry(seqno)) {
          throw new InvariantViolation(INVARIANTS.readyComplete, `${host.id} holds ${describe(raft.entry(seqno), seqno)} but its Ready batches left ${describe(host.shadow.entry(seqno), seqno)}`);
        }
      }
      const track = this.tracks.get(host.id);
      if (track !== undefined) track.statusDirtyFrom = 1;
    }
    this.check(hosts);
  }

  private checkHost(host: SimHost, hosts: readonly SimHost[]): void {
    const changes = host.takeLogChanges();
    if (changes.diskFrom !== Infinity) this.checkPrefixes(host.disk.log, changes.diskFrom, `${host.id}'s disk`);
    const raft = host.raft;
    if (raft === undefined) return;
    let track = this.tracks.get(host.id);
    if (track === undefined || track.incarnation !== host.incarnation) {
      track = { incarnation: host.incarnation, commit: 0, commitView: 0, finals: new Map(), statusDirtyFrom: 1 };
      this.tracks.set(host.id, track);
    }
    const last = host.shadow.length;
    if (raft.lastSeqno !== last || (last > raft.baseSeqno && raft.entry(last) !== host.shadow.entry(last))) {
      throw new InvariantViolation(INVARIANTS.readyComplete, `${host.id}'s log ends at ${raft.lastSeqno}, but its Ready batches leave it ending at ${last}`);
    }
    this.checkRole(host, raft);
    if (changes.memoryFrom !== Infinity) this.checkPrefixes(host.shadow, changes.memoryFrom, host.id);
    this.checkCommit(host, raft, track, hosts);
    track.statusDirtyFrom = Math.min(track.statusDirtyFrom, changes.memoryFrom, this.proposedFrom);
    this.checkStatuses(host, raft, track, track.statusDirtyFrom, this.txSeqnoMax);
    track.statusDirtyFrom = Infinity;
  }

  /** Log matching: an entry at (view, seqno) is created once, by the primary of that view, so it always ends the same prefix. */
  private checkPrefixes(log: DigestLog, from: number, where: string): void {
    for (let seqno = Math.max(from, 1); seqno <= log.length; seqno++) {
      const view = (log.entry(seqno) as LogEntry).view;
      const digest = log.digestAt(seqno) as number;
      const key = keyOf(view, seqno);
      const seen = this.prefixes.get(key);
      if (seen === undefined) this.prefixes.set(key, { digest, where });
      else if (seen.digest !== digest) {
        throw new InvariantViolation(INVARIANTS.logMatching, `${where} holds ${view}.${seqno}, but it or an entry before it differs from what ${seen.where} held with ${view}.${seqno}`);
      }
    }
  }

  private checkRole(host: SimHost, raft: RaftNode): void {
    // A leader whose removal committed goes on leading, retiring (it takes no transactions), until what it accepted commits.
    const retiring = raft.role === 'Leader' && !raft.acceptsWrites;
    if (raft.role !== 'Follower' && !retiring && !raft.configurations.some((nodes) => nodes.includes(host.id))) {
      throw new InvariantViolation(INVARIANTS.membersLead, `${host.id} is ${raft.role} in view ${raft.currentView} outside every active configuration`);
    }
    if (raft.role !== 'Leader') return;
    const view = raft.currentView;
    const known = this.leaders.get(view);
    if (known !== undefined && known !== host.id) throw new InvariantViolation(INVARIANTS.onePrimary, `${known} and ${host.id} both became primary of view ${view}`);
    this.leaders.set(view, host.id);
    // Leader completeness: a primary holds every entry committed in an earlier view.
    const point = findLast(this.commitPoints, (p) => p.view < view);
    if (point !== undefined && host.shadow.digestAt(point.seqno) !== this.committed.digestAt(point.seqno)) {
      const seqno = firstDifference(host.shadow, this.committed, point.seqno);
      throw new InvariantViolation(INVARIANTS.committedKept, `${host.id} is primary of view ${view} but holds ${describe(host.shadow.entry(seqno), seqno)} where ${describe(this.committed.entry(seqno), seqno)} was committed in view ${point.view}`);
    }
  }

  private checkCommit(host: SimHost, raft: RaftNode, track: NodeTrack, hosts: readonly SimHost[]): void {
    const commit = raft.commitSeqno;
    if (commit < track.commit) throw new InvariantViolation(INVARIANTS.committedKept, `${host.id}'s commit went back from ${track.commit} to ${commit}`);
    const shared = Math.min(commit, this.committed.length);
    if (host.shadow.digestAt(shared) !== this.committed.digestAt(shared)) {
      const seqno = firstDifference(host.shadow, this.committed, shared);
      throw new InvariantViolation(INVARIANTS.committedKept, `${host.id} has committed ${describe(host.shadow.entry(seqno), seqno)}, but ${describe(this.committed.entry(seqno), seqno)} was committed before`);
    }
    if (commit > this.committed.length) this.extendCommitted(host, raft, hosts);
    if (commit === track.commit) return;
    const commitView = raft.viewOf(commit) ?? 0;
    // Past the commit, a transaction of a view before the committed one's is Invalid: a new committed view changes them all.
    if (commitView !== track.commitView) track.statusDirtyFrom = Math.min(track.statusDirtyFrom, track.commit + 1);
    else this.checkStatuses(host, raft, track, track.commit + 1, commit);
    track.commit = commit;
    track.commitView = commitView;
  }

  private extendCommitted(host: SimHost, raft: RaftNode, hosts: readonly SimHost[]): void {
    const from = this.committed.length + 1;
    for (let seqno = from; seqno <= raft.commitSeqno; seqno++) {
      const entry = host.shadow.entry(seqno);
      if (entry === undefined) throw new InvariantViolation(INVARIANTS.committedKept, `${host.id} has committed ${raft.commitSeqno} but holds nothing at ${seqno}`);
      this.committed.append(entry);
      if (entry.configuration !== undefined) this.commitConfiguration(entry.seqno, entry.configuration);
    }
    const view = raft.currentView;
    const last = this.commitPoints.at(-1);
    if (last?.view === view) last.seqno = raft.commitSeqno;
    else this.commitPoints.push({ seqno: raft.commitSeqno, view });
    this.checkDurableMajorities(from, hosts);
  }

  private commitConfiguration(seqno: number, nodes: readonly string[]): void {
    const previous = this.committedConfigurations.at(-1)?.nodes ?? this.bootstrap;
    if (nodes.some((id) => !previous.includes(id))) this.joinsCommitted++;
    if (previous.some((id) => !nodes.includes(id))) this.retirementsCommitted++;
    this.committedConfigurations.push({ seqno, nodes });
    this.largestCommittedConfiguration = Math.max(this.largestCommittedConfiguration, nodes.length);
  }

  /**
   * Each newly committed signature S needed durable copies on a majority of each configuration in
   * force: the one at the signature before S, and any set between them. Their disks must show it now,
   * in the step it committed.
   */
  private checkDurableMajorities(from: number, hosts: readonly SimHost[]): void {
    for (let seqno = from; seqno <= this.committed.length; seqno++) {
      if (!(this.committed.entry(seqno) as LogEntry).isSignature) continue;
      const previous = this.lastCommittedSignature;
      this.lastCommittedSignature = seqno;
      const between = this.committedConfigurations.filter((c) => c.seqno > previous && c.seqno <= seqno).map((c) => c.nodes);
      const atPrevious = findLast(this.committedConfigurations, (c) => c.seqno <= previous)?.nodes ?? this.bootstrap;
      const digest = this.committed.digestAt(seqno);
      for (const nodes of [atPrevious, ...between]) {
        const copies = nodes.filter((id) => hosts.find((host) => host.id === id)?.disk.log.digestAt(seqno) === digest);
        if (copies.length * 2 <= nodes.length) {
          throw new InvariantViolation(INVARIANTS.committedKept, `${describe(this.committed.entry(seqno), seqno)} committed with durable copies only on {${copies.join(',')}} of configuration {${nodes.join(',')}}`);
        }
      }
    }
  }

  /** Reads the status of every transaction proposed at seqnos `from..to` on `host`. */
  private checkStatuses(host: SimHost, raft: RaftNode, track: NodeTrack, from: number, to: number): void {
    for (let seqno = from; seqno <= to; seqno++) {
      for (const view of this.txViewsAt[seqno] ?? []) {
        const key = keyOf(view, seqno);
        const status = raft.statusOf({ view, seqno });
        const mine = track.finals.get(key);
        if (mine !== undefined && mine !== status) throw new InvariantViolation(INVARIANTS.txStatus, `${host.id} reported ${view}.${seqno} ${mine}, and now ${status}`);
        if (status !== 'Committed' && status !== 'Invalid') continue;
        track.finals.set(key, status);
        const agreed = this.finalStatus.get(key);
        if (agreed === undefined) this.finalStatus.set(key, { status, node: host.id });
        else if (agreed.status !== status) throw new InvariantViolation(INVARIANTS.txStatus, `${view}.${seqno} is ${status} on ${host.id}, but ${agreed.node} reported it ${agreed.status}`);
      }
    }
  }
}
