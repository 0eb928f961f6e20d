// How far apart a primary's signature transactions are. A signature costs a couple of ms of CPU
// (two ECDSA P-384 signatures, most of it on the nonce thread), so signing at a fixed short
// interval would take a fixed share of the machine away from writes. Signatures are spaced so that
// signing takes at most a third of the time while the event loop has time to spare (idle, a write
// commits a few ms later), and a sixth once the loop is saturated: then each signature's cost is
// taken from writes, and a few ms more are a small part of a queued write's latency. Measured on a
// 3-node sandbox at full load: 10-18 % less primary CPU per write (docs/benchmarks.md).

/** Signing's share of the time is at most 1 / this while the event loop has time to spare... */
export const SIGNATURE_CPU_SHARE_INVERSE = 3;
/** ...and 1 / this while the loop is busier than EVENT_LOOP_BUSY (averaged over signatures). */
export const SIGNATURE_CPU_SHARE_INVERSE_BUSY = 6;
/** Event-loop utilization from which the loop counts as saturated (half load stays near 0.85). */
export const EVENT_LOOP_BUSY = 0.95;
/** Both averages move by 1/SMOOTHING of each new sample: one odd signature changes little. */
const SMOOTHING = 8;

export class SignaturePacing {
  /** Moving average of what one signature transaction costs, in ms of CPU. */
  #costMs = 0;
  /** Moving average of the event loop's busy share between signatures. */
  #busyShare = 0;

  /** Records a signature that cost `costMs`, with the event loop `busyShare` (0 to 1) busy since the previous one. */
  record(costMs: number, busyShare: number): void {
    this.#costMs += (costMs - this.#costMs) / SMOOTHING;
    this.#busyShare += (Math.min(1, Math.max(0, busyShare)) - this.#busyShare) / SMOOTHING;
  }

  /** Whether the event loop counts as saturated. */
  get busy(): boolean {
    return this.#busyShare >= EVENT_LOOP_BUSY;
  }

  /** The least time between two signatures; never below `minimumMs` (ledger_signatures.delay_ms). */
  spacingMs(minimumMs: number): number {
    return Math.max(minimumMs, this.#costMs * (this.busy ? SIGNATURE_CPU_SHARE_INVERSE_BUSY : SIGNATURE_CPU_SHARE_INVERSE));
  }
}
