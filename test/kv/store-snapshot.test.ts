import { test } from 'node:test';
import assert from 'node:assert/strict';

import { toHex, utf8 } from '../../src/crypto/bytes.js';
import { CocoError } from '../../src/errors.js';
import { KEY_BYTES_MAX } from '../../src/kv/limits.js';
import { Store, type CommittedMapState, type SnapshotMap } from '../../src/kv/store.js';
import { keyBytes } from '../../src/kv/sorted-keys.js';
import type { Transaction } from '../../src/kv/transaction.js';

const b = utf8;

function commitWith(store: Store, body: (tx: Transaction) => void): void {
  const tx = store.beginTransaction();
  body(tx);
  store.commit(tx, store.version + 1n);
}

/** A map as [name, version, [hex key, value text, key version][]], for readable comparisons. */
function readable(maps: readonly CommittedMapState[]): unknown {
  return maps.map((m) => [m.name, m.version, m.entries.map((e) => [toHex(keyBytes(e.key)), Buffer.from(e.value).toString(), e.version])]);
}

/** The store's maps as a decoded snapshot gives them: keys as bytes. */
function decoded(maps: readonly CommittedMapState[]): SnapshotMap[] {
  return maps.map((m) => ({ name: m.name, version: m.version, entries: m.entries.map((e) => ({ key: keyBytes(e.key), value: e.value, version: e.version })) }));
}

/** Versions 1..4: public and private maps, overwrites, a removal, and a map emptied by removes. */
function sampleStore(): Store {
  const store = new Store();
  commitWith(store, (tx) => {
    tx.map('public:records').set(b('b'), b('one'));
    tx.map('public:records').set(b('a'), b('one'));
    tx.map('secrets').set(b('s'), b('hidden'));
    tx.map('emptied').set(b('gone'), b('soon'));
  });
  commitWith(store, (tx) => tx.map('public:records').set(b('b'), b('two')));
  commitWith(store, (tx) => tx.map('emptied').delete(b('gone')));
  commitWith(store, (tx) => tx.map('Zeta').set(new Uint8Array([0xff]), b('high key')));
  return store;
}

test('snapshotMaps lists every map by name (byte order) with its version, and its keys in byte order, with their versions', () => {
  assert.deepEqual(readable(sampleStore().snapshotMaps()), [
    ['Zeta', 4n, [['ff', 'high key', 4n]]],
    ['emptied', 3n, []],
    ['public:records', 2n, [['61', 'one', 1n], ['62', 'two', 2n]]],
    ['secrets', 1n, [['73', 'hidden', 1n]]],
  ]);
});

test('snapshotMaps orders keys by their bytes whatever history made the state: a clear and rewrite, the same change as key removes, a rollback putting keys back', () => {
  const keys = ['GET /version', 'GET /a', 'POST /b', 'GET /c'];
  // As a node executing a set_js_app: the table cleared and rewritten, the new key among the others.
  const executed = new Store();
  commitWith(executed, (tx) => keys.slice(1).forEach((k) => tx.map('public:endpoints').set(b(k), b('v1'))));
  commitWith(executed, (tx) => {
    tx.map('public:endpoints').clear();
    keys.forEach((k) => tx.map('public:endpoints').set(b(k), b('v2')));
  });
  // As a backup applying it from the ledger: the old keys overwritten in place, the new one added last.
  const applied = new Store();
  commitWith(applied, (tx) => keys.slice(1).forEach((k) => tx.map('public:endpoints').set(b(k), b('v1'))));
  commitWith(applied, (tx) => keys.forEach((k) => tx.map('public:endpoints').set(b(k), b('v2'))));
  // A node that removed a key and rolled the removal back: the key put back after the others.
  const rolledBack = new Store();
  commitWith(rolledBack, (tx) => keys.slice(1).forEach((k) => tx.map('public:endpoints').set(b(k), b('v1'))));
  commitWith(rolledBack, (tx) => keys.forEach((k) => tx.map('public:endpoints').set(b(k), b('v2'))));
  commitWith(rolledBack, (tx) => tx.map('public:endpoints').delete(b('GET /a')));
  rolledBack.rollback(2n);
  const order = (store: Store) => store.snapshotMaps()[0]!.entries.map((e) => Buffer.from(keyBytes(e.key)).toString());
  const sorted = [...keys].sort();
  assert.deepEqual(order(executed), sorted);
  assert.deepEqual(order(applied), sorted);
  assert.deepEqual(order(rolledBack), sorted);
  assert.deepEqual(readable(executed.snapshotMaps()), readable(applied.snapshotMaps()));
});

test('maps taken for a snapshot keep the state of their version through later writes, removes and rollbacks', () => {
  const store = sampleStore();
  const taken = store.snapshotMaps();
  const expected = readable(store.snapshotMaps());
  commitWith(store, (tx) => {
    tx.map('public:records').set(b('b'), b('three'));
    tx.map('public:records').set(b('c'), b('new'));
    tx.map('secrets').delete(b('s'));
  });
  commitWith(store, (tx) => tx.map('Zeta').set(new Uint8Array([0xff]), b('changed')));
  assert.notDeepEqual(readable(store.snapshotMaps()), expected);
  store.rollback(5n);
  assert.deepEqual(readable(taken), expected);
  store.rollback(4n);
  assert.deepEqual(readable(store.snapshotMaps()), expected, 'the rollback restored the same state');
  assert.deepEqual(readable(taken), expected);
});

