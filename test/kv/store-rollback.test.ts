import { test } from 'node:test';
import assert from 'node:assert/strict';

import { fromHex, toHex, utf8 } from '../../src/crypto/bytes.js';
import { Store } from '../../src/kv/store.js';
import type { Transaction } from '../../src/kv/transaction.js';
import type { MapChanges, WriteSet } from '../../src/kv/write-set.js';
import { seededRandom, type SeededRandom } from './seeded-random.js';

const b = utf8;

function commitWith(store: Store, body: (tx: Transaction) => void): WriteSet {
  const tx = store.beginTransaction();
  body(tx);
  return store.commit(tx, store.version + 1n);
}

/** A map's entries in key order as [hex key, utf8 value, version]. */
function dump(store: Store, name: string, options: { from?: string; to?: string; reverse?: boolean } = {}): [string, string, bigint | undefined][] {
  const tx = store.beginTransaction();
  const handle = tx.map(name);
  const out: [string, string, bigint | undefined][] = [];
  const range = {
    ...(options.from === undefined ? {} : { from: fromHex(options.from) }),
    ...(options.to === undefined ? {} : { to: fromHex(options.to) }),
    reverse: options.reverse ?? false,
  };
  for (const [key, value] of handle.range(range)) {
    out.push([toHex(key), Buffer.from(value).toString(), handle.getVersionOfPreviousWrite(key)]);
  }
  tx.abort();
  return out;
}

function writeSetOf(maps: Record<string, { writes?: [string, string][]; removes?: string[] }>): WriteSet {
  const ws: WriteSet = { public: [], private: [] };
  for (const [name, { writes = [], removes = [] }] of Object.entries(maps)) {
    const changes: MapChanges = {
      name,
      readVersion: 0n,
      reads: [],
      writes: writes.map(([k, v]) => ({ key: fromHex(k), value: b(v) })),
      removes: removes.map(fromHex),
    };
    ws[name.startsWith('public:') ? 'public' : 'private'].push(changes);
  }
  return ws;
}

test('rollback restores values, key versions and the store version, and the versions are taken again', () => {
  const store = new Store();
  commitWith(store, (tx) => {
    tx.map('m').set(fromHex('01'), b('one'));
    tx.map('m').set(fromHex('02'), b('two'));
  });
  commitWith(store, (tx) => tx.map('m').set(fromHex('01'), b('uno')));
  commitWith(store, (tx) => {
    tx.map('m').delete(fromHex('02'));
    tx.map('m').set(fromHex('03'), b('three'));
  });
  store.applyWriteSet(writeSetOf({ m: { writes: [['01', 'eins']] } }), 4n);
  assert.deepEqual(dump(store, 'm'), [['01', 'eins', 4n], ['03', 'three', 3n]]);

  store.rollback(2n);
  assert.equal(store.version, 2n);
  assert.deepEqual(dump(store, 'm'), [['01', 'uno', 2n], ['02', 'two', 1n]]);
  store.rollback(1n);
  assert.deepEqual(dump(store, 'm'), [['01', 'one', 1n], ['02', 'two', 1n]]);

  commitWith(store, (tx) => tx.map('m').set(fromHex('02'), b('deux')));
  assert.equal(store.version, 2n);
  assert.deepEqual(dump(store, 'm'), [['01', 'one', 1n], ['02', 'deux', 2n]]);
});

test('rollback to the current version changes nothing and keeps open transactions usable', () => {
  const store = new Store();
  commitWith(store, (tx) => tx.map('m').set(b('k'), b('v')));
  const tx = store.beginTransaction();
  tx.map('m').set(b('k'), b('w'));
  store.rollback(1n);
  store.commit(tx, 2n);
  assert.deepEqual(dump(store, 'm'), [[toHex(b('k')), 'w', 2n]]);
});

