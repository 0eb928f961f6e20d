// A bounds-checked little-endian reader over a Uint8Array, for CCF's binary formats. Every read
// that would run past the end throws a CocoError with the caller's code, never a RangeError.

import { CocoError } from '../errors.js';

export class ByteReader {
  private readonly view: DataView;
  offset: number;
  /** Where the field read last (or being read) starts: what a complaint about its value names. */
  private fieldStart: number;

  /**
   * `origin` is where `bytes` starts in the file (or message) the caller reads, so that errors
   * name positions in it rather than in a slice of it.
   */
  constructor(
    readonly bytes: Uint8Array,
    private readonly errorCode: string,
    private readonly what: string,
    offset = 0,
    private readonly origin = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = offset;
    this.fieldStart = offset;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  get atEnd(): boolean {
    return this.offset === this.bytes.length;
  }

  /** Fails at the current position (say, trailing bytes). */
  fail(reason: string, at = this.offset): never {
    throw new CocoError(this.errorCode, `${this.what}: ${reason} (at byte ${this.origin + at})`);
  }

  /** Fails at the start of the field read last: its value is wrong. */
  failField(reason: string): never {
    this.fail(reason, this.fieldStart);
  }

  private need(count: number, field: string): void {
    this.fieldStart = this.offset;
    if (count > this.remaining) {
      this.fail(`truncated while reading ${field}: needs ${count} bytes, ${this.remaining} left`);
    }
  }

  /** Moves past `count` bytes of `field` without reading them; where they start. */
  skip(count: number, field: string): number {
    this.need(count, field);
    const start = this.offset;
    this.offset += count;
    return start;
  }

  u8(field: string): number {
    this.need(1, field);
    return this.view.getUint8(this.offset++);
  }

  u32(field: string): number {
    this.need(4, field);
    const value = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }

  u64(field: string): bigint {
    this.need(8, field);
    const value = this.view.getBigUint64(this.offset, true);
    this.offset += 8;
    return value;
  }

  i64(field: string): bigint {
    this.need(8, field);
    const value = this.view.getBigInt64(this.offset, true);
    this.offset += 8;
    return value;
  }

  /** A u64 that must be a count or length small enough to index memory. */
  u64Size(field: string): number {
    this.need(8, field);
    const low = this.view.getUint32(this.offset, true);
    const high = this.view.getUint32(this.offset + 4, true);
    this.offset += 8;
    if (high >= 0x200000) this.failField(`${field} is implausibly large`);
    return high * 0x1_0000_0000 + low;
  }

  /** A view (not a copy) of the next `count` bytes. */
  bytesView(count: number, field: string): Uint8Array {
    this.need(count, field);
    const out = this.bytes.subarray(this.offset, this.offset + count);
    this.offset += count;
    return out;
  }

  /** A u64 length followed by that many bytes (CCF's serialized byte vector). */
  sizedBytes(field: string): Uint8Array {
    const start = this.offset;
    const length = this.u64Size(`${field} length`);
    const bytes = this.bytesView(length, field);
    this.fieldStart = start;
    return bytes;
  }
}
