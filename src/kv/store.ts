// The in-memory transactional key-value store: named maps of byte keys to byte values, each key
// carrying the version (seqno) of the transaction that last wrote it. Transactions commit with
// optimistic concurrency (stale reads refuse the commit, blind writes never conflict) and yield the
// write set that goes into the ledger; replicated or replayed write sets apply as they are.
//
// Choices where CCF leaves room: `delete` records a read (its answer reveals whether the key
// existed); `clear` is blind and removes whatever the map holds at commit (it counts the keys the
// map holds when called toward WRITES_PER_TRANSACTION_MAX); a transaction without changes commits
// to an empty write set and still takes its version (the node decides whether to commit it at
// all). The store keeps the key and value arrays of an applied write set: callers must not mutate
// them afterwards, nor the arrays that reads return.
//
// Every change is recorded in an undo log until compacted, so that an uncommitted suffix can be
// rolled back (Raft truncation). Versions after a rollback are used again, so a rollback voids the
// transactions open at that time: their reads could otherwise pass the version checks of commit.
//
// A store exports its whole state for a snapshot (`snapshotMaps`) and a new store starts from one
// (`Store.fromSnapshot`), compacted at the snapshot's version.

import { compareBytes, isWholeBuffer, toHex } from '../crypto/bytes.js';
import { CocoError, invariant } from '../errors.js';
import { checkKey, checkMapName, checkValue } from './limits.js';
import { SortedKeys, keyBytes, keyString } from './sorted-keys.js';
import { Transaction } from './transaction.js';
import { UndoLog, type KeyUndo, type MapUndo, type TransactionUndo } from './undo-log.js';
import { domainOf, type Domain, type MapChanges, type WriteSet } from './write-set.js';

/** One key of a map as a snapshot holds it. */
export interface SnapshotEntry {
  key: Uint8Array;
  value: Uint8Array;
  /** Seqno of the transaction that last wrote the key. */
  version: bigint;
}

/** One map's whole state in a snapshot: its version (last change) and its keys. */
export interface SnapshotMap {
  name: string;
  version: bigint;
  entries: SnapshotEntry[];
}

/** One map's whole state as the store hands it to a snapshot (`Store.snapshotMaps`). */
export interface CommittedMapState {
  name: string;
  version: bigint;
  entries: readonly CommittedEntry[];
}

/**
 * Values up to this many bytes are kept as latin1 strings (see `keyString`): 16 bytes of heap over
 * their length, against ~200 for a typed array of a short value and ~300 for a longer one. Reading
 * one copies it into new bytes, which costs little at this size.
 */
const STRING_VALUE_BYTES_MAX = 256;

/** Never changed once stored: a write stores a new entry, so a snapshot can hold on to the old ones. */
export class CommittedEntry {
  /**
   * The key string (see `keyString`), the very string the map is keyed by: the key's bytes are not
   * kept beside it, which would cost a typed array per key.
   */
  readonly key: string;
  /** The value as kept: a short one as its latin1 string, a longer one as its bytes (see `value`). */
  readonly data: string | Uint8Array;
  /** Seqno of the transaction that last wrote the key. */
  readonly version: bigint;

  /** Keeps `value`'s bytes, never a view of a larger buffer (see keptValue). */
  constructor(key: string, value: Uint8Array, version: bigint) {
    this.key = key;
    this.data = keptValue(value);
    this.version = version;
  }

  /** The value's bytes: for a value kept as a string, a new copy at each call. */
  get value(): Uint8Array {
    return valueBytes(this.data);
  }
}

/** The bytes of a value as an entry keeps it (`CommittedEntry.data`): a string's in new bytes. */
export function valueBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? keyBytes(data) : data;
}

/**
 * How a value is kept: short ones as strings (STRING_VALUE_BYTES_MAX), others in a buffer of their
 * own. A replicated write is decoded in place, and a snapshot too: their values are views into the
 * entry's bytes (the received batch, the decrypted private domain), which a kept view would hold in
 * memory for as long as the value stays (a QA soak: ~360 bytes held for a value of 20). Bytes that
 * are their buffer already are kept as they are.
 */
function keptValue(value: Uint8Array): string | Uint8Array {
  if (value.length <= STRING_VALUE_BYTES_MAX) return keyString(value);
  // A copy (a Buffer's slice() would be another view).
  return isWholeBuffer(value) ? value : new Uint8Array(value);
}

