// A whole Raft network in one process, on a simulated clock and network, driven by one seed. A run
// has a fault phase, where each step is one event: a message delivered, a disk flush, a client
// proposal, or a tick of the clock (which may also start a partition, crash a node, or reconfigure a
// growing network); then a calm phase: partitions heal, crashed nodes restart, all but a random
// minority are connected, and a fresh transaction must commit on every connected member within a
// bound. Invariants are checked after every step; the first violation ends the run and names its
// step, and the seed replays the run exactly.

import { utf8 } from '../../src/crypto/bytes.js';
import { CocoError } from '../../src/errors.js';
import type { ProposedEntry } from '../../src/consensus/log-entry.js';
import { RaftNode, type Ready } from '../../src/consensus/raft-node.js';
import type { TxId } from '../../src/ledger/tx-id.js';
import { describeMessage } from './describe.js';
import { INVARIANTS, InvariantChecker, InvariantViolation } from './invariants.js';
import { Rng } from './random.js';
import { SimHost, type NodeFactory } from './sim-host.js';
import { SimNetwork, type LinkFaults, type NetworkStats } from './sim-network.js';

/** Three or five nodes from the start, or a network that grows from one node by joins and shrinks by retirements. */
export type Setup = '3' | '5' | 'grow';
export const SETUPS: readonly Setup[] = ['3', '5', 'grow'];

export function isSetup(value: string): value is Setup {
  return (SETUPS as readonly string[]).includes(value);
}

/** Fault-phase steps of one run: some 300 to 800 clock ticks, with several elections, crashes and partitions, in a few milliseconds. */
export const FAULT_STEPS_DEFAULT = 2500;

const ELECTION_TIMEOUT_TICKS = 10;
const HEARTBEAT_TICKS = 2;
/** Clock ticks a connected majority gets to commit a fresh transaction on all its members. */
const PROGRESS_TICKS_MAX = 300;
/** Deliveries within one calm tick; a cascade longer than this is a livelock. */
const CALM_DELIVERIES_PER_TICK_MAX = 10_000;
/** A client adds a signature once this many of its entries are unsigned. */
const ENTRIES_PER_SIGNATURE = 3;
/** Nodes a growing network holds besides its target size: they join in place of retired ones. */
const SPARE_NODES = 3;
/** Committed entries each node keeps in memory, at most (drawn per seed from 0). */
const RETAINED_ENTRIES_MAX = 12;
/** Active configurations beyond which a primary proposes no further change until one commits. */
const PENDING_CONFIGURATIONS_MAX = 2;

const FAULTY_LINKS: LinkFaults = { lossRate: 0.08, duplicateRate: 0.04, delayRate: 0.03, latencyTicksMax: 2, delayTicksMin: 10, delayTicksMax: 60 };
const CALM_LINKS: LinkFaults = { lossRate: 0, duplicateRate: 0, delayRate: 0, latencyTicksMax: 1, delayTicksMin: 0, delayTicksMax: 0 };

/** Per fault-phase step: a node flushes its disk, a client proposes; otherwise a due message is delivered, or the clock ticks. */
const STEP_RATES = { flush: 0.15, propose: 0.02 };
/** Chance that the clock ticks while messages are due: queueing, which makes them later than their latency. */
const EARLY_TICK_RATE = 0.05;
/** Per clock tick of the fault phase: a partition starts (when none holds), a node crashes, a growing network's primary reconfigures. */
const TICK_FAULT_RATES = { partition: 0.03, crash: 0.02, reconfigure: 0.03 };
const PARTITION_TICKS = { min: 5, max: 60 };
const DOWN_TICKS = { min: 1, max: 40 };
/** Share of nodes whose clock runs slow (ticking for only some of the simulated clock's ticks). */
const SLOW_CLOCK_RATE = 0.2;

/** How a node of the minority is cut off in the calm phase. */
type Cut = 'crashed' | 'isolated' | 'deaf' | 'mute';
const CUTS: readonly Cut[] = ['crashed', 'isolated', 'deaf', 'mute'];

export interface SimStats {
  steps: number;
  clockTicks: number;
  committedSeqno: number;
  primaryViews: number;
  crashes: number;
  /** Unflushed disk writes lost in crashes. */
  writesLost: number;
  symmetricPartitions: number;
  oneWayPartitions: number;
  messages: NetworkStats;
  /** Clock ticks the calm phase took to commit a fresh transaction on every connected member. */
  ticksToProgress: number;
  targetSize: number;
  largestCommittedConfiguration: number;
  joinsCommitted: number;
  retirementsCommitted: number;
}

