// A deterministic in-process network for the Raft core: a seeded PRNG decides message delivery order,
// loss, duplication, partitions, disk flushes, crashes and restarts. A node's disk keeps only what was
// flushed; a crash loses the rest. A network either has all its nodes from the start, or grows from
// one node by configuration entries (joins) and retires nodes on the way. `check()` asserts the
// safety properties after every step.

import assert from 'node:assert/strict';
import { equalBytes, fromUtf8, utf8 } from '../../src/crypto/bytes.js';
import type { TxId } from '../../src/ledger/tx-id.js';
import type { LogEntry } from '../../src/consensus/log-entry.js';
import { RaftNode, type HardState } from '../../src/consensus/raft-node.js';
import type { RaftMessage } from '../../src/consensus/raft-messages.js';
import type { TxStatus } from '../../src/consensus/tx-status.js';

/** Messages the simulated network holds at once; the oldest is dropped beyond this. */
export const NETWORK_MESSAGES_MAX = 2000;
const ELECTION_TIMEOUT_TICKS = 10;
const HEARTBEAT_TICKS = 2;
/** A client proposal batch adds a signature once this many plain entries are unsigned. */
const ENTRIES_PER_SIGNATURE = 3;
/** Nodes a growing network holds besides its target size: they join in place of retired ones. */
const SPARE_NODES = 2;
/** Active configurations beyond which a leader proposes no further change until one commits. */
const PENDING_CONFIGURATIONS_MAX = 2;

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Disk {
  hardState: HardState;
  entries: LogEntry[];
  commitSeqno: number;
}

/** Disk writes happen in Ready order; the commit seqno is recorded only after the entries before it. */
type DiskWrite = { truncateAfter: number } | { append: LogEntry[] } | { commit: number };

interface SimNode {
  id: string;
  /** The configuration it starts from: everyone, or the founder alone, or none for a joiner. */
  bootstrap: readonly string[];
  raft: RaftNode | undefined; // undefined while crashed
  disk: Disk;
  unflushed: DiskWrite[];
  /** Commit seqno seen in this incarnation (must never decrease) and how far its log was checked. */
  seenCommit: number;
  checkedUpTo: number;
  unsigned: number;
}

export interface Faults {
  lossRate: number;
  duplicateRate: number;
  partitionRate: number;
  crashRate: number;
}

export interface SimShape {
  /** Nodes in the configuration: all of them from the start, or reached by joins. */
  size: number;
  /** Starts with one node that joins the others one by one, and retires some of them on the way. */
  growing: boolean;
}

export class SimNetwork {
  readonly random: () => number;
  readonly nodes: SimNode[];
  private messages: RaftMessage[] = [];
  /** Node IDs of each side; a message crossing sides is lost. Empty when healed. */
  private groups = new Map<string, number>();
  private leaders = new Map<number, string>();
  private committed: LogEntry[] = [];
  /** The configuration before any configuration entry, and the configuration entries of the committed log. */
  private readonly bootstrap: readonly string[];
  private committedConfigurations: { seqno: number; nodes: readonly string[] }[] = [];
  private lastCommittedSignature = 0;
  /** Nodes a growing network has proposed to retire; they never join again. */
  private retired = new Set<string>();
  largestCommittedConfiguration = 0;
  retirementsCommitted = 0;
  private finalStatus = new Map<string, TxStatus>();
  readonly proposed: TxId[] = [];
  private payloadCounter = 0;
  stepCount = 0;

  constructor(readonly seed: number, readonly shape: SimShape) {
    this.random = seededRandom(seed);
    const ids = Array.from({ length: shape.growing ? shape.size + SPARE_NODES : shape.size }, (_, i) => `n${i}`);
    const founder = ids[0] as string;
    this.bootstrap = shape.growing ? [founder] : ids;
    this.nodes = ids.map((id) => ({
      id,
      bootstrap: shape.growing ? (id === founder ? [founder] : []) : ids,
      raft: undefined,
      // A founder starts a service in view 1 (CCF's genesis view), and campaigns at once for view 2.
      disk: { hardState: { view: shape.growing && id === founder ? 1 : 0, votedFor: undefined }, entries: [], commitSeqno: 0 },
      unflushed: [],
      seenCommit: 0,
      checkedUpTo: 0,
      unsigned: 0,
    }));
    for (const node of this.nodes) this.start(node);
    if (shape.growing) {
      const raft = this.nodes[0]?.raft as RaftNode;
      raft.startElection();
      this.proposed.push(...raft.propose([{ data: utf8('genesis'), isSignature: false, configuration: [founder] }]));
      this.drain(this.nodes[0] as SimNode);
    }
  }

