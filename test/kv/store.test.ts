import { test } from 'node:test';
import assert from 'node:assert/strict';

import { fromHex, toHex, utf8 } from '../../src/crypto/bytes.js';
import {
  KEY_BYTES_MAX,
  MAP_NAME_BYTES_MAX,
  VALUE_BYTES_MAX,
  WRITES_PER_TRANSACTION_MAX,
} from '../../src/kv/limits.js';
import { Store } from '../../src/kv/store.js';
import type { MapChanges, WriteSet } from '../../src/kv/write-set.js';
import { seededRandom } from './seeded-random.js';

const b = utf8;

/** Commits one transaction that runs `body` at the store's next version. */
function commitWith(store: Store, body: (tx: ReturnType<Store['beginTransaction']>) => void): WriteSet {
  const tx = store.beginTransaction();
  body(tx);
  return store.commit(tx, store.version + 1n);
}

/** A readable form of a write set: hex keys and utf8-ish values. */
function summary(ws: WriteSet): unknown {
  const map = (m: MapChanges) => ({
    name: m.name,
    writes: m.writes.map((w) => [toHex(w.key), toHex(w.value)]),
    removes: m.removes.map(toHex),
  });
  return { public: ws.public.map(map), private: ws.private.map(map) };
}

/** Everything a map holds, with key versions, as hex. */
function dump(store: Store, name: string): [string, string, bigint | undefined][] {
  const tx = store.beginTransaction();
  const handle = tx.map(name);
  const out: [string, string, bigint | undefined][] = [];
  for (const [key, value] of handle.range()) out.push([toHex(key), toHex(value), handle.getVersionOfPreviousWrite(key)]);
  tx.abort();
  return out;
}

test('a new store is at version 0 and an absent map reads as empty', () => {
  const store = new Store();
  assert.equal(store.version, 0n);
  const tx = store.beginTransaction();
  const m = tx.map('never-written');
  assert.equal(m.get(b('k')), undefined);
  assert.equal(m.has(b('k')), false);
  assert.equal(m.size(), 0);
  assert.deepEqual([...m.range()], []);
  assert.equal(m.getVersionOfPreviousWrite(b('k')), undefined);
});

test('commit returns the write set split by domain, maps sorted by name, keys sorted by bytes', () => {
  const store = new Store();
  commitWith(store, (tx) => {
    tx.map('public:old').set(b('x'), b('1'));
    tx.map('public:old').set(b('y'), b('1'));
  });
  const ws = commitWith(store, (tx) => {
    tx.map('zeta').set(fromHex('02'), b('z'));
    tx.map('public:b').set(fromHex('ff'), b('2'));
    tx.map('public:b').set(fromHex('00ff'), b('1'));
    tx.map('public:b').set(fromHex('00'), b('0'));
    tx.map('alpha').set(b('k'), b('a'));
    tx.map('public:a').set(b('k'), b('v'));
    tx.map('public:old').delete(b('y'));
    tx.map('public:old').delete(b('x'));
    tx.map('untouched').get(b('k'));
  });
  assert.deepEqual(summary(ws), {
    public: [
      { name: 'public:a', writes: [['6b', '76']], removes: [] },
      { name: 'public:b', writes: [['00', '30'], ['00ff', '31'], ['ff', '32']], removes: [] },
      { name: 'public:old', writes: [], removes: ['78', '79'] },
    ],
    private: [
      { name: 'alpha', writes: [['6b', '61']], removes: [] },
      { name: 'zeta', writes: [['02', '7a']], removes: [] },
    ],
  });
  for (const m of [...ws.public, ...ws.private]) {
    assert.deepEqual(m.reads, []);
    assert.equal(m.readVersion, 0n);
  }
});

test('map names in a write set are sorted by UTF-8 bytes, not UTF-16 code units', () => {
  const store = new Store();
  // U+FF5E sorts after U+1F600 in UTF-16 code units but before it in UTF-8 bytes.
  const ws = commitWith(store, (tx) => {
    tx.map('\u{1F600}').set(b('k'), b('v'));
    tx.map('\uFF5E').set(b('k'), b('v'));
  });
  assert.deepEqual(
    ws.private.map((m) => m.name),
    ['\uFF5E', '\u{1F600}'],
  );
});

