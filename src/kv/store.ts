// The in-memory transactional key-value store: named maps of byte keys to byte values, each key
// carrying the version (seqno) of the transaction that last wrote it. Transactions commit with
// optimistic concurrency (stale reads refuse the commit, blind writes never conflict) and yield the
// write set that goes into the ledger; replicated or replayed write sets apply as they are.
//
// Choices where CCF leaves room: `delete` records a read (its answer reveals whether the key
// existed); `clear` is blind and removes whatever the map holds at commit; a transaction without
// changes commits to an empty write set and still takes its version (the node decides whether to
// commit it at all). The store keeps the key and value arrays of an applied write set: callers must
// not mutate them afterwards, nor the arrays that reads return.

import { CocoError, invariant } from '../errors.js';
import { checkKey, checkMapName, checkValue } from './limits.js';
import { SortedKeys, keyString } from './sorted-keys.js';
import { Transaction } from './transaction.js';
import { domainOf, type Domain, type MapChanges, type WriteSet } from './write-set.js';

export interface CommittedEntry {
  readonly key: Uint8Array;
  value: Uint8Array;
  /** Seqno of the transaction that last wrote the key. */
  version: bigint;
}

/** One map's committed state. Maps are created by their first write and never dropped. */
export class CommittedMap {
  readonly name: string;
  readonly nameBytes: Uint8Array;
  /** By key string (see `keyString`). */
  readonly entries = new Map<string, CommittedEntry>();
  /** Seqno of the last transaction that changed the map: whole-map reads are checked against it. */
  version = 0n;
  /** Built by the first ordered read, then kept up to date: maps only read by key never pay for it. */
  #index: SortedKeys | undefined;

  constructor(name: string, nameBytes: Uint8Array) {
    this.name = name;
    this.nameBytes = nameBytes;
  }

  /** Key strings in byte order within [from, to); valid across later writes (see SortedKeys). */
  orderedKeys(from: string | undefined, to: string | undefined, reverse: boolean): Iterable<string> {
    this.#index ??= SortedKeys.fromKeys([...this.entries.keys()]);
    return this.#index.range(from, to, reverse);
  }

  write(k: string, key: Uint8Array, value: Uint8Array, version: bigint): void {
    const entry = this.entries.get(k);
    if (entry !== undefined) {
      entry.value = value;
      entry.version = version;
    } else {
      this.entries.set(k, { key, value, version });
      this.#index?.insert(k);
    }
    this.version = version;
    invariant(this.#index === undefined || this.#index.size === this.entries.size, 'index lists every key');
  }

  remove(k: string, version: bigint): void {
    if (!this.entries.delete(k)) return;
    this.#index?.remove(k);
    this.version = version;
    invariant(this.#index === undefined || this.#index.size === this.entries.size, 'index lists every key');
  }
}

const DOMAINS: readonly Domain[] = ['public', 'private'];

export class Store {
  readonly #maps = new Map<string, CommittedMap>();
  #version: bigint;

  /** `version`: the seqno the store starts at (a store rebuilt from a later point starts there). */
  constructor(version = 0n) {
    if (version < 0n) throw new CocoError('InvalidVersion', `a store cannot start at version ${version}`);
    this.#version = version;
  }

  /** Seqno of the last applied transaction; 0 for an empty store. */
  get version(): bigint {
    return this.#version;
  }

  /** A transaction that reads the latest committed state and its own writes. */
  beginTransaction(): Transaction {
    return new Transaction(this.#maps);
  }

  /**
   * Commits `tx` at `version` (which must be `store.version + 1n`) and returns its write set: the
   * maps it changed by domain, sorted by name; writes and removes sorted by key bytes. Throws
   * TransactionConflict, applying nothing and closing `tx`, when a read it made no longer holds.
   */
  commit(tx: Transaction, version: bigint): WriteSet {
    if (!(tx instanceof Transaction) || !tx.readsFrom(this.#maps)) {
      throw new CocoError('InvalidArgument', 'commit needs a transaction begun on this store');
    }
    tx.assertOpen();
    this.#checkNextVersion(version);
    const maps = tx.pendingMaps();
    for (const map of maps) {
      const conflict = map.findConflict();
      if (conflict !== undefined) {
        tx.close('aborted');
        throw new CocoError('TransactionConflict', `${conflict}; nothing was applied: run the transaction again`);
      }
    }
    const writeSet: WriteSet = { public: [], private: [] };
    for (const map of maps) {
      const changes = map.changes();
      if (changes === undefined) continue;
      this.#apply(this.#mapFor(map.name, map.nameBytes), changes, version);
      writeSet[domainOf(map.name)].push(changes);
    }
    this.#version = version;
    tx.close('committed');
    return writeSet;
  }

  /**
   * Applies a write set committed elsewhere (replication, ledger replay) at `version`, which must be
   * `store.version + 1n`: per map, writes then removes, every key at `version`. The whole write set
   * is checked before anything is applied.
   */
  applyWriteSet(writeSet: WriteSet, version: bigint): void {
    this.#checkNextVersion(version);
    for (const domain of DOMAINS) {
      const maps: unknown = writeSet?.[domain];
      if (!Array.isArray(maps)) {
        throw new CocoError('InvalidWriteSet', `write set has no '${domain}' list of map changes`);
      }
      for (const changes of maps as MapChanges[]) this.#checkChanges(changes, domain);
    }
    for (const domain of DOMAINS) {
      for (const changes of writeSet[domain]) {
        if (changes.writes.length === 0 && changes.removes.length === 0) continue;
        this.#apply(this.#mapFor(changes.name), changes, version);
      }
    }
    this.#version = version;
  }

  #checkNextVersion(version: bigint): void {
    if (typeof version !== 'bigint') {
      throw new CocoError('InvalidArgument', `a version must be a bigint seqno, got ${typeof version}`);
    }
    if (version !== this.#version + 1n) {
      throw new CocoError(
        'InvalidVersion',
        `version ${version} is not the next one: the store is at ${this.#version}, so use ${this.#version + 1n}`,
      );
    }
  }

  #checkChanges(changes: MapChanges, domain: Domain): void {
    if (typeof changes !== 'object' || changes === null) {
      throw new CocoError('InvalidWriteSet', `a ${domain} map change is ${String(changes)}, not an object`);
    }
    if (!this.#maps.has(changes.name)) checkMapName(changes.name);
    if (domainOf(changes.name) !== domain) {
      throw new CocoError('InvalidWriteSet', `map '${changes.name}' is listed in the ${domain} domain but is not ${domain}`);
    }
    if (!Array.isArray(changes.writes) || !Array.isArray(changes.removes)) {
      throw new CocoError('InvalidWriteSet', `map '${changes.name}' needs 'writes' and 'removes' arrays`);
    }
    for (const write of changes.writes) {
      checkKey(write?.key);
      checkValue(write.value);
    }
    for (const key of changes.removes) checkKey(key);
  }

  #mapFor(name: string, nameBytes?: Uint8Array): CommittedMap {
    let map = this.#maps.get(name);
    if (map === undefined) {
      map = new CommittedMap(name, nameBytes ?? checkMapName(name));
      this.#maps.set(name, map);
    }
    return map;
  }

  #apply(map: CommittedMap, changes: MapChanges, version: bigint): void {
    for (const write of changes.writes) map.write(keyString(write.key), write.key, write.value, version);
    for (const key of changes.removes) map.remove(keyString(key), version);
  }
}