export interface SeedFailure {
  step: number;
  clock: number;
  invariant: string;
  detail: string;
}

export interface SeedOutcome {
  seed: number;
  setup: Setup;
  failure: SeedFailure | undefined;
  stats: SimStats;
}

export interface RunOptions {
  faultSteps?: number;
  /** Builds each node's Raft; a broken variant shows that the checker notices. */
  makeNode?: NodeFactory;
  /** Receives every event of the run, one line each. */
  trace?: (line: string) => void;
}

/** Runs one seed in one setup; never throws for what the run finds, it reports it. */
export function runSeed(seed: number, setup: Setup, options: RunOptions = {}): SeedOutcome {
  const sim = new Simulation(seed, setup, options.makeNode ?? ((config) => new RaftNode(config)), options.trace);
  let failure: SeedFailure | undefined;
  try {
    sim.run(options.faultSteps ?? FAULT_STEPS_DEFAULT);
  } catch (error) {
    failure = { step: sim.stepCount, clock: sim.clock, ...classify(error) };
  }
  return { seed, setup, failure, stats: sim.stats() };
}

function classify(error: unknown): { invariant: string; detail: string } {
  if (error instanceof InvariantViolation) return { invariant: error.invariant, detail: error.detail };
  // The Raft core asserts its own invariants; a node throwing is a failure like any other.
  if (error instanceof CocoError) return { invariant: 'a node raises no error', detail: `${error.code}: ${error.message}` };
  return { invariant: 'the simulator raises no error', detail: error instanceof Error ? (error.stack ?? error.message) : String(error) };
}

function diskSummary(host: SimHost): string {
  const length = host.disk.log.length;
  return `log ${length === 0 ? 'empty' : `1..${length}`} commit ${host.disk.commitSeqno}`;
}

class Simulation {
  private readonly rng: Rng;
  private readonly hosts: SimHost[];
  private readonly byId: Map<string, SimHost>;
  private readonly network: SimNetwork;
  private readonly checker: InvariantChecker;
  private readonly growing: boolean;
  private readonly targetSize: number;
  private readonly trace: ((line: string) => void) | undefined;
  clock = 0;
  stepCount = 0;
  private partitionHealsAt: number | undefined;
  private readonly restartsAt = new Map<SimHost, number>();
  /** Nodes a growing network proposed to retire: they never join again. */
  private readonly retiring = new Set<string>();
  private payloads = 0;
  private ticksToProgress = 0;
  private readonly counts = { crashes: 0, writesLost: 0, symmetricPartitions: 0, oneWayPartitions: 0 };

  constructor(seed: number, private readonly setup: Setup, makeNode: NodeFactory, trace: ((line: string) => void) | undefined) {
    this.rng = new Rng(seed, `setup ${setup}`);
    this.growing = setup === 'grow';
    this.targetSize = this.growing ? this.rng.between(3, 5) : Number(setup);
    const ids = Array.from({ length: this.growing ? this.targetSize + SPARE_NODES : this.targetSize }, (_, i) => `n${i}`);
    const founder = ids[0] as string;
    // Few entries kept behind the commit point, so that lagging followers are caught up from the ledger.
    const timing = { electionTimeoutTicks: ELECTION_TIMEOUT_TICKS, heartbeatTicks: HEARTBEAT_TICKS, random: () => this.rng.next(), retainedEntries: this.rng.between(0, RETAINED_ENTRIES_MAX) };
    this.hosts = ids.map((id) => {
      const bootstrap = !this.growing ? ids : id === founder ? [founder] : [];
      // A founder starts a service in view 1 (CCF's genesis view), and campaigns at once for view 2.
      const initialView = this.growing && id === founder ? 1 : 0;
      const ticksPerClockTick = this.rng.chance(SLOW_CLOCK_RATE) ? 0.5 + 0.4 * this.rng.next() : 1;
      return new SimHost(id, bootstrap, initialView, ticksPerClockTick, makeNode, timing);
    });
    this.byId = new Map(this.hosts.map((host) => [host.id, host]));
    this.checker = new InvariantChecker(this.growing ? [founder] : ids);
    this.network = new SimNetwork(this.rng, ids, FAULTY_LINKS, ELECTION_TIMEOUT_TICKS);
    this.trace = trace && ((line) => trace(`#${this.stepCount} t${this.clock} ${line}`));
  }

