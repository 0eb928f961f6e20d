// The simulated network between nodes, on the simulated clock. Each message sent is lost, delivered
// once or duplicated; each copy arrives after its own latency (now and then a long delay that holds it
// for many election timeouts), so messages overtake one another; and among the messages due, delivery
// order is random. Links can be cut one way or both ways: a message crossing a cut link is dropped,
// whether the cut was there when it was sent or when it arrives.

import type { RaftMessage } from '../../src/consensus/raft-messages.js';
import type { Rng } from './random.js';

export interface LinkFaults {
  lossRate: number;
  duplicateRate: number;
  /** Share of copies held for `delayTicksMin..delayTicksMax` instead of `0..latencyTicksMax`. */
  delayRate: number;
  latencyTicksMax: number;
  delayTicksMin: number;
  delayTicksMax: number;
}

/** Messages the network holds at once; a message sent beyond this is dropped, as by a full queue. */
export const IN_FLIGHT_MESSAGES_MAX = 4000;

export interface InFlight {
  message: RaftMessage;
  sentAt: number;
  deliverAt: number;
  /** Order of sending over all links, to tell a reordered delivery. */
  sendOrder: number;
  duplicate: boolean;
}

export interface NetworkStats {
  sent: number;
  lost: number;
  /** Dropped because a link was cut, at sending or at arrival. */
  cut: number;
  duplicated: number;
  /** Delivered after at least `lateTicks` in flight. */
  deliveredLate: number;
  /** Delivered after a message sent later on the same link. */
  deliveredOutOfOrder: number;
}

export class SimNetwork {
  /** Messages not yet due, and due ones (delivered in random order). */
  private pending: InFlight[] = [];
  private due: InFlight[] = [];
  /** Links are numbered from the nodes' indexes: from * nodes + to. */
  private readonly indexOf: Map<string, number>;
  private readonly cutLinks: Uint8Array;
  private cutCount = 0;
  private sendCount = 0;
  /** Per link, the latest send order delivered. */
  private readonly lastDelivered: Float64Array;
  /** Latency of each copy of the last message sent, for the trace. */
  readonly lastLatencies: number[] = [];
  readonly stats: NetworkStats = { sent: 0, lost: 0, cut: 0, duplicated: 0, deliveredLate: 0, deliveredOutOfOrder: 0 };

  /** `lateTicks`: how long in flight counts as a late delivery in the stats. */
  constructor(private readonly rng: Rng, nodes: readonly string[], public faults: LinkFaults, private readonly lateTicks: number) {
    this.indexOf = new Map(nodes.map((id, index) => [id, index]));
    this.cutLinks = new Uint8Array(nodes.length * nodes.length);
    this.lastDelivered = new Float64Array(nodes.length * nodes.length).fill(-1);
  }

  private link(from: string, to: string): number {
    const a = this.indexOf.get(from);
    const b = this.indexOf.get(to);
    if (a === undefined || b === undefined) throw new Error(`message between unknown nodes ${from} and ${to}`);
    return a * this.indexOf.size + b;
  }

  get inFlight(): number {
    return this.pending.length + this.due.length;
  }

  get hasDue(): boolean {
    return this.due.length > 0;
  }

  isCut(from: string, to: string): boolean {
    return this.cutCount > 0 && this.cutLinks[this.link(from, to)] === 1;
  }

  /** Cuts the link from `from` to `to` (one way). */
  cut(from: string, to: string): void {
    const link = this.link(from, to);
    if (this.cutLinks[link] === 1) return;
    this.cutLinks[link] = 1;
    this.cutCount++;
  }

  healAll(): void {
    this.cutLinks.fill(0);
    this.cutCount = 0;
  }

  /** Hands a message to the network at `now`; `lastLatencies` then holds the latency of each copy sent. */
  send(message: RaftMessage, now: number): 'cut' | 'lost' | 'sent' {
    const faults = this.faults;
    this.stats.sent++;
    this.lastLatencies.length = 0;
    if (this.isCut(message.from, message.to)) {
      this.stats.cut++;
      return 'cut';
    }
    if (this.rng.chance(faults.lossRate) || this.inFlight >= IN_FLIGHT_MESSAGES_MAX) {
      this.stats.lost++;
      return 'lost';
    }
    const copies = this.rng.chance(faults.duplicateRate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    const sendOrder = this.sendCount++;
    for (let copy = 0; copy < copies; copy++) {
      const delayed = this.rng.chance(faults.delayRate);
      const latency = delayed ? this.rng.between(faults.delayTicksMin, faults.delayTicksMax) : this.rng.between(0, faults.latencyTicksMax);
      const flight = { message, sentAt: now, deliverAt: now + latency, sendOrder, duplicate: copy > 0 };
      (latency === 0 ? this.due : this.pending).push(flight);
      this.lastLatencies.push(latency);
    }
    return 'sent';
  }

  /** The clock reached `now`: messages due by then become deliverable. */
  advance(now: number): void {
    const stillPending: InFlight[] = [];
    for (const flight of this.pending) (flight.deliverAt <= now ? this.due : stillPending).push(flight);
    this.pending = stillPending;
  }

  /**
   * Takes a random due message. Returns it with `delivered` false if a cut link drops it on arrival;
   * the caller drops it too if its receiver is down.
   */
  takeDue(now: number): { flight: InFlight; delivered: boolean } | undefined {
    if (this.due.length === 0) return undefined;
    const index = Math.floor(this.rng.next() * this.due.length);
    const flight = this.due[index] as InFlight;
    this.due[index] = this.due[this.due.length - 1] as InFlight;
    this.due.pop();
    const link = this.link(flight.message.from, flight.message.to);
    if (this.cutCount > 0 && this.cutLinks[link] === 1) {
      this.stats.cut++;
      return { flight, delivered: false };
    }
    if (now - flight.sentAt >= this.lateTicks) this.stats.deliveredLate++;
    if (flight.sendOrder < (this.lastDelivered[link] as number)) this.stats.deliveredOutOfOrder++;
    else this.lastDelivered[link] = flight.sendOrder;
    return { flight, delivered: true };
  }
}
