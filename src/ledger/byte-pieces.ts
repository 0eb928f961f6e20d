// A byte string kept as a list of pieces rather than one array, so that one of hundreds of megabytes
// (a snapshot) is written, encrypted, hashed and stored without being joined or copied whole.
// PieceWriter copies small fields into chunks and keeps large arrays as they are (views, never
// copied: they must not change while the pieces are in use); PieceReader hands the pieces back at
// most a given number of bytes at a time.

import { invariant } from '../errors.js';

/** Arrays at least this long are kept as pieces of their own rather than copied. */
export const KEPT_AS_IS_BYTES_MIN = 16 * 1024;
/**
 * The chunks small fields are copied into: small enough that the allocator reuses memory it already
 * has (first touch of fresh memory is what makes large allocations slow), large enough that a state
 * of small keys makes few pieces.
 */
const CHUNK_BYTES = 64 * 1024;

/** A u64 written before its value was known (a length that precedes what it measures). */
export interface U64Slot {
  readonly view: DataView;
  readonly offset: number;
}

/** Writes CCF's little-endian fields into pieces; `finish` gives them, in order. */
export class PieceWriter {
  readonly #pieces: Uint8Array[] = [];
  #chunk = new Uint8Array(0);
  #view = new DataView(this.#chunk.buffer);
  /** Bytes of the chunk written so far. */
  #used = 0;
  /** Where the bytes of the chunk not yet among the pieces start. */
  #unflushed = 0;
  #size = 0;
  #finished = false;

  /** Bytes written so far. */
  get size(): number {
    return this.#size;
  }

  u64(value: bigint | number): this {
    this.#room(8).setBigUint64(this.#used, BigInt(value), true);
    return this.#wrote(8);
  }

  i64(value: bigint | number): this {
    this.#room(8).setBigInt64(this.#used, BigInt(value), true);
    return this.#wrote(8);
  }

  /** A u64 to be set with `setU64` once known (before `finish`). */
  u64Slot(): U64Slot {
    const slot = { view: this.#room(8), offset: this.#used };
    this.#wrote(8);
    return slot;
  }

  setU64(slot: U64Slot, value: bigint | number): this {
    invariant(!this.#finished, 'a u64 slot is set before its pieces are handed out');
    slot.view.setBigUint64(slot.offset, BigInt(value), true);
    return this;
  }

  /** The bytes: copied if short, else kept as a piece of their own. */
  bytes(data: Uint8Array): this {
    if (data.length === 0) return this;
    if (data.length >= KEPT_AS_IS_BYTES_MIN) {
      this.#flush();
      this.#pieces.push(data);
      this.#size += data.length;
      return this;
    }
    this.#room(data.length);
    this.#chunk.set(data, this.#used);
    return this.#wrote(data.length);
  }

  /** The bytes of a latin1 string, one per char (each char code below 256). */
  latin1(text: string): this {
    if (text.length >= KEPT_AS_IS_BYTES_MIN) return this.bytes(Buffer.from(text, 'latin1'));
    this.#room(text.length);
    for (let i = 0; i < text.length; i++) this.#chunk[this.#used + i] = text.charCodeAt(i);
    return this.#wrote(text.length);
  }

  /** A u64 length followed by the bytes (CCF's serialized byte vector). */
  sizedBytes(data: Uint8Array): this {
    return this.u64(data.length).bytes(data);
  }

  /** The pieces written, in order; the writer must not be used afterwards. */
  finish(): Uint8Array[] {
    invariant(!this.#finished, 'a piece writer is finished once');
    this.#flush();
    this.#finished = true;
    return this.#pieces;
  }

  /** The view to write `count` bytes at `#used` with, in a new chunk if this one lacks the room. */
  #room(count: number): DataView {
    invariant(!this.#finished, 'a finished piece writer is not written to');
    if (this.#used + count <= this.#chunk.length) return this.#view;
    this.#flush();
    this.#chunk = new Uint8Array(Math.max(CHUNK_BYTES, count));
    this.#view = new DataView(this.#chunk.buffer);
    this.#used = 0;
    this.#unflushed = 0;
    return this.#view;
  }

  #wrote(count: number): this {
    this.#used += count;
    this.#size += count;
    return this;
  }

  /** Makes the chunk's bytes written so far a piece (the rest of the chunk stays in use). */
  #flush(): void {
    if (this.#used === this.#unflushed) return;
    this.#pieces.push(this.#chunk.subarray(this.#unflushed, this.#used));
    this.#unflushed = this.#used;
  }
}

/** Reads pieces in order, a bounded number of bytes at a time, as views of them. */
export class PieceReader {
  readonly #pieces: readonly Uint8Array[];
  #index = 0;
  #offset = 0;
  #read = 0;

  constructor(pieces: readonly Uint8Array[]) {
    this.#pieces = pieces;
    this.#skipEmpty();
  }

  get atEnd(): boolean {
    return this.#index === this.#pieces.length;
  }

  /** Bytes read so far. */
  get bytesRead(): number {
    return this.#read;
  }

  /** The next bytes, `maxBytes` at most (and at least one byte unless at the end), as views. */
  read(maxBytes: number): Uint8Array[] {
    invariant(Number.isSafeInteger(maxBytes) && maxBytes >= 1, 'pieces are read at least a byte at a time');
    const views: Uint8Array[] = [];
    let budget = maxBytes;
    while (budget > 0 && !this.atEnd) {
      const piece = this.#pieces[this.#index] as Uint8Array;
      const end = Math.min(piece.length, this.#offset + budget);
      views.push(this.#offset === 0 && end === piece.length ? piece : piece.subarray(this.#offset, end));
      budget -= end - this.#offset;
      this.#read += end - this.#offset;
      this.#offset = end;
      if (end === piece.length) {
        this.#index += 1;
        this.#offset = 0;
        this.#skipEmpty();
      }
    }
    return views;
  }

  #skipEmpty(): void {
    while (this.#index < this.#pieces.length && (this.#pieces[this.#index] as Uint8Array).length === 0) this.#index += 1;
  }
}
