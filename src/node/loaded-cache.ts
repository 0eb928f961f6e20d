// Values a node loads asynchronously (from its ledger files) for callers that cannot wait: the
// first request starts the load and is told to come back, later ones get the value, a failed load
// reports its error once (the next request loads again). The least recently used value goes first
// when the cache is full.

import { CocoError } from '../errors.js';

export class LoadedCache<K, V> {
  private readonly values = new Map<K, V>();
  private readonly loading = new Map<K, Promise<void>>();
  private readonly failures = new Map<K, CocoError>();

  constructor(private readonly capacity: number) {}

  /**
   * The value of `key` if loaded; otherwise starts `load` (unless it runs already) and returns
   * undefined. Throws the error of a load that failed, once; errors `load` throws before it
   * returns its promise are the caller's, thrown at once and not remembered.
   */
  get(key: K, load: () => Promise<V>): V | undefined {
    const failure = this.failures.get(key);
    if (failure !== undefined) {
      this.failures.delete(key);
      throw failure;
    }
    const value = this.values.get(key);
    if (value !== undefined) {
      // Refresh its place: the cache evicts the least recently used value.
      this.values.delete(key);
      this.values.set(key, value);
      return value;
    }
    if (!this.loading.has(key)) {
      const loaded = load();
      this.loading.set(
        key,
        loaded
          .then(
            (value) => {
              this.values.set(key, value);
              if (this.values.size > this.capacity) this.values.delete(this.values.keys().next().value!);
            },
            (error: unknown) => void this.failures.set(key, error instanceof CocoError ? error : new CocoError('InternalError', String(error))),
          )
          .finally(() => this.loading.delete(key)),
      );
    }
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
}
