// One case of the memory benchmark, run in a process of its own (`node --expose-gc`), so that each
// case starts from the same empty heap: writes KEYS new keys the way the case says, then prints the
// growth of V8's heap, of ArrayBuffer memory and of RSS, after full collections, as JSON.

import { fileURLToPath } from 'node:url';
import { Store } from '../src/kv/store.js';
import { keyString } from '../src/kv/sorted-keys.js';
import type { WriteSet } from '../src/kv/write-set.js';

export const MEMORY_CASES = ['executed', 'replicated', 'reference'] as const;
export type MemoryCase = (typeof MEMORY_CASES)[number];

export interface MemoryGrowth {
  keys: number;
  heapBytes: number;
  arrayBufferBytes: number;
  rssBytes: number;
}

export const KEYS = 100_000;
export const KEY_BYTES = 16;
export const VALUE_BYTES = 20;
/** A decrypted ledger entry around each replicated write: the bytes its key and value are views of. */
const ENTRY_BYTES = 400;
/** Transactions whose undo records a backup keeps before compacting them (its commit advancing). */
const COMPACT_EVERY = 1_000;

const collect = (): void => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  gc();
  gc();
};

/** Key i: distinct bytes in the first three, like ids or hashes. */
function fillKey(key: Uint8Array, i: number): void {
  key[0] = i & 255;
  key[1] = (i >> 8) & 255;
  key[2] = (i >> 16) & 255;
}

function write(kind: MemoryCase, keep: unknown[]): void {
  if (kind === 'executed') {
    // As a primary executes: a transaction sets each key, with bytes of its own, and commits.
    const store = new Store();
    keep.push(store);
    const key = new Uint8Array(KEY_BYTES);
    const value = new Uint8Array(VALUE_BYTES);
    for (let i = 1; i <= KEYS; i++) {
      fillKey(key, i);
      const tx = store.beginTransaction();
      tx.map('records').set(key, value);
      store.commit(tx, BigInt(i));
      if (i % COMPACT_EVERY === 0) store.compact(BigInt(i));
    }
  } else if (kind === 'replicated') {
    // As a backup applies the ledger: key and value are views into each decrypted entry.
    const store = new Store();
    keep.push(store);
    for (let i = 1; i <= KEYS; i++) {
      const entry = new Uint8Array(ENTRY_BYTES);
      const key = entry.subarray(10, 10 + KEY_BYTES);
      fillKey(key, i);
      const writeSet: WriteSet = { public: [], private: [{ name: 'records', readVersion: 0n, reads: [], writes: [{ key, value: entry.subarray(40, 40 + VALUE_BYTES) }], removes: [] }] };
      store.applyWriteSet(writeSet, BigInt(i));
      if (i % COMPACT_EVERY === 0) store.compact(BigInt(i));
    }
  } else {
    // The least a JS map of bytes holds: each key's string and its value's bytes, nothing else.
    const map = new Map<string, Uint8Array>();
    keep.push(map);
    const key = new Uint8Array(KEY_BYTES);
    for (let i = 1; i <= KEYS; i++) {
      fillKey(key, i);
      map.set(keyString(key), new Uint8Array(VALUE_BYTES));
    }
  }
}

function measure(kind: MemoryCase): MemoryGrowth {
  const keep: unknown[] = [];
  collect();
  const before = process.memoryUsage();
  write(kind, keep);
  collect();
  const after = process.memoryUsage();
  return { keys: KEYS, heapBytes: after.heapUsed - before.heapUsed, arrayBufferBytes: after.arrayBuffers - before.arrayBuffers, rssBytes: after.rss - before.rss };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const kind = process.argv[2] ?? '';
  if (!(MEMORY_CASES as readonly string[]).includes(kind)) throw new Error(`unknown memory case "${kind}": one of ${MEMORY_CASES.join(', ')}`);
  process.stdout.write(`${JSON.stringify(measure(kind as MemoryCase))}\n`);
}
