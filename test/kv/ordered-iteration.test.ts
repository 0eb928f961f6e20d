import { test } from 'node:test';
import assert from 'node:assert/strict';

import { fromHex, toHex, utf8 } from '../../src/crypto/bytes.js';
import type { RangeOptions } from '../../src/kv/map-handle.js';
import { Store } from '../../src/kv/store.js';
import type { MapWrite } from '../../src/kv/write-set.js';
import { seededRandom } from './seeded-random.js';

/** Binary keys that probe the byte order: empty, 0x00, 0xff and prefixes of each other. */
const BINARY_KEYS = ['', '00', '0000', '0001', '00ff', '01', '7f', '80', 'fe', 'ff', 'ff00', 'ffff'];

function storeWithHexKeys(keys: readonly string[]): Store {
  const store = new Store();
  const tx = store.beginTransaction();
  // Inserted in reverse to show that order comes from the bytes, not from insertion.
  for (const k of [...keys].reverse()) tx.map('m').set(fromHex(k), utf8(`v${k}`));
  store.commit(tx, 1n);
  return store;
}

function rangeKeys(store: Store, options?: RangeOptions): string[] {
  const tx = store.beginTransaction();
  const out = [...tx.map('m').range(options)].map(([k]) => toHex(k));
  tx.abort();
  return out;
}

test('forEach visits keys in byte order and stops when the callback returns false', () => {
  const store = storeWithHexKeys(BINARY_KEYS);
  const tx = store.beginTransaction();
  const all: string[] = [];
  tx.map('m').forEach((value, key) => {
    assert.equal(Buffer.from(value).toString(), `v${toHex(key)}`);
    all.push(toHex(key));
  });
  assert.deepEqual(all, BINARY_KEYS);
  const firstThree: string[] = [];
  tx.map('m').forEach((_, key) => {
    firstThree.push(toHex(key));
    return firstThree.length < 3;
  });
  assert.deepEqual(firstThree, BINARY_KEYS.slice(0, 3));
});

test('range bounds: from is inclusive, to is exclusive, over binary keys', () => {
  const store = storeWithHexKeys(BINARY_KEYS);
  const cases: { options: RangeOptions; expected: string[] }[] = [
    { options: {}, expected: BINARY_KEYS },
    { options: { from: fromHex('00') }, expected: BINARY_KEYS.slice(1) },
    { options: { from: fromHex('0000'), to: fromHex('01') }, expected: ['0000', '0001', '00ff'] },
    { options: { from: fromHex('000000') }, expected: ['0001', '00ff', '01', '7f', '80', 'fe', 'ff', 'ff00', 'ffff'] },
    { options: { to: fromHex('00') }, expected: [''] },
    { options: { to: fromHex('') }, expected: [] },
    { options: { from: fromHex('ff') }, expected: ['ff', 'ff00', 'ffff'] },
    { options: { from: fromHex('ff01') }, expected: ['ffff'] },
    { options: { from: fromHex('ffffff') }, expected: [] },
    { options: { from: fromHex('80'), to: fromHex('80') }, expected: [] },
    { options: { from: fromHex('fe'), to: fromHex('01') }, expected: [] },
    { options: { reverse: true }, expected: [...BINARY_KEYS].reverse() },
    { options: { reverse: true, from: fromHex('00ff'), to: fromHex('ff') }, expected: ['fe', '80', '7f', '01', '00ff'] },
    { options: { reverse: true, to: fromHex('0000') }, expected: ['00', ''] },
    { options: { limit: 0 }, expected: [] },
    { options: { limit: 2 }, expected: ['', '00'] },
    { options: { limit: 100 }, expected: BINARY_KEYS },
    { options: { reverse: true, limit: 3, to: fromHex('ffff') }, expected: ['ff00', 'ff', 'fe'] },
  ];
  for (const { options, expected } of cases) {
    assert.deepEqual(rangeKeys(store, options), expected, JSON.stringify(options, (_, v) => (v instanceof Uint8Array ? toHex(v) : v)));
  }
});

test('range merges pending writes and removes of the transaction, forwards and in reverse', () => {
  const store = storeWithHexKeys(['10', '20', '30', '40']);
  const tx = store.beginTransaction();
  const m = tx.map('m');
  m.set(fromHex('05'), utf8('new'));
  m.set(fromHex('20'), utf8('changed'));
  m.set(fromHex('25'), utf8('new'));
  m.delete(fromHex('30'));
  m.set(fromHex('35'), utf8('gone'));
  m.delete(fromHex('35'));
  m.set(fromHex('50'), utf8('new'));
  const entries = (options?: RangeOptions) =>
    [...m.range(options)].map(([k, v]) => `${toHex(k)}=${Buffer.from(v).toString()}`);
  assert.deepEqual(entries(), ['05=new', '10=v10', '20=changed', '25=new', '40=v40', '50=new']);
  assert.deepEqual(entries({ reverse: true }), ['50=new', '40=v40', '25=new', '20=changed', '10=v10', '05=new']);
  assert.deepEqual(entries({ from: fromHex('20'), to: fromHex('50') }), ['20=changed', '25=new', '40=v40']);
  assert.deepEqual(entries({ from: fromHex('21'), limit: 2 }), ['25=new', '40=v40']);
  assert.deepEqual(entries({ reverse: true, to: fromHex('40'), limit: 2 }), ['25=new', '20=changed']);
});