  run(faultSteps: number): void {
    this.trace?.(`${this.hosts.length} nodes (${this.setup === 'grow' ? `growing to ${this.targetSize}` : 'all configured'}), slow clocks: ${this.hosts.filter((h) => h.ticksPerClockTick < 1).map((h) => h.id).join(',') || 'none'}`);
    for (const host of this.hosts) this.restart(host);
    if (this.growing) {
      const founder = this.hosts[0] as SimHost;
      founder.raft?.startElection();
      this.submit(founder, [{ data: this.payload('genesis'), isSignature: false, configuration: [founder.id] }]);
      this.drain(founder);
    }
    this.checker.check(this.hosts);
    for (let step = 0; step < faultSteps; step++) this.faultStep();
    this.calm();
    this.checker.checkFully(this.hosts);
  }

  stats(): SimStats {
    return {
      steps: this.stepCount,
      clockTicks: this.clock,
      committedSeqno: this.checker.committedSeqno,
      primaryViews: this.checker.primaryViews,
      ...this.counts,
      messages: { ...this.network.stats },
      ticksToProgress: this.ticksToProgress,
      targetSize: this.targetSize,
      largestCommittedConfiguration: this.checker.largestCommittedConfiguration,
      joinsCommitted: this.checker.joinsCommitted,
      retirementsCommitted: this.checker.retirementsCommitted,
    };
  }

  // ---- The fault phase ----

  private faultStep(): void {
    this.stepCount++;
    const r = this.rng.next();
    if (r < STEP_RATES.flush && this.hosts.some((host) => host.pendingWrites > 0)) this.flushOne();
    else if (r < STEP_RATES.flush + STEP_RATES.propose && this.primaries().length > 0) this.clientProposes();
    else if (this.network.hasDue && !this.rng.chance(EARLY_TICK_RATE)) this.deliverOne();
    else {
      this.tickClock();
      this.injectFaults();
    }
    this.checker.check(this.hosts);
  }

  private injectFaults(): void {
    if (this.partitionHealsAt === undefined && this.rng.chance(TICK_FAULT_RATES.partition)) this.partition();
    if (this.rng.chance(TICK_FAULT_RATES.crash)) this.crashOne();
    if (this.growing && this.rng.chance(TICK_FAULT_RATES.reconfigure)) this.reconfigure();
  }

  /** Primaries that take transactions: a retiring one only signs what it accepted before. */
  private primaries(among: readonly SimHost[] = this.hosts): SimHost[] {
    return among.filter((host) => host.raft?.acceptsWrites === true);
  }

  private payload(kind: string): Uint8Array {
    return utf8(`${kind}-${this.payloads++}`);
  }

  /** Advances the clock one tick: scheduled heals and restarts happen, messages fall due, each node's clock ticks. */
  private tickClock(): void {
    this.clock++;
    this.trace?.('clock tick');
    if (this.partitionHealsAt !== undefined && this.clock >= this.partitionHealsAt) this.heal();
    for (const [host, at] of this.restartsAt) {
      if (this.clock < at) continue;
      this.restartsAt.delete(host);
      this.restart(host);
    }
    this.network.advance(this.clock);
    for (const host of this.hosts) {
      for (let ticks = host.clockTicks(); ticks > 0 && host.raft !== undefined; ticks--) {
        host.raft.tick();
        this.drain(host);
      }
    }
  }

  private deliverOne(): void {
    const taken = this.network.takeDue(this.clock);
    if (taken === undefined) return;
    const message = taken.flight.message;
    const host = this.byId.get(message.to) as SimHost;
    if (!taken.delivered || host.raft === undefined) {
      this.trace?.(`drop ${describeMessage(message)}: ${taken.delivered ? `${host.id} is down` : 'link cut'}`);
      return;
    }
    this.trace?.(`deliver ${describeMessage(message)}${taken.flight.duplicate ? ' (duplicate)' : ''}, sent t${taken.flight.sentAt}`);
    host.raft.step(message);
    this.drain(host);
  }

  /** A random node flushes some of its queued disk writes. */
  private flushOne(): void {
    const host = this.rng.pick(this.hosts.filter((h) => h.pendingWrites > 0)) as SimHost;
    const count = this.rng.between(1, host.pendingWrites);
    host.flush(count);
    this.trace?.(`flush ${host.id}: ${count} writes, disk ${diskSummary(host)}, ${host.pendingWrites} still queued`);
    this.drain(host);
  }

  /** A client sends 1..3 entries to a primary, with a signature once enough are unsigned. */
  private clientProposes(): void {
    const host = this.rng.pick(this.primaries()) as SimHost;
    const count = this.rng.between(1, 3);
    const entries: ProposedEntry[] = Array.from({ length: count }, () => ({ data: this.payload('tx'), isSignature: false }));
    host.unsigned += count;
    if (host.unsigned >= ENTRIES_PER_SIGNATURE) {
      entries.push({ data: this.payload('sig'), isSignature: true });
      host.unsigned = 0;
    }
    this.submit(host, entries);
    this.drain(host);
  }

