// One node's Raft, with CCF's semantics, as a pure state machine: `tick`, `step`, `propose` and
// `persisted` go in, one `Ready` batch comes out. It does no I/O, reads no clock and draws randomness
// only from the caller's `random`. Commit happens only at signature entries durable on a majority;
// elections compare last committable (signature) entries; pre-vote and check-quorum keep a returning
// partitioned node from disrupting a healthy leader. Membership changes through the log as in CCF:
// a configuration entry takes effect once appended, and every quorum (commit, vote, check-quorum)
// needs a majority of each active configuration. Asserted: one leader per view (per node), commit
// never goes back, a committed entry is never truncated. The log keeps committed entries in memory
// only for a while (`retainedEntries`, `retainedEntryBytes`): a leader that must send older ones asks its caller to load
// them from the ledger (`entriesToLoad`, then `loaded`), so memory stays bounded however long the
// ledger grows. A node may start from a snapshot (a base): a leader that needs entries from before
// it to catch a follower up loads them the same way once its caller found them in its ledger
// (`holdLedgerBeforeBase`), and until then reports that follower in `needsSnapshot`.
// A leader whose removal commits retires as CCF's does: it keeps leading until what it accepted
// commits, then nominates its most up-to-date follower (ProposeRequestVote), which campaigns at once.
// A follower whose committed entries the leader contradicts (nodes restored from copies taken at
// different points) reports a `historySplit` and takes no further part; a leader ignores and reports
// a follower that acknowledges past its log end.

import { CocoError, invariant } from '../errors.js';
import type { TxId } from '../ledger/tx-id.js';
import { ActiveConfigurations, configurationProblem, isNodeId } from './configurations.js';
import {
  ADDED_NODE_GRACE_ELECTION_TIMEOUTS,
  APPEND_ENTRIES_PER_MESSAGE_MAX,
  APPEND_MESSAGES_IN_FLIGHT_MAX,
  ENTRY_BYTES_MAX,
  LOST_ENTRIES_REJECTIONS,
  NODE_ID_CHARS_MAX,
  PROPOSAL_ENTRIES_MAX,
  RETAINED_ENTRIES_DEFAULT,
  RETAINED_ENTRY_BYTES_DEFAULT,
  TIMEOUT_TICKS_MAX,
  UNCOMMITTED_ENTRIES_MAX,
} from './consensus-limits.js';
import type { LogEntry, ProposedEntry } from './log-entry.js';
import { RaftLog, type LedgerBeforeBase, type LogBase } from './raft-log.js';
import { checkMessage, type AppendEntries, type AppendEntriesResponse, type PreVoteRequest, type ProposeRequestVote, type RaftMessage, type VoteRequest, type VoteResponse } from './raft-messages.js';
import { statusOf, type TxStatus } from './tx-status.js';

export type Role = 'Follower' | 'PreCandidate' | 'Candidate' | 'Leader';

/** What must survive a restart besides the log: the view and the vote cast in it. */
export interface HardState {
  view: number;
  votedFor: string | undefined;
}

export interface RaftConfig {
  id: string;
  /**
   * The configuration in force before the log's first configuration entry: `[id]` on the node that
   * starts a service, `[]` on a node joining one (it learns its configuration from the leader's log),
   * and with a base, the one in force at the base (from the snapshot's nodes table).
   */
  configuration: readonly string[];
  electionTimeoutTicks: number;
  heartbeatTicks: number;
  /** Uniform in [0, 1); the only source of randomness (election timeout jitter). */
  random: () => number;
  /** Committed entries kept in memory behind the commit point (RETAINED_ENTRIES_DEFAULT if absent); older ones are loaded from the caller's ledger when a follower needs them. */
  retainedEntries?: number;
  /** Bytes of entry data kept in memory behind the commit point at most (RETAINED_ENTRY_BYTES_DEFAULT if absent), whatever `retainedEntries` allows. */
  retainedEntryBytes?: number;
  /**
   * What the node persisted before a restart; absent for a fresh node. With `base` (the snapshot it
   * starts from), `entries` follow the base and `commitSeqno` is at least the base's seqno.
   */
  initial?: { hardState: HardState; entries: readonly LogEntry[]; commitSeqno: number; base?: LogBase };
}

/**
 * What the caller must do, in this order: persist `hardState`; truncate its log after `rollbackTo`;
 * append `entriesToPersist` (durably, then call `persisted`); send `messages` (only once `hardState`
 * is durable); apply entries up to `committedUpTo`, and record it durably only after the log writes
 * before it (or a restart could take a stale suffix for committed). `becameLeader` asks the caller to propose a
 * signature in that view at once, so that the view's entries can commit.
 */
export interface Ready {
  hardState: HardState | undefined;
  rollbackTo: number | undefined;
  entriesToPersist: LogEntry[];
  messages: RaftMessage[];
  committedUpTo: number | undefined;
  becameLeader: { view: number } | undefined;
  role: { role: Role; view: number; leaderId: string | undefined } | undefined;
  /** The active configurations, oldest first, whenever they changed (and at construction): the peers to connect to. */
  configurations: (readonly string[])[] | undefined;
  /**
   * Leader only: followers that lack entries from before the snapshot this leader started from,
   * which it cannot restore (see `holdLedgerBeforeBase`); each is reported once when found so (again
   * only after it matched since). Until it starts from a snapshot or the caller finds those entries,
   * the leader keeps probing it there, once per heartbeat.
   */
  needsSnapshot: string[] | undefined;
  /**
   * Leader only: compacted entries a follower needs, to read from the ledger and pass to `loaded`
   * (at most once per follower per heartbeat; a load that fails may be dropped, the next heartbeat
   * asks again).
   */
  entriesToLoad: EntriesToLoad[] | undefined;
  /** Leader only: followers found to have lost entries they had acknowledged as durable, now caught up again. */
  followersLostEntries: FollowerLostEntries[] | undefined;
  /**
   * Leader only, once: the configuration that removes this leader committed. It accepts only
   * signatures from now on (`acceptsWrites` is false): the caller signs what it holds unsigned at
   * once. When all of it commits (or after an election timeout), the leader nominates a successor
   * and steps down.
   */
  retiring: { view: number } | undefined;
  /**
   * Leader only, once: it handed over (nominated a successor and stepped down) after its removal
   * committed; as CCF's RetiredCommitted, it takes no further part: the caller answers as a retired
   * node from now on, once this Ready's messages (the commit, the nomination) have left.
   */
  retired: { view: number } | undefined;
  /** Leader only, once: it stopped leading, and why (a retiring leader's handover is `retired`). */
  steppedDown: StepDown | undefined;
  /**
   * Once: the leader contradicts an entry this node committed, so the two hold different committed
   * histories. This node takes no further part (it answers no message and never campaigns); the
   * caller must stop serving what it holds.
   */
  historySplit: HistorySplit | undefined;
  /** Leader only: followers that acknowledged past this leader's log end, each reported once per view it leads (see `FollowerPastLogEnd`). */
  followersPastLogEnd: FollowerPastLogEnd[] | undefined;
}

