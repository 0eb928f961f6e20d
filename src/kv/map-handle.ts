// A transaction's view of one map: reads see the latest committed state overlaid with the
// transaction's own pending sets, deletes and clear (read-your-writes). Every read that depends on
// committed state is recorded, so that commit can refuse the transaction if another one has changed
// what it saw since (optimistic concurrency). Writes stay here until the store commits them.

import { CocoError, invariant } from '../errors.js';
import { toHex } from '../crypto/bytes.js';
import { checkKey, checkValue, type ClearedMap } from './limits.js';
import { keyBytes, keyString } from './sorted-keys.js';
import { valueBytes, type CommittedMap } from './store.js';
import type { MapChanges, MapWrite } from './write-set.js';

export interface RangeOptions {
  /** Lowest key, inclusive. */
  from?: Uint8Array;
  /** Highest key, exclusive. */
  to?: Uint8Array;
  /** Descending key order instead of ascending. */
  reverse?: boolean;
  /** Most entries to yield. */
  limit?: number;
}

/**
 * The API of one map inside a transaction. Keys and values are copied on `set`; arrays returned by
 * reads belong to the store and must not be mutated.
 */
export interface MapHandle {
  readonly name: string;
  get(key: Uint8Array): Uint8Array | undefined;
  has(key: Uint8Array): boolean;
  set(key: Uint8Array, value: Uint8Array): void;
  /** Removes `key`; returns whether it existed as this transaction saw it. */
  delete(key: Uint8Array): boolean;
  /** Removes every key, including those the map gets from transactions committed before this one. */
  clear(): void;
  /** Calls `callback` per entry in key byte order until it returns false. */
  forEach(callback: (value: Uint8Array, key: Uint8Array) => boolean | void): void;
  size(): number;
  /** The version (seqno) of the last committed write of `key`; undefined when absent. */
  getVersionOfPreviousWrite(key: Uint8Array): bigint | undefined;
  /** Entries in key byte order within [from, to). Entries set during iteration are not visited. */
  range(options?: RangeOptions): Iterable<[Uint8Array, Uint8Array]>;
}

/** What a map handle needs from its transaction. */
export interface TransactionContext {
  /** Throws TransactionClosed once the transaction is committed or aborted. */
  assertOpen(): void;
  /** Accounts for `delta` more (or fewer) distinct written keys; throws past the limit. */
  countWrites(delta: number, clearing?: ClearedMap): void;
}

/** A buffered write: a value to set, or undefined to remove. */
interface PendingWrite {
  readonly key: Uint8Array;
  value: Uint8Array | undefined;
  /** Whether the key counts as a write of its own: not when it is set again after clear() removed it. */
  readonly counted: boolean;
}

/** Key version recorded for a read that found no key (real versions start at 1). */
const ABSENT_VERSION = 0n;

export class PendingMap implements MapHandle {
  readonly name: string;
  /** UTF-8 form of the name: write sets list maps in this byte order. */
  readonly nameBytes: Uint8Array;
  readonly #tx: TransactionContext;
  readonly #maps: ReadonlyMap<string, CommittedMap>;
  #committed: CommittedMap | undefined;
  readonly #pending = new Map<string, PendingWrite>();
  /** After clear(), committed state is hidden and every committed key not set again gets removed. */
  #cleared = false;
  /** How many committed keys the last clear() counted as writes (the map's size then). */
  #clearedKeys = 0;
  /** Key version seen by each read of committed state (first read wins). */
  readonly #keyReads = new Map<string, bigint>();
  /** Map version at the first read of any kind: if unchanged at commit, no read can be stale. */
  #firstReadMapVersion: bigint | undefined;
  /** Map version at the first whole-map read (forEach, size, range). */
  #wholeReadMapVersion: bigint | undefined;

  constructor(tx: TransactionContext, name: string, nameBytes: Uint8Array, maps: ReadonlyMap<string, CommittedMap>) {
    this.#tx = tx;
    this.name = name;
    this.nameBytes = nameBytes;
    this.#maps = maps;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.#tx.assertOpen();
    checkKey(key);
    const data = this.#read(keyString(key));
    return data === undefined ? undefined : valueBytes(data);
  }

  has(key: Uint8Array): boolean {
    this.#tx.assertOpen();
    checkKey(key);
    return this.#read(keyString(key)) !== undefined;
  }

