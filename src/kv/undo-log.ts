// The store's undo log: for each transaction after the compacted version that changed anything,
// what it overwrote (per map the previous map version and, for a clear, its whole previous state;
// per key the previous entry state), so that a rollback can restore any version since the
// compacted one. Compacting forgets the records of committed transactions: memory then holds only
// the uncommitted suffix.

import { invariant } from '../errors.js';
import type { CommittedEntry, CommittedMap, RemovedEntries } from './store.js';

/** What one write or remove found: `entry` undefined when the key was absent. */
export interface KeyUndo {
  readonly k: string;
  /** The entry before the change (entries are never changed, only replaced); undefined if absent. */
  readonly entry: CommittedEntry | undefined;
}

/**
 * One map as a transaction found it: its version, what a clear removed whole (undone last), then
 * its key changes in the order made.
 */
export interface MapUndo {
  readonly map: CommittedMap;
  readonly version: bigint;
  readonly keys: KeyUndo[];
  readonly removed?: RemovedEntries;
}

export interface TransactionUndo {
  readonly version: bigint;
  readonly maps: MapUndo[];
}

export class UndoLog {
  /** Oldest first, every version above the compacted one. */
  readonly #transactions: TransactionUndo[] = [];
  #compactedVersion: bigint;

  constructor(compactedVersion: bigint) {
    this.#compactedVersion = compactedVersion;
  }

  /** Versions at or below this one can no longer be rolled back. */
  get compactedVersion(): bigint {
    return this.#compactedVersion;
  }

  /** How many transactions the log holds records for. */
  get size(): number {
    return this.#transactions.length;
  }

  /** A new, empty record for transaction `version`, newer than every recorded one. */
  begin(version: bigint): TransactionUndo {
    invariant(version > (this.#transactions.at(-1)?.version ?? this.#compactedVersion), 'undo records are taken in version order');
    const record: TransactionUndo = { version, maps: [] };
    this.#transactions.push(record);
    return record;
  }

  /** Removes and returns the newest record if it is for a transaction after `version`. */
  popAfter(version: bigint): TransactionUndo | undefined {
    const newest = this.#transactions.at(-1);
    if (newest === undefined || newest.version <= version) return undefined;
    return this.#transactions.pop();
  }

  /** Forgets the records of transactions at or below `version`. */
  compact(version: bigint): void {
    invariant(version >= this.#compactedVersion, 'the compacted version only grows');
    let count = 0;
    while (count < this.#transactions.length && (this.#transactions[count] as TransactionUndo).version <= version) count++;
    this.#transactions.splice(0, count);
    this.#compactedVersion = version;
  }
}