/**
 * The leader `leader` of view `view` holds, at `seqno`, an entry of view `leaderView` where this
 * node committed one of view `localView` (its commit being `commitSeqno`, of view `commitView`).
 * Raft never lets that happen while every node keeps what it wrote durably: it means some nodes'
 * state was restored from copies taken at different points, and the service's nodes now hold two
 * committed histories.
 */
export interface HistorySplit {
  leader: string;
  view: number;
  seqno: number;
  leaderView: number;
  localView: number;
  commitSeqno: number;
  commitView: number;
}

/**
 * A follower that acknowledged matching this leader's log up to `acknowledgedSeqno`, past its last
 * seqno `lastSeqno`: it holds entries this leader does not (a history split, which that follower
 * reports itself when it runs this version). Its acknowledgements past the log end are ignored.
 */
export interface FollowerPastLogEnd {
  peer: string;
  acknowledgedSeqno: number;
  lastSeqno: number;
}

/**
 * Why a leader became a follower: check-quorum found that it heard from no majority for an election
 * timeout (`unheard`: the nodes it missed), or a node told it of a newer view.
 */
export type StepDown = { cause: 'quorum-unheard'; view: number; unheard: string[] } | { cause: 'newer-view'; view: number; from: string; newView: number };

/** A follower whose log ends at `holdsSeqno`, below the `acknowledgedSeqno` it had acknowledged as durable. */
export interface FollowerLostEntries {
  peer: string;
  acknowledgedSeqno: number;
  holdsSeqno: number;
}

/** Entries `fromSeqno..toSeqno` (inclusive) of the ledger, for `peer`. */
export interface EntriesToLoad {
  peer: string;
  fromSeqno: number;
  toSeqno: number;
}

/** The leader's knowledge of one follower. */
interface Progress {
  /** 'probe': one AppendEntries at a time until the logs match; 'replicate': pipelined batches. */
  mode: 'probe' | 'replicate';
  probeSent: boolean;
  nextSeqno: number;
  /** Highest seqno known to match the leader's log (maybe not durable yet). */
  matchSeqno: number;
  /** Highest seqno the follower holds durably and matching. */
  durableSeqno: number;
  /** Last seqno of each unacknowledged batch, ascending; at most APPEND_MESSAGES_IN_FLIGHT_MAX. */
  inFlight: number[];
  /** Reported in `needsSnapshot`, and no successful AppendEntries since. */
  needsSnapshot: boolean;
  /** Rejections in a row of entries the follower had acknowledged as durable (see LOST_ENTRIES_REJECTIONS). */
  lostEntryRejections: number;
  /** Compacted entries from `nextSeqno` asked for in `entriesToLoad` since the last heartbeat. */
  loadRequested: boolean;
  /** Reported in `followersPastLogEnd` (once per view this node leads). */
  pastLogEndReported: boolean;
  /** This node's tick count when the follower last answered (or when replication to it began). */
  lastAnswerTick: number;
  /** The commit seqno last sent to the follower. */
  commitSent: number;
}

/** What a leader last heard from another node: CCF's `acks` of `/node/consensus`. */
export interface FollowerAck {
  node: string;
  /** Highest seqno known to match the leader's log. */
  seqno: number;
  /** Ticks since its last answer. */
  ticksAgo: number;
}

function checkConfig(config: RaftConfig): void {
  const bad = (what: string): never => {
    throw new CocoError('InvalidConsensusConfiguration', `consensus configuration rejected: ${what}`);
  };
  if (!isNodeId(config.id)) bad(`node ID ${JSON.stringify(config.id)} is not 1..${NODE_ID_CHARS_MAX} characters`);
  const problem = configurationProblem(config.configuration, true);
  if (problem !== undefined) bad(problem);
  for (const [name, ticks] of [['electionTimeoutTicks', config.electionTimeoutTicks], ['heartbeatTicks', config.heartbeatTicks]] as const) {
    if (!Number.isSafeInteger(ticks) || ticks < 1 || ticks > TIMEOUT_TICKS_MAX) bad(`${name} ${ticks} is not an integer in 1..${TIMEOUT_TICKS_MAX}`);
  }
  if (config.heartbeatTicks >= config.electionTimeoutTicks) bad('heartbeatTicks must be below electionTimeoutTicks, or followers time out between heartbeats');
  for (const [name, count] of [['retainedEntries', config.retainedEntries], ['retainedEntryBytes', config.retainedEntryBytes]] as const) {
    if (count !== undefined && (!Number.isSafeInteger(count) || count < 0)) bad(`${name} ${count} is not a whole number`);
  }
}

export class RaftNode {
  readonly id: string;
  private readonly configs: ActiveConfigurations;
  private readonly electionTimeoutTicks: number;
  private readonly heartbeatTicks: number;
  private readonly random: () => number;
  private readonly retainedEntries: number;
  private readonly retainedEntryBytes: number;
  private readonly log: RaftLog;

  private view: number;
  private votedFor: string | undefined;
  private roleNow: Role = 'Follower';
  private leader: string | undefined;
  private commit: number;
  private persistedSeqno: number;
  /** Views this node led; guards "one leader per view" locally. */
  private lastLedView = 0;
  /** Leader only: the tick at which the configuration removing it committed (it retires: see `Ready.retiring`). */
  private retiringSinceTick: number | undefined;

  private electionElapsed = 0;
  /** Ticks since this node started: when followers last answered is told in them. */
  private ticks = 0;
  private randomizedElectionTimeout: number;
  private heartbeatElapsed = 0;
  private votes = new Map<string, boolean>();
  /** Leader only: peers heard from (in this view) since the last check-quorum. */
  private heardFrom = new Set<string>();
  /** Leader only: peers added to the configuration while it leads that have not answered yet, with the tick they were added at. */
  private addedAtTick = new Map<string, number>();
  private progress = new Map<string, Progress>();
  /** Follower only: highest seqno verified to match the current leader's log, and its commit. */
  private leaderMatchSeqno = 0;
  private leaderCommitSeqno = 0;
  /** Follower only: durable seqno last reported to the leader. */
  private ackedDurableSeqno = 0;
  /** Set when a leader contradicted this node's committed log: from then on it takes no part. */
  private split: HistorySplit | undefined;

  // Effects accumulated for the next Ready.
  private outbox: RaftMessage[] = [];
  private unpersisted: LogEntry[] = [];
  private pendingRollback: number | undefined;
  private hardStateChanged = false;
  private commitChanged = false;
  private pendingBecameLeader: { view: number } | undefined;
  private pendingRetiring: { view: number } | undefined;
  private pendingRetired: { view: number } | undefined;
  private pendingSteppedDown: StepDown | undefined;
  private roleChanged = false;
  private configurationsChanged: boolean;
  private snapshotsNeeded: string[] = [];
  private followersLostEntries: FollowerLostEntries[] = [];
  private followersPastLogEnd: FollowerPastLogEnd[] = [];
  private pendingSplit: HistorySplit | undefined;
  private loads: EntriesToLoad[] = [];

  /** Where a node's copy of the log is durable up to, as the leader knows it (bound once: it runs on every ack). */
  private readonly durableOf = (node: string): number => (node === this.id ? this.persistedSeqno : this.progressOf(node).durableSeqno);