/** One map's committed state. Maps are created by their first write and dropped only by a rollback past it. */
export class CommittedMap {
  readonly name: string;
  readonly nameBytes: Uint8Array;
  /** Seqno of the last transaction that changed the map: whole-map reads are checked against it. */
  version = 0n;
  /** By key string (see `keyString`); replaced whole by `removeAll`. */
  #entries = new Map<string, CommittedEntry>();
  /** Built by the first ordered read, then kept up to date: maps only read by key never pay for it. */
  #index: SortedKeys | undefined;

  constructor(name: string, nameBytes: Uint8Array) {
    this.name = name;
    this.nameBytes = nameBytes;
  }

  /** By key string (see `keyString`). Read only: changes go through write, remove and removeAll. */
  get entries(): ReadonlyMap<string, CommittedEntry> {
    return this.#entries;
  }

  /** Key strings in byte order within [from, to); valid across later writes (see SortedKeys). */
  orderedKeys(from: string | undefined, to: string | undefined, reverse: boolean): Iterable<string> {
    this.#index ??= SortedKeys.fromKeys([...this.#entries.keys()]);
    return this.#index.range(from, to, reverse);
  }

  /** Every key string in byte order, in a new array; from the ordered index if built, without building it. */
  sortedKeys(): string[] {
    return this.#index === undefined ? [...this.#entries.keys()].sort() : [...this.#index.range(undefined, undefined, false)];
  }