test('a store from a snapshot holds the same state, starts at its version and cannot roll back below it', () => {
  const original = sampleStore();
  const restored = Store.fromSnapshot(4n, decoded(original.snapshotMaps()));
  assert.deepEqual(readable(restored.snapshotMaps()), readable(original.snapshotMaps()));
  assert.equal(restored.version, 4n);
  assert.equal(restored.compactedVersion, 4n);
  assert.equal(restored.undoTransactions, 0);
  assert.throws(() => restored.rollback(3n), (e: unknown) => e instanceof CocoError && e.code === 'InvalidVersion');
});

test('a restored store continues: it commits at version + 1, reports previous writes and detects conflicts with map versions', () => {
  const restored = Store.fromSnapshot(4n, decoded(sampleStore().snapshotMaps()));
  const tx = restored.beginTransaction();
  const records = tx.map('public:records');
  assert.equal(records.getVersionOfPreviousWrite(b('a')), 1n);
  assert.equal(records.getVersionOfPreviousWrite(b('b')), 2n);
  assert.equal(Buffer.from(records.get(b('b'))!).toString(), 'two');
  assert.equal(tx.map('emptied').size(), 0);
  records.set(b('c'), b('three'));
  assert.throws(() => restored.commit(tx, 4n), (e: unknown) => e instanceof CocoError && e.code === 'InvalidVersion');
  const writeSet = restored.commit(tx, 5n);
  assert.deepEqual(writeSet.public.map((m) => m.name), ['public:records']);
  assert.equal(restored.version, 5n);

  // A whole-map read taken before a later change of that map no longer holds.
  const reader = restored.beginTransaction();
  reader.map('emptied').size();
  reader.map('out').set(b('k'), b('v'));
  commitWith(restored, (other) => other.map('emptied').set(b('new'), b('v')));
  assert.throws(() => restored.commit(reader, 7n), (e: unknown) => e instanceof CocoError && e.code === 'TransactionConflict');

  restored.rollback(5n);
  assert.equal(restored.snapshotMaps().find((m) => m.name === 'emptied')?.version, 3n);
  restored.rollback(4n);
  assert.deepEqual(readable(restored.snapshotMaps()), readable(sampleStore().snapshotMaps()));
});

test('an empty store snapshots to no maps and restores at version 0', () => {
  const store = new Store();
  assert.deepEqual(store.snapshotMaps(), []);
  assert.equal(Store.fromSnapshot(0n, []).version, 0n);
});

const entry = (key: string, version = 1n) => ({ key: b(key), value: b('v'), version });

for (const [name, maps, code] of [
  ['an invalid map name', [{ name: '', version: 1n, entries: [] }], 'InvalidMapName'],
  ['a map twice', [{ name: 'm', version: 1n, entries: [] }, { name: 'm', version: 1n, entries: [] }], 'InvalidSnapshot'],
  ['a key twice', [{ name: 'm', version: 1n, entries: [entry('k'), entry('k')] }], 'InvalidSnapshot'],
  ['a map version after the snapshot', [{ name: 'm', version: 6n, entries: [] }], 'InvalidSnapshot'],
  ['a map at version 0', [{ name: 'm', version: 0n, entries: [] }], 'InvalidSnapshot'],
  ['a key version after its map version', [{ name: 'm', version: 2n, entries: [entry('k', 3n)] }], 'InvalidSnapshot'],
  ['a key at version 0', [{ name: 'm', version: 2n, entries: [entry('k', 0n)] }], 'InvalidSnapshot'],
  ['a version that is not a bigint', [{ name: 'm', version: 2, entries: [] }], 'InvalidSnapshot'],
  ['a key that is not bytes', [{ name: 'm', version: 2n, entries: [{ key: 'k', value: b('v'), version: 1n }] }], 'InvalidArgument'],
  ['a key over the limit', [{ name: 'm', version: 2n, entries: [{ key: new Uint8Array(KEY_BYTES_MAX + 1), value: b('v'), version: 1n }] }], 'LimitExceeded'],
  ['entries that are not an array', [{ name: 'm', version: 2n, entries: undefined }], 'InvalidSnapshot'],
] as const) {
  test(`fromSnapshot refuses ${name}`, () => {
    assert.throws(
      () => Store.fromSnapshot(5n, maps as unknown as SnapshotMap[]),
      (e: unknown) => e instanceof CocoError && e.code === code,
    );
  });
}

test("a store takes another store's private maps in place of its own empty ones (a recovered service's private state), keys keeping their versions", () => {
  const recovered = sampleStore();
  // The recovering store went on with the public state only, past the recovered versions.
  const store = new Store();
  for (let version = 1; version <= 6; version++) commitWith(store, (tx) => tx.map('public:records').set(b('v'), b(String(version))));
  store.compact(store.version);
  const open = store.beginTransaction();
  store.installPrivateMaps(recovered);
  const tx = store.beginTransaction();
  assert.equal(Buffer.from(tx.map('secrets').get(b('s'))!).toString(), 'hidden');
  assert.equal(tx.map('secrets').getVersionOfPreviousWrite(b('s')), recovered.beginTransaction().map('secrets').getVersionOfPreviousWrite(b('s')));
  assert.equal(Buffer.from(tx.map('public:records').get(b('v'))!).toString(), '6', 'its public maps are its own');
  assert.equal(tx.map('public:records').get(b('a')), undefined, "the other store's public maps are not taken");
  // A transaction opened before cannot commit over the change.
  open.map('public:records').set(b('w'), b('x'));
  assert.throws(() => store.commit(open, store.version + 1n));
  // Only into a store without private state, and only state it can no longer roll back below.
  assert.throws(() => store.installPrivateMaps(recovered), (e: unknown) => e instanceof CocoError && /already holds private map 'secrets'/.test(e.message));
  const uncompacted = new Store();
  assert.throws(() => uncompacted.installPrivateMaps(recovered), (e: unknown) => e instanceof CocoError && /after this store's compacted version/.test(e.message));
});