test('range queries after a rollback see removed keys again and no longer see inserted ones', () => {
  const store = new Store();
  const keys = ['', '00', '0000', '01', '7f', '80', 'ff', 'ff00'];
  commitWith(store, (tx) => {
    for (const k of keys) tx.map('m').set(fromHex(k), b(`v${k}`));
  });
  // Build the ordered index before the changes, so that rollback must keep it up to date.
  assert.equal(dump(store, 'm').length, keys.length);
  commitWith(store, (tx) => {
    tx.map('m').delete(fromHex('00'));
    tx.map('m').delete(fromHex('ff00'));
    tx.map('m').set(fromHex('0001'), b('new'));
    tx.map('m').set(fromHex('fe'), b('new'));
  });
  commitWith(store, (tx) => tx.map('m').clear());
  assert.deepEqual(dump(store, 'm'), []);

  store.rollback(1n);
  const expected = keys.map((k): [string, string, bigint] => [k, `v${k}`, 1n]);
  assert.deepEqual(dump(store, 'm'), expected);
  assert.deepEqual(dump(store, 'm', { reverse: true }), [...expected].reverse());
  assert.deepEqual(dump(store, 'm', { from: '0000', to: '80' }).map(([k]) => k), ['0000', '01', '7f']);
  assert.deepEqual(dump(store, 'm', { from: 'fe', reverse: true }).map(([k]) => k), ['ff00', 'ff']);
  const tx = store.beginTransaction();
  assert.equal(tx.map('m').size(), keys.length);
  tx.abort();
});

test('rollback of a clear brings back every key the map held', () => {
  const store = new Store();
  commitWith(store, (tx) => {
    for (let i = 0; i < 300; i++) tx.map('m').set(b(`key${i}`), b(`value${i}`));
  });
  const before = dump(store, 'm');
  commitWith(store, (tx) => {
    tx.map('m').clear();
    tx.map('m').set(b('key7'), b('kept'));
  });
  assert.deepEqual(dump(store, 'm').map(([, v]) => v), ['kept']);
  store.rollback(1n);
  assert.deepEqual(dump(store, 'm'), before);
});

test('rollback across the creation of a map removes the map', () => {
  const store = new Store();
  commitWith(store, (tx) => tx.map('public:old').set(b('k'), b('v')));
  commitWith(store, (tx) => {
    tx.map('public:new').set(b('a'), b('1'));
    tx.map('private-new').set(b('b'), b('2'));
  });
  store.applyWriteSet(writeSetOf({ 'public:other': { writes: [['01', 'x']] }, 'public:old': { removes: ['6b'] } }), 3n);
  store.rollback(1n);
  const tx = store.beginTransaction();
  for (const name of ['public:new', 'private-new', 'public:other']) {
    assert.equal(tx.map(name).size(), 0, name);
    assert.equal(tx.map(name).get(b('a')), undefined, name);
    assert.equal(tx.map(name).getVersionOfPreviousWrite(b('a')), undefined, name);
  }
  tx.abort();
  assert.deepEqual(dump(store, 'public:old'), [[toHex(b('k')), 'v', 1n]]);
  // A clear of the map that no longer exists emits nothing; a write creates it afresh.
  assert.deepEqual(commitWith(store, (t) => t.map('public:new').clear()), { public: [], private: [] });
  commitWith(store, (t) => t.map('public:new').set(b('z'), b('9')));
  assert.deepEqual(dump(store, 'public:new'), [[toHex(b('z')), '9', 3n]]);
});

test('rollback undoes a write set that writes and removes the same key', () => {
  const store = new Store();
  store.applyWriteSet(writeSetOf({ m: { writes: [['01', 'a']] } }), 1n);
  store.applyWriteSet(writeSetOf({ m: { writes: [['01', 'b'], ['01', 'c'], ['02', 'd']], removes: ['02', '03'] } }), 2n);
  assert.deepEqual(dump(store, 'm'), [['01', 'c', 2n]]);
  store.rollback(1n);
  assert.deepEqual(dump(store, 'm'), [['01', 'a', 1n]]);
});

test('map versions are restored: a whole-map read after a rollback still conflicts with a later change', () => {
  const store = new Store();
  commitWith(store, (tx) => tx.map('m').set(b('a'), b('1')));
  commitWith(store, (tx) => tx.map('other').set(b('x'), b('1')));
  commitWith(store, (tx) => tx.map('m').set(b('b'), b('1')));
  store.rollback(2n);
  // The reader sees map 'm' as of version 1. Had its version stayed at 3, the change at 3 below
  // would go unnoticed.
  const reader = store.beginTransaction();
  assert.equal(reader.map('m').size(), 1);
  reader.map('out').set(b('size'), b('1'));
  commitWith(store, (tx) => tx.map('m').set(b('c'), b('1')));
  assert.equal(store.version, 3n);
  assert.throws(() => store.commit(reader, 4n), { name: 'CocoError', code: 'TransactionConflict' });
});