  constructor(config: RaftConfig) {
    checkConfig(config);
    this.id = config.id;
    this.electionTimeoutTicks = config.electionTimeoutTicks;
    this.heartbeatTicks = config.heartbeatTicks;
    this.random = config.random;
    this.retainedEntries = config.retainedEntries ?? RETAINED_ENTRIES_DEFAULT;
    this.retainedEntryBytes = config.retainedEntryBytes ?? RETAINED_ENTRY_BYTES_DEFAULT;
    const initial = config.initial ?? { hardState: { view: 0, votedFor: undefined }, entries: [], commitSeqno: 0 };
    this.log = new RaftLog(initial.entries, initial.base);
    this.view = initial.hardState.view;
    this.votedFor = initial.hardState.votedFor;
    this.commit = initial.commitSeqno;
    this.persistedSeqno = this.log.lastSeqno;
    if (!Number.isSafeInteger(this.view) || this.view < this.log.lastView) {
      throw new CocoError('InvalidConsensusState', `persisted view ${this.view} is before the last log entry's view ${this.log.lastView}`);
    }
    if (this.commit < this.log.baseSeqno) {
      throw new CocoError('InvalidConsensusState', `persisted commit seqno ${this.commit} is below the base ${this.log.baseSeqno}, which is committed; pass a commit seqno from the base on`);
    }
    if (this.commit !== 0 && this.log.signatureAtOrBefore(this.commit) !== this.commit) {
      throw new CocoError('InvalidConsensusState', `persisted commit seqno ${this.commit} is not a signature entry of the persisted log`);
    }
    if (initial.base !== undefined && config.configuration.length === 0) {
      throw new CocoError('InvalidConsensusState', `a node starting from base ${this.log.baseSeqno} needs the configuration in force there; take it from the snapshot's nodes table`);
    }
    this.configs = new ActiveConfigurations(this.id, config.configuration, config.initial?.base?.seqno ?? 0);
    for (const entry of initial.entries) {
      if (entry.configuration === undefined) continue;
      this.configs.add(entry.seqno, entry.configuration);
      this.configs.commitTo(this.commit); // retire superseded ones as they come: a long log may hold many
    }
    this.configurationsChanged = this.configs.all.length > 0;
    this.randomizedElectionTimeout = this.nextElectionTimeout();
    this.compact();
  }

  // ---- Reading state ----

  get role(): Role {
    return this.roleNow;
  }
  get currentView(): number {
    return this.view;
  }
  get leaderId(): string | undefined {
    return this.leader;
  }
  /** Whether `propose` takes transactions: on a leader, unless it is retiring (then only signatures). */
  get acceptsWrites(): boolean {
    return this.roleNow === 'Leader' && this.retiringSinceTick === undefined;
  }
  get commitSeqno(): number {
    return this.commit;
  }
  get lastSeqno(): number {
    return this.log.lastSeqno;
  }
  /** The seqno the log holds entries after: 0, the snapshot the node started from, or where it compacted committed entries to (`entry` is undefined up to it). */
  get baseSeqno(): number {
    return this.log.baseSeqno;
  }
  /** Bytes of data of the committed entries the log retains in memory: at most `retainedEntryBytes`. */
  get retainedEntryDataBytes(): number {
    return this.log.dataBytesUpTo(this.commit);
  }
  /** Bytes of data of the entries after the commit point. */
  get uncommittedEntryDataBytes(): number {
    return this.log.dataBytesUpTo(this.log.lastSeqno) - this.log.dataBytesUpTo(this.commit);
  }
  /**
   * Each other node of the active configurations: on a leader, what it last acknowledged; elsewhere
   * seqno 0 answered 0 ticks ago, as CCF's backups report the nodes they hold no progress for.
   */
  get acks(): FollowerAck[] {
    if (this.roleNow !== 'Leader') return this.configs.others.map((node) => ({ node, seqno: 0, ticksAgo: 0 }));
    return [...this.progress].map(([node, pr]) => ({ node, seqno: pr.matchSeqno, ticksAgo: this.ticks - pr.lastAnswerTick }));
  }
  /** Whether a committed configuration removed this node (a joiner, never in one, is not retired). */
  get isRetired(): boolean {
    return this.configs.isRetired;
  }
  /** The active configurations, oldest first; empty until a joiner's log holds one. */
  get configurations(): (readonly string[])[] {
    return this.configs.all.map(({ nodes }) => nodes);
  }
  /** The seqno of the entry that set each active configuration (0 or the starting snapshot's for the bootstrap one), oldest first. */
  get configurationSeqnos(): number[] {
    return this.configs.all.map(({ seqno }) => seqno);
  }
  entry(seqno: number): LogEntry | undefined {
    return this.log.entry(seqno);
  }
  viewOf(seqno: number): number | undefined {
    return this.log.viewOf(seqno);
  }
  /** The last signature entry at or before `seqno` (the base when none after it is; 0 when none is known). */
  signatureAtOrBefore(seqno: number): number {
    return this.log.signatureAtOrBefore(seqno);
  }
  /** The first signature entry at or after `seqno` (the snapshot the node started from, for seqnos up to it); undefined past the last one. */
  signatureAtOrAfter(seqno: number): number | undefined {
    return this.log.signatureAtOrAfter(seqno);
  }
  /** Leader only: the followers reported in `needsSnapshot` that have not matched since. */
  get followersNeedingSnapshot(): string[] {
    return [...this.progress].filter(([, pr]) => pr.needsSnapshot).map(([peer]) => peer);
  }
  statusOf(txId: TxId): TxStatus {
    return statusOf(txId, { viewOf: (seqno) => this.log.viewOf(seqno), commitSeqno: this.commit });
  }

  // ---- Inputs ----

