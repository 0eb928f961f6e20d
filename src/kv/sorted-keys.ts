// The ordered index of one map's keys: a sorted list kept in chunks of at most CHUNK_KEYS_MAX keys.
// Keys are held in their latin1 string form (one char per byte), whose native `<` order is exactly
// byte order, shorter prefix first. Insert and remove cost O(log n + CHUNK_KEYS_MAX); a range scan
// costs O(log n + k). Iterators stay valid across inserts and removes: they re-seek after a change.

import { invariant } from '../errors.js';

/** A chunk splits in two halves when it grows past this many keys. */
const CHUNK_KEYS_MAX = 256;
/** Up to this length, String.fromCharCode over the bytes beats a Buffer round trip (and fits the stack). */
const KEY_CHAR_CODES_BYTES_MAX = 1024;

/** The string form of a key: one latin1 char per byte, so string order is byte order. */
export function keyString(key: Uint8Array): string {
  if (key.length <= KEY_CHAR_CODES_BYTES_MAX) {
    return String.fromCharCode.apply(null, key as unknown as number[]);
  }
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/** The bytes of a key string (the inverse of `keyString`), in a buffer of their own. */
export function keyBytes(k: string): Uint8Array {
  const bytes = new Uint8Array(k.length);
  for (let i = 0; i < k.length; i++) bytes[i] = k.charCodeAt(i);
  return bytes;
}

export class SortedKeys {
  /** Non-empty sorted chunks; every key of chunk i is below every key of chunk i + 1. */
  #chunks: string[][] = [];
  /** `#maxes[i]` is the last key of `#chunks[i]`: the search index over chunks. */
  #maxes: string[] = [];
  #size = 0;
  /** Bumped by every change, so that a live iterator knows to re-seek. */
  #changes = 0;

  /** Builds the index of `keys` (distinct; sorted in place) in O(n log n). */
  static fromKeys(keys: string[]): SortedKeys {
    keys.sort();
    const index = new SortedKeys();
    const half = CHUNK_KEYS_MAX / 2;
    for (let i = 0; i < keys.length; i += half) {
      const chunk = keys.slice(i, i + half);
      index.#chunks.push(chunk);
      index.#maxes.push(chunk[chunk.length - 1] as string);
    }
    index.#size = keys.length;
    return index;
  }

  get size(): number {
    return this.#size;
  }

  /** Adds `key`; returns false when it was already present. */
  insert(key: string): boolean {
    if (this.#chunks.length === 0) {
      this.#chunks.push([key]);
      this.#maxes.push(key);
      this.#size = 1;
      this.#changes++;
      return true;
    }
    // A key above every max goes to the last chunk.
    const c = Math.min(lowerBound(this.#maxes, key), this.#chunks.length - 1);
    const chunk = this.#chunks[c] as string[];
    const pos = lowerBound(chunk, key);
    if (chunk[pos] === key) return false;
    chunk.splice(pos, 0, key);
    if (pos === chunk.length - 1) this.#maxes[c] = key;
    if (chunk.length > CHUNK_KEYS_MAX) {
      const right = chunk.splice(chunk.length >> 1);
      this.#chunks.splice(c + 1, 0, right);
      this.#maxes[c] = chunk[chunk.length - 1] as string;
      this.#maxes.splice(c + 1, 0, right[right.length - 1] as string);
      invariant(this.#chunks.length === this.#maxes.length, 'one max per chunk');
    }
    this.#size++;
    this.#changes++;
    return true;
  }

  /** Removes `key`; returns false when it was absent. */
  remove(key: string): boolean {
    const c = lowerBound(this.#maxes, key);
    const chunk = this.#chunks[c];
    if (chunk === undefined) return false;
    const pos = lowerBound(chunk, key);
    if (chunk[pos] !== key) return false;
    chunk.splice(pos, 1);
    // Chunks are dropped once empty but never merged: their count stays below 2n / CHUNK_KEYS_MAX
    // of the largest n the map had, which keeps both searches logarithmic.
    if (chunk.length === 0) {
      this.#chunks.splice(c, 1);
      this.#maxes.splice(c, 1);
    } else if (pos === chunk.length) {
      this.#maxes[c] = chunk[pos - 1] as string;
    }
    this.#size--;
    this.#changes++;
    invariant(this.#chunks.length === this.#maxes.length, 'one max per chunk');
    return true;
  }

  /**
   * Keys k with from <= k < to (either bound optional), ascending or, with `reverse`, descending.
   * Keys inserted or removed while iterating are seen or skipped according to their position.
   */
  *range(from: string | undefined, to: string | undefined, reverse: boolean): Generator<string, void, undefined> {
    let changes = this.#changes;
    let [c, pos] = reverse
      ? to === undefined
        ? this.#lastPosition()
        : this.#seekBefore(to)
      : from === undefined
        ? [0, 0]
        : this.#seekAtOrAfter(from, false);
    for (;;) {
      const chunk = this.#chunks[c];
      if (chunk === undefined) return;
      const key = chunk[pos];
      if (key === undefined) {
        // Ran off the end of this chunk: step to the neighbour.
        if (reverse) {
          c--;
          pos = (this.#chunks[c]?.length ?? 0) - 1;
        } else {
          c++;
          pos = 0;
        }
        continue;
      }
      if (reverse ? from !== undefined && key < from : to !== undefined && key >= to) return;
      yield key;
      if (changes === this.#changes) {
        pos += reverse ? -1 : 1;
      } else {
        // The index changed while suspended: continue from the key just yielded, exclusive.
        changes = this.#changes;
        [c, pos] = reverse ? this.#seekBefore(key) : this.#seekAtOrAfter(key, true);
      }
    }
  }

  /** Position of the first key >= `key` (> `key` when `exclusive`); past the end when none. */
  #seekAtOrAfter(key: string, exclusive: boolean): [number, number] {
    const c = lowerBound(this.#maxes, key);
    const chunk = this.#chunks[c];
    if (chunk === undefined) return [c, 0];
    let pos = lowerBound(chunk, key);
    if (exclusive && chunk[pos] === key) pos++;
    return [c, pos];
  }

  /** Position of the last key < `key`; chunk -1 when none. */
  #seekBefore(key: string): [number, number] {
    const c = lowerBound(this.#maxes, key);
    const chunk = this.#chunks[c];
    if (chunk === undefined) return this.#lastPosition();
    const pos = lowerBound(chunk, key) - 1;
    if (pos >= 0) return [c, pos];
    return [c - 1, (this.#chunks[c - 1]?.length ?? 0) - 1];
  }

  #lastPosition(): [number, number] {
    const c = this.#chunks.length - 1;
    return [c, (this.#chunks[c]?.length ?? 0) - 1];
  }
}

/** Index of the first element >= `key` in sorted `list` (`list.length` when none). */
function lowerBound(list: readonly string[], key: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as string) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