test('a transaction open across a rollback cannot commit', () => {
  const store = new Store();
  commitWith(store, (tx) => tx.map('m').set(b('a'), b('1')));
  commitWith(store, (tx) => tx.map('m').set(b('a'), b('2')));
  const stale = store.beginTransaction();
  assert.deepEqual(stale.map('m').get(b('a')), b('2'));
  stale.map('n').set(b('copy'), b('2'));
  store.rollback(1n);
  commitWith(store, (tx) => tx.map('m').set(b('a'), b('3')));
  // Key 'a' is at version 2 again, as the stale transaction read it, but with another value.
  assert.throws(() => store.commit(stale, 3n), { name: 'CocoError', code: 'InvalidArgument', message: /rollback/ });
  assert.equal(store.version, 2n);
});

test('rollback and compact refuse versions outside [compactedVersion, version]', () => {
  const store = new Store(5n);
  assert.equal(store.compactedVersion, 5n);
  assert.throws(() => store.rollback(4n), { name: 'CocoError', code: 'InvalidVersion' });
  assert.throws(() => store.rollback(6n), { name: 'CocoError', code: 'InvalidVersion' });
  assert.throws(() => store.rollback(5 as unknown as bigint), { name: 'CocoError', code: 'InvalidArgument' });
  for (let i = 0; i < 4; i++) commitWith(store, (tx) => tx.map('m').set(b('k'), b(String(i))));
  assert.throws(() => store.compact(10n), { name: 'CocoError', code: 'InvalidVersion' });
  store.compact(7n);
  assert.equal(store.compactedVersion, 7n);
  assert.throws(() => store.compact(6n), { name: 'CocoError', code: 'InvalidVersion' });
  assert.throws(() => store.rollback(6n), { name: 'CocoError', code: 'InvalidVersion' });
  assert.throws(() => store.compact('8' as unknown as bigint), { name: 'CocoError', code: 'InvalidArgument' });
  assert.equal(store.version, 9n);
  store.rollback(7n);
  assert.deepEqual(dump(store, 'm'), [[toHex(b('k')), '1', 7n]]);
});

test('compact forgets the undo records up to its version: only the uncommitted suffix is held', () => {
  const store = new Store();
  for (let i = 1; i <= 50; i++) {
    commitWith(store, (tx) => tx.map('m').set(b(`k${i % 5}`), b(String(i))));
    if (i % 10 === 0) commitWith(store, (tx) => tx.map('m').get(b('k0')));
  }
  assert.equal(store.version, 55n);
  assert.equal(store.undoTransactions, 50, 'transactions without changes leave no record');
  store.compact(40n);
  assert.equal(store.undoTransactions, 13, 'versions 41 to 43 and 45 to 54');
  store.compact(55n);
  assert.equal(store.undoTransactions, 0);
  assert.equal(store.compactedVersion, 55n);
  store.rollback(55n);
  assert.equal(store.version, 55n);
});

// Model-based check: random commits, write sets, rollbacks and compactions against snapshots of
// a naive model (one plain map per map name per version).

type ModelMap = Map<string, { value: string; version: bigint }>;
type ModelState = Map<string, ModelMap>;

const MAP_NAMES = ['a', 'b', 'public:c'];
/** Short binary keys, some prefixes of others, to probe byte order in the index. */
const KEYS = ['', '00', '0000', '01', '0100', '7f', '80', 'ff', 'ff00', 'ffff'];

function cloneState(state: ModelState): ModelState {
  return new Map([...state].map(([name, map]) => [name, new Map(map)]));
}

function modelMap(state: ModelState, name: string): ModelMap {
  let map = state.get(name);
  if (map === undefined) state.set(name, (map = new Map()));
  return map;
}

function pick<T>(random: SeededRandom, list: readonly T[]): T {
  return list[random.int(list.length)] as T;
}

