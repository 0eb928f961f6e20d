// The service's time: the lower median of its nodes' clocks, each peer's as this node last heard it
// (every node sends its clock to the others about once a second). A host controls its node's clock
// (the trust model counts it untrusted), and a node stamps time into what the whole service keeps
// (an Ethereum block's timestamp, which never decreases, so one stamped days ahead holds every later
// block there; the time in its signatures) and decides by it (whether a renewed certificate is in
// date). By the service's time, one host whose clock is wrong, ahead or behind, moves none of these
// while most clocks are right. The lower median because with two clocks the earlier is the safer:
// time stamped ahead cannot be taken back, time behind catches up.

import { CocoError } from '../errors.js';

/** The node-to-node frame kind of a node's clock reading (after consensus 1 and forwarding 2, 3). */
export const CLOCK_FRAME = 4;
/** How often a node sends its clock to each peer. */
export const CLOCK_SHARE_INTERVAL_MS = 1_000;
/** A peer's reading older than this is not counted: that node may have stopped, or its clock moved since. */
export const CLOCK_READING_FRESH_MS = 10_000;
/** A node whose clock is this far from the service's says so: beyond network delays and NTP's usual error. */
export const CLOCK_SKEW_REPORTED_MS = 30_000;

const READING_BYTES = 8;

interface Reading {
  /** The peer's clock when its reading arrived (ms; its sending delay is not corrected). */
  peerWallMs: number;
  /** When it arrived, by the monotonic clock: the reading moves on with it, whatever this node's own clock does. */
  atMs: number;
}

export class ServiceClock {
  readonly #readings = new Map<string, Reading>();

  /** `wallMs`: this node's own clock (host time); `monotonicMs`: a clock that never jumps, to carry the readings forward. */
  constructor(
    private readonly wallMs: () => number,
    private readonly monotonicMs: () => number,
  ) {}

  /** Takes `peer`'s clock reading as it arrives. */
  record(peer: string, peerWallMs: number): void {
    this.#readings.set(peer, { peerWallMs, atMs: this.monotonicMs() });
  }

  /**
   * Now by the service's clock: the lower median of this node's clock and the fresh readings of
   * `peers` (the other nodes of its configurations), each carried forward by the monotonic clock, so
   * that this node's own clock, jumping, is one vote among the others even before they send again.
   */
  nowMs(peers: Iterable<string>): number {
    const now = this.monotonicMs();
    const clocks = [this.wallMs()];
    for (const peer of peers) {
      const reading = this.#readings.get(peer);
      if (reading !== undefined && now - reading.atMs <= CLOCK_READING_FRESH_MS) clocks.push(reading.peerWallMs + (now - reading.atMs));
    }
    clocks.sort((a, b) => a - b);
    return clocks[Math.floor((clocks.length - 1) / 2)]!;
  }

  /** How far this node's own clock is ahead of the service's (negative: behind). */
  ownSkewMs(peers: Iterable<string>): number {
    return this.wallMs() - this.nowMs(peers);
  }
}

export function encodeClockReading(wallMs: number): Uint8Array {
  const bytes = new Uint8Array(READING_BYTES);
  new DataView(bytes.buffer).setFloat64(0, wallMs);
  return bytes;
}

export function decodeClockReading(payload: Uint8Array): number {
  const wallMs = payload.length === READING_BYTES ? new DataView(payload.buffer, payload.byteOffset, READING_BYTES).getFloat64(0) : NaN;
  if (!Number.isFinite(wallMs)) throw new CocoError('InvalidClockReading', `a clock reading is ${READING_BYTES} bytes holding a finite number of milliseconds, got ${payload.length} bytes`);
  return wallMs;
}

/** What a node whose clock is `skewMs` from the service's tells its operator; undefined within CLOCK_SKEW_REPORTED_MS. */
export function clockSkewWarning(skewMs: number): string | undefined {
  if (Math.abs(skewMs) < CLOCK_SKEW_REPORTED_MS) return undefined;
  return (
    `this node's clock is ${formatDuration(Math.abs(skewMs))} ${skewMs > 0 ? 'ahead of' : 'behind'} the service's (the median of its nodes' clocks): set it right (NTP). ` +
    "Until then the node stamps and judges time by the service's clock (Ethereum blocks, signatures, renewed certificates), while clients and apps still meet its own (certificate checks, Date.now)"
  );
}

function formatDuration(ms: number): string {
  const units: [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1_000]];
  const parts: string[] = [];
  let rest = Math.round(ms / 1000) * 1000;
  for (const [unit, size] of units) {
    const count = Math.floor(rest / size);
    if (count > 0 && parts.length < 2) parts.push(`${count} ${unit}`);
    rest -= count * size;
  }
  return parts.join(' ');
}
