// A growable little-endian writer producing CCF's binary formats; the mirror of ByteReader.

import { invariant } from '../errors.js';

export class ByteWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private length = 0;

  constructor(initialCapacity = 256) {
    this.buffer = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buffer.buffer);
  }

  private reserve(count: number): void {
    const needed = this.length + count;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }

  u8(value: number): this {
    this.reserve(1);
    this.view.setUint8(this.length, value);
    this.length += 1;
    return this;
  }

  u32(value: number): this {
    this.reserve(4);
    this.view.setUint32(this.length, value, true);
    this.length += 4;
    return this;
  }

  u64(value: bigint | number): this {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(value), true);
    this.length += 8;
    return this;
  }

  /** Overwrites the u64 at `offset` (a size written before what it measures was known). */
  setU64(offset: number, value: bigint | number): this {
    invariant(Number.isSafeInteger(offset) && offset >= 0 && offset + 8 <= this.length, 'a u64 is overwritten where one was written');
    this.view.setBigUint64(offset, BigInt(value), true);
    return this;
  }

  i64(value: bigint | number): this {
    this.reserve(8);
    this.view.setBigInt64(this.length, BigInt(value), true);
    this.length += 8;
    return this;
  }

  bytes(data: Uint8Array): this {
    this.reserve(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
    return this;
  }

  /** A u64 length followed by the bytes (CCF's serialized byte vector). */
  sizedBytes(data: Uint8Array): this {
    return this.u64(data.length).bytes(data);
  }

  get size(): number {
    return this.length;
  }

  /**
   * Starts over for reuse as a scratch buffer (no allocation per use); a buffer grown past
   * `keepBytes` is dropped, so one large write does not keep its memory for good.
   */
  reset(keepBytes: number): this {
    if (this.buffer.length > keepBytes) {
      this.buffer = new Uint8Array(keepBytes);
      this.view = new DataView(this.buffer.buffer);
    }
    this.length = 0;
    return this;
  }

  /** The bytes written so far (a view; the writer must not be used afterwards if kept). */
  finish(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}