  /**
   * `elapsed` ticks have passed: more than one when the caller's event loop was held up (a long
   * request), so that the timers catch up at once and a leader sends its heartbeats right away.
   */
  tick(elapsed = 1): void {
    invariant(Number.isInteger(elapsed) && elapsed >= 1, `ticks elapse in whole positive numbers, not ${elapsed}`);
    if (this.split !== undefined) return;
    this.electionElapsed += elapsed;
    this.ticks += elapsed;
    if (this.roleNow !== 'Leader') {
      if (this.electionElapsed < this.randomizedElectionTimeout) return;
      if (this.canCampaign()) this.preCampaign();
      // One that may not campaign (a node whose removal committed, a joiner not added yet) stops
      // naming a leader it no longer hears, rather than send clients there and call itself ready;
      // the node above then asks the service whether it retired.
      else if (this.leader !== undefined) this.setRole(this.roleNow, undefined);
      return;
    }
    if (this.retiringSinceTick !== undefined) {
      this.stepDownIfRetired();
      if (this.roleNow !== 'Leader') return;
    }
    if (this.electionElapsed >= this.electionTimeoutTicks) {
      this.electionElapsed = 0;
      // Check-quorum: a leader cut off from a majority steps down rather than serve stale reads or
      // keep followers it can still reach from electing a leader that can make progress.
      const heard = (node: string): boolean => node === this.id || this.heardFrom.has(node) || this.inAddedGrace(node);
      if (!this.configs.hasQuorum(heard)) {
        this.pendingSteppedDown = { cause: 'quorum-unheard', view: this.view, unheard: this.configs.others.filter((node) => !heard(node)) };
        this.becomeFollower(this.view, undefined);
        return;
      }
      this.heardFrom.clear();
    }
    this.heartbeatElapsed += elapsed;
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      for (const peer of this.configs.others) this.heartbeat(peer);
      return;
    }
    // A commit that no message carried yet (no new entries followed it) goes out within a tick rather
    // than with the next heartbeat, so that backups answer reads and statuses as Committed sooner.
    for (const peer of this.configs.others) {
      const pr = this.progressOf(peer);
      if (pr.mode === 'replicate' && pr.commitSent < this.commit) this.sendCommit(peer);
    }
  }

  /** Feeds a message from the network; throws CocoError('InvalidConsensusMessage') if malformed. */
  step(input: unknown): void {
    const m = checkMessage(input, this.id);
    if (this.split !== undefined) return;
    // The nominating leader may be in no configuration of ours: its removal committed.
    if (m.type === 'ProposeRequestVote') return this.receiveNomination(m);
    // A sender outside every active configuration may still lead (a joiner hears from its leader
    // before its log adds it); its answers are ignored and its vote requests refused, unless its
    // last committable entry is newer than ours: then this node may just lack the entry that adds
    // it (a joiner with an empty log, a lagging follower), and refusing could leave no electable node.
    if (m.type !== 'AppendEntries' && !this.configs.nodes.has(m.from)) {
      const request = m.type === 'PreVoteRequest' || m.type === 'VoteRequest';
      if (!request || !this.isNewerThanMine(m)) {
        if (request) this.refuseVote(m);
        return;
      }
    }
    if (m.view > this.view) {
      const grantedPreVote = m.type === 'PreVoteResponse' && m.granted;
      // A leader's nominee is asked for: the lease that leader holds is what it hands over.
      if (m.type === 'VoteRequest' && !m.nominated && this.inLease()) return;
      if (m.type !== 'PreVoteRequest' && !grantedPreVote) {
        if (this.roleNow === 'Leader') this.pendingSteppedDown = { cause: 'newer-view', view: this.view, from: m.from, newView: m.view };
        this.becomeFollower(m.view, m.type === 'AppendEntries' ? m.from : undefined);
      }
    } else if (m.view < this.view) {
      // Tell a stale leader or candidate about the newer view so it steps down; drop stale answers.
      if (m.type === 'AppendEntries') this.send(this.rejection(m, 0, 0));
      if (m.type === 'PreVoteRequest' || m.type === 'VoteRequest') this.refuseVote(m);
      return;
    }
    if (this.roleNow === 'Leader' && m.view === this.view) {
      this.heardFrom.add(m.from);
      this.addedAtTick.delete(m.from); // from now on it counts only when heard from, as any other node
    }
    switch (m.type) {
      case 'PreVoteRequest':
      case 'VoteRequest': {
        const granted = this.grantsVote(m);
        if (granted && m.type === 'VoteRequest') {
          this.votedFor = m.from;
          this.hardStateChanged = true;
          this.electionElapsed = 0;
        }
        this.send({ type: m.type === 'VoteRequest' ? 'VoteResponse' : 'PreVoteResponse', from: this.id, to: m.from, view: granted ? m.view : this.view, granted });
        break;
      }
      case 'PreVoteResponse':
      case 'VoteResponse':
        this.countVote(m);
        break;
      case 'AppendEntries':
        this.receiveAppend(m);
        break;
      case 'AppendEntriesResponse':
        if (this.roleNow === 'Leader') this.receiveAppendResponse(m);
        break;
    }
  }

  /**
   * Appends entries at the leader and starts replicating them; returns their TxIDs. Throws
   * CocoError('NotLeader') on other nodes and 'TooManyPendingTransactions' past the uncommitted bound
   * (a signature-only proposal is always accepted: it is what lets the backlog commit).
   */
  propose(entries: readonly ProposedEntry[]): TxId[] {
    if (this.roleNow !== 'Leader') throw new CocoError('NotLeader', `node ${this.id} is not the leader (leader: ${this.leader ?? 'unknown'}); send the proposal to the leader`);
    if (entries.length === 0 || entries.length > PROPOSAL_ENTRIES_MAX) throw new CocoError('InvalidProposal', `a proposal holds 1..${PROPOSAL_ENTRIES_MAX} entries, not ${entries.length}`);
    for (const entry of entries) {
      if (!(entry.data instanceof Uint8Array) || entry.data.length > ENTRY_BYTES_MAX || typeof entry.isSignature !== 'boolean') {
        throw new CocoError('InvalidProposal', `a proposed entry needs data as bytes (at most ${ENTRY_BYTES_MAX}) and a boolean isSignature`);
      }
      const problem = entry.configuration === undefined ? undefined : configurationProblem(entry.configuration);
      if (problem !== undefined) throw new CocoError('InvalidProposal', `a proposed configuration is invalid: ${problem}`);
    }
    const signaturesOnly = entries.every((entry) => entry.isSignature);
    if (!signaturesOnly && this.retiringSinceTick !== undefined) {
      throw new CocoError('NotLeader', `node ${this.id} is retiring: the configuration that removes it committed, and it only signs what it accepted before; send the proposal to its successor once elected`);
    }
    if (!signaturesOnly && this.log.lastSeqno - this.commit + entries.length > UNCOMMITTED_ENTRIES_MAX) {
      throw new CocoError('TooManyPendingTransactions', `${this.log.lastSeqno - this.commit} entries await commit (at most ${UNCOMMITTED_ENTRIES_MAX}); retry once a signature commits`);
    }
    const ids: TxId[] = [];
    for (const proposed of entries) {
      const entry: LogEntry = { seqno: this.log.lastSeqno + 1, view: this.view, data: proposed.data, isSignature: proposed.isSignature };
      if (proposed.configuration !== undefined) entry.configuration = [...proposed.configuration]; // the caller's array may change later
      this.appendLocal(entry);
      ids.push({ view: entry.view, seqno: entry.seqno });
    }
    for (const peer of this.configs.others) this.replicateTo(peer);
    this.maybeCommitAsLeader();
    return ids;
  }

  /**
   * Campaigns at once, without pre-vote or timeout: for the node that starts a service, alone in its
   * configuration. A leader stays as it is. Throws CocoError('NotInConfiguration') on a node outside
   * every active configuration.
   */
  startElection(): void {
    if (!this.canCampaign()) {
      throw new CocoError('NotInConfiguration', `node ${this.id} is in no active committable configuration; start it with configuration [${this.id}] to start a service, or wait until a signed configuration entry adds it`);
    }
    if (this.roleNow !== 'Leader') this.campaign();
  }

  /** The caller made the log durable up to `seqno` (as of the Ready batches it has taken). */
  persisted(seqno: number): void {
    invariant(Number.isSafeInteger(seqno) && seqno >= 0 && seqno <= this.log.lastSeqno, `persisted(${seqno}) past the log end ${this.log.lastSeqno}`);
    if (seqno <= this.persistedSeqno) return;
    this.persistedSeqno = seqno;
    if (this.roleNow === 'Leader') this.maybeCommitAsLeader();
    else if (this.roleNow === 'Follower' && this.leader !== undefined) {
      const durable = this.durableForLeader();
      if (durable > this.ackedDurableSeqno) this.send(this.success(this.leader, this.leaderMatchSeqno));
    }
  }

  hasReady(): boolean {
    return this.outbox.length > 0 || this.unpersisted.length > 0 || this.pendingRollback !== undefined || this.hardStateChanged
      || this.commitChanged || this.pendingBecameLeader !== undefined || this.pendingRetiring !== undefined || this.pendingRetired !== undefined || this.pendingSteppedDown !== undefined || this.roleChanged || this.configurationsChanged
      || this.snapshotsNeeded.length > 0 || this.loads.length > 0 || this.followersLostEntries.length > 0 || this.followersPastLogEnd.length > 0 || this.pendingSplit !== undefined;
  }

  /** Takes everything the caller must act on (see `Ready`) and clears it. */
  ready(): Ready {
    const ready: Ready = {
      hardState: this.hardStateChanged ? { view: this.view, votedFor: this.votedFor } : undefined,
      rollbackTo: this.pendingRollback,
      entriesToPersist: this.unpersisted,
      messages: this.outbox,
      committedUpTo: this.commitChanged ? this.commit : undefined,
      becameLeader: this.pendingBecameLeader,
      role: this.roleChanged ? { role: this.roleNow, view: this.view, leaderId: this.leader } : undefined,
      configurations: this.configurationsChanged ? this.configurations : undefined,
      needsSnapshot: this.snapshotsNeeded.length > 0 ? this.snapshotsNeeded : undefined,
      entriesToLoad: this.loads.length > 0 ? this.loads : undefined,
      followersLostEntries: this.followersLostEntries.length > 0 ? this.followersLostEntries : undefined,
      retiring: this.pendingRetiring,
      retired: this.pendingRetired,
      steppedDown: this.pendingSteppedDown,
      historySplit: this.pendingSplit,
      followersPastLogEnd: this.followersPastLogEnd.length > 0 ? this.followersPastLogEnd : undefined,
    };
    this.outbox = [];
    this.unpersisted = [];
    this.pendingRollback = undefined;
    this.hardStateChanged = false;
    this.commitChanged = false;
    this.pendingBecameLeader = undefined;
    this.pendingRetiring = undefined;
    this.pendingRetired = undefined;
    this.pendingSteppedDown = undefined;
    this.roleChanged = false;
    this.configurationsChanged = false;
    this.snapshotsNeeded = [];
    this.loads = [];
    this.followersLostEntries = [];
    this.followersPastLogEnd = [];
    this.pendingSplit = undefined;
    return ready;
  }

  // ---- Elections ----

  private nextElectionTimeout(): number {
    const r = this.random();
    invariant(typeof r === 'number' && r >= 0 && r < 1, `random() returned ${r}, not a number in [0, 1)`);
    return this.electionTimeoutTicks + Math.floor(r * this.electionTimeoutTicks);
  }

  /** Whether `peer`, added while this node leads, has not answered yet and is still within its grace (see ADDED_NODE_GRACE_ELECTION_TIMEOUTS). */
  private inAddedGrace(peer: string): boolean {
    const addedAtTick = this.addedAtTick.get(peer);
    return addedAtTick !== undefined && this.ticks - addedAtTick < ADDED_NODE_GRACE_ELECTION_TIMEOUTS * this.electionTimeoutTicks;
  }

  /** A node that heard from a live leader within an election timeout refuses to help replace it. */
  private inLease(): boolean {
    return this.leader !== undefined && this.electionElapsed < this.electionTimeoutTicks;
  }

  private setRole(role: Role, leader: string | undefined): void {
    this.roleNow = role;
    this.leader = leader;
    this.roleChanged = true;
  }

  private becomeFollower(view: number, leader: string | undefined): void {
    invariant(view >= this.view, `view going back from ${this.view} to ${view}`);
    if (view > this.view) {
      this.view = view;
      this.votedFor = undefined;
      this.hardStateChanged = true;
      this.leaderMatchSeqno = 0;
      this.leaderCommitSeqno = 0;
      this.ackedDurableSeqno = 0;
    }
    this.setRole('Follower', leader);
    this.electionElapsed = 0;
    this.randomizedElectionTimeout = this.nextElectionTimeout();
    this.progress.clear();
    this.addedAtTick.clear();
    this.retiringSinceTick = undefined;
    this.pendingRetiring = undefined;
  }

  private resetElectionTimer(): void {
    this.electionElapsed = 0;
    this.randomizedElectionTimeout = this.nextElectionTimeout();
  }

  private preCampaign(): void {
    this.setRole('PreCandidate', undefined);
    this.resetElectionTimer();
    this.votes = new Map([[this.id, true]]);
    if (this.electionWon()) return this.campaign();
    const last = this.log.lastSignature();
    for (const peer of this.configs.others) {
      this.send({ type: 'PreVoteRequest', from: this.id, to: peer, view: this.view + 1, lastCommittableSeqno: last.seqno, lastCommittableView: last.view });
    }
  }

  private campaign(nominated = false): void {
    this.view++;
    this.votedFor = this.id;
    this.hardStateChanged = true;
    this.leaderMatchSeqno = 0;
    this.leaderCommitSeqno = 0;
    this.setRole('Candidate', undefined);
    this.resetElectionTimer();
    this.votes = new Map([[this.id, true]]);
    if (this.electionWon()) return this.becomeLeader();
    const last = this.log.lastSignature();
    for (const peer of this.configs.others) {
      this.send({ type: 'VoteRequest', from: this.id, to: peer, view: this.view, lastCommittableSeqno: last.seqno, lastCommittableView: last.view, nominated });
    }
  }

  /**
   * Only a member campaigns (not a joiner yet to be added, nor a retired node), and only by a
   * configuration its last committable entry covers: winning truncates the log to that entry.
   */
  private canCampaign(): boolean {
    return this.configs.isMemberBy(this.log.lastSignature().seqno);
  }

  private isNewerThanMine(m: PreVoteRequest | VoteRequest): boolean {
    const mine = this.log.lastSignature();
    return m.lastCommittableView > mine.view || (m.lastCommittableView === mine.view && m.lastCommittableSeqno > mine.seqno);
  }

  private grantsVote(m: PreVoteRequest | VoteRequest): boolean {
    // A node whose removal committed judges by its committed prefix: what follows can commit only
    // with majorities of later configurations, without it, whose members check it. Judging by its
    // longer log could deny forever the vote of a node that missed that commit and still counts it.
    const mine = this.configs.isRetired ? { seqno: this.commit, view: this.log.viewOf(this.commit) ?? 0 } : this.log.lastSignature();
    const upToDate = m.lastCommittableView > mine.view || (m.lastCommittableView === mine.view && m.lastCommittableSeqno >= mine.seqno);
    if (!upToDate) return false;
    if (m.type === 'PreVoteRequest') return m.view > this.view && !this.inLease();
    return this.roleNow === 'Follower' && (this.votedFor === undefined || this.votedFor === m.from);
  }

  private countVote(m: VoteResponse): void {
    const preVote = m.type === 'PreVoteResponse';
    if (this.roleNow !== (preVote ? 'PreCandidate' : 'Candidate')) return;
    if (m.granted && m.view !== (preVote ? this.view + 1 : this.view)) return;
    this.votes.set(m.from, m.granted);
    if (this.electionWon()) return preVote ? this.campaign() : this.becomeLeader();
    if (this.configs.quorumLost((node) => this.votes.get(node) === false)) this.becomeFollower(this.view, undefined);
  }

  /** Granted votes (this node's own among them) make a majority of every active configuration. */
  private electionWon(): boolean {
    return this.configs.hasQuorum((node) => this.votes.get(node) === true);
  }

  private refuseVote(m: PreVoteRequest | VoteRequest): void {
    this.send({ type: m.type === 'VoteRequest' ? 'VoteResponse' : 'PreVoteResponse', from: this.id, to: m.from, view: this.view, granted: false });
  }

  private becomeLeader(): void {
    invariant(this.roleNow === 'Candidate' && this.votedFor === this.id, `node ${this.id} becoming leader of view ${this.view} without being its candidate`);
    invariant(this.view > this.lastLedView, `node ${this.id} leading view ${this.view} twice`);
    invariant(this.retiringSinceTick === undefined, `node ${this.id} becoming leader while retiring`);
    this.lastLedView = this.view;
    // Only the committable prefix is known to be safe; the new view rewrites what follows it.
    const committable = this.log.lastSignature().seqno;
    if (committable < this.log.lastSeqno) this.truncate(committable);
    this.setRole('Leader', this.id);
    this.pendingBecameLeader = { view: this.view };
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.heardFrom.clear();
    this.addedAtTick.clear();
    this.progress.clear();
    this.syncProgress();
    for (const peer of this.configs.others) this.heartbeat(peer);
    this.maybeCommitAsLeader();
  }

  /** Replicates to every node of the active configurations: new ones from a probe at the log end, which backtracks to what they hold. */
  private syncProgress(): void {
    for (const peer of this.progress.keys()) {
      if (this.configs.nodes.has(peer)) continue;
      this.sendCommit(peer); // so that a removed node learns the commit that removed it, and goes quiet
      this.progress.delete(peer);
      this.heardFrom.delete(peer);
      this.addedAtTick.delete(peer);
    }
    for (const peer of this.configs.others) {
      if (!this.progress.has(peer)) this.progress.set(peer, { mode: 'probe', probeSent: false, nextSeqno: this.log.lastSeqno + 1, matchSeqno: 0, durableSeqno: 0, inFlight: [], needsSnapshot: false, lostEntryRejections: 0, loadRequested: false, pastLogEndReported: false, lastAnswerTick: this.ticks, commitSent: 0 });
    }
  }

  /** Keeps replication in step with the active configurations; a leader whose removal committed starts retiring. */
  private configurationsUpdated(): void {
    this.configurationsChanged = true;
    if (this.roleNow !== 'Leader') return;
    // A node just added has had no time to answer (a joiner starts once trusted): check-quorum counts
    // it as heard from until it answers, for ADDED_NODE_GRACE_ELECTION_TIMEOUTS at most, or a leader
    // adding slow-starting nodes would step down before they could answer.
    for (const peer of this.configs.others) if (!this.progress.has(peer)) this.addedAtTick.set(peer, this.ticks);
    this.syncProgress();
    if (this.configs.isMember || this.retiringSinceTick !== undefined) return;
    // Only a commit removes a leader from every active configuration (it was a member when elected).
    invariant(this.configs.isRetired, `leader ${this.id} left its configurations without a commit removing it`);
    this.retiringSinceTick = this.ticks;
    this.pendingRetiring = { view: this.view };
  }

  /**
   * A retiring leader steps down once everything it accepted committed (or an election timeout after
   * its removal committed, if that never happens), as CCF's does once its retirement committed:
   * it tells its followers the commit and nominates the one most up to date, which campaigns at
   * once; dropping what it accepted is left to that bound (the caller signs at `Ready.retiring`).
   */
  private stepDownIfRetired(): void {
    if (this.roleNow !== 'Leader' || this.retiringSinceTick === undefined) return;
    const drained = this.commit === this.log.lastSeqno;
    if (!drained && this.ticks - this.retiringSinceTick < this.electionTimeoutTicks) return;
    for (const peer of this.configs.others) this.sendCommit(peer);
    const successor = this.successor();
    if (successor !== undefined) this.send({ type: 'ProposeRequestVote', from: this.id, to: successor, view: this.view });
    this.becomeFollower(this.view, undefined);
    this.pendingRetired = { view: this.view };
  }

  /** CCF's choice: the follower with the highest match seqno; of equals, the one heard from last. */
  private successor(): string | undefined {
    let best: { peer: string; pr: Progress } | undefined;
    for (const peer of this.configs.others) {
      const pr = this.progressOf(peer);
      if (best === undefined || pr.matchSeqno > best.pr.matchSeqno || (pr.matchSeqno === best.pr.matchSeqno && pr.lastAnswerTick > best.pr.lastAnswerTick)) best = { peer, pr };
    }
    return best?.peer;
  }

  /**
   * CCF's ProposeRequestVote handler: a follower nominated by the leader it follows, in that leader's
   * view, campaigns at once, skipping pre-vote (that leader, which stepped down, no longer holds its
   * followers' lease). Anything else (a later view, another sender) is ignored: the election timeout
   * still covers a lost or stale nomination.
   */
  private receiveNomination(m: ProposeRequestVote): void {
    if (m.view !== this.view || this.roleNow !== 'Follower' || this.leader !== m.from || !this.canCampaign()) return;
    this.campaign(true);
  }

  // ---- Log replication: leader side ----

  private progressOf(peer: string): Progress {
    const progress = this.progress.get(peer);
    invariant(progress !== undefined, `no replication progress for ${peer}`);
    return progress;
  }

  private heartbeat(peer: string): void {
    const pr = this.progressOf(peer);
    if (pr.mode === 'replicate' && pr.inFlight.length >= APPEND_MESSAGES_IN_FLIGHT_MAX) {
      // A full pipeline for a whole heartbeat interval means lost messages: restart from what is known
      // (or from the first base: this node holds nothing before it).
      pr.mode = 'probe';
      pr.nextSeqno = Math.max(pr.matchSeqno, this.log.restorableAfter) + 1;
      pr.inFlight = [];
    }
    pr.probeSent = false;
    pr.loadRequested = false;
    this.sendAppend(peer, true);
    this.replicateTo(peer);
  }

  /** Sends as many batches as the follower's mode and the in-flight bound allow. */
  private replicateTo(peer: string): void {
    while (this.sendAppend(peer, false));
  }

  /** Sends one AppendEntries from the follower's next seqno; returns whether one carrying entries went out. */
  private sendAppend(peer: string, heartbeat: boolean): boolean {
    const pr = this.progressOf(peer);
    if (pr.mode === 'probe' && pr.probeSent) return false;
    if (pr.mode === 'replicate' && pr.inFlight.length >= APPEND_MESSAGES_IN_FLIGHT_MAX) return false;
    if (pr.nextSeqno <= this.log.baseSeqno) {
      // Compacted: the caller loads them (`loaded` sends them); a heartbeat still goes out meanwhile.
      if (!pr.loadRequested) {
        pr.loadRequested = true;
        this.loads.push({ peer, fromSeqno: pr.nextSeqno, toSeqno: Math.min(pr.nextSeqno + APPEND_ENTRIES_PER_MESSAGE_MAX - 1, this.log.baseSeqno) });
      }
      if (heartbeat) this.sendEntries(peer, pr, [], true);
      return false;
    }
    // Only signed entries travel: none can commit before its signature, and sending the unsigned
    // tail with the signature that follows it (a few ms later) takes one message and one fsync on
    // each backup per signature instead of one per transaction.
    const lastSigned = this.log.lastSignature().seqno;
    return this.sendEntries(peer, pr, this.log.slice(pr.nextSeqno, Math.min(pr.nextSeqno + APPEND_ENTRIES_PER_MESSAGE_MAX - 1, lastSigned)), heartbeat);
  }

  /**
   * The caller's ledger holds the entries before the snapshot this node started from that
   * `beforeBase` describes (read from it): they are sent to followers that lack them, loaded as
   * compacted ones are (`entriesToLoad`), instead of reporting those followers in `needsSnapshot`.
   * Throws CocoError('InvalidConsensusState') when the facts do not fit this node's log.
   */
  holdLedgerBeforeBase(beforeBase: LedgerBeforeBase): void {
    this.log.holdLedgerBeforeBase(beforeBase);
  }

  /**
   * The caller read compacted entries `fromSeqno...` from its ledger for `peer` (as `entriesToLoad`
   * asked): sends them if the follower still needs them from there, and replicates on from them.
   */
  loaded(peer: string, fromSeqno: number, data: readonly Uint8Array[]): void {
    const pr = this.roleNow === 'Leader' ? this.progress.get(peer) : undefined;
    if (pr === undefined || pr.nextSeqno !== fromSeqno || fromSeqno > this.log.baseSeqno) return; // stale
    if (pr.mode === 'replicate' && pr.inFlight.length >= APPEND_MESSAGES_IN_FLIGHT_MAX) return;
    const count = Math.min(data.length, APPEND_ENTRIES_PER_MESSAGE_MAX, this.log.baseSeqno - fromSeqno + 1);
    const entries: LogEntry[] = [];
    for (let i = 0; i < count; i++) {
      const bytes = data[i];
      invariant(bytes instanceof Uint8Array, `loaded entry ${fromSeqno + i} is not bytes`);
      entries.push(this.log.restore(fromSeqno + i, bytes));
    }
    if (entries.length === 0) return;
    pr.loadRequested = false;
    if (pr.mode === 'probe') pr.probeSent = false;
    if (this.sendEntries(peer, pr, entries, false)) this.replicateTo(peer);
  }

  /** Sends `entries` (from the follower's next seqno) or, when none, a heartbeat; returns whether entries went out pipelined. */
  private sendEntries(peer: string, pr: Progress, entries: LogEntry[], heartbeat: boolean): boolean {
    if (entries.length === 0 && !heartbeat) return false;
    const prevSeqno = pr.nextSeqno - 1;
    const prevView = this.log.viewOf(prevSeqno);
    invariant(prevView !== undefined && prevSeqno >= this.log.restorableAfter, `follower ${peer} next seqno ${pr.nextSeqno} outside the log ${this.log.restorableAfter + 1}..${this.log.lastSeqno + 1}`);
    this.send({ type: 'AppendEntries', from: this.id, to: peer, view: this.view, prevSeqno, prevView, entries, leaderCommitSeqno: this.commit });
    pr.commitSent = this.commit;
    if (pr.mode === 'probe') {
      pr.probeSent = true;
      return false;
    }
    if (entries.length === 0) return false;
    pr.nextSeqno += entries.length;
    pr.inFlight.push(pr.nextSeqno - 1);
    return true;
  }

  private receiveAppendResponse(m: AppendEntriesResponse): void {
    const pr = this.progressOf(m.from);
    pr.lastAnswerTick = this.ticks;
    if (!m.success) {
      if (m.rejectedPrevSeqno <= pr.durableSeqno) {
        // Usually a late answer to an old message: the follower durably holds that seqno. Only when
        // it keeps saying its log ends below what it acknowledged did it lose entries (its ledger
        // restored from an older copy): then replicate to it again from what it still holds.
        if (m.hintSeqno >= pr.durableSeqno || ++pr.lostEntryRejections < LOST_ENTRIES_REJECTIONS) return;
        this.followersLostEntries.push({ peer: m.from, acknowledgedSeqno: pr.durableSeqno, holdsSeqno: m.hintSeqno });
        pr.durableSeqno = 0;
      }
      pr.lostEntryRejections = 0;
      const agreed = Math.max(this.log.lastMatchCandidate(m.hintSeqno, m.hintView), pr.durableSeqno);
      const first = this.log.restorableAfter;
      pr.nextSeqno = Math.min(Math.max(agreed, first) + 1, this.log.lastSeqno + 1);
      pr.matchSeqno = Math.min(pr.matchSeqno, agreed);
      pr.mode = 'probe';
      pr.inFlight = [];
      pr.loadRequested = false;
      if (agreed < first) {
        // The follower lacks entries from before the snapshot this node started from: a probe at once
        // would only be refused again, so the next one waits for a heartbeat (by then it may start
        // from a snapshot).
        pr.probeSent = true;
        if (!pr.needsSnapshot) this.snapshotsNeeded.push(m.from);
        pr.needsSnapshot = true;
        return;
      }
      pr.probeSent = false;
      this.sendAppend(m.from, true);
      return;
    }
    if (m.matchSeqno > this.log.lastSeqno) {
      // Only a follower holding entries this leader lacks acknowledges there (a history split): the
      // answer counts for nothing, and is reported once per view this node leads, not at each heartbeat.
      if (!pr.pastLogEndReported) this.followersPastLogEnd.push({ peer: m.from, acknowledgedSeqno: m.matchSeqno, lastSeqno: this.log.lastSeqno });
      pr.pastLogEndReported = true;
      return;
    }
    pr.matchSeqno = Math.max(pr.matchSeqno, m.matchSeqno);
    pr.durableSeqno = Math.max(pr.durableSeqno, m.durableSeqno);
    pr.needsSnapshot = false;
    pr.lostEntryRejections = 0;
    pr.inFlight = pr.inFlight.filter((last) => last > m.matchSeqno);
    if (pr.mode === 'probe') {
      pr.mode = 'replicate';
      pr.inFlight = [];
    }
    pr.nextSeqno = Math.max(pr.nextSeqno, pr.matchSeqno + 1);
    this.maybeCommitAsLeader();
    if (this.progress.has(m.from)) this.replicateTo(m.from); // unless that commit removed it, or this leader
  }

  /**
   * Commit moves to the last signature of this view held durably by a majority of every active
   * configuration (the leader counting itself where it is a member, once persisted). A commit that
   * retires a configuration may let a later signature commit at once, hence the loop.
   */
  private maybeCommitAsLeader(): void {
    while (this.roleNow === 'Leader') {
      const signature = this.log.signatureAtOrBefore(this.configs.quorumSeqno(this.durableOf));
      // Counting replicas only proves commit for this view's entries (Raft's rule); earlier ones commit with them.
      if (signature <= this.commit || this.log.viewOf(signature) !== this.view) break;
      this.advanceCommit(signature);
    }
    this.stepDownIfRetired();
  }

  private advanceCommit(seqno: number): void {
    invariant(seqno > this.commit, `commit going back from ${this.commit} to ${seqno}`);
    invariant(this.log.signatureAtOrBefore(seqno) === seqno, `commit at ${seqno}, which is not a signature`);
    this.commit = seqno;
    this.commitChanged = true;
    if (this.configs.commitTo(seqno)) this.configurationsUpdated();
    this.compact();
  }

  /**
   * Drops committed entries from memory but the last `retainedEntries` (to the signature before
   * them), and fewer when they hold more than `retainedEntryBytes` (to the signature after the bytes
   * that do not fit, which may be the commit point itself: then none is retained).
   */
  private compact(): void {
    const byCount = this.log.signatureAtOrBefore(this.commit - this.retainedEntries);
    const keptAfter = this.log.seqnoKeepingBytes(this.commit, this.retainedEntryBytes);
    // The commit point is a signature, so one is found at or before it.
    const byBytes = keptAfter > this.log.baseSeqno ? (this.log.signatureAtOrAfter(keptAfter) as number) : 0;
    const to = Math.max(byCount, byBytes);
    invariant(to <= this.commit, `compaction to ${to}, past the commit ${this.commit}`);
    if (to > this.log.baseSeqno) this.log.compactTo(to);
  }

  /** An empty AppendEntries at what `peer` is known to match, which tells it the commit seqno. */
  private sendCommit(peer: string): void {
    const prevSeqno = this.progressOf(peer).matchSeqno;
    const prevView = this.log.viewOf(prevSeqno);
    invariant(prevView !== undefined, `follower ${peer} matches ${prevSeqno}, past the log end ${this.log.lastSeqno}`);
    this.send({ type: 'AppendEntries', from: this.id, to: peer, view: this.view, prevSeqno, prevView, entries: [], leaderCommitSeqno: this.commit });
    const pr = this.progress.get(peer);
    if (pr !== undefined) pr.commitSent = this.commit;
  }

  // ---- Log replication: follower side ----

  private receiveAppend(m: AppendEntries): void {
    invariant(this.roleNow !== 'Leader', `two leaders in view ${this.view}: ${this.id} and ${m.from}`);
    if (this.roleNow !== 'Follower' || this.leader !== m.from) this.becomeFollower(this.view, m.from);
    this.electionElapsed = 0;
    const prevView = this.log.viewOf(m.prevSeqno);
    if (prevView !== m.prevView) {
      // Up to its commit this log is every later leader's (leader completeness): disagreeing there is another history.
      if (m.prevSeqno <= this.commit) return this.splitFrom(m, { seqno: m.prevSeqno, view: m.prevView });
      const hintSeqno = this.log.lastMatchCandidate(m.prevSeqno, m.prevView);
      this.send(this.rejection(m, hintSeqno, this.log.viewOf(hintSeqno) ?? 0));
      return;
    }
    for (const entry of m.entries) {
      const existing = this.log.viewOf(entry.seqno);
      if (existing === entry.view) continue; // same view and seqno: the same entry (log matching)
      if (entry.seqno <= this.commit) return this.splitFrom(m, entry);
      if (existing !== undefined) this.truncate(entry.seqno - 1);
      this.appendLocal(entry);
    }
    // Only what this message covered is known to match, as CCF acknowledges: not the base nor a
    // suffix past it, which the leader's log may not hold (a history split).
    const verified = m.prevSeqno + m.entries.length;
    this.leaderMatchSeqno = Math.max(this.leaderMatchSeqno, verified);
    this.leaderCommitSeqno = Math.max(this.leaderCommitSeqno, m.leaderCommitSeqno);
    this.maybeCommitAsFollower();
    this.send(this.success(m.from, verified));
  }

  /**
   * The leader holds `leaders` (seqno and view) where this node committed another entry: the two
   * hold different committed histories. This node answers nothing from now on (an answer would let
   * the leader count it) and reports the split once; the caller stops it.
   */
  private splitFrom(m: AppendEntries, leaders: { seqno: number; view: number }): void {
    const localView = this.log.viewOf(leaders.seqno);
    invariant(localView !== undefined && leaders.seqno <= this.commit, `a split at ${leaders.seqno}, past the commit ${this.commit}`);
    this.split = { leader: m.from, view: m.view, seqno: leaders.seqno, leaderView: leaders.view, localView, commitSeqno: this.commit, commitView: this.log.viewOf(this.commit) ?? 0 };
    this.pendingSplit = this.split;
  }

  /** A follower commits up to the leader's commit, within what it verified matches the leader's log. */
  private maybeCommitAsFollower(): void {
    const signature = this.log.signatureAtOrBefore(Math.min(this.leaderCommitSeqno, this.leaderMatchSeqno));
    if (signature > this.commit) this.advanceCommit(signature);
  }

  private durableForLeader(): number {
    return Math.min(this.persistedSeqno, this.leaderMatchSeqno);
  }

  private success(to: string, matchSeqno: number): AppendEntriesResponse {
    this.ackedDurableSeqno = Math.max(this.ackedDurableSeqno, this.durableForLeader());
    return { type: 'AppendEntriesResponse', from: this.id, to, view: this.view, success: true, matchSeqno, durableSeqno: Math.min(this.durableForLeader(), matchSeqno), rejectedPrevSeqno: 0, hintSeqno: 0, hintView: 0 };
  }

  private rejection(m: AppendEntries, hintSeqno: number, hintView: number): AppendEntriesResponse {
    return { type: 'AppendEntriesResponse', from: this.id, to: m.from, view: this.view, success: false, matchSeqno: 0, durableSeqno: 0, rejectedPrevSeqno: m.prevSeqno, hintSeqno, hintView };
  }

  // ---- Local log changes ----

  private appendLocal(entry: LogEntry): void {
    this.log.append(entry);
    this.unpersisted.push(entry);
    if (entry.configuration === undefined) return;
    this.configs.add(entry.seqno, entry.configuration);
    this.configurationsUpdated();
  }

  private truncate(seqno: number): void {
    invariant(seqno >= this.commit, `truncating committed entries: log to ${seqno} below commit ${this.commit}`);
    this.log.truncateAfter(seqno);
    this.unpersisted = this.unpersisted.filter((entry) => entry.seqno <= seqno);
    this.pendingRollback = Math.min(this.pendingRollback ?? seqno, seqno);
    this.persistedSeqno = Math.min(this.persistedSeqno, seqno);
    this.leaderMatchSeqno = Math.min(this.leaderMatchSeqno, seqno);
    if (this.configs.truncateAfter(seqno)) this.configurationsUpdated();
  }

  private send(message: RaftMessage): void {
    this.outbox.push(message);
  }
}
