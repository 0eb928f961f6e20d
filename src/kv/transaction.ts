// One transaction over a Store: it hands out one MapHandle per map name, buffers every write in
// them until the store commits it, and counts its writes against WRITES_PER_TRANSACTION_MAX. Once
// committed, aborted or refused for a conflict it is closed for good: every further use throws.

import { CocoError } from '../errors.js';
import { compareBytes } from '../crypto/bytes.js';
import { checkMapName, checkWriteCount, type ClearedMap } from './limits.js';
import { PendingMap, type MapHandle, type TransactionContext } from './map-handle.js';
import type { CommittedMap } from './store.js';

export class Transaction implements TransactionContext {
  readonly #maps: ReadonlyMap<string, CommittedMap>;
  readonly #handles = new Map<string, PendingMap>();
  #state: 'open' | 'committed' | 'aborted' = 'open';
  #writeCount = 0;

  /** Use `Store.beginTransaction()`; `maps` is the store's live committed state. */
  constructor(maps: ReadonlyMap<string, CommittedMap>) {
    this.#maps = maps;
  }

  get isOpen(): boolean {
    return this.#state === 'open';
  }

  /** The handle of map `name` (the same one on every call); the map need not exist yet. */
  map(name: string): MapHandle {
    this.assertOpen();
    let handle = this.#handles.get(name);
    if (handle === undefined) {
      const nameBytes = this.#maps.get(name)?.nameBytes ?? checkMapName(name);
      handle = new PendingMap(this, name, nameBytes, this.#maps);
      this.#handles.set(name, handle);
    }
    return handle;
  }

  /** Drops every pending write; the transaction cannot be used afterwards. */
  abort(): void {
    this.assertOpen();
    this.#state = 'aborted';
  }

  assertOpen(): void {
    if (this.#state !== 'open') {
      throw new CocoError(
        'TransactionClosed',
        `the transaction is already ${this.#state}; begin a new transaction to read or write again`,
      );
    }
  }

  /** Whether the transaction set, deleted or cleared anything (a read-only one commits nothing). */
  get hasWrites(): boolean {
    if (this.#writeCount > 0) return true;
    for (const handle of this.#handles.values()) if (handle.isCleared) return true;
    return false;
  }

  countWrites(delta: number, clearing?: ClearedMap): void {
    checkWriteCount(this.#writeCount + delta, clearing);
    this.#writeCount += delta;
  }

  /** The store's side of commit: whether this transaction reads `maps`. */
  readsFrom(maps: ReadonlyMap<string, CommittedMap>): boolean {
    return this.#maps === maps;
  }

  /** The store's side of commit: every map this transaction touched, sorted by name bytes. */
  pendingMaps(): PendingMap[] {
    const handles = [...this.#handles.values()];
    if (handles.length > 1) handles.sort((a, b) => compareBytes(a.nameBytes, b.nameBytes));
    return handles;
  }

  /** The store's side of commit: closes the transaction once committed or refused. */
  close(state: 'committed' | 'aborted'): void {
    this.assertOpen();
    this.#state = state;
  }
}