  private fail(message: string): never {
    assert.fail(`seed ${this.seed} step ${this.stepCount}: ${message}`);
  }

  private pick<T>(items: readonly T[]): T | undefined {
    return items[Math.floor(this.random() * items.length)];
  }

  private start(node: SimNode): void {
    const entries = node.disk.entries;
    let commitSeqno = Math.min(node.disk.commitSeqno, entries.length);
    while (commitSeqno > 0 && !entries[commitSeqno - 1]?.isSignature) commitSeqno--;
    node.raft = new RaftNode({
      id: node.id,
      configuration: node.bootstrap,
      electionTimeoutTicks: ELECTION_TIMEOUT_TICKS,
      heartbeatTicks: HEARTBEAT_TICKS,
      random: this.random,
      initial: { hardState: node.disk.hardState, entries, commitSeqno },
    });
    node.unflushed = [];
    node.seenCommit = commitSeqno;
    node.checkedUpTo = 0;
  }

  live(): SimNode[] {
    return this.nodes.filter((node) => node.raft !== undefined);
  }

  leadersNow(): SimNode[] {
    return this.live().filter((node) => node.raft?.role === 'Leader');
  }

  private connected(a: string, b: string): boolean {
    return (this.groups.get(a) ?? 0) === (this.groups.get(b) ?? 0);
  }

  /** Takes every Ready of a node and does what it asks, the way `node/` will. */
  drain(node: SimNode): void {
    const raft = node.raft;
    if (raft === undefined) return;
    while (raft.hasReady()) {
      const ready = raft.ready();
      if (ready.hardState) node.disk.hardState = ready.hardState;
      if (ready.rollbackTo !== undefined) node.unflushed.push({ truncateAfter: ready.rollbackTo });
      if (ready.entriesToPersist.length > 0) node.unflushed.push({ append: ready.entriesToPersist });
      for (const message of ready.messages) {
        if (this.connected(message.from, message.to)) this.messages.push(message);
      }
      if (this.messages.length > NETWORK_MESSAGES_MAX) this.messages.splice(0, this.messages.length - NETWORK_MESSAGES_MAX);
      if (ready.committedUpTo !== undefined) node.unflushed.push({ commit: ready.committedUpTo });
      if (ready.becameLeader) {
        node.unsigned = 0;
        this.proposed.push(...raft.propose([{ data: utf8(`sig-${this.payloadCounter++}`), isSignature: true }]));
      }
    }
  }

  flush(node: SimNode): void {
    if (node.raft === undefined) return;
    for (const write of node.unflushed) {
      if ('truncateAfter' in write) node.disk.entries.length = Math.min(node.disk.entries.length, write.truncateAfter);
      else if ('append' in write) node.disk.entries.push(...write.append);
      else node.disk.commitSeqno = write.commit;
    }
    node.unflushed = [];
    node.raft.persisted(node.disk.entries.length);
    this.drain(node);
  }

  deliver(index: number): void {
    const [message] = this.messages.splice(index, 1);
    if (message === undefined) return;
    const node = this.nodes.find((n) => n.id === message.to);
    if (node?.raft === undefined || !this.connected(message.from, message.to)) return;
    node.raft.step(message);
    this.drain(node);
  }

  tick(node: SimNode): void {
    node.raft?.tick();
    this.drain(node);
  }

  /** A client sends 1..3 entries to a leader, with a signature once enough are unsigned. */
  propose(node: SimNode): TxId[] {
    const raft = node.raft;
    if (raft?.role !== 'Leader') return [];
    const count = 1 + Math.floor(this.random() * 3);
    const entries = Array.from({ length: count }, () => ({ data: utf8(`tx-${this.payloadCounter++}`), isSignature: false }));
    node.unsigned += count;
    if (node.unsigned >= ENTRIES_PER_SIGNATURE) {
      entries.push({ data: utf8(`sig-${this.payloadCounter++}`), isSignature: true });
      node.unsigned = 0;
    }
    const ids = raft.propose(entries);
    this.proposed.push(...ids);
    this.drain(node);
    return ids;
  }