function randomCommit(store: Store, state: ModelState, random: SeededRandom, step: number): ModelState {
  const version = store.version + 1n;
  const next = cloneState(state);
  const tx = store.beginTransaction();
  for (let m = random.int(3); m >= 0; m--) {
    const name = pick(random, MAP_NAMES);
    const handle = tx.map(name);
    const model = modelMap(next, name);
    for (let op = random.int(5); op >= 0; op--) {
      const key = pick(random, KEYS);
      const roll = random.int(20);
      if (roll === 0) {
        handle.clear();
        model.clear();
      } else if (roll < 7) {
        handle.delete(fromHex(key));
        model.delete(key);
      } else {
        const value = `s${step}.${op}`;
        handle.set(fromHex(key), b(value));
        model.set(key, { value, version });
      }
    }
  }
  store.commit(tx, version);
  return next;
}

function randomWriteSet(store: Store, state: ModelState, random: SeededRandom, step: number): ModelState {
  const version = store.version + 1n;
  const next = cloneState(state);
  const ws: WriteSet = { public: [], private: [] };
  for (let m = random.int(3); m >= 0; m--) {
    const name = pick(random, MAP_NAMES);
    const changes: MapChanges = { name, readVersion: 0n, reads: [], writes: [], removes: [] };
    for (let w = random.int(4); w > 0; w--) changes.writes.push({ key: fromHex(pick(random, KEYS)), value: b(`w${step}.${w}`) });
    for (let r = random.int(3); r > 0; r--) changes.removes.push(fromHex(pick(random, KEYS)));
    ws[name.startsWith('public:') ? 'public' : 'private'].push(changes);
  }
  for (const changes of [...ws.public, ...ws.private]) {
    const model = modelMap(next, changes.name);
    for (const write of changes.writes) model.set(toHex(write.key), { value: Buffer.from(write.value).toString(), version });
    for (const key of changes.removes) model.delete(toHex(key));
  }
  store.applyWriteSet(ws, version);
  return next;
}

function checkAgainstModel(store: Store, state: ModelState, random: SeededRandom, context: string): void {
  for (const name of MAP_NAMES) {
    const expected = [...(state.get(name) ?? new Map()).entries()]
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
      .map(([k, { value, version }]): [string, string, bigint] => [k, value, version]);
    assert.deepEqual(dump(store, name), expected, `${context}: map ${name}`);
    assert.deepEqual(dump(store, name, { reverse: true }), [...expected].reverse(), `${context}: map ${name} reversed`);
    const from = pick(random, KEYS);
    const to = pick(random, KEYS);
    assert.deepEqual(
      dump(store, name, { from, to }),
      expected.filter(([k]) => k >= from && k < to),
      `${context}: map ${name} from ${from} to ${to}`,
    );
  }
}

for (const seed of [1, 2, 3, 4]) {
  test(`random commits, write sets, rollbacks and compactions match a model (seed ${seed})`, () => {
    const random = seededRandom(seed);
    const start = BigInt(random.int(3));
    const store = new Store(start);
    /** snapshots[i]: the model state at version start + i. */
    const snapshots: ModelState[] = [new Map()];
    let rollbacks = 0;
    for (let step = 0; step < 400; step++) {
      const roll = random.int(100);
      const current = snapshots.at(-1) as ModelState;
      const span = Number(store.version - store.compactedVersion);
      const target = store.compactedVersion + BigInt(random.int(span + 1));
      let op: string;
      if (roll < 40) {
        op = 'commit';
        snapshots.push(randomCommit(store, current, random, step));
      } else if (roll < 65) {
        op = 'applyWriteSet';
        snapshots.push(randomWriteSet(store, current, random, step));
      } else if (roll < 72) {
        op = 'empty commit';
        commitWith(store, (tx) => tx.map(pick(random, MAP_NAMES)).get(fromHex(pick(random, KEYS))));
        snapshots.push(current);
      } else if (roll < 86) {
        op = `rollback(${target})`;
        if (target < store.version) rollbacks++;
        store.rollback(target);
        snapshots.length = Number(target - start) + 1;
      } else {
        op = `compact(${target})`;
        store.compact(target);
      }
      const context = `seed ${seed} step ${step} after ${op}`;
      assert.equal(store.version, start + BigInt(snapshots.length - 1), context);
      assert.ok(store.undoTransactions <= Number(store.version - store.compactedVersion), `${context}: undo log is bounded`);
      checkAgainstModel(store, snapshots.at(-1) as ModelState, random, context);
    }
    assert.ok(rollbacks >= 20, `only ${rollbacks} rollbacks undid anything`);
  });
}