test('key versions are the committing seqno and the store version advances', () => {
  const store = new Store();
  commitWith(store, (tx) => tx.map('m').set(b('a'), b('1')));
  commitWith(store, (tx) => tx.map('m').set(b('b'), b('2')));
  commitWith(store, (tx) => tx.map('m').set(b('a'), b('3')));
  assert.equal(store.version, 3n);
  assert.deepEqual(dump(store, 'm'), [
    [toHex(b('a')), toHex(b('3')), 3n],
    [toHex(b('b')), toHex(b('2')), 2n],
  ]);
});

test('commit refuses a version other than store.version + 1 and leaves the transaction usable', () => {
  const store = new Store();
  commitWith(store, (tx) => tx.map('m').set(b('a'), b('1')));
  const tx = store.beginTransaction();
  tx.map('m').set(b('a'), b('2'));
  for (const version of [0n, 1n, 3n, -1n]) {
    assert.throws(() => store.commit(tx, version), { name: 'CocoError', code: 'InvalidVersion' });
  }
  assert.throws(() => store.commit(tx, 2 as unknown as bigint), { name: 'CocoError', code: 'InvalidArgument' });
  assert.equal(store.version, 1n);
  assert.equal(tx.isOpen, true);
  store.commit(tx, 2n);
  assert.deepEqual(dump(store, 'm'), [[toHex(b('a')), toHex(b('2')), 2n]]);
});

test('commit refuses a transaction begun on another store', () => {
  const store = new Store();
  const other = new Store();
  const tx = other.beginTransaction();
  tx.map('m').set(b('a'), b('1'));
  assert.throws(() => store.commit(tx, 1n), { name: 'CocoError', code: 'InvalidArgument' });
  assert.throws(() => store.commit({} as never, 1n), { name: 'CocoError', code: 'InvalidArgument' });
  assert.equal(store.version, 0n);
});

test('a transaction without changes commits to an empty write set and takes its version', () => {
  const store = new Store();
  const ws = commitWith(store, (tx) => {
    tx.map('m').get(b('a'));
    tx.map('public:n').size();
  });
  assert.deepEqual(ws, { public: [], private: [] });
  assert.equal(store.version, 1n);
});

test('delete emits a remove only for a key that exists in the store', () => {
  const store = new Store();
  commitWith(store, (tx) => {
    tx.map('m').set(b('old'), b('1'));
    tx.map('m').set(b('gone'), b('1'));
  });
  const cases: { what: string; body: (m: ReturnType<ReturnType<Store['beginTransaction']>['map']>) => void; expected: unknown }[] = [
    { what: 'delete of an absent key', body: (m) => assert.equal(m.delete(b('absent')), false), expected: [] },
    {
      what: 'set then delete of a new key',
      body: (m) => {
        m.set(b('new'), b('x'));
        assert.equal(m.delete(b('new')), true);
      },
      expected: [],
    },
    {
      what: 'set then delete of an existing key',
      body: (m) => {
        m.set(b('gone'), b('2'));
        assert.equal(m.delete(b('gone')), true);
      },
      expected: [{ name: 'm', writes: [], removes: [toHex(b('gone'))] }],
    },
    {
      what: 'delete then set of an existing key',
      body: (m) => {
        assert.equal(m.delete(b('old')), true);
        assert.equal(m.delete(b('old')), false);
        m.set(b('old'), b('3'));
      },
      expected: [{ name: 'm', writes: [[toHex(b('old')), toHex(b('3'))]], removes: [] }],
    },
  ];
  for (const { what, body, expected } of cases) {
    const tx = store.beginTransaction();
    body(tx.map('m'));
    const ws = store.commit(tx, store.version + 1n);
    assert.deepEqual((summary(ws) as { private: unknown }).private, expected, what);
  }
  assert.deepEqual(dump(store, 'm'), [[toHex(b('old')), toHex(b('3')), 5n]]);
});

