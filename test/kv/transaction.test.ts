import { test } from 'node:test';
import assert from 'node:assert/strict';

import { utf8 } from '../../src/crypto/bytes.js';
import type { MapHandle } from '../../src/kv/map-handle.js';
import { Store } from '../../src/kv/store.js';
import type { Transaction } from '../../src/kv/transaction.js';

const b = utf8;

function storeWith(entries: Record<string, string>, name = 'm'): Store {
  const store = new Store();
  const tx = store.beginTransaction();
  for (const [k, v] of Object.entries(entries)) tx.map(name).set(b(k), b(v));
  store.commit(tx, 1n);
  return store;
}

function commitNext(store: Store, tx: Transaction): void {
  store.commit(tx, store.version + 1n);
}

/** Commits, from a second transaction, a write of `key` in map `name`. */
function writeElsewhere(store: Store, key: string, name = 'm'): void {
  const other = store.beginTransaction();
  other.map(name).set(b(key), b('other'));
  commitNext(store, other);
}

function text(value: Uint8Array | undefined): string | undefined {
  return value === undefined ? undefined : Buffer.from(value).toString();
}

test('a transaction reads its own pending writes and removes', () => {
  const store = storeWith({ a: '1', b: '1' });
  const tx = store.beginTransaction();
  const m = tx.map('m');
  m.set(b('a'), b('2'));
  m.set(b('c'), b('3'));
  assert.equal(m.delete(b('b')), true);
  assert.equal(text(m.get(b('a'))), '2');
  assert.equal(text(m.get(b('c'))), '3');
  assert.equal(m.get(b('b')), undefined);
  assert.equal(m.has(b('b')), false);
  assert.equal(m.has(b('c')), true);
  assert.equal(m.size(), 2);
  const seen: string[] = [];
  m.forEach((value, key) => {
    seen.push(`${text(key)}=${text(value)}`);
  });
  assert.deepEqual(seen, ['a=2', 'c=3']);
});

test('pending writes are invisible to other transactions until commit', () => {
  const store = storeWith({ a: '1' });
  const writer = store.beginTransaction();
  writer.map('m').set(b('a'), b('2'));
  writer.map('m').set(b('new'), b('x'));
  const reader = store.beginTransaction();
  assert.equal(text(reader.map('m').get(b('a'))), '1');
  assert.equal(reader.map('m').get(b('new')), undefined);
  commitNext(store, writer);
  const later = store.beginTransaction();
  assert.equal(text(later.map('m').get(b('a'))), '2');
  assert.equal(text(later.map('m').get(b('new'))), 'x');
});

test('map() returns the same handle for the same name', () => {
  const tx = new Store().beginTransaction();
  assert.equal(tx.map('m'), tx.map('m'));
  assert.notEqual(tx.map('m'), tx.map('public:m'));
});

test('conflicts: a read that another commit has made stale refuses the commit', () => {
  const cases: { what: string; read: (m: MapHandle) => void; otherWrites: string }[] = [
    { what: 'get of a present key, then overwritten', read: (m) => m.get(b('a')), otherWrites: 'a' },
    { what: 'has of an absent key, then written', read: (m) => m.has(b('absent')), otherWrites: 'absent' },
    { what: 'get of an absent key, then written', read: (m) => m.get(b('absent')), otherWrites: 'absent' },
    { what: 'forEach, then an insert', read: (m) => m.forEach(() => {}), otherWrites: 'new' },
    { what: 'size, then an insert', read: (m) => m.size(), otherWrites: 'new' },
    { what: 'range, then an insert', read: (m) => m.range({ from: b('x'), to: b('y') }), otherWrites: 'new' },
    { what: 'getVersionOfPreviousWrite, then overwritten', read: (m) => m.getVersionOfPreviousWrite(b('a')), otherWrites: 'a' },
    { what: 'delete (which reports existence), then overwritten', read: (m) => m.delete(b('a')), otherWrites: 'a' },
  ];
  for (const { what, read, otherWrites } of cases) {
    const store = storeWith({ a: '1' });
    const tx = store.beginTransaction();
    read(tx.map('m'));
    tx.map('out').set(b('result'), b('derived from the read'));
    writeElsewhere(store, otherWrites);
    assert.throws(() => store.commit(tx, 3n), { name: 'CocoError', code: 'TransactionConflict' }, what);
    assert.equal(store.version, 2n, what);
    assert.equal(tx.isOpen, false, what);
    const check = store.beginTransaction();
    assert.equal(check.map('out').get(b('result')), undefined, `${what}: nothing applied`);
  }
});