  /** Stores a snapshot's entry; only while the map is being built from a snapshot. */
  load(k: string, entry: CommittedEntry): void {
    invariant(this.#index === undefined, 'a map is loaded before it is read');
    this.#entries.set(k, entry);
  }

  /** Sets `k` at `version`, recording in `undo` what it overwrote. */
  write(k: string, value: Uint8Array, version: bigint, undo: KeyUndo[]): void {
    const entry = this.#entries.get(k);
    undo.push({ k, entry });
    // An existing key keeps the string the map holds it by (an equal new one would be a second copy).
    this.#entries.set(k, new CommittedEntry(entry?.key ?? k, value, version));
    if (entry === undefined) this.#index?.insert(k);
    this.version = version;
    invariant(this.#index === undefined || this.#index.size === this.#entries.size, 'index lists every key');
  }

  /** Removes `k` (if present) at `version`, recording in `undo` what it removed. */
  remove(k: string, version: bigint, undo: KeyUndo[]): void {
    const entry = this.#entries.get(k);
    if (entry === undefined) return;
    undo.push({ k, entry });
    this.#entries.delete(k);
    this.#index?.remove(k);
    this.version = version;
    invariant(this.#index === undefined || this.#index.size === this.#entries.size, 'index lists every key');
  }

  /**
   * Removes every key at `version` in one step (a clear), returning what `restore` needs to undo it:
   * the entries and ordered index as they were, kept whole rather than key by key.
   */
  removeAll(version: bigint): RemovedEntries {
    const removed: RemovedEntries = { entries: this.#entries, index: this.#index };
    this.#entries = new Map();
    this.#index = undefined;
    this.version = version;
    return removed;
  }

  /** Undoes `removeAll`: the map must be as that call left it (its later writes undone). */
  restore(removed: RemovedEntries): void {
    invariant(this.#entries.size === 0, 'a clear is undone after the writes that followed it');
    this.#entries = removed.entries;
    this.#index = removed.index;
  }

  /** Puts a key back as a write or remove found it; changes are undone newest first. */
  undo(change: KeyUndo): void {
    const { k, entry } = change;
    if (entry === undefined) {
      invariant(this.#entries.delete(k), 'a key inserted by a transaction is present until undone');
      this.#index?.remove(k);
    } else {
      if (!this.#entries.has(k)) this.#index?.insert(k);
      this.#entries.set(k, entry);
    }
    invariant(this.#index === undefined || this.#index.size === this.#entries.size, 'index lists every key');
  }
}

/** A map's state before `removeAll`, kept so that a rollback puts it back whole. */
export interface RemovedEntries {
  readonly entries: Map<string, CommittedEntry>;
  readonly index: SortedKeys | undefined;
}

function invalidSnapshot(reason: string): CocoError {
  return new CocoError('InvalidSnapshot', `snapshot state is invalid: ${reason}`);
}

function checkSnapshotVersion(version: unknown, min: bigint, max: bigint, what: string): asserts version is bigint {
  if (typeof version !== 'bigint' || version < min || version > max) {
    throw invalidSnapshot(`${what} is ${String(version)}, outside ${min} to ${max}`);
  }
}

const DOMAINS: readonly Domain[] = ['public', 'private'];

export class Store {
  /** Replaced (not changed) by a rollback, which voids the transactions reading the old one. */
  #maps = new Map<string, CommittedMap>();
  #version: bigint;
  readonly #undo: UndoLog;

  /**
   * `version`: the seqno the store starts at (a store rebuilt from a later point starts there); it
   * is also the compacted version: the store cannot roll back below it.
   */
  constructor(version = 0n) {
    if (version < 0n) throw new CocoError('InvalidVersion', `a store cannot start at version ${version}`);
    this.#version = version;
    this.#undo = new UndoLog(version);
  }

  /**
   * A store holding the state of a snapshot taken at `version`: it continues with version + 1 and
   * cannot roll back below `version`. Names, keys and values are checked as `applyWriteSet` checks
   * them, and so are versions (1 ≤ key version ≤ map version ≤ `version`); duplicates are refused.
   * The store keeps the key and value arrays: callers must not mutate them afterwards.
   */
  static fromSnapshot(version: bigint, maps: readonly SnapshotMap[]): Store {
    const store = new Store(version);
    if (!Array.isArray(maps)) throw invalidSnapshot(`maps must be an array, got ${typeof maps}`);
    for (const snapshotMap of maps) {
      if (typeof snapshotMap !== 'object' || snapshotMap === null) throw invalidSnapshot(`a map is ${String(snapshotMap)}, not an object`);
      const { name, version: mapVersion, entries } = snapshotMap;
      const nameBytes = checkMapName(name);
      if (store.#maps.has(name)) throw invalidSnapshot(`map '${name}' appears twice`);
      checkSnapshotVersion(mapVersion, 1n, version, `version of map '${name}'`);
      if (!Array.isArray(entries)) throw invalidSnapshot(`map '${name}' needs an 'entries' array`);
      const map = new CommittedMap(name, nameBytes);
      for (const entry of entries) {
        checkKey(entry?.key);
        checkValue(entry.value);
        checkSnapshotVersion(entry.version, 1n, mapVersion, `version of a key of map '${name}'`);
        const k = keyString(entry.key);
        if (map.entries.has(k)) throw invalidSnapshot(`map '${name}' holds key 0x${toHex(entry.key).slice(0, 64)} twice`);
        map.load(k, new CommittedEntry(k, entry.value, entry.version));
      }
      map.version = mapVersion;
      store.#maps.set(name, map);
    }
    return store;
  }

  /**
   * The whole committed state, for a snapshot at `store.version`: every map sorted by name (UTF-8
   * byte order), its keys in byte order. The order is the state's alone, not its history's: a key's
   * place in a JS Map depends on how the node came by it (executing a clear, applying the same
   * transaction's removes from the ledger, undoing a rollback), and every node must encode the same
   * snapshot bytes. Each map's ordered index is built for this once and then kept. The entries are
   * the store's own, which are never changed (a write replaces its key's entry), so the result keeps
   * the state of this version whatever is written after it. Do not mutate the arrays.
   */
  snapshotMaps(): CommittedMapState[] {
    const maps = [...this.#maps.values()].sort((a, b) => compareBytes(a.nameBytes, b.nameBytes));
    return maps.map((map) => ({ name: map.name, version: map.version, entries: Array.from(map.orderedKeys(undefined, undefined, false), (k) => map.entries.get(k)!) }));
  }

  /**
   * Takes the private maps of `from` in place of this store's, which must hold none (CCF's
   * swap_private_maps): a recovered service's private state, replayed apart once its ledger secrets
   * were restored, while this store went on with the public state. Their keys keep their versions,
   * which are older than any rollback can reach: the change itself is never undone. Open
   * transactions can no longer commit.
   */
  installPrivateMaps(from: Store): void {
    const held = [...this.#maps.values()].find((map) => domainOf(map.name) === 'private' && map.entries.size > 0);
    if (held !== undefined) throw new CocoError('InvalidArgument', `the store already holds private map '${held.name}'`);
    const maps = new Map([...this.#maps].filter(([name]) => domainOf(name) !== 'private'));
    for (const [name, map] of from.#maps) {
      if (domainOf(name) !== 'private') continue;
      if (map.version > this.#undo.compactedVersion) throw new CocoError('InvalidArgument', `private map '${name}' was changed at version ${map.version}, after this store's compacted version ${this.#undo.compactedVersion}`);
      maps.set(name, map);
    }
    this.#maps = maps;
  }

  /** Every committed entry of every map, in no particular order (what a state keeps alive, not a snapshot). */
  *committedEntries(): Generator<CommittedEntry> {
    for (const map of this.#maps.values()) yield* map.entries.values();
  }

  /** Seqno of the last applied transaction; 0 for an empty store. */
  get version(): bigint {
    return this.#version;
  }

  /** The lowest version `rollback` accepts: transactions up to it are committed for good. */
  get compactedVersion(): bigint {
    return this.#undo.compactedVersion;
  }

  /** How many transactions the undo log holds (those after the compacted version that changed something). */
  get undoTransactions(): number {
    return this.#undo.size;
  }

  /**
   * Undoes every transaction after `version`, newest first: values, key versions, map versions and
   * the ordered indexes come back as they were, maps created since are gone, and `store.version`
   * becomes `version`. Unless it undid nothing (`version` is the current one), transactions open
   * at the time can no longer commit.
   */
  rollback(version: bigint): void {
    this.#checkRetained(version, 'roll back to');
    if (version === this.#version) return;
    const maps = new Map(this.#maps);
    for (let tx = this.#undo.popAfter(version); tx !== undefined; tx = this.#undo.popAfter(version)) {
      for (let i = tx.maps.length - 1; i >= 0; i--) {
        const { map, version: mapVersion, keys, removed } = tx.maps[i] as MapUndo;
        for (let j = keys.length - 1; j >= 0; j--) map.undo(keys[j] as KeyUndo);
        if (removed !== undefined) map.restore(removed);
        map.version = mapVersion;
        // Only a map created by the undone transaction is at version 0 (changes set the version).
        if (mapVersion === 0n) {
          invariant(map.entries.size === 0, 'a map back at version 0 holds no keys');
          maps.delete(map.name);
        }
      }
    }
    this.#maps = maps;
    this.#version = version;
  }

  /** Forgets how to undo the transactions up to `version` (committed ones): they can no longer be rolled back. */
  compact(version: bigint): void {
    this.#checkRetained(version, 'compact to');
    this.#undo.compact(version);
  }

  #checkRetained(version: bigint, what: string): void {
    if (typeof version !== 'bigint') {
      throw new CocoError('InvalidArgument', `a version must be a bigint seqno, got ${typeof version}`);
    }
    const compacted = this.#undo.compactedVersion;
    if (version < compacted || version > this.#version) {
      throw new CocoError(
        'InvalidVersion',
        `cannot ${what} version ${version}: the store holds versions ${compacted} (compacted) to ${this.#version}`,
      );
    }
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
      throw new CocoError(
        'InvalidArgument',
        'commit needs a transaction begun on this store since its last rollback (a rollback voids open transactions): begin it again',
      );
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
    let undo: TransactionUndo | undefined;
    for (const map of maps) {
      const changes = map.changes();
      if (changes === undefined) continue;
      undo ??= this.#undo.begin(version);
      this.#apply(this.#mapFor(map.name, map.nameBytes), changes, version, undo, map.isCleared);
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
    let undo: TransactionUndo | undefined;
    for (const domain of DOMAINS) {
      for (const changes of writeSet[domain]) {
        if (changes.writes.length === 0 && changes.removes.length === 0) continue;
        undo ??= this.#undo.begin(version);
        this.#apply(this.#mapFor(changes.name), changes, version, undo, false);
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

  /**
   * Applies one map's changes. A clear (`cleared`, whose removes list every key the map holds that
   * its writes do not set again) drops the whole map at once and is undone the same way: committing
   * it costs about what building its write set costs, not a remove and an undo record per key.
   */
  #apply(map: CommittedMap, changes: MapChanges, version: bigint, undo: TransactionUndo, cleared: boolean): void {
    const keys: KeyUndo[] = [];
    const before = map.version;
    if (cleared) {
      const removed = map.removeAll(version);
      undo.maps.push({ map, version: before, keys, removed });
      let setAgain = 0;
      for (const write of changes.writes) {
        const k = keyString(write.key);
        if (removed.entries.has(k)) setAgain++;
        map.write(k, write.value, version, keys);
      }
      invariant(changes.removes.length + setAgain === removed.entries.size, 'a clear lists every key it removes');
      return;
    }
    undo.maps.push({ map, version: before, keys });
    for (const write of changes.writes) map.write(keyString(write.key), write.value, version, keys);
    for (const key of changes.removes) map.remove(keyString(key), version, keys);
  }
}