test('clear removes every existing key, keeps keys set after it, and reads see only those', () => {
  const store = new Store();
  commitWith(store, (tx) => {
    for (const k of ['c', 'a', 'b']) tx.map('m').set(b(k), b('old'));
  });
  const tx = store.beginTransaction();
  const m = tx.map('m');
  m.set(b('z'), b('dropped by clear'));
  m.clear();
  assert.equal(m.size(), 0);
  assert.equal(m.get(b('a')), undefined);
  assert.equal(m.delete(b('a')), false);
  m.set(b('b'), b('new'));
  m.set(b('d'), b('new'));
  assert.equal(m.delete(b('d')), true);
  assert.deepEqual([...m.range()].map(([k, v]) => [toHex(k), toHex(v)]), [[toHex(b('b')), toHex(b('new'))]]);
  assert.equal(m.size(), 1);
  const ws = store.commit(tx, 2n);
  assert.deepEqual(summary(ws), {
    public: [],
    private: [{ name: 'm', writes: [[toHex(b('b')), toHex(b('new'))]], removes: [toHex(b('a')), toHex(b('c'))] }],
  });
  assert.deepEqual(dump(store, 'm'), [[toHex(b('b')), toHex(b('new')), 2n]]);
});

test('clear is blind: it removes keys committed by another transaction after it was called', () => {
  const store = new Store();
  const clearing = store.beginTransaction();
  clearing.map('m').clear();
  commitWith(store, (tx) => tx.map('m').set(b('late'), b('1')));
  const ws = store.commit(clearing, 2n);
  assert.deepEqual(summary(ws), { public: [], private: [{ name: 'm', writes: [], removes: [toHex(b('late'))] }] });
  assert.deepEqual(dump(store, 'm'), []);
});

test('clear of an absent or empty map changes nothing', () => {
  const store = new Store();
  assert.deepEqual(commitWith(store, (tx) => tx.map('m').clear()), { public: [], private: [] });
});

test('set copies the key and value, so later mutation by the caller does not reach the store', () => {
  const store = new Store();
  const key = b('k');
  const value = b('v');
  const tx = store.beginTransaction();
  tx.map('m').set(key, value);
  key[0] = 0x00;
  value[0] = 0x00;
  assert.deepEqual(tx.map('m').get(b('k')), b('v'));
  store.commit(tx, 1n);
  assert.deepEqual(dump(store, 'm'), [[toHex(b('k')), toHex(b('v')), 1n]]);
});

test('applying the write sets of one store to another reproduces its state', () => {
  const random = seededRandom(7);
  const source = new Store();
  const replica = new Store();
  const names = ['public:a', 'public:b', 'priv'];
  for (let i = 0; i < 300; i++) {
    const tx = source.beginTransaction();
    for (let op = random.int(6); op >= 0; op--) {
      const m = tx.map(names[random.int(names.length)] as string);
      const key = random.bytes(random.int(3));
      const choice = random.int(100);
      if (choice === 0) m.clear();
      else if (choice < 30) m.delete(key);
      else m.set(key, random.bytes(random.int(4)));
    }
    const ws = source.commit(tx, source.version + 1n);
    replica.applyWriteSet(ws, replica.version + 1n);
  }
  assert.equal(replica.version, source.version);
  for (const name of names) {
    assert.ok(dump(source, name).length > 0, `${name} holds keys`);
    assert.deepEqual(dump(replica, name), dump(source, name), name);
  }
});

test('applyWriteSet applies writes then removes at the given version', () => {
  const store = new Store();
  store.applyWriteSet(
    {
      public: [{ name: 'public:m', readVersion: 0n, reads: [], writes: [{ key: b('a'), value: b('1') }, { key: b('b'), value: b('1') }], removes: [b('b'), b('absent')] }],
      private: [{ name: 'p', readVersion: 0n, reads: [], writes: [{ key: b('x'), value: b('2') }], removes: [] }],
    },
    1n,
  );
  assert.equal(store.version, 1n);
  assert.deepEqual(dump(store, 'public:m'), [[toHex(b('a')), toHex(b('1')), 1n]]);
  assert.deepEqual(dump(store, 'p'), [[toHex(b('x')), toHex(b('2')), 1n]]);
  assert.throws(() => store.applyWriteSet({ public: [], private: [] }, 1n), { name: 'CocoError', code: 'InvalidVersion' });
  store.applyWriteSet({ public: [], private: [] }, 2n);
  assert.equal(store.version, 2n);
});

