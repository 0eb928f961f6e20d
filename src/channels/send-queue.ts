// The frames waiting for a disconnected peer, bounded in bytes: when a new frame does not fit, the
// oldest frames are dropped first (Raft retransmits what matters, and newer messages supersede older
// ones). Order is kept for what remains.

import { FRAME_HEADER_BYTES } from './frame.js';

/** Dropped items are compacted away once this many have accumulated at the front. */
const COMPACT_AFTER_ITEMS = 1024;
const RELEASED = new Uint8Array(0);

export class SendQueue {
  private kinds: number[] = [];
  private payloads: Uint8Array[] = [];
  private head = 0;
  private queuedBytes = 0;

  constructor(readonly bytesMax: number) {}

  /** Frame bytes (headers included) queued. */
  get bytes(): number {
    return this.queuedBytes;
  }

  get length(): number {
    return this.payloads.length - this.head;
  }

  /** Queues a frame, dropping the oldest ones to make room; false (and nothing dropped) if it alone exceeds the bound. */
  push(kind: number, payload: Uint8Array): boolean {
    const size = FRAME_HEADER_BYTES + payload.length;
    if (size > this.bytesMax) return false;
    while (this.queuedBytes + size > this.bytesMax) this.dropOldest();
    this.kinds.push(kind);
    this.payloads.push(payload);
    this.queuedBytes += size;
    return true;
  }

  /** Hands every queued frame, oldest first, to `send`, and empties the queue. */
  drain(send: (kind: number, payload: Uint8Array) => void): void {
    const { kinds, payloads, head } = this;
    this.clear();
    for (let i = head; i < payloads.length; i++) send(kinds[i] as number, payloads[i] as Uint8Array);
  }

  clear(): void {
    this.kinds = [];
    this.payloads = [];
    this.head = 0;
    this.queuedBytes = 0;
  }

  private dropOldest(): void {
    this.queuedBytes -= FRAME_HEADER_BYTES + (this.payloads[this.head] as Uint8Array).length;
    // Release the payload now: the slot itself stays until compaction.
    this.payloads[this.head] = RELEASED;
    this.head += 1;
    if (this.head >= COMPACT_AFTER_ITEMS && this.head * 2 >= this.payloads.length) {
      this.kinds = this.kinds.slice(this.head);
      this.payloads = this.payloads.slice(this.head);
      this.head = 0;
    }
  }
}
