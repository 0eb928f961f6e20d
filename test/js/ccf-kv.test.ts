import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CocoError } from '../../src/errors.js';
import type { KvContext, MapAccess } from '../../src/js/kv-access.js';
import { Store } from '../../src/kv/store.js';
import { decodeText, interpreterWith, testCall, testJsReceipt, testReceipt, text } from './js-test-host.js';

const KV_APP = {
  '/kv.js': `
    const b = (s) => ccf.strToBuf(s);
    const s = (buf) => buf === undefined ? undefined : ccf.bufToStr(buf);
    export function write(map, entries) { for (const [k, v] of entries) ccf.kv[map].set(b(k), b(v)); return ccf.kv[map].size; }
    export function read(map, key) { return s(ccf.kv[map].get(b(key))); }
    export function has(map, key) { return ccf.kv[map].has(b(key)); }
    export function remove(map, key) { ccf.kv[map].delete(b(key)); return ccf.kv[map].size; }
    export function clear(map) { ccf.kv[map].clear(); return ccf.kv[map].size; }
    export function version(map, key) { return ccf.kv[map].getVersionOfPreviousWrite(b(key)); }
    export function entries(map) {
      const out = [];
      ccf.kv[map].forEach((value, key, self) => out.push([s(key), s(value), self === ccf.kv[map]]));
      return out;
    }
    export function throwInForEach(map) { ccf.kv[map].forEach(() => { throw new Error("stop here"); }); }
    export function setReturnsMap(map) { return ccf.kv[map].set(b("k"), b("v")) === ccf.kv[map]; }
    export function op(map, name) {
      const m = ccf.kv[map];
      switch (name) {
        case "get": return m.get(b("k")) === undefined;
        case "has": return m.has(b("k"));
        case "size": return m.size;
        case "forEach": m.forEach(() => {}); return true;
        case "getVersionOfPreviousWrite": return m.getVersionOfPreviousWrite(b("k")) === undefined;
        case "set": m.set(b("k"), b("v")); return true;
        case "delete": m.delete(b("k")); return true;
        case "clear": m.clear(); return true;
      }
    }
    export function badKey() { ccf.kv["m"].get("not a buffer"); }
    export function caught() {
      try {
        ccf.kv["public:ccf.gov.members.info"].set(b("k"), b("v"));
      } catch (e) {
        return [e instanceof TypeError, e.name, e.message];
      }
    }
    export function typedArrayKey() { ccf.kv["m"].get(new Uint8Array(2)); }
  `,
};

function jsError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => error instanceof CocoError && error.code === 'JsException' && pattern.test(error.message));
}

test('ccf.kv writes land in the transaction: the committed write set holds them by domain', async () => {
  const js = await interpreterWith(KV_APP);
  const { store, tx, env } = testCall();
  assert.equal(js.call('/kv.js', 'write', ['records', [['a', '1'], ['b', '2']]], env), 2);
  assert.equal(js.call('/kv.js', 'write', ['public:records', [['p', 'x']]], env), 1);
  assert.equal(js.call('/kv.js', 'read', ['records', 'a'], env), '1', 'a transaction reads its own writes');
  const writeSet = store.commit(tx, 1n);
  assert.deepEqual(
    writeSet.private.map((m) => [m.name, m.writes.map((w) => [decodeText(w.key), decodeText(w.value)])]),
    [['records', [['a', '1'], ['b', '2']]]],
  );
  assert.deepEqual(
    writeSet.public.map((m) => [m.name, m.writes.map((w) => [decodeText(w.key), decodeText(w.value)])]),
    [['public:records', [['p', 'x']]]],
  );
  js.dispose();
});

test('ccf.kv reads committed state: has, get, size, forEach, versions; keys compare by content', async () => {
  const js = await interpreterWith(KV_APP);
  const store = new Store();
  const seed = store.beginTransaction();
  seed.map('m').set(text('k1'), text('v1'));
  seed.map('m').set(text('k2'), text('v2'));
  store.commit(seed, 1n);
  const second = store.beginTransaction();
  second.map('m').set(text('k2'), text('v2b'));
  store.commit(second, 2n);
  const { env } = testCall('application', store);
  assert.equal(js.call('/kv.js', 'has', ['m', 'k1'], env), true);
  assert.equal(js.call('/kv.js', 'has', ['m', 'nope'], env), false);
  assert.equal(js.call('/kv.js', 'read', ['m', 'k2'], env), 'v2b');
  assert.equal(js.call('/kv.js', 'read', ['m', 'nope'], env), undefined);
  assert.deepEqual(js.call('/kv.js', 'entries', ['m'], env), [['k1', 'v1', true], ['k2', 'v2b', true]]);
  assert.equal(js.call('/kv.js', 'version', ['m', 'k1'], env), 1);
  assert.equal(js.call('/kv.js', 'version', ['m', 'k2'], env), 2);
  assert.equal(js.call('/kv.js', 'version', ['m', 'nope'], env), undefined);
  assert.equal(js.call('/kv.js', 'remove', ['m', 'k1'], env), 1);
  assert.equal(js.call('/kv.js', 'version', ['m', 'k1'], env), 1, 'the version of the previous write ignores the pending delete');
  assert.equal(js.call('/kv.js', 'clear', ['m'], env), 0);
  assert.equal(js.call('/kv.js', 'setReturnsMap', ['m'], env), true);
  assert.equal(js.call('/kv.js', 'read', ['never-written', 'x'], env), undefined, 'an absent map reads as empty');
  js.dispose();
});

