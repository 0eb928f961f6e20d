// Values a node loads asynchronously (from its ledger files) for callers that cannot wait: the
// first request starts the load and is told to come back, later ones get the value. A failed load
// answers every later request with its error, so that a caller never sees "come back" after
// "failed"; each such request loads again in the background, and the value replaces the error
// once a load succeeds (a file restored meanwhile). The least recently used goes first when full.

import { CocoError } from '../errors.js';

export class LoadedCache<K, V> {
  private readonly values = new Map<K, V>();
  private readonly loading = new Map<K, Promise<void>>();
  private readonly failures = new Map<K, CocoError>();

  constructor(private readonly capacity: number) {}

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
            keepAtMost(this.values, key, value, this.capacity);
          },
          (error: unknown) => keepAtMost(this.failures, key, error instanceof CocoError ? error : new CocoError('InternalError', String(error)), this.capacity),
        )
        .finally(() => this.loading.delete(key)),
    );
  }
}

/** Sets `key` as the most recently used, dropping the least recently used past `capacity`. */
function keepAtMost<K, V>(map: Map<K, V>, key: K, value: V, capacity: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > capacity) map.delete(map.keys().next().value!);
}
