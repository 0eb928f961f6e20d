import { test } from 'node:test';
import assert from 'node:assert/strict';

import { SortedKeys, keyBytes, keyString } from '../../src/kv/sorted-keys.js';
import { seededRandom } from './seeded-random.js';

test('keyString keeps byte order for short and long keys', () => {
  const keys = [
    new Uint8Array([]),
    new Uint8Array([0]),
    new Uint8Array([0, 0]),
    new Uint8Array([0, 255]),
    new Uint8Array(40).fill(1),
    new Uint8Array([1, 0]),
    new Uint8Array(40).fill(255),
    new Uint8Array([255, 255]).subarray(1),
  ];
  for (let i = 0; i < keys.length; i++) {
    for (let j = 0; j < keys.length; j++) {
      const byBytes = Math.sign(Buffer.compare(keys[i] as Uint8Array, keys[j] as Uint8Array));
      const a = keyString(keys[i] as Uint8Array);
      const b = keyString(keys[j] as Uint8Array);
      assert.equal(a < b ? -1 : a > b ? 1 : 0, byBytes, `keys ${i} and ${j}`);
    }
  }
  assert.equal(keyString(new Uint8Array(40).fill(0xe9)).length, 40);
});

test('keyBytes gives back the bytes of a key string, every byte value and past the char-code limit, in a buffer of their own', () => {
  const every = new Uint8Array(256).map((_, i) => i);
  const long = new Uint8Array(5000).map((_, i) => (i * 131) % 256);
  for (const key of [new Uint8Array(0), every, every.subarray(200, 210), long]) {
    const bytes = keyBytes(keyString(key));
    assert.deepEqual(bytes, new Uint8Array(key));
    assert.equal(bytes.byteOffset, 0);
    assert.equal(bytes.buffer.byteLength, key.length);
  }
});

test('insert and remove keep the index equal to a sorted model, with bounded ranges both ways', () => {
  const random = seededRandom(99);
  const index = new SortedKeys();
  const model = new Set<string>();
  const randomKey = () => keyString(random.bytes(random.int(4)));
  for (let round = 0; round < 30; round++) {
    for (let i = 0; i < 2000; i++) {
      const key = randomKey();
      if (random.int(3) === 0) assert.equal(index.remove(key), model.delete(key));
      else {
        const fresh = !model.has(key);
        model.add(key);
        assert.equal(index.insert(key), fresh);
      }
    }
    const sorted = [...model].sort();
    assert.equal(index.size, sorted.length);
    assert.deepEqual([...index.range(undefined, undefined, false)], sorted);
    const from = randomKey();
    const to = randomKey();
    const window = sorted.filter((k) => k >= from && k < to);
    assert.deepEqual([...index.range(from, to, false)], window);
    assert.deepEqual([...index.range(from, to, true)], window.reverse());
  }
});

test('fromKeys builds the same index as repeated inserts', () => {
  const random = seededRandom(5);
  const keys = new Set<string>();
  for (let i = 0; i < 5000; i++) keys.add(keyString(random.bytes(1 + random.int(3))));
  const built = SortedKeys.fromKeys([...keys]);
  const inserted = new SortedKeys();
  for (const k of keys) inserted.insert(k);
  assert.equal(built.size, keys.size);
  assert.deepEqual([...built.range(undefined, undefined, false)], [...inserted.range(undefined, undefined, false)]);
  assert.deepEqual([...SortedKeys.fromKeys([]).range(undefined, undefined, true)], []);
});

test('a live iterator re-seeks after changes and never repeats or misses a surviving key', () => {
  const random = seededRandom(11);
  for (const reverse of [false, true]) {
    const index = SortedKeys.fromKeys(Array.from({ length: 3000 }, (_, i) => keyString(new Uint8Array([i >> 8, i & 255]))));
    const seen: string[] = [];
    const added = new Set<string>();
    for (const key of index.range(undefined, undefined, reverse)) {
      seen.push(key);
      for (let i = 0; i < 3; i++) {
        // Three-byte keys make the index grow, so chunks split under the iterator.
        const length = 2 + random.int(2);
        const other = keyString(new Uint8Array([random.int(12), random.int(256), random.int(256)]).subarray(0, length));
        if (random.int(3) === 0) {
          index.remove(other);
        } else if (index.insert(other)) {
          added.add(other);
        }
      }
    }
    const ordered = [...seen].sort();
    assert.deepEqual(reverse ? [...seen].reverse() : seen, ordered, 'keys come out in order');
    const visited = new Set(seen);
    assert.equal(visited.size, seen.length, 'no key twice');
    for (const key of index.range(undefined, undefined, false)) {
      if (!added.has(key)) assert.ok(visited.has(key), 'every key present throughout was visited');
    }
  }
});