test('conflicts: a read of a key that was deleted since refuses the commit', () => {
  const store = storeWith({ a: '1' });
  const tx = store.beginTransaction();
  tx.map('m').get(b('a'));
  tx.map('m').set(b('b'), b('x'));
  const other = store.beginTransaction();
  other.map('m').delete(b('a'));
  commitNext(store, other);
  assert.throws(() => commitNext(store, tx), { code: 'TransactionConflict', message: /was read at version 1/ });
});

test('conflicts: a whole-map read conflicts with a delete in that map', () => {
  const store = storeWith({ a: '1', b: '2' });
  const tx = store.beginTransaction();
  assert.equal(tx.map('m').size(), 2);
  const other = store.beginTransaction();
  other.map('m').delete(b('b'));
  commitNext(store, other);
  assert.throws(() => commitNext(store, tx), { code: 'TransactionConflict', message: /read whole/ });
});

test('no conflict: blind writes, and reads of keys or maps nobody changed', () => {
  const store = storeWith({ a: '1', b: '1' });
  store.commit(
    (() => {
      const tx = store.beginTransaction();
      tx.map('other').set(b('k'), b('v'));
      return tx;
    })(),
    2n,
  );
  const blind = store.beginTransaction();
  blind.map('m').set(b('a'), b('blind'));
  blind.map('m').clear();
  blind.map('m').set(b('c'), b('blind'));
  const pointReader = store.beginTransaction();
  pointReader.map('m').get(b('a'));
  pointReader.map('m').set(b('d'), b('x'));
  const mapReader = store.beginTransaction();
  mapReader.map('other').forEach(() => {});
  mapReader.map('other').set(b('k2'), b('x'));
  writeElsewhere(store, 'b');
  writeElsewhere(store, 'a');
  commitNext(store, blind);
  // `a` changed after pointReader read it: that one must conflict, the others not.
  assert.throws(() => commitNext(store, pointReader), { code: 'TransactionConflict' });
  commitNext(store, mapReader);
  const check = store.beginTransaction();
  assert.equal(check.map('m').size(), 1);
  assert.equal(text(check.map('m').get(b('c'))), 'blind');
  assert.equal(text(check.map('other').get(b('k2'))), 'x');
});

test('no conflict: a point read of one key is not disturbed by writes to other keys', () => {
  const store = storeWith({ a: '1' });
  const tx = store.beginTransaction();
  assert.equal(text(tx.map('m').get(b('a'))), '1');
  assert.equal(tx.map('m').get(b('absent')), undefined);
  tx.map('m').set(b('a'), b('2'));
  writeElsewhere(store, 'b');
  writeElsewhere(store, 'c');
  commitNext(store, tx);
  assert.equal(store.version, 4n);
});

test('no conflict: reads after clear() depend on nothing committed', () => {
  const store = storeWith({ a: '1' });
  const tx = store.beginTransaction();
  tx.map('m').clear();
  assert.equal(tx.map('m').size(), 0);
  tx.map('m').forEach(() => {});
  assert.equal(tx.map('m').get(b('a')), undefined);
  writeElsewhere(store, 'a');
  writeElsewhere(store, 'z');
  commitNext(store, tx);
  assert.equal(store.beginTransaction().map('m').size(), 0);
});

test('no conflict: a key read as absent that was written and deleted again still reads absent', () => {
  const store = storeWith({ a: '1' });
  const tx = store.beginTransaction();
  assert.equal(tx.map('m').has(b('k')), false);
  tx.map('m').set(b('a'), b('2'));
  writeElsewhere(store, 'k');
  const remover = store.beginTransaction();
  remover.map('m').delete(b('k'));
  commitNext(store, remover);
  commitNext(store, tx);
  assert.equal(text(store.beginTransaction().map('m').get(b('a'))), '2');
});

