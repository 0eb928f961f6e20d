// One simulated node: its Raft state machine, doing what each Ready asks the way `node/` does. Its
// disk takes the hard state at once (before any message goes out) and queues log and commit writes in
// Ready order; a flush makes a prefix of the queue durable, and a crash loses the rest. Beside it, a
// shadow of the in-memory log rebuilt from Ready batches alone, which the invariant checker reads.

import type { LogEntry } from '../../src/consensus/log-entry.js';
import type { HardState, RaftConfig, RaftNode, Ready } from '../../src/consensus/raft-node.js';
import { DigestLog } from './digest-log.js';
import { INVARIANTS, InvariantViolation } from './invariants.js';

export type NodeFactory = (config: RaftConfig) => RaftNode;

export interface Disk {
  hardState: HardState;
  log: DigestLog;
  /** Recorded only after the log writes queued before it. */
  commitSeqno: number;
}

type DiskWrite = { truncateAfter: number } | { append: readonly LogEntry[] } | { commit: number };

export interface HostTiming {
  electionTimeoutTicks: number;
  heartbeatTicks: number;
  random: () => number;
  retainedEntries: number;
}

/** How often a load of compacted entries fails (a read error): the leader asks again at its next heartbeat. */
const LOAD_FAILURE_RATE = 0.1;

export class SimHost {
  raft: RaftNode | undefined;
  /** Counts starts: a restart begins a new incarnation, which remembers nothing of the last one. */
  incarnation = 0;
  readonly disk: Disk;
  /** The in-memory log, as the Ready batches reported it. */
  shadow = new DigestLog();
  private writes: DiskWrite[] = [];
  /** Lowest seqno changed in memory and on disk since the checker last looked. */
  private memoryChangedFrom = Infinity;
  private diskChangedFrom = Infinity;
  /** A slow clock ticks this node less often than the simulated clock advances. */
  private tickCredit = 0;
  /** Client entries proposed here since the last signature (while leader). */
  unsigned = 0;

  constructor(
    readonly id: string,
    /** The configuration it starts from: everyone, the founder alone, or none for a joiner. */
    private readonly bootstrap: readonly string[],
    initialView: number,
    readonly ticksPerClockTick: number,
    private readonly makeNode: NodeFactory,
    private readonly timing: HostTiming,
  ) {
    this.disk = { hardState: { view: initialView, votedFor: undefined }, log: new DigestLog(), commitSeqno: 0 };
  }

  get pendingWrites(): number {
    return this.writes.length;
  }

  /** Starts (or restarts) the node from what its disk holds. */
  start(): void {
    const { hardState, log, commitSeqno } = this.disk;
    this.raft = this.makeNode({
      id: this.id,
      configuration: this.bootstrap,
      ...this.timing,
      initial: { hardState: { ...hardState }, entries: log.entries, commitSeqno },
    });
    this.shadow = log.copy();
    this.writes = [];
    this.incarnation++;
    this.memoryChangedFrom = 1;
  }

  /** Stops the node; writes not flushed are lost. Returns how many. */
  crash(): number {
    const lost = this.writes.length;
    this.raft = undefined;
    this.writes = [];
    return lost;
  }

  /** How many ticks the node takes for one tick of the simulated clock. */
  clockTicks(): number {
    this.tickCredit += this.ticksPerClockTick;
    const ticks = Math.floor(this.tickCredit);
    this.tickCredit -= ticks;
    return ticks;
  }

  /** Takes every Ready: records the disk writes and the shadow log, then hands it to `act` (messages, new leadership). */
  drain(act: (ready: Ready) => void): void {
    const raft = this.raft;
    if (raft === undefined) return;
    while (raft.hasReady()) {
      const ready = raft.ready();
      if (ready.hardState) this.disk.hardState = { ...ready.hardState };
      if (ready.rollbackTo !== undefined) {
        this.shadow.truncateAfter(ready.rollbackTo);
        this.memoryChangedFrom = Math.min(this.memoryChangedFrom, ready.rollbackTo + 1);
        this.writes.push({ truncateAfter: ready.rollbackTo });
      }
      if (ready.entriesToPersist.length > 0) {
        for (const entry of ready.entriesToPersist) this.append(this.shadow, entry, 'memory');
        this.memoryChangedFrom = Math.min(this.memoryChangedFrom, (ready.entriesToPersist[0] as LogEntry).seqno);
        this.writes.push({ append: ready.entriesToPersist });
      }
      if (ready.committedUpTo !== undefined) this.writes.push({ commit: ready.committedUpTo });
      // Every disk here keeps what was flushed to it, as Raft assumes: a split would be a false alarm.
      const split = ready.historySplit ?? ready.followersPastLogEnd?.[0];
      if (split !== undefined) throw new InvariantViolation(INVARIANTS.noSplitReported, `${this.id} reported ${JSON.stringify(split)}`);
      act(ready);
      // Compacted entries, read back from what the node appended (its ledger, unflushed writes included).
      for (const { peer, fromSeqno, toSeqno } of ready.entriesToLoad ?? []) {
        if (this.timing.random() < LOAD_FAILURE_RATE) continue;
        raft.loaded(peer, fromSeqno, this.shadow.entries.slice(fromSeqno - 1, toSeqno).map((entry) => entry.data));
      }
    }
  }

  /**
   * Makes the first `count` queued writes durable and tells the node how far its log now is durable:
   * up to where neither the disk ends nor a write still queued changes it. Returns the writes done.
   */
  flush(count: number): number {
    const raft = this.raft;
    if (raft === undefined) return 0;
    const done = this.writes.splice(0, count);
    for (const write of done) {
      if ('truncateAfter' in write) {
        this.disk.log.truncateAfter(write.truncateAfter);
        this.diskChangedFrom = Math.min(this.diskChangedFrom, write.truncateAfter + 1);
      } else if ('append' in write) {
        for (const entry of write.append) this.append(this.disk.log, entry, 'disk');
        this.diskChangedFrom = Math.min(this.diskChangedFrom, (write.append[0] as LogEntry).seqno);
      } else this.disk.commitSeqno = write.commit;
    }
    let durable = this.disk.log.length;
    for (const write of this.writes) {
      if ('truncateAfter' in write) durable = Math.min(durable, write.truncateAfter);
      else if ('append' in write) durable = Math.min(durable, (write.append[0] as LogEntry).seqno - 1);
    }
    raft.persisted(durable);
    return done.length;
  }

  /** The lowest seqnos changed in memory and on disk since the last call (Infinity: none). */
  takeLogChanges(): { memoryFrom: number; diskFrom: number } {
    const changes = { memoryFrom: this.memoryChangedFrom, diskFrom: this.diskChangedFrom };
    this.memoryChangedFrom = Infinity;
    this.diskChangedFrom = Infinity;
    return changes;
  }

  private append(log: DigestLog, entry: LogEntry, where: string): void {
    if (!log.append(entry)) {
      throw new InvariantViolation(INVARIANTS.readyComplete, `${this.id} reported entry ${entry.view}.${entry.seqno} to append after seqno ${log.length} of its ${where} log`);
    }
  }
}