test("a replicated write decoded in place keeps its key and value, not the entry's bytes around them", () => {
  // A write set decoded from an entry: key and value are views into the entry's bytes.
  const entry = new Uint8Array(4096);
  entry.set(b('key'), 100);
  entry.set(b('value'), 200);
  const [key, value] = [entry.subarray(100, 103), entry.subarray(200, 205)];
  const store = new Store();
  store.applyWriteSet({ public: [{ name: 'public:m', readVersion: 0n, reads: [], writes: [{ key, value }], removes: [] }], private: [] }, 1n);
  const [kept] = store.snapshotMaps().find((map) => map.name === 'public:m')!.entries;
  assert.equal(kept!.value.buffer.byteLength, 5);
  entry.fill(0);
  assert.deepEqual([kept!.key, kept!.value], ['key', b('value')], 'the key as its key string, the value a copy, not a view');
  // A longer value, kept as bytes, is a copy too.
  const long = entry.subarray(1000, 1300).fill(9);
  store.applyWriteSet({ public: [{ name: 'public:m', readVersion: 0n, reads: [], writes: [{ key: b('long'), value: long }], removes: [] }], private: [] }, 2n);
  const keptLong = store.snapshotMaps()[0]!.entries.find((e) => e.key === 'long')!;
  assert.equal(keptLong.value.buffer.byteLength, 300);
  entry.fill(0);
  assert.deepEqual(keptLong.value, new Uint8Array(300).fill(9));
  // Longer bytes that are a buffer of their own are kept as they are (short values are kept as strings).
  const own = new Uint8Array(1000).fill(7);
  store.applyWriteSet({ public: [{ name: 'public:m', readVersion: 0n, reads: [], writes: [{ key: b('k2'), value: own }], removes: [] }], private: [] }, 3n);
  assert.equal(store.snapshotMaps().find((map) => map.name === 'public:m')!.entries.find((e) => e.value === own)?.value, own);
});

test('values of every byte and length, kept as strings up to 256 bytes and as bytes beyond, read back the same, and a read is a copy the reader may change', () => {
  const store = new Store();
  const lengths = [0, 1, 20, 255, 256, 257, 1000];
  const valueOf = (length: number) => new Uint8Array(length).map((_, i) => (i * 37 + length) % 256);
  const tx = store.beginTransaction();
  for (const length of lengths) tx.map('m').set(b(`k${length}`), valueOf(length));
  store.commit(tx, 1n);
  const stored = new Map(store.snapshotMaps()[0]!.entries.map((e) => [e.key, e]));
  assert.equal(typeof stored.get('k256')!.data, 'string');
  assert.ok(stored.get('k257')!.data instanceof Uint8Array);
  const reader = store.beginTransaction();
  for (const length of lengths) {
    const read = reader.map('m').get(b(`k${length}`))!;
    assert.deepEqual(read, valueOf(length), `a value of ${length} bytes`);
    if (length > 0 && length <= 256) {
      read.fill(0);
      assert.deepEqual(reader.map('m').get(b(`k${length}`)), valueOf(length), 'changing what a read gave changes nothing kept');
    }
  }
});