  set(key: Uint8Array, value: Uint8Array): void {
    this.#tx.assertOpen();
    checkKey(key);
    checkValue(value);
    const k = keyString(key);
    const pending = this.#pending.get(k);
    if (pending !== undefined) {
      pending.value = new Uint8Array(value);
      return;
    }
    // A committed key set after clear() was already counted by the clear, which removes it.
    const counted = !(this.#cleared && this.#committedMap()?.entries.has(k) === true);
    if (counted) this.#tx.countWrites(1);
    this.#pending.set(k, { key: new Uint8Array(key), value: new Uint8Array(value), counted });
  }

  delete(key: Uint8Array): boolean {
    this.#tx.assertOpen();
    checkKey(key);
    const k = keyString(key);
    // Reading records the dependency: the answer tells the caller whether the key existed.
    const existed = this.#read(k) !== undefined;
    const pending = this.#pending.get(k);
    if (this.#cleared) {
      // The clear already removes every committed key; forgetting the pending set is enough.
      if (pending !== undefined) {
        this.#pending.delete(k);
        if (pending.counted) this.#tx.countWrites(-1);
      }
    } else if (pending !== undefined) {
      pending.value = undefined;
    } else if (existed) {
      this.#tx.countWrites(1);
      this.#pending.set(k, { key: new Uint8Array(key), value: undefined, counted: true });
    }
    return existed;
  }

  /** Whether `clear()` was called: the commit then removes every committed key of the map. */
  get isCleared(): boolean {
    return this.#cleared;
  }

  /**
   * Counts every key the map holds now as a write (the commit removes each one), replacing what the
   * pending writes and an earlier clear() counted; throws LimitExceeded, changing nothing, past the limit.
   */
  clear(): void {
    this.#tx.assertOpen();
    const keys = this.#committedMap()?.entries.size ?? 0;
    let counted = this.#clearedKeys;
    for (const pending of this.#pending.values()) if (pending.counted) counted++;
    this.#tx.countWrites(keys - counted, { name: this.name, keys });
    this.#pending.clear();
    this.#cleared = true;
    this.#clearedKeys = keys;
  }

  forEach(callback: (value: Uint8Array, key: Uint8Array) => boolean | void): void {
    if (typeof callback !== 'function') {
      throw new CocoError('InvalidArgument', `forEach needs a callback function, got ${typeof callback}`);
    }
    for (const [key, value] of this.range()) {
      if (callback(value, key) === false) return;
    }
  }

  size(): number {
    this.#tx.assertOpen();
    let size = 0;
    if (this.#cleared) {
      for (const pending of this.#pending.values()) if (pending.value !== undefined) size++;
      return size;
    }
    this.#recordWholeRead();
    const entries = this.#committedMap()?.entries;
    size = entries?.size ?? 0;
    for (const [k, pending] of this.#pending) {
      const committed = entries?.has(k) ?? false;
      if (pending.value !== undefined && !committed) size++;
      else if (pending.value === undefined && committed) size--;
    }
    return size;
  }

  getVersionOfPreviousWrite(key: Uint8Array): bigint | undefined {
    this.#tx.assertOpen();
    checkKey(key);
    const k = keyString(key);
    const version = this.#committedMap()?.entries.get(k)?.version;
    this.#recordKeyRead(k, version ?? ABSENT_VERSION);
    return version;
  }

  range(options: RangeOptions = {}): Iterable<[Uint8Array, Uint8Array]> {
    this.#tx.assertOpen();
    const { from, to, reverse, limit } = checkRangeOptions(options);
    if (!this.#cleared) this.#recordWholeRead();
    return this.#merge(from, to, reverse, limit);
  }

  /**
   * Why this transaction's reads no longer hold against the committed state, or undefined when
   * they all do. Called by the store at commit, before anything is applied.
   */
  findConflict(): string | undefined {
    if (this.#firstReadMapVersion === undefined) return undefined;
    const committed = this.#committedMap();
    const mapVersion = committed?.version ?? ABSENT_VERSION;
    if (mapVersion === this.#firstReadMapVersion) return undefined;
    if (this.#wholeReadMapVersion !== undefined && mapVersion !== this.#wholeReadMapVersion) {
      return `map '${this.name}' was read whole at version ${this.#wholeReadMapVersion} and changed at version ${mapVersion}`;
    }
    for (const [k, seen] of this.#keyReads) {
      const now = committed?.entries.get(k)?.version ?? ABSENT_VERSION;
      if (now !== seen) {
        return (
          `key 0x${toHex(keyBytes(k))} of map '${this.name}' was read at version ${seen} ` +
          `and is now at version ${now} (0 = absent)`
        );
      }
    }
    return undefined;
  }

  /**
   * The changes this transaction makes to the committed state as it is now, in write-set order
   * (writes and removes each sorted by key bytes); undefined when it changes nothing. Removes of
   * keys that do not exist are left out.
   */
  changes(): MapChanges | undefined {
    if (this.#pending.size === 0 && !this.#cleared) return undefined;
    const committed = this.#committedMap();
    const entries = committed?.entries;
    const writes: MapWrite[] = [];
    const removes: Uint8Array[] = [];
    const keys = [...this.#pending.keys()];
    if (keys.length > 1) keys.sort();
    for (const k of keys) {
      const pending = this.#pending.get(k);
      invariant(pending !== undefined, 'pending keys come from the pending map');
      if (pending.value !== undefined) {
        writes.push({ key: pending.key, value: pending.value });
      } else if (entries?.has(k) === true) {
        removes.push(pending.key);
      }
    }
    if (this.#cleared && committed !== undefined) {
      invariant(removes.length === 0, 'after clear() the pending map holds sets only');
      for (const k of committed.sortedKeys()) {
        if (this.#pending.has(k)) continue;
        invariant(committed.entries.has(k), 'the ordered index lists only stored keys');
        removes.push(keyBytes(k));
      }
    }
    if (writes.length === 0 && removes.length === 0) return undefined;
    return { name: this.name, readVersion: 0n, reads: [], writes, removes };
  }

  #committedMap(): CommittedMap | undefined {
    // Maps are never dropped from a store, so once found the reference stays right.
    return (this.#committed ??= this.#maps.get(this.name));
  }

  /**
   * The value of `k` as this transaction sees it, as kept (see CommittedEntry.data: not copied, so
   * that asking whether it exists costs nothing), recording a read of committed state.
   */
  #read(k: string): string | Uint8Array | undefined {
    const pending = this.#pending.get(k);
    if (pending !== undefined) return pending.value;
    if (this.#cleared) return undefined;
    const entry = this.#committedMap()?.entries.get(k);
    this.#recordKeyRead(k, entry?.version ?? ABSENT_VERSION);
    return entry?.data;
  }

  /** The entry of `k` as this transaction sees it now, recording nothing. */
  #visible(k: string): [Uint8Array, Uint8Array] | undefined {
    const pending = this.#pending.size === 0 ? undefined : this.#pending.get(k);
    if (pending !== undefined) return pending.value === undefined ? undefined : [pending.key, pending.value];
    if (this.#cleared) return undefined;
    const entry = this.#committedMap()?.entries.get(k);
    return entry === undefined ? undefined : [keyBytes(k), entry.value];
  }

  #recordKeyRead(k: string, version: bigint): void {
    this.#firstReadMapVersion ??= this.#committedMap()?.version ?? ABSENT_VERSION;
    if (!this.#keyReads.has(k)) this.#keyReads.set(k, version);
  }

  #recordWholeRead(): void {
    const version = this.#committedMap()?.version ?? ABSENT_VERSION;
    this.#firstReadMapVersion ??= version;
    this.#wholeReadMapVersion ??= version;
  }

  /** Merges committed keys (from the ordered index) with pending keys, pending ones taking precedence. */
  *#merge(
    from: string | undefined,
    to: string | undefined,
    reverse: boolean,
    limit: number,
  ): Generator<[Uint8Array, Uint8Array], void, undefined> {
    if (limit === 0) return;
    const committedKeys = this.#cleared
      ? undefined
      : this.#committedMap()?.orderedKeys(from, to, reverse)[Symbol.iterator]();
    const pendingKeys: string[] = [];
    for (const k of this.#pending.keys()) {
      if ((from === undefined || k >= from) && (to === undefined || k < to)) pendingKeys.push(k);
    }
    pendingKeys.sort();
    if (reverse) pendingKeys.reverse();
    let nextPending = 0;
    let nextCommitted = committedKeys?.next();
    let yielded = 0;
    for (;;) {
      this.#tx.assertOpen();
      const c = nextCommitted === undefined || nextCommitted.done === true ? undefined : nextCommitted.value;
      const p = pendingKeys[nextPending];
      let k: string;
      if (c === undefined) {
        if (p === undefined) return;
        k = p;
        nextPending++;
      } else if (p === undefined || (reverse ? c > p : c < p)) {
        k = c;
        nextCommitted = committedKeys?.next();
      } else {
        k = p;
        nextPending++;
        if (c === p) nextCommitted = committedKeys?.next();
      }
      // Resolve now, not at merge start: the caller may have set or deleted keys meanwhile.
      const entry = this.#visible(k);
      if (entry === undefined) continue;
      yield entry;
      if (++yielded === limit) return;
    }
  }
}

function checkRangeOptions(options: RangeOptions): {
  from: string | undefined;
  to: string | undefined;
  reverse: boolean;
  limit: number;
} {
  if (typeof options !== 'object' || options === null) {
    throw new CocoError('InvalidArgument', 'range options must be an object like { from, to, reverse, limit }');
  }
  const { from, to, reverse = false, limit = Infinity } = options;
  for (const [name, bound] of [['from', from], ['to', to]] as const) {
    if (bound !== undefined && !(bound instanceof Uint8Array)) {
      throw new CocoError('InvalidArgument', `range option '${name}' must be a Uint8Array key`);
    }
  }
  if (typeof reverse !== 'boolean') throw new CocoError('InvalidArgument', "range option 'reverse' must be a boolean");
  if (typeof limit !== 'number' || !(limit >= 0) || (limit !== Infinity && !Number.isInteger(limit))) {
    throw new CocoError('InvalidArgument', `range option 'limit' must be a non-negative integer, got ${String(limit)}`);
  }
  return {
    from: from === undefined ? undefined : keyString(from),
    to: to === undefined ? undefined : keyString(to),
    reverse,
    limit,
  };
}
