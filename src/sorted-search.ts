// Binary search over arrays kept sorted by a numeric key (seqnos, views), shared by the layers
// that index their logs that way.

/** How many leading items of `sorted` (ascending by `key`) have a key ≤ `limit`. */
export function countAtMost<T>(sorted: readonly T[], key: (item: T) => number, limit: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (key(sorted[mid] as T) <= limit) low = mid + 1;
    else high = mid;
  }
  return low;
}