test('applyWriteSet refuses a malformed write set and applies nothing of it', () => {
  const good: MapChanges = { name: 'public:ok', readVersion: 0n, reads: [], writes: [{ key: b('k'), value: b('v') }], removes: [] };
  const cases: { what: string; ws: unknown; code: string }[] = [
    { what: 'private map in the public list', ws: { public: [good, { ...good, name: 'secret' }], private: [] }, code: 'InvalidWriteSet' },
    { what: 'public map in the private list', ws: { public: [], private: [good] }, code: 'InvalidWriteSet' },
    { what: 'missing private list', ws: { public: [good] }, code: 'InvalidWriteSet' },
    { what: 'not a write set', ws: null, code: 'InvalidWriteSet' },
    { what: 'null map change', ws: { public: [good, null], private: [] }, code: 'InvalidWriteSet' },
    { what: 'writes not an array', ws: { public: [{ ...good, writes: 'x' }], private: [] }, code: 'InvalidWriteSet' },
    { what: 'key of wrong type', ws: { public: [{ ...good, writes: [{ key: 'k', value: b('v') }] }], private: [] }, code: 'InvalidArgument' },
    { what: 'value of wrong type', ws: { public: [{ ...good, writes: [{ key: b('k'), value: 7 }] }], private: [] }, code: 'InvalidArgument' },
    { what: 'remove of wrong type', ws: { public: [{ ...good, removes: [[1, 2]] }], private: [] }, code: 'InvalidArgument' },
    { what: 'key too long', ws: { public: [{ ...good, removes: [new Uint8Array(KEY_BYTES_MAX + 1)] }], private: [] }, code: 'LimitExceeded' },
    { what: 'empty map name', ws: { public: [], private: [{ ...good, name: '' }] }, code: 'InvalidMapName' },
  ];
  for (const { what, ws, code } of cases) {
    const store = new Store();
    assert.throws(() => store.applyWriteSet(ws as WriteSet, 1n), { name: 'CocoError', code }, what);
    assert.equal(store.version, 0n, what);
    assert.deepEqual(dump(store, 'public:ok'), [], what);
  }
});

test('limits: map names, keys and values over their bound throw LimitExceeded naming the limit', () => {
  const store = new Store();
  const tx = store.beginTransaction();
  tx.map('x'.repeat(MAP_NAME_BYTES_MAX));
  tx.map('é'.repeat(MAP_NAME_BYTES_MAX / 2));
  assert.throws(() => tx.map('x'.repeat(MAP_NAME_BYTES_MAX + 1)), { code: 'LimitExceeded', message: /MAP_NAME_BYTES_MAX/ });
  assert.throws(() => tx.map('é'.repeat(MAP_NAME_BYTES_MAX / 2 + 1)), { code: 'LimitExceeded', message: /MAP_NAME_BYTES_MAX/ });
  const m = tx.map('m');
  m.set(new Uint8Array(KEY_BYTES_MAX), b('v'));
  assert.throws(() => m.set(new Uint8Array(KEY_BYTES_MAX + 1), b('v')), { code: 'LimitExceeded', message: /KEY_BYTES_MAX/ });
  assert.throws(() => m.get(new Uint8Array(KEY_BYTES_MAX + 1)), { code: 'LimitExceeded', message: /KEY_BYTES_MAX/ });
  assert.throws(() => m.set(b('k'), new Uint8Array(VALUE_BYTES_MAX + 1)), { code: 'LimitExceeded', message: /VALUE_BYTES_MAX/ });
  m.set(b('k'), new Uint8Array(VALUE_BYTES_MAX));
  assert.equal(m.get(b('k'))?.length, VALUE_BYTES_MAX);
});

test('map names must be non-empty UTF-8 strings', () => {
  const tx = new Store().beginTransaction();
  assert.throws(() => tx.map(''), { name: 'CocoError', code: 'InvalidMapName' });
  assert.throws(() => tx.map('bad\uD800'), { name: 'CocoError', code: 'InvalidMapName' });
  assert.throws(() => tx.map(42 as unknown as string), { name: 'CocoError', code: 'InvalidArgument' });
  assert.equal(tx.map('ok\u{1F600}').name, 'ok\u{1F600}');
});