  /** Cuts the nodes in two random sides for a while: both ways, or only from one side to the other. */
  private partition(): void {
    const ids = this.rng.shuffled(this.hosts.map((host) => host.id));
    const split = this.rng.between(1, ids.length - 1);
    const [left, right] = [ids.slice(0, split), ids.slice(split)];
    const oneWay = this.rng.chance(0.5);
    for (const a of left) {
      for (const b of right) {
        this.network.cut(a, b);
        if (!oneWay) this.network.cut(b, a);
      }
    }
    this.partitionHealsAt = this.clock + this.rng.between(PARTITION_TICKS.min, PARTITION_TICKS.max);
    this.counts[oneWay ? 'oneWayPartitions' : 'symmetricPartitions']++;
    this.trace?.(`partition {${left.join(',')}} ${oneWay ? '-/->' : '<-/->'} {${right.join(',')}} until t${this.partitionHealsAt}`);
  }

  private heal(): void {
    this.network.healAll();
    this.partitionHealsAt = undefined;
    this.trace?.('partition healed');
  }

  /** A random running node crashes, losing its unflushed writes, and restarts after a while. */
  private crashOne(): void {
    const live = this.hosts.filter((host) => host.raft !== undefined);
    if (live.length <= 1) return;
    const host = this.rng.pick(live) as SimHost;
    const lost = host.crash();
    const at = this.clock + this.rng.between(DOWN_TICKS.min, DOWN_TICKS.max);
    this.restartsAt.set(host, at);
    this.counts.crashes++;
    this.counts.writesLost += lost;
    this.trace?.(`crash ${host.id}: ${lost} unflushed writes lost, disk ${diskSummary(host)}; restarts t${at}`);
  }

  private restart(host: SimHost): void {
    host.start();
    this.trace?.(`start ${host.id} from disk: view ${host.disk.hardState.view}, ${diskSummary(host)}`);
    this.drain(host);
  }

  /**
   * A growing network's primary adds a fresh node, mostly, while below the target size, or retires one
   * (itself included) while a fresh node is left to take its place: so a network grows from one node,
   * shrinks by retirements and grows again, until the spares are used up.
   */
  private reconfigure(): void {
    const host = this.rng.pick(this.primaries());
    const raft = host?.raft;
    if (host === undefined || raft === undefined || raft.configurations.length > PENDING_CONFIGURATIONS_MAX) return;
    const latest = raft.configurations.at(-1) ?? [];
    const joiner = this.hosts.find((h) => !latest.includes(h.id) && !this.retiring.has(h.id));
    if (joiner === undefined) return;
    let next: string[];
    if (latest.length < this.targetSize && (latest.length === 1 || this.rng.chance(0.75))) next = [...latest, joiner.id];
    else {
      const leaving = this.rng.pick(latest) as string;
      this.retiring.add(leaving);
      next = latest.filter((id) => id !== leaving);
    }
    this.submit(host, [{ data: this.payload('configure'), isSignature: false, configuration: next }, { data: this.payload('sig'), isSignature: true }]);
    this.drain(host);
  }

  // ---- Doing what nodes ask ----

  private submit(host: SimHost, entries: ProposedEntry[]): TxId[] {
    const ids = (host.raft as RaftNode).propose(entries);
    this.checker.recordProposed(ids);
    this.trace?.(`propose at ${host.id}: ${ids.map((id, i) => `${id.view}.${id.seqno}${entries[i]?.isSignature ? ' signature' : ''}${entries[i]?.configuration ? ` configuration {${entries[i]?.configuration?.join(',')}}` : ''}`).join(', ')}`);
    return ids;
  }