test('an exception in a forEach callback stops the iteration and reaches the caller', async () => {
  const js = await interpreterWith(KV_APP);
  const { env } = testCall();
  js.call('/kv.js', 'write', ['m', [['a', '1'], ['b', '2']]], env);
  jsError(() => js.call('/kv.js', 'throwInForEach', ['m'], env), /stop here/);
  js.dispose();
});

test('keys and values must be ArrayBuffers', async () => {
  const js = await interpreterWith(KV_APP);
  const { env } = testCall();
  jsError(() => js.call('/kv.js', 'badKey', [], env), /TypeError: get: the key must be an ArrayBuffer, got a string/);
  jsError(() => js.call('/kv.js', 'typedArrayKey', [], env), /TypeError: get: the key must be an ArrayBuffer, got an object/);
  js.dispose();
});

const READS = ['get', 'has', 'size', 'forEach', 'getVersionOfPreviousWrite'];
const WRITES = ['set', 'delete', 'clear'];

// [context, map, access the context has]: every operation either works or throws naming both.
const VIOLATIONS: [KvContext, string, MapAccess][] = [
  ['application', 'public:ccf.gov.members.info', 'read'],
  ['application', 'public:ccf.internal.signatures', 'read'],
  ['application', 'ccf.reserved', 'none'],
  // The Ethereum adapter's state is Coco's, changed by Ethereum transactions and governance only.
  ['application', 'coco.ethereum.accounts', 'none'],
  // Private maps are the application's alone (CCF's code; its documentation since 6.0.8).
  ['application', 'ccf.internal.secrets', 'none'],
  ['application-readonly', 'ccf.gov.private_thing', 'none'],
  ['application', 'public:coco.ethereum.blocks', 'read'],
  ['governance-apply', 'public:coco.ethereum.accounts', 'read'],
  ['application', 'records', 'readwrite'],
  ['application-readonly', 'records', 'read'],
  ['governance-readonly', 'records', 'none'],
  ['governance-readonly', 'public:ccf.gov.members.info', 'read'],
  ['governance-apply', 'public:ccf.gov.members.info', 'readwrite'],
  // Governance may set an app's public maps, not read them (CCF 6.0.8 on).
  ['governance-apply', 'public:records', 'write'],
  ['governance-apply', 'records', 'none'],
];

const KINDS: Record<MapAccess, string> = { none: 'inaccessible', read: 'read-only', write: 'write-only', readwrite: 'read-write' };

const CONTEXT_NAMES: Record<KvContext, string> = {
  application: 'application',
  'application-readonly': 'read-only application',
  'governance-readonly': 'read-only governance',
  'governance-apply': 'read-write governance',
};

for (const [context, map, access] of VIOLATIONS) {
  test(`in the ${context} context, map ${map} is ${KINDS[access]}`, async () => {
    const js = await interpreterWith(KV_APP);
    const { env } = testCall(context);
    for (const operation of [...READS, ...WRITES]) {
      const allowed = access === 'readwrite' || (access === 'read' && READS.includes(operation)) || (access === 'write' && WRITES.includes(operation));
      if (allowed) {
        js.call('/kv.js', 'op', [map, operation], env);
      } else {
        const kind = KINDS[access];
        jsError(
          () => js.call('/kv.js', 'op', [map, operation], env),
          new RegExp(`TypeError: Cannot call \\.${operation}\\(\\) on ${kind} table named ${map.replace(/\./g, '\\.')} in ${CONTEXT_NAMES[context]} execution context\\. See `),
        );
      }
    }
    js.dispose();
  });
}

test('an access violation is a TypeError that the app can catch', async () => {
  const js = await interpreterWith(KV_APP);
  const { env } = testCall();
  assert.deepEqual(js.call('/kv.js', 'caught', [], env), [
    true,
    'TypeError',
    'Cannot call .set() on read-only table named public:ccf.gov.members.info in application execution context. See https://microsoft.github.io/CCF/main/audit/read_write_restrictions.html for more detail.',
  ]);
  js.dispose();
});