test('range after clear() shows only what the transaction set since', () => {
  const store = storeWithHexKeys(['10', '20', '30']);
  const tx = store.beginTransaction();
  const m = tx.map('m');
  m.clear();
  m.set(fromHex('20'), utf8('again'));
  m.set(fromHex('99'), utf8('new'));
  assert.deepEqual([...m.range()].map(([k]) => toHex(k)), ['20', '99']);
  assert.deepEqual([...m.range({ reverse: true })].map(([k]) => toHex(k)), ['99', '20']);
});

test('deleting and setting keys while iterating: deleted keys ahead are skipped', () => {
  const store = storeWithHexKeys(['01', '02', '03', '04', '05']);
  const tx = store.beginTransaction();
  const m = tx.map('m');
  const seen: string[] = [];
  for (const [key] of m.range()) {
    seen.push(toHex(key));
    m.delete(key);
    if (toHex(key) === '01') m.delete(fromHex('03'));
  }
  assert.deepEqual(seen, ['01', '02', '04', '05']);
  assert.equal(m.size(), 0);
  const ws = store.commit(tx, 2n);
  assert.deepEqual(ws.private[0]?.removes.map(toHex), ['01', '02', '03', '04', '05']);
});

test('a range iterator stays in order while other transactions commit inserts and removes', () => {
  const store = storeWithHexKeys(['10', '20', '30', '40', '50']);
  const reader = store.beginTransaction();
  const iterator = reader.map('m').range()[Symbol.iterator]();
  const seen: string[] = [];
  const step = () => {
    const next = iterator.next();
    if (!next.done) seen.push(toHex(next.value[0]));
    return next.done;
  };
  step();
  step();
  const writer = store.beginTransaction();
  writer.map('m').set(fromHex('15'), utf8('behind'));
  writer.map('m').set(fromHex('35'), utf8('ahead'));
  writer.map('m').delete(fromHex('40'));
  store.commit(writer, 2n);
  while (!step());
  assert.deepEqual(seen, ['10', '20', '30', '35', '50']);
  // The reader saw a moving map: its commit must be refused.
  assert.throws(() => store.commit(reader, 3n), { name: 'CocoError', code: 'TransactionConflict' });
});

test('range refuses malformed options', () => {
  const m = new Store().beginTransaction().map('m');
  const bad: unknown[] = [
    { limit: -1 },
    { limit: 1.5 },
    { limit: Number.NaN },
    { limit: '3' },
    { from: 'a' },
    { to: [1] },
    { reverse: 1 },
    null,
  ];
  for (const options of bad) {
    assert.throws(() => m.range(options as RangeOptions), { name: 'CocoError', code: 'InvalidArgument' }, String(options));
  }
  assert.throws(() => m.forEach('nope' as never), { name: 'CocoError', code: 'InvalidArgument' });
});

test('200,000 random keys come out of range in byte order, before and after further changes', () => {
  const random = seededRandom(2024);
  const store = new Store();
  const model = new Map<string, Uint8Array>();
  const batch = (size: number, removeCount: number) => {
    const writes: MapWrite[] = [];
    const removes: Uint8Array[] = [];
    for (let i = 0; i < size; i++) {
      const key = random.bytes(1 + random.int(12));
      writes.push({ key, value: key });
      model.set(toHex(key), key);
    }
    for (const [hex, key] of model) {
      if (removes.length === removeCount) break;
      if (random.int(10) !== 0) continue;
      removes.push(key);
      model.delete(hex);
    }
    store.applyWriteSet(
      { public: [{ name: 'public:big', readVersion: 0n, reads: [], writes, removes }], private: [] },
      store.version + 1n,
    );
  };
  const check = () => {
    // Fixed-width lowercase hex sorts exactly as the bytes do.
    const expected = [...model.keys()].sort();
    const tx = store.beginTransaction();
    const big = tx.map('public:big');
    assert.equal(big.size(), expected.length);
    const forward = [...big.range()].map(([k]) => toHex(k));
    assert.deepEqual(forward, expected);
    const backward = [...big.range({ reverse: true })].map(([k]) => toHex(k));
    assert.deepEqual(backward, [...expected].reverse());
    const from = fromHex('80');
    const to = fromHex('8080');
    const window = expected.filter((hex) => hex >= '80' && hex < '8080');
    assert.deepEqual([...big.range({ from, to })].map(([k]) => toHex(k)), window);
    assert.deepEqual([...big.range({ from, to, reverse: true, limit: 5 })].map(([k]) => toHex(k)), window.reverse().slice(0, 5));
    tx.abort();
  };
  for (let i = 0; i < 23; i++) batch(10_000, 100);
  assert.ok(model.size >= 200_000, `${model.size} keys`);
  check(); // builds the ordered index from scratch
  for (let i = 0; i < 5; i++) batch(5_000, 2_000);
  check(); // the index was maintained through inserts and removes
});