  private drain(host: SimHost): void {
    host.drain((ready: Ready) => {
      if (ready.role) this.trace?.(`${host.id} is ${ready.role.role} in view ${ready.role.view}${ready.role.leaderId ? `, primary ${ready.role.leaderId}` : ''}`);
      if (ready.rollbackTo !== undefined) this.trace?.(`${host.id} rolls back to ${ready.rollbackTo}`);
      if (ready.committedUpTo !== undefined) this.trace?.(`${host.id} commits up to ${ready.committedUpTo}`);
      if (ready.configurations) this.trace?.(`${host.id} configurations ${ready.configurations.map((nodes) => `{${nodes.join(',')}}`).join(' ')}`);
      for (const message of ready.messages) {
        const fate = this.network.send(message, this.clock);
        this.trace?.(`send ${describeMessage(message)}: ${fate === 'sent' ? `arrives in ${this.network.lastLatencies.join(' and ')} ticks` : fate}`);
      }
      if (ready.becameLeader) {
        // As node/ does: a new primary signs at once, so that its view's entries can commit.
        host.unsigned = 0;
        this.submit(host, [{ data: this.payload('sig'), isSignature: true }]);
      }
      const raft = host.raft;
      if (ready.retiring && raft?.role === 'Leader' && raft.signatureAtOrBefore(raft.lastSeqno) < raft.lastSeqno) {
        // As node/ does: a retiring primary signs what it accepted at once, so that it commits.
        host.unsigned = 0;
        this.submit(host, [{ data: this.payload('sig'), isSignature: true }]);
      }
    });
  }

  // ---- The calm phase ----

  /**
   * Faults stop: partitions heal, crashed nodes restart and links stop losing, duplicating and
   * delaying. Then a random minority is cut off (crashed, isolated, or cut one way), and the rest must
   * commit a fresh transaction on each of its members within PROGRESS_TICKS_MAX ticks.
   */
  private calm(): void {
    if (this.partitionHealsAt !== undefined) this.heal();
    for (const host of this.restartsAt.keys()) this.restart(host);
    this.restartsAt.clear();
    this.network.faults = CALM_LINKS;
    const cut = this.cutMinority();
    const connected = this.hosts.filter((host) => !cut.has(host.id));
    this.trace?.(`calm: connected {${connected.map((host) => host.id).join(',')}}`);
    let marker: TxId | undefined;
    for (let tick = 0; tick < PROGRESS_TICKS_MAX; tick++) {
      this.calmStep(() => this.tickClock());
      for (let i = 0; i < CALM_DELIVERIES_PER_TICK_MAX && this.network.hasDue; i++) this.calmStep(() => this.deliverOne());
      for (const host of this.hosts) {
        if (host.raft !== undefined && host.pendingWrites > 0) this.calmStep(() => this.flushAll(host));
      }
      const primary = this.primaries(connected).sort((a, b) => (b.raft as RaftNode).currentView - (a.raft as RaftNode).currentView)[0];
      const raft = primary?.raft;
      if (primary === undefined || raft === undefined) continue;
      if (marker === undefined || raft.statusOf(marker) === 'Invalid') {
        const proposal = [{ data: this.payload('marker'), isSignature: false }, { data: this.payload('sig'), isSignature: true }];
        this.calmStep(() => {
          marker = this.submit(primary, proposal).at(-1);
          this.drain(primary);
        });
        continue;
      }
      const members = new Set(raft.configurations.flat());
      const target = marker;
      if (connected.every((host) => !members.has(host.id) || host.raft?.statusOf(target) === 'Committed')) {
        this.ticksToProgress = tick + 1;
        return;
      }
    }
    const waiting = marker === undefined ? 'no primary emerged' : `${marker.view}.${marker.seqno} still not committed on every connected member`;
    throw new InvariantViolation(INVARIANTS.progress, `${PROGRESS_TICKS_MAX} ticks after {${connected.map((host) => host.id).join(',')}} were connected, ${waiting}`);
  }

  private calmStep(action: () => void): void {
    this.stepCount++;
    action();
    this.checker.check(this.hosts);
  }

  private flushAll(host: SimHost): void {
    host.flush(host.pendingWrites);
    this.drain(host);
  }

  /** Cuts off random nodes while the others keep a majority of every configuration any node has active. */
  private cutMinority(): Set<string> {
    const configurations = this.hosts.flatMap((host) => host.raft?.configurations ?? []);
    const cut = new Set<string>();
    for (const host of this.rng.shuffled(this.hosts)) {
      if (!this.rng.chance(0.5)) continue;
      const keepsMajority = (nodes: readonly string[]): boolean => nodes.filter((id) => id !== host.id && !cut.has(id)).length * 2 > nodes.length;
      if (!configurations.every(keepsMajority)) continue;
      cut.add(host.id);
      const how = this.rng.pick(CUTS) as Cut;
      this.trace?.(`calm: ${host.id} ${how}`);
      if (how === 'crashed') host.crash();
      for (const other of this.hosts) {
        if (other === host) continue;
        if (how === 'isolated' || how === 'deaf') this.network.cut(other.id, host.id);
        if (how === 'isolated' || how === 'mute') this.network.cut(host.id, other.id);
      }
    }
    return cut;
  }
}
