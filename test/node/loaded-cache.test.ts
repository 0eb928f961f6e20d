// The cache of values loaded in the background: least recently used out first, by count and, when
// given a size bound, by the values' sizes added up (the value loaded last always stays).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoadedCache } from '../../src/node/loaded-cache.js';

/** Loads `key` as a value of `size` and waits for it. */
async function load(cache: LoadedCache<string, { size: number }>, key: string, size: number): Promise<void> {
  assert.equal(await cache.loaded(key, async () => ({ size })).then((v) => v.size), size);
}

const cached = (cache: LoadedCache<string, { size: number }>, keys: string[]) => keys.filter((key) => cache.peek(key) !== undefined);

test('a size-bounded cache drops the least recently used values until their sizes fit, keeping the last one even alone over the bound', async () => {
  const cache = new LoadedCache<string, { size: number }>(100, { max: 10, sizeOf: (v) => v.size });
  await load(cache, 'a', 4);
  await load(cache, 'b', 4);
  assert.equal(cache.valuesSize, 8);
  assert.equal(cache.get('a', async () => ({ size: 4 }))?.size, 4, 'a is used again: b is now the least recent');
  await load(cache, 'c', 4);
  assert.deepEqual(cached(cache, ['a', 'b', 'c']), ['a', 'c']);
  assert.equal(cache.valuesSize, 8);
  await load(cache, 'huge', 25);
  assert.deepEqual(cached(cache, ['a', 'c', 'huge']), ['huge'], 'the newest stays, alone over the bound');
  assert.equal(cache.valuesSize, 25);
  await load(cache, 'd', 1);
  assert.deepEqual(cached(cache, ['huge', 'd']), ['d']);
  assert.equal(cache.valuesSize, 1);
});

test('the count bounds a size-bounded cache too, and a cache without a size bound counts no sizes', async () => {
  const sized = new LoadedCache<string, { size: number }>(2, { max: 1000, sizeOf: (v) => v.size });
  for (const key of ['a', 'b', 'c']) await load(sized, key, 1);
  assert.deepEqual(cached(sized, ['a', 'b', 'c']), ['b', 'c']);
  assert.equal(sized.valuesSize, 2);
  const counted = new LoadedCache<string, { size: number }>(2);
  for (const key of ['a', 'b', 'c']) await load(counted, key, 1000);
  assert.deepEqual(cached(counted, ['a', 'b', 'c']), ['b', 'c']);
  assert.equal(counted.valuesSize, 0);
});
