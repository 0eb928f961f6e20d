// Values a node loads asynchronously (from its ledger files) for callers that cannot wait: the
// first request starts the load and is told to come back, later ones get the value. A failed load
// answers every later request with its error, so that a caller never sees "come back" after
// "failed"; each such request loads again in the background, and the value replaces the error
// once a load succeeds (a file restored meanwhile). The least recently used goes first when full:
// full by count, or by the values' sizes added up when the cache is given a size bound.

import { CocoError } from '../errors.js';

/** A bound on the values' sizes added up, besides the count: a soft one, as CCF's historical cache's. */
export interface CacheSizeBound<V> {
  /** What the values' sizes may add up to; the value loaded last stays even when it alone is larger. */
  readonly max: number;
  /** A value's size, fixed once loaded (bytes, for a cache bounded by memory). */
  readonly sizeOf: (value: V) => number;
}

export class LoadedCache<K, V> {
  private readonly values = new Map<K, V>();
  private readonly loading = new Map<K, Promise<void>>();
  private readonly failures = new Map<K, CocoError>();
  /** The sizes of `values` added up (with no size bound: not counted). */
  #valuesSize = 0;

  /** `capacity`: the most values, and the most failures, kept; `sized`: a bound on the values' sizes too. */
  constructor(
    private readonly capacity: number,
    private readonly sized?: CacheSizeBound<V>,
  ) {}

  /** The sizes of the values held added up, as `sized.sizeOf` counts them (0 without a size bound). */
  get valuesSize(): number {
    return this.#valuesSize;
  }

  /**
   * The value of `key` if loaded; otherwise starts `load` (unless it runs already) and returns
   * undefined, or throws the error of the last load if it failed. Errors `load` throws before it
   * returns its promise are the caller's, thrown at once and not remembered.
   */
  get(key: K, load: () => Promise<V>): V | undefined {
    const value = this.values.get(key);
    if (value !== undefined) {
      // Refresh its place: the cache evicts the least recently used value.
      this.values.delete(key);
      this.values.set(key, value);
      return value;
    }
    if (!this.loading.has(key)) this.start(key, load());
    const failure = this.failures.get(key);
    if (failure !== undefined) throw failure;
    return undefined;
  }

  /** The value of `key` if loaded, without starting anything or changing its place. */
  peek(key: K): V | undefined {
    return this.values.get(key);
  }

  /** Resolves once a load started by `get` has finished (for callers that can wait). */
  async settled(key: K): Promise<void> {
    await this.loading.get(key);
  }

  /**
   * The value of `key`, loaded first if need be, for callers that can wait; shares a load already
   * running. Rejects with what `get` throws (the error of a failed load).
   */
  async loaded(key: K, load: () => Promise<V>): Promise<V> {
    for (;;) {
      const value = this.get(key, load);
      if (value !== undefined) return value;
      await this.settled(key);
    }
  }

  private start(key: K, loaded: Promise<V>): void {
    this.loading.set(
      key,
      loaded
        .then(
          (value) => {
            this.failures.delete(key);
            this.keep(key, value);
          },
          (error: unknown) => keepAtMost(this.failures, key, error instanceof CocoError ? error : new CocoError('InternalError', String(error)), this.capacity),
        )
        .finally(() => this.loading.delete(key)),
    );
  }

  /** Sets `key` to `value` as the most recently used, dropping the least recently used past the bounds. */
  private keep(key: K, value: V): void {
    const sizeOf = this.sized?.sizeOf;
    const replaced = this.values.get(key);
    if (sizeOf !== undefined && replaced !== undefined) this.#valuesSize -= sizeOf(replaced);
    this.values.delete(key);
    this.values.set(key, value);
    if (sizeOf !== undefined) this.#valuesSize += sizeOf(value);
    const sizeMax = this.sized?.max ?? Infinity;
    while (this.values.size > this.capacity || (this.#valuesSize > sizeMax && this.values.size > 1)) {
      const [oldest, dropped] = this.values.entries().next().value!;
      this.values.delete(oldest);
      if (sizeOf !== undefined) this.#valuesSize -= sizeOf(dropped);
    }
  }
}

/** Sets `key` as the most recently used, dropping the least recently used past `capacity` (for failures: counted only). */
function keepAtMost<K, V>(map: Map<K, V>, key: K, value: V, capacity: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > capacity) map.delete(map.keys().next().value!);
}