  /** A growing network's leader adds a node until it reaches its size, and at full size may retire one (itself included). */
  reconfigure(node: SimNode): void {
    const raft = node.raft;
    if (raft?.role !== 'Leader' || raft.configurations.length > PENDING_CONFIGURATIONS_MAX) return;
    const latest = raft.configurations.at(-1) ?? [];
    let next: string[] | undefined;
    const joiner = this.nodes.find((n) => !latest.includes(n.id) && !this.retired.has(n.id));
    if (latest.length < this.shape.size && joiner !== undefined) next = [...latest, joiner.id];
    else if (latest.length > 1 && this.retired.size < SPARE_NODES) {
      const leaving = this.pick(latest) as string;
      this.retired.add(leaving);
      next = latest.filter((id) => id !== leaving);
    }
    if (next === undefined) return;
    this.proposed.push(...raft.propose([{ data: utf8(`configure-${this.payloadCounter++}`), isSignature: false, configuration: next }, { data: utf8(`sig-${this.payloadCounter++}`), isSignature: true }]));
    this.drain(node);
  }

  crash(node: SimNode): void {
    node.raft = undefined;
    node.unflushed = [];
  }

  restart(node: SimNode): void {
    if (node.raft !== undefined) return;
    this.start(node);
    this.drain(node);
  }

  partition(): void {
    this.groups = new Map(this.nodes.map((node) => [node.id, this.random() < 0.5 ? 0 : 1]));
  }

  heal(): void {
    this.groups.clear();
  }

  /** One random event under the given fault rates. */
  step(faults: Faults): void {
    this.stepCount++;
    const r = this.random();
    const live = this.live();
    if (r < faults.partitionRate) {
      if (this.groups.size > 0) this.heal();
      else this.partition();
    } else if (r < faults.partitionRate + faults.crashRate) {
      const node = this.pick(this.nodes);
      if (node?.raft === undefined) this.restart(node as SimNode);
      else if (live.length > 1) this.crash(node);
    } else if (r < 0.5 && this.messages.length > 0) {
      const index = Math.floor(this.random() * this.messages.length);
      const roll = this.random();
      if (roll < faults.lossRate) this.messages.splice(index, 1);
      else {
        if (roll < faults.lossRate + faults.duplicateRate) this.messages.push(this.messages[index] as RaftMessage);
        this.deliver(index);
      }
    } else if (r < 0.65) {
      const node = this.pick(live);
      if (node) this.flush(node);
    } else if (r < 0.75) {
      const node = this.pick(this.leadersNow());
      if (node) this.propose(node);
    } else if (r < 0.76 && this.shape.growing) {
      const node = this.pick(this.leadersNow());
      if (node) this.reconfigure(node);
    } else if (r < 0.9) {
      const node = this.pick(live);
      if (node) this.tick(node);
    } else {
      for (const node of live) this.tick(node);
    }
    this.check();
  }

  /** Delivers everything in flight (random order), flushes every disk and ticks every node. */
  round(): void {
    this.stepCount++;
    while (this.messages.length > 0) this.deliver(Math.floor(this.random() * this.messages.length));
    for (const node of this.live()) this.flush(node);
    for (const node of this.live()) this.tick(node);
    this.check();
  }

  healAll(): void {
    this.heal();
    for (const node of this.nodes) this.restart(node);
  }