test('keys and values of the wrong type are refused', () => {
  const m = new Store().beginTransaction().map('m');
  assert.throws(() => m.set('k' as unknown as Uint8Array, b('v')), { name: 'CocoError', code: 'InvalidArgument' });
  assert.throws(() => m.set(b('k'), 'v' as unknown as Uint8Array), { name: 'CocoError', code: 'InvalidArgument' });
  assert.throws(() => m.get([1, 2] as unknown as Uint8Array), { name: 'CocoError', code: 'InvalidArgument' });
  assert.throws(() => m.delete(null as unknown as Uint8Array), { name: 'CocoError', code: 'InvalidArgument' });
});

test('a transaction may write at most WRITES_PER_TRANSACTION_MAX distinct keys', () => {
  const store = new Store();
  const tx = store.beginTransaction();
  const a = tx.map('a');
  const key = new Uint8Array(4);
  const view = new DataView(key.buffer);
  for (let i = 0; i < WRITES_PER_TRANSACTION_MAX; i++) {
    view.setUint32(0, i);
    a.set(key, key);
  }
  // Rewriting a key already written costs nothing more.
  a.set(key, b('again'));
  assert.throws(() => tx.map('b').set(b('one more'), b('v')), { code: 'LimitExceeded', message: /WRITES_PER_TRANSACTION_MAX/ });
  // clear() gives the budget back.
  a.clear();
  tx.map('b').set(b('one more'), b('v'));
  const ws = store.commit(tx, 1n);
  assert.equal(ws.private.length, 1);
});

test('clear() counts the keys it removes toward WRITES_PER_TRANSACTION_MAX: past it, clear throws and changes nothing', () => {
  const store = new Store();
  const held = WRITES_PER_TRANSACTION_MAX - 10;
  const key = (i: number) => b(`k${i}`);
  commitWith(store, (tx) => {
    for (let i = 0; i < held; i++) tx.map('big').set(key(i), b('v'));
  });

  // With 11 other writes, clearing `held` keys would make the transaction write one key too many.
  const over = store.beginTransaction();
  for (let i = 0; i < 11; i++) over.map('other').set(key(i), b('v'));
  assert.throws(() => over.map('big').clear(), {
    code: 'LimitExceeded',
    message: new RegExp(`clear\\(\\) of map 'big' removes its ${held} keys.*WRITES_PER_TRANSACTION_MAX.*delete the map's keys in batches`),
  });
  assert.equal(over.map('big').size(), held, 'the refused clear hid no key');
  assert.equal(over.map('big').get(key(0))?.length, 1);
  const ws = store.commit(over, 2n);
  assert.deepEqual(ws.private.map((m) => [m.name, m.writes.length, m.removes.length]), [['other', 11, 0]]);
  assert.equal(dump(store, 'big').length, held, 'no key of big was removed');

  // Under the limit the clear works; keys it removes that are set again cost nothing more.
  const under = store.beginTransaction();
  const big = under.map('big');
  big.clear();
  big.clear();
  for (let i = 0; i < 100; i++) big.set(key(i), b('again'));
  for (let i = 0; i < 9; i++) under.map('other').set(key(i), b('w'));
  big.set(b('extra'), b('v'));
  assert.throws(() => big.set(b('new'), b('v')), { code: 'LimitExceeded', message: /transaction writes 100001 keys/ });
  // Dropping a new key set after the clear gives its write back.
  assert.equal(big.delete(b('extra')), true);
  big.set(b('new'), b('v'));
  const cleared = store.commit(under, 3n);
  const changes = cleared.private.find((m) => m.name === 'big');
  assert.equal(changes?.writes.length, 101);
  assert.equal(changes?.removes.length, held - 100);
  assert.equal(dump(store, 'big').length, 101);
});

test('a store can start at a later version, and then takes the next one', () => {
  const store = new Store(41n);
  assert.equal(store.version, 41n);
  store.applyWriteSet({ public: [{ name: 'public:m', readVersion: 0n, reads: [], writes: [{ key: new Uint8Array([1]), value: new Uint8Array([2]) }], removes: [] }], private: [] }, 42n);
  const tx = store.beginTransaction();
  assert.equal(tx.map('public:m').getVersionOfPreviousWrite(new Uint8Array([1])), 42n);
  assert.throws(() => new Store(-1n), /cannot start/);
});