test('as in CCF, a module top level uses the KV of the call that loads it', async () => {
  const js = await interpreterWith({
    '/typed.js': 'const records = ccf.kv["records"]; export function put() { records.set(ccf.strToBuf("k"), ccf.strToBuf("v")); return records.size; }',
    '/eager.js': 'const size = ccf.kv["records"].size; export const f = () => size;',
  });
  const { env } = testCall();
  assert.equal(js.call('/typed.js', 'put', [], env), 1);
  assert.equal(js.call('/eager.js', 'f', [], env), 1, 'read at load, in the call that loaded the module');
  js.dispose();
});

test("@microsoft/ccf-app/historical's historicalState works in historical endpoints whichever call first loads the module", async () => {
  // The published package's own modules: it reads ccf.historicalState once, when it loads.
  const pkg = (file: string): string => readFileSync(fileURLToPath(import.meta.resolve(`@microsoft/ccf-app/${file}`)), 'utf8');
  const js = await interpreterWith({
    '/ccf-app/global.js': pkg('global.js'),
    '/ccf-app/historical.js': pkg('historical.js'),
    '/app.js': `import { historicalState } from "./ccf-app/historical.js";
      export function plain() { return [typeof ccf.historicalState, historicalState.transactionId === undefined]; }
      export function historical() { return [historicalState.transactionId, ccf.bufToStr(historicalState.kv["records"].get(ccf.strToBuf("k")))]; }`,
  });
  const old = new Store();
  const seed = old.beginTransaction();
  seed.map('records').set(text('k'), text('old value'));
  old.commit(seed, 1n);
  const { env } = testCall('application-readonly');
  assert.deepEqual(js.call('/app.js', 'plain', [], env), ['undefined', true]);
  const historicalState = { transactionId: { view: 2, seqno: 1 }, receipt: testReceipt(1), tx: old.beginTransaction() };
  assert.deepEqual(js.call('/app.js', 'historical', [], { ...env, historicalState }), ['2.1', 'old value']);
  js.dispose();
});

test('ccf.historicalState gives read-only access to the state of the requested transaction', async () => {
  const js = await interpreterWith({
    '/h.js': `export function read() {
      const state = ccf.historicalState;
      return [state.transactionId, state.receipt, ccf.bufToStr(state.kv["records"].get(ccf.strToBuf("k")))];
    }
    export function write() { ccf.historicalState.kv["records"].set(ccf.strToBuf("k"), ccf.strToBuf("new")); }
    export function current() { return ccf.kv["records"].get(ccf.strToBuf("k")) === undefined; }
    // @microsoft/ccf-app keeps ccf.historicalState from when its module loaded: it must stay live.
    const captured = ccf.historicalState;
    export function viaCaptured() { return ccf.bufToStr(captured.kv["records"].get(ccf.strToBuf("k"))); }
    // The idioms of apps written for CCF, where ccf.historicalState is undefined outside historical endpoints.
    export function outside() {
      return [typeof ccf.historicalState, ccf.bufToStr((ccf.historicalState?.kv ?? ccf.kv)["records"].get(ccf.strToBuf("k"))), ccf.bufToStr((captured.kv || ccf.kv)["records"].get(ccf.strToBuf("k")))];
    }`,
  });
  const old = new Store();
  const seed = old.beginTransaction();
  seed.map('records').set(text('k'), text('old value'));
  old.commit(seed, 1n);
  const { env, tx } = testCall('application-readonly');
  assert.equal(js.call('/h.js', 'current', [], env), true, 'the module loads in a call without historical state');
  const historicalState = { transactionId: { view: 2, seqno: 1 }, receipt: testReceipt(1), tx: old.beginTransaction() };
  assert.equal(js.call('/h.js', 'viaCaptured', [], { ...env, historicalState }), 'old value');
  assert.deepEqual(js.call('/h.js', 'read', [], { ...env, historicalState }), ['2.1', testJsReceipt(1), 'old value']);
  assert.equal(js.call('/h.js', 'current', [], { ...env, historicalState }), true, 'ccf.kv still reads the current transaction');
  jsError(() => js.call('/h.js', 'write', [], { ...env, historicalState }), /Cannot call \.set\(\) on read-only table named records in historical \(read-only\) execution context/);
  jsError(() => js.call('/h.js', 'read', [], env), /TypeError: cannot read property 'transactionId' of undefined/);
  tx.map('records').set(text('k'), text('current value'));
  assert.deepEqual(js.call('/h.js', 'outside', [], env), ['undefined', 'current value', 'current value']);
  js.dispose();
});
