// Framing of a byte stream between nodes: a 4-byte big-endian payload length, a 1-byte kind, then the
// payload. The reader reassembles frames from chunks as they arrive and refuses a declared length
// above its maximum before buffering it, so a peer cannot make it hold more than one frame's worth.

import { CocoError, invariant } from '../errors.js';
import { FRAME_PAYLOAD_BYTES_MAX } from './channel-limits.js';

export const FRAME_HEADER_BYTES = 5;
const KIND_MAX = 0xff;
const LENGTH_MAX = 0xffff_ffff;

export interface Frame {
  kind: number;
  payload: Uint8Array;
}

export function encodeFrameHeader(kind: number, payloadBytes: number): Uint8Array {
  invariant(Number.isInteger(kind) && kind >= 0 && kind <= KIND_MAX, `a frame kind is a byte, got ${kind}`);
  invariant(Number.isInteger(payloadBytes) && payloadBytes >= 0 && payloadBytes <= LENGTH_MAX, `a frame payload length fits in 32 bits, got ${payloadBytes}`);
  return Uint8Array.of(payloadBytes >>> 24, (payloadBytes >>> 16) & 0xff, (payloadBytes >>> 8) & 0xff, payloadBytes & 0xff, kind);
}

/**
 * Feed it chunks with `push`, take complete frames with `next` until it returns undefined. Payloads
 * may be views into the pushed chunks. After it throws (FrameTooLarge) the stream is unusable: it
 * throws the same error again, and the connection should be closed.
 */
export class FrameReader {
  private readonly chunks: Uint8Array[] = [];
  /** Bytes of `chunks[0]` already consumed. */
  private offset = 0;
  private buffered = 0;
  /** The header read for the frame being reassembled, or kind -1 while waiting for a header. */
  private kind = -1;
  private payloadBytes = 0;
  private refused: CocoError | null = null;

  constructor(readonly payloadBytesMax: number = FRAME_PAYLOAD_BYTES_MAX) {
    invariant(Number.isInteger(payloadBytesMax) && payloadBytesMax >= 0 && payloadBytesMax <= LENGTH_MAX, 'the frame payload maximum fits in 32 bits');
  }

  /** Bytes received and not yet returned in a frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): void {
    if (this.refused !== null) throw this.refused;
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  next(): Frame | undefined {
    if (this.refused !== null) throw this.refused;
    if (this.kind < 0) {
      if (this.buffered < FRAME_HEADER_BYTES) return undefined;
      const header = this.take(FRAME_HEADER_BYTES);
      const payloadBytes = (((header[0] as number) << 24) | ((header[1] as number) << 16) | ((header[2] as number) << 8) | (header[3] as number)) >>> 0;
      if (payloadBytes > this.payloadBytesMax) {
        this.refused = new CocoError('FrameTooLarge', `a frame declares ${payloadBytes} payload bytes, more than the ${this.payloadBytesMax} accepted; the peer is faulty, closing the connection`);
        throw this.refused;
      }
      this.kind = header[4] as number;
      this.payloadBytes = payloadBytes;
    }
    if (this.buffered < this.payloadBytes) return undefined;
    const frame = { kind: this.kind, payload: this.take(this.payloadBytes) };
    this.kind = -1;
    return frame;
  }

  /** The next `count` (<= buffered) bytes: a view when one chunk holds them all, else a copy. */
  private take(count: number): Uint8Array {
    this.buffered -= count;
    const first = this.chunks[0];
    if (first === undefined) return new Uint8Array(0);
    if (first.length - this.offset >= count) {
      const view = first.subarray(this.offset, this.offset + count);
      this.advance(first, count);
      return view;
    }
    const out = new Uint8Array(count);
    let filled = 0;
    while (filled < count) {
      const chunk = this.chunks[0] as Uint8Array;
      const part = Math.min(count - filled, chunk.length - this.offset);
      out.set(chunk.subarray(this.offset, this.offset + part), filled);
      filled += part;
      this.advance(chunk, part);
    }
    return out;
  }

  private advance(chunk: Uint8Array, count: number): void {
    this.offset += count;
    if (this.offset === chunk.length) {
      this.chunks.shift();
      this.offset = 0;
    }
  }
}