  /**
   * Safety: one leader per view; commit never decreases; committed prefixes identical and never lost;
   * when an entry commits, a majority of every configuration in force for it holds it on disk; and
   * only members of an active configuration campaign or lead.
   */
  check(): void {
    for (const node of this.live()) {
      const raft = node.raft as RaftNode;
      if (raft.role === 'Leader') {
        const known = this.leaders.get(raft.currentView);
        if (known !== undefined && known !== node.id) this.fail(`two leaders in view ${raft.currentView}: ${known} and ${node.id}`);
        this.leaders.set(raft.currentView, node.id);
      }
      if (raft.role !== 'Follower' && !raft.configurations.some((nodes) => nodes.includes(node.id))) this.fail(`${node.id} is ${raft.role} outside every active configuration`);
      if (raft.commitSeqno < node.seenCommit) this.fail(`${node.id} commit went back from ${node.seenCommit} to ${raft.commitSeqno}`);
      node.seenCommit = raft.commitSeqno;
      if (node.checkedUpTo > raft.commitSeqno) node.checkedUpTo = 0;
      const committedBefore = this.committed.length;
      for (let seqno = node.checkedUpTo + 1; seqno <= raft.commitSeqno; seqno++) {
        const entry = raft.entry(seqno);
        if (entry === undefined) this.fail(`${node.id} committed ${seqno} but does not hold it`);
        const agreed = this.committed[seqno - 1];
        if (agreed === undefined) this.commitEntry(entry);
        else if (agreed.view !== entry.view || !equalBytes(agreed.data, entry.data)) {
          this.fail(`${node.id} committed ${entry.view}.${seqno} "${fromUtf8(entry.data)}" but ${agreed.view}.${seqno} "${fromUtf8(agreed.data)}" was committed before`);
        }
      }
      node.checkedUpTo = raft.commitSeqno;
      if (this.committed.length > committedBefore) this.checkDurableQuorums(committedBefore);
    }
  }

  private commitEntry(entry: LogEntry): void {
    this.committed.push(entry);
    if (entry.configuration === undefined) return;
    if (entry.configuration.length < (this.committedConfigurations.at(-1)?.nodes ?? this.bootstrap).length) this.retirementsCommitted++;
    this.committedConfigurations.push({ seqno: entry.seqno, nodes: entry.configuration });
    this.largestCommittedConfiguration = Math.max(this.largestCommittedConfiguration, entry.configuration.length);
  }

  /**
   * The committed log just grew from `before` entries. Each new signature S committed (by itself or
   * with a later one) when a majority of each configuration in force held it durably: the one in
   * force at the signature before S, and any set between the two. Their disks must still show it.
   */
  private checkDurableQuorums(before: number): void {
    for (let seqno = before + 1; seqno <= this.committed.length; seqno++) {
      const entry = this.committed[seqno - 1] as LogEntry;
      if (!entry.isSignature) continue;
      const previous = this.lastCommittedSignature;
      this.lastCommittedSignature = seqno;
      const between = this.committedConfigurations.filter((c) => c.seqno > previous && c.seqno <= seqno);
      const atPrevious = this.committedConfigurations.filter((c) => c.seqno <= previous).at(-1)?.nodes ?? this.bootstrap;
      for (const nodes of [atPrevious, ...between.map((c) => c.nodes)]) {
        const copies = nodes.filter((id) => {
          const held = this.nodes.find((n) => n.id === id)?.disk.entries[seqno - 1];
          return held !== undefined && held.view === entry.view && equalBytes(held.data, entry.data);
        });
        if (copies.length * 2 <= nodes.length) this.fail(`${entry.view}.${seqno} committed with durable copies on ${copies.join(',') || 'no node'} of configuration ${nodes.join(',')}`);
      }
    }
  }

  /** Committed prefixes never lost: every live node's log still holds every entry committed anywhere, up to its commit. */
  get committedSeqno(): number {
    return this.committed.length;
  }

  /** Final statuses (Committed, Invalid) never change and never disagree across nodes. */
  checkStatuses(): void {
    for (const txId of this.proposed) {
      const key = `${txId.view}.${txId.seqno}`;
      for (const node of this.live()) {
        const status = (node.raft as RaftNode).statusOf(txId);
        if (status !== 'Committed' && status !== 'Invalid') continue;
        const known = this.finalStatus.get(key);
        if (known !== undefined && known !== status) this.fail(`${node.id} says ${key} is ${status}, earlier ${known}`);
        this.finalStatus.set(key, status);
        if (status === 'Committed' && this.committed[txId.seqno - 1]?.view !== txId.view) this.fail(`${key} Committed on ${node.id} but not in the committed log`);
      }
    }
  }
}