test('getVersionOfPreviousWrite gives the committed version, not the pending write', () => {
  const store = storeWith({ a: '1' });
  writeElsewhere(store, 'b');
  const tx = store.beginTransaction();
  const m = tx.map('m');
  assert.equal(m.getVersionOfPreviousWrite(b('a')), 1n);
  assert.equal(m.getVersionOfPreviousWrite(b('b')), 2n);
  m.set(b('a'), b('2'));
  m.set(b('new'), b('2'));
  assert.equal(m.getVersionOfPreviousWrite(b('a')), 1n);
  assert.equal(m.getVersionOfPreviousWrite(b('new')), undefined);
  store.commit(tx, 3n);
  const after = store.beginTransaction().map('m');
  assert.equal(after.getVersionOfPreviousWrite(b('a')), 3n);
  assert.equal(after.getVersionOfPreviousWrite(b('new')), 3n);
  assert.equal(after.getVersionOfPreviousWrite(b('b')), 2n);
  const remover = store.beginTransaction();
  remover.map('m').delete(b('b'));
  commitNext(store, remover);
  assert.equal(store.beginTransaction().map('m').getVersionOfPreviousWrite(b('b')), undefined);
});

test('a committed, aborted or conflicted transaction refuses every further use', () => {
  const store = storeWith({ a: '1' });
  const committed = store.beginTransaction();
  const committedHandle = committed.map('m');
  commitNext(store, committed);
  const aborted = store.beginTransaction();
  const abortedHandle = aborted.map('m');
  abortedHandle.set(b('a'), b('never'));
  aborted.abort();
  const conflicted = store.beginTransaction();
  const conflictedHandle = conflicted.map('m');
  conflictedHandle.get(b('a'));
  writeElsewhere(store, 'a');
  assert.throws(() => commitNext(store, conflicted), { code: 'TransactionConflict' });

  for (const [tx, handle] of [
    [committed, committedHandle],
    [aborted, abortedHandle],
    [conflicted, conflictedHandle],
  ] as const) {
    assert.equal(tx.isOpen, false);
    const uses: (() => unknown)[] = [
      () => tx.map('m'),
      () => tx.map('fresh'),
      () => tx.abort(),
      () => store.commit(tx, store.version + 1n),
      () => handle.get(b('a')),
      () => handle.has(b('a')),
      () => handle.set(b('a'), b('x')),
      () => handle.delete(b('a')),
      () => handle.clear(),
      () => handle.forEach(() => {}),
      () => handle.size(),
      () => handle.getVersionOfPreviousWrite(b('a')),
      () => handle.range(),
    ];
    for (const use of uses) assert.throws(use, { name: 'CocoError', code: 'TransactionClosed' });
  }
  assert.equal(text(store.beginTransaction().map('m').get(b('a'))), 'other');
});

test('a range iterator stops with TransactionClosed once its transaction is closed', () => {
  const store = storeWith({ a: '1', b: '2' });
  const tx = store.beginTransaction();
  const iterator = tx.map('m').range()[Symbol.iterator]();
  assert.equal(iterator.next().done, false);
  tx.abort();
  assert.throws(() => iterator.next(), { name: 'CocoError', code: 'TransactionClosed' });
});

test('hasWrites tells a read-only transaction from one that sets, deletes or clears', () => {
  const store = new Store();
  const seed = store.beginTransaction();
  seed.map('m').set(new Uint8Array([1]), new Uint8Array([1]));
  store.commit(seed, 1n);
  const reader = store.beginTransaction();
  reader.map('m').get(new Uint8Array([1]));
  assert.equal(reader.hasWrites, false);
  const setter = store.beginTransaction();
  setter.map('m').set(new Uint8Array([2]), new Uint8Array([2]));
  assert.equal(setter.hasWrites, true);
  const deleter = store.beginTransaction();
  deleter.map('m').delete(new Uint8Array([1]));
  assert.equal(deleter.hasWrites, true);
  const clearer = store.beginTransaction();
  clearer.map('m').clear();
  assert.equal(clearer.hasWrites, true);
});
