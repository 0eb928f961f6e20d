import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CocoError } from '../../src/errors.js';
import { certificateId } from '../../src/crypto/entity-id.js';
import { generateKeyPair } from '../../src/crypto/signing.js';
import { createSelfSignedCertificate } from '../../src/crypto/x509.js';
import type { TxId } from '../../src/ledger/tx-id.js';
import { Store } from '../../src/kv/store.js';
import { seededRandom } from '../kv/seeded-random.js';
import { JSON_NESTING_MAX } from '../../src/js/json-nesting.js';
import { JsInterpreter } from '../../src/js/interpreter.js';
import { interpreterWith, testCall, TEST_LIMITS, testJsReceipt, testReceipt, text, TEST_UNTRUSTED_NOW_MS } from './js-test-host.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromBase64, fromHex } from '../../src/crypto/bytes.js';
import { repoRoot } from '../support/paths.js';

const GLOBALS_APP = {
  '/g.js': `
    export const strToBuf = (s) => ccf.strToBuf(s);
    export const bufToStr = (b) => ccf.bufToStr(b);
    export const roundTrip = (v) => ccf.bufToJsonCompatible(ccf.jsonCompatibleToBuf(v));
    export const jsonBytes = (v) => ccf.jsonCompatibleToBuf(v);
    export const pemToId = (pem) => ccf.pemToId(pem);
    export const tcbHexToPolicy = (cpuid, tcb) => ccf.tcbHexToPolicy(cpuid, tcb);
    export function parse(text) { try { return JSON.parse(text); } catch (e) { return e.name + ': ' + e.message; } }
    export const parseWithReviver = (text) => JSON.parse(text, (key, value) => (typeof value === 'number' ? value * 2 : value));
    export const parseName = () => JSON.parse.name;
    export const strToBufNumber = () => ccf.strToBuf(5);
    export const jsonOfUndefined = () => ccf.jsonCompatibleToBuf(undefined);
    export function dates() {
      const before = [Date.now(), new Date().getTime(), typeof Date()];
      const previous = ccf.enableUntrustedDateTime(true);
      const after = [Date.now(), new Date().toISOString(), new Date(0).getTime(), new Date(2020, 0, 1) instanceof Date, Date.name];
      const again = ccf.enableUntrustedDateTime(false);
      return { before, previous, after, again, later: Date.now() };
    }
    export function metrics() { return [ccf.enableMetricsLogging(false), ccf.enableMetricsLogging(true)]; }
    export function switchesTakeBooleans() {
      const out = [];
      for (const call of [() => ccf.enableUntrustedDateTime(1), () => ccf.enableUntrustedDateTime(), () => ccf.enableMetricsLogging("x"), () => ccf.enableMetricsLogging(true, false)]) {
        try { out.push(call()); } catch (e) { out.push(e.name + ': ' + e.message); }
      }
      return [out, Date.now()];
    }
    export function logs() {
      console.log("plain", 1, { a: [1, 2] }, null, undefined);
      console.info("info");
      console.debug("debug");
      console.warn("warn", true);
      console.error(new RangeError("broken"));
    }
    export function randoms(n) { const out = []; for (let i = 0; i < n; i++) out.push(Math.random()); return out; }
    export function consensus(view, seqno) {
      return [ccf.consensus.getLastCommittedTxId(), ccf.consensus.getStatusForTxId(view, seqno), ccf.consensus.getViewForSeqno(seqno), ccf.consensus.getViewForSeqno(999)];
    }
    export function historical() {
      const states = ccf.historical.getStateRange(1, 3, 4, 60);
      if (states === null) return null;
      return states.map((s) => [s.transactionId, s.receipt, ccf.bufToStr(s.kv["records"].get(ccf.strToBuf("k")))]).concat([ccf.historical.dropCachedStates(1)]);
    }
    export function historicalIds(from, to) {
      const states = ccf.historical.getStateRange(7, from, to, 60);
      return states.map((s) => s.transactionId);
    }
    export function historicalFields(from, to, read) {
      const states = ccf.historical.getStateRange(7, from, to, 60);
      const s = states[read];
      return [s.receipt === s.receipt, s.kv === s.kv, Object.keys(s), ccf.bufToStr(s.kv["records"].get(ccf.strToBuf("k")))];
    }
    export function numberArgs() {
      const out = [];
      const t = (f) => { try { out.push(f()); } catch (e) { out.push(e.name + ': ' + e.message); } };
      t(() => ccf.historical.getStateRange(11, 27.7, 27.2, 60.5));
      t(() => ccf.historical.getStateRange("12", { valueOf: () => 3 }, -0.5, NaN));
      t(() => ccf.historical.getStateRange(13, 2 ** 64 + 2 ** 12, Infinity, undefined));
      t(() => ccf.historical.getStateRange(14, -1, 5, 60));
      t(() => ccf.historical.getStateRange(15, 2 ** 63, 5, 60));
      t(() => ccf.historical.getStateRange(16, 5, 5));
      t(() => ccf.historical.getStateRange(17, 5n, 5, 60));
      t(() => ccf.historical.dropCachedStates(7.9));
      t(() => ccf.historical.dropCachedStates(-3));
      t(() => ccf.consensus.getStatusForTxId(2, 27.5));
      t(() => ccf.consensus.getStatusForTxId(-2, 27));
      t(() => ccf.consensus.getViewForSeqno("27.9"));
      t(() => ccf.consensus.getViewForSeqno(-1));
      t(() => ccf.consensus.getLastCommittedTxId(1));
      return out;
    }
    export function rangeOrError(start, end) {
      try { return ccf.historical.getStateRange(1, start, end, 60); } catch (e) { return e.name + ': ' + e.message; }
    }
    export function range(start, end) { return ccf.historical.getStateRange(1, start, end, 60); }
    export function rangeThenThrow(start, end) {
      try { ccf.historical.getStateRange(1, start, end, 60); } catch (e) { throw new Error('the app failed otherwise'); }
    }
    export function subprocess() { ccf.host.triggerSubprocess(["ls"]); }
    export function snp(...args) {
      try {
        // null stands for undefined, which the test's arguments cannot carry.
        const result = snp_attestation.verifySnpAttestation(...args.map((arg) => (arg === null ? undefined : arg)));
        const a = result.attestation;
        const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
        return { version: a.version, measurement: hex(a.measurement), reported_tcb: a.reported_tcb, platform_info: a.platform_info, plaform_info: a.plaform_info, chip: hex(a.chip_id).slice(0, 8), buffer: a.host_data instanceof ArrayBuffer, ...(result.uvm_endorsements && { uvm: result.uvm_endorsements }) };
      } catch (e) {
        return e.name + ': ' + e.message;
      }
    }
    export function rpc() { ccf.rpc.setApplyWrites(true); }
    export function surface() {
      return {
        ccf: Object.keys(ccf).sort(),
        crypto: Object.keys(ccf.crypto).sort(),
        aliases: ["generateAesKey", "generateRsaKeyPair", "generateEcdsaKeyPair", "wrapKey", "digest", "isValidX509CertBundle", "isValidX509CertChain"].every((n) => ccf[n] === ccf.crypto[n]),
        dropAlias: ccf.historical.dropCachedStateRange === ccf.historical.dropCachedStates,
      };
    }
  `,
};

function jsError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => error instanceof CocoError && error.code === 'JsException' && pattern.test(error.message));
}

test('strToBuf and bufToStr convert UTF-8 exactly as TextEncoder and TextDecoder do, short and long', async () => {
  const js = await interpreterWith(GLOBALS_APP);
  const { env } = testCall();
  const strings = ['', 'hello', 'é', '€ and 𝄞', '\u{10FFFF}', '\uFFFD', 'a'.repeat(256), 'ü'.repeat(300), '𝄞'.repeat(100), 'NUL \0 inside', `${'long '.repeat(80)}\0 NUL past the inline limit`];
  for (const value of strings) {
    const bytes = js.call('/g.js', 'strToBuf', [value], env) as Uint8Array;
    assert.deepEqual(bytes, new TextEncoder().encode(value), JSON.stringify(value.slice(0, 20)));
    assert.equal(js.call('/g.js', 'bufToStr', [bytes], env), new TextDecoder().decode(bytes));
  }
  const random = seededRandom(7);
  for (let i = 0; i < 300; i++) {
    // Mostly bytes above 0x7f, to exercise malformed and truncated sequences (no 0xED: see the next test).
    const bytes = random.bytes(i % 10 === 0 ? 300 + random.int(100) : random.int(12)).map((b) => (random.int(4) === 0 ? b & 0x7f : b | 0x80)).map((b) => (b === 0xed ? 0xee : b));
    assert.equal(js.call('/g.js', 'bufToStr', [bytes], env), new TextDecoder().decode(bytes), `bytes ${Buffer.from(bytes).toString('hex')}`);
  }
  js.dispose();
});

test('a lone surrogate keeps bytes of its own, as in the QuickJS of CCF, so distinct strings never become the same key; the bytes read back as that surrogate', async () => {
  const js = await interpreterWith(GLOBALS_APP);
  const { env } = testCall();
  const hex = (value: string): string => Buffer.from(js.call('/g.js', 'strToBuf', [value], env) as Uint8Array).toString('hex');
  // Short strings convert in the prelude, long ones on the host: both ways agree.
  for (const pad of ['', 'p'.repeat(300)]) {
    const padHex = Buffer.from(pad).toString('hex');
    assert.equal(hex(`${pad}\uD800`), `${padHex}eda080`);
    assert.equal(hex(`${pad}\uDC00`), `${padHex}edb080`);
    assert.equal(hex(`${pad}\uFFFD`), `${padHex}efbfbd`);
    assert.equal(hex(`${pad}x\uD83Dy`), `${padHex}78eda0bd79`);
    assert.equal(hex(`${pad}\uD83D\uDE00\uDC00`), `${padHex}f09f9880edb080`, 'a pair is one code point, the low surrogate after it is alone');
    for (const value of [`${pad}\uDBFFz\uDC01`, `${pad}\uDC00\uD800`, `${pad}\0\uD800\0`]) {
      assert.equal(js.call('/g.js', 'bufToStr', [js.call('/g.js', 'strToBuf', [value], env) as Uint8Array], env), value, JSON.stringify(value.slice(-6)));
    }
  }
  const random = seededRandom(11);
  for (let i = 0; i < 300; i++) {
    // Bytes around 0xED 0xA0-0xBF, whole, truncated or followed by junk: the prelude's decoder and the host's agree.
    const bytes = Uint8Array.from({ length: random.int(10) }, () => [0xed, 0xa0 + random.int(32), 0x80 + random.int(64), random.int(256), 0x41][random.int(5)]!);
    const padded = new Uint8Array([...Buffer.from('p'.repeat(300)), ...bytes]);
    assert.equal(js.call('/g.js', 'bufToStr', [padded], env), `${'p'.repeat(300)}${js.call('/g.js', 'bufToStr', [bytes], env) as string}`, `bytes ${Buffer.from(bytes).toString('hex')}`);
  }
  js.dispose();
});

test('JSON converters round-trip values and refuse what has no JSON form', async () => {
  const js = await interpreterWith(GLOBALS_APP);
  const { env } = testCall();
  const value = { a: [1, 'two', null, true], nested: { 'ü': 'é' } };
  assert.deepEqual(js.call('/g.js', 'roundTrip', [value], env), value);
  assert.deepEqual(js.call('/g.js', 'jsonBytes', [value], env), text(JSON.stringify(value)));
  jsError(() => js.call('/g.js', 'jsonOfUndefined', [], env), /TypeError: jsonCompatibleToBuf: undefined has no JSON form/);
  jsError(() => js.call('/g.js', 'strToBufNumber', [], env), /TypeError: strToBuf: the argument must be a string, got a number/);
  js.dispose();
});

test('JSON.parse refuses nesting deeper than the limit with a SyntaxError the app catches, and the interpreter goes on', async () => {
  const js = await interpreterWith(GLOBALS_APP);
  const { env } = testCall();
  const deepest = '['.repeat(JSON_NESTING_MAX) + ']'.repeat(JSON_NESTING_MAX);
  assert.equal(JSON.stringify(js.call('/g.js', 'parse', [deepest], env)), deepest);
  const refused = 'SyntaxError: JSON nests arrays and objects deeper than 1024 levels';
  assert.equal(js.call('/g.js', 'parse', ['[' + deepest + ']'], env), refused);
  // Far deeper than what overflows Node's stack inside QuickJS's parser.
  assert.equal(js.call('/g.js', 'parse', ['['.repeat(100_000)], env), refused);
  assert.equal(js.call('/g.js', 'parse', [`{"a": "${'['.repeat(5000)}"}`], env)?.toString(), '[object Object]');
  assert.deepEqual(js.call('/g.js', 'parseWithReviver', ['{"a": [1, 2]}'], env), { a: [2, 4] });
  assert.equal(js.call('/g.js', 'parseName', [], env), 'parse');
  js.dispose();
});

test('tcbHexToPolicy reads an SEV-SNP TCB version for the CPUID\'s product; bad input is a JS error', async () => {
  const js = await interpreterWith(GLOBALS_APP);
  const { env } = testCall();
  assert.deepEqual(js.call('/g.js', 'tcbHexToPolicy', ['00b00f11', '2a00000001020304'], env), { hexstring: '2a00000001020304', microcode: 42, snp: 1, tee: 2, boot_loader: 3, fmc: 4 });
  jsError(() => js.call('/g.js', 'tcbHexToPolicy', ['00a20f11', '2a00000001020304'], env), /Unsupported CPUID family 25 model 33/);
  jsError(() => js.call('/g.js', 'tcbHexToPolicy', ['00a00f11', 42], env), /TypeError: tcbHexToPolicy: the TCB version must be a string/);
});

test('pemToId is the SHA-256 of the certificate DER, as CCF identifies users and members', async () => {
  const js = await interpreterWith(GLOBALS_APP);
  const { env } = testCall();
  const pem = createSelfSignedCertificate({ subjectCn: 'user0', keyPair: generateKeyPair('P-256'), validFrom: new Date(TEST_UNTRUSTED_NOW_MS), validityDays: 1, isCa: false });
  assert.equal(js.call('/g.js', 'pemToId', [pem], env), certificateId(pem));
  jsError(() => js.call('/g.js', 'pemToId', ['not a pem'], env), /PEM/);
  js.dispose();
});

test('Date.now() is 0 until the app enables untrusted time, which then comes from the host', async () => {
  const js = await interpreterWith(GLOBALS_APP);
  const { env } = testCall();
  const result = js.call('/g.js', 'dates', [], env);
  assert.deepEqual(result, {
    before: [0, 0, 'string'],
    previous: false,
    after: [TEST_UNTRUSTED_NOW_MS, new Date(TEST_UNTRUSTED_NOW_MS).toISOString(), 0, true, 'Date'],
    again: true,
    later: 0,
  });
  js.dispose();
});

test('the untrusted time is the host clock at each read: it moves within a call, as CCF host time does (a handler may wait on it)', async () => {
  const js = await interpreterWith(GLOBALS_APP);
  const { env, host } = testCall();
  // A host clock that moves on every read, as the wall clock does during a request.
  host.untrustedNowMs = () => (host.untrustedNow += 7);
  const first = js.call('/g.js', 'dates', [], env) as { after: [number, string] };
  assert.equal(first.after[0], TEST_UNTRUSTED_NOW_MS + 7);
  assert.equal(first.after[1], new Date(TEST_UNTRUSTED_NOW_MS + 14).toISOString(), 'a second read in the call reads the clock again');
  const second = js.call('/g.js', 'dates', [], env) as { after: [number, string] };
  assert.equal(second.after[0], TEST_UNTRUSTED_NOW_MS + 21);
  js.dispose();
});

test('enableMetricsLogging returns the previous setting, on by default', async () => {
  const js = await interpreterWith(GLOBALS_APP);
  const { env } = testCall();
  assert.deepEqual(js.call('/g.js', 'metrics', [], env), [true, false]);
  assert.equal(js.metricsLoggingEnabled, true);
  js.dispose();
});

test('enableUntrustedDateTime and enableMetricsLogging take one boolean, as in CCF: a truthy value is a TypeError, and changes nothing', async () => {
  const js = await interpreterWith(GLOBALS_APP);
  const { env } = testCall();
  const first = 'TypeError: First argument must be a boolean';
  assert.deepEqual(js.call('/g.js', 'switchesTakeBooleans', [], env), [[first, 'TypeError: Passed 0 arguments, but expected 1', first, 'TypeError: Passed 2 arguments, but expected 1'], 0]);
  assert.equal(js.metricsLoggingEnabled, true);
  js.dispose();
});

test("console methods log through the host at their level, tagged [app] as CCF's app lines are", async () => {
  const js = await interpreterWith(GLOBALS_APP);
  const { env, host } = testCall();
  js.call('/g.js', 'logs', [], env);
  assert.deepEqual(host.logs.slice(0, 4), [
    { level: 'info', message: '[app] plain 1 {"a":[1,2]} null undefined' },
    { level: 'info', message: '[app] info' },
    { level: 'info', message: '[app] debug' },
    { level: 'warn', message: '[app] warn true' },
  ]);
  assert.equal(host.logs[4]?.level, 'error');
  assert.match(host.logs[4]?.message ?? '', /^\[app\] RangeError: broken\n\s+at logs \(\/g\.js/);
  js.dispose();
});

test('console lines of governance scripts (constitution, ballots) are tagged [gov]', async () => {
  const js = await JsInterpreter.create({ limits: TEST_LIMITS, globals: 'governance', modules: new Map([['/gov.js', 'export function ballot() { console.warn("voting", 1); }']]) });
  const { env, host } = testCall('governance-readonly');
  js.call('/gov.js', 'ballot', [], env);
  assert.deepEqual(host.logs, [{ level: 'warn', message: '[gov] voting 1' }]);
  js.dispose();
});

test('Math.random gives distinct numbers in [0, 1)', async () => {
  const js = await interpreterWith(GLOBALS_APP);
  const { env } = testCall();
  const values = js.call('/g.js', 'randoms', [200], env) as number[];
  assert.ok(values.every((v) => v >= 0 && v < 1));
  assert.equal(new Set(values).size, 200);
  js.dispose();
});

test('ccf.consensus reads the host consensus, or throws a clear error without one', async () => {
  const js = await interpreterWith(GLOBALS_APP);
  const { env, host } = testCall();
  jsError(() => js.call('/g.js', 'consensus', [2, 15], env), /ccf\.consensus is not available in this context/);
  const asked: TxId[] = [];
  host.consensus = {
    lastCommittedTxId: () => ({ view: 3, seqno: 42 }),
    statusForTxId: (txId) => {
      asked.push(txId);
      return 'Committed';
    },
    viewForSeqno: (seqno) => (seqno <= 42 ? 3 : null),
  };
  assert.deepEqual(js.call('/g.js', 'consensus', [2, 15], env), [{ view: 3, seqno: 42 }, 'Committed', 3, null]);
  assert.deepEqual(asked, [{ view: 2, seqno: 15 }]);
  js.dispose();
});

test('ccf.historical.getStateRange returns read-only states from the host, null while fetching', async () => {
  const js = await interpreterWith(GLOBALS_APP);
  const { env, host } = testCall();
  jsError(() => js.call('/g.js', 'historical', [], env), /ccf\.historical is not available in this context/);
  const states = [3, 4].map((seqno) => {
    const store = new Store();
    const tx = store.beginTransaction();
    tx.map('records').set(text('k'), text(`value at ${seqno}`));
    store.commit(tx, 1n);
    return { transactionId: { view: 2, seqno }, receipt: testReceipt(seqno), tx: store.beginTransaction() };
  });
  let ready = false;
  host.historical = { getStateRange: () => (ready ? states : null), dropCachedStates: (handle) => handle === 1 };
  assert.equal(js.call('/g.js', 'historical', [], env), null);
  ready = true;
  assert.deepEqual(js.call('/g.js', 'historical', [], env), [['2.3', testJsReceipt(3), 'value at 3'], ['2.4', testJsReceipt(4), 'value at 4'], true]);
  js.dispose();
});

test('a historical state converts its receipt and opens its kv only when the handler reads them', async () => {
  const js = await interpreterWith(GLOBALS_APP);
  const { env, host } = testCall();
  let receiptReads = 0;
  let txReads = 0;
  const store = new Store();
  const seed = store.beginTransaction();
  seed.map('records').set(text('k'), text('v'));
  store.commit(seed, 1n);
  const states = Array.from({ length: 512 }, (_, i) => ({
    transactionId: { view: 2, seqno: i + 1 },
    get receipt() {
      receiptReads++;
      return testReceipt(i);
    },
    get tx() {
      txReads++;
      return store.beginTransaction();
    },
  }));
  host.historical = { getStateRange: (_handle, start, end) => states.slice(start - 1, end), dropCachedStates: () => true };
  const ids = js.call('/g.js', 'historicalIds', [1, 512], env) as string[];
  assert.equal(ids.length, 512);
  assert.equal(ids[511], '2.512');
  assert.deepEqual([receiptReads, txReads], [0, 0], 'reading transactionId alone converts no receipt and opens no transaction');
  assert.deepEqual(js.call('/g.js', 'historicalFields', [1, 512, 5], env), [true, true, ['transactionId', 'receipt', 'kv'], 'v']);
  assert.deepEqual([receiptReads, txReads], [1, 1], 'only the state read is materialised, once');
  js.dispose();
});

test("ccf.historical and ccf.consensus read numbers as CCF does: truncated, wrapped to 64 bits, with CCF's errors", async () => {
  const js = await interpreterWith(GLOBALS_APP);
  const { env, host } = testCall();
  const asked: unknown[] = [];
  host.historical = {
    getStateRange: (...args) => (asked.push(['range', ...args]), null),
    dropCachedStates: (handle) => (asked.push(['drop', handle]), true),
  };
  host.consensus = {
    lastCommittedTxId: () => ({ view: 2, seqno: 30 }),
    statusForTxId: (txId) => (asked.push(['status', txId.view, txId.seqno]), 'Committed'),
    viewForSeqno: (seqno) => (asked.push(['view', seqno]), 2),
  };
  assert.deepEqual(js.call('/g.js', 'numberArgs', [], env), [
    null,
    null,
    null,
    'RangeError: Invalid handle or seqno or expiry: cannot be negative',
    'RangeError: Invalid handle or seqno or expiry: cannot be negative',
    'TypeError: Passed 3 arguments, but expected 4',
    'TypeError: cannot convert bigint to number',
    true,
    'RangeError: Invalid handle: cannot be negative',
    'Committed',
    'RangeError: Invalid view or seqno: cannot be negative',
    2,
    'RangeError: Invalid seqno: cannot be negative',
    'TypeError: Passed 1 arguments, but expected 0',
  ]);
  assert.deepEqual(asked, [
    ['range', 11, 27, 27, 60],
    ['range', 12, 3, 0, 0],
    ['range', 13, 4096, 0, 0],
    ['drop', 7],
    ['status', 2, 27],
    ['view', 27],
  ]);
  js.dispose();
});

test('getStateRange answers null, as CCF, for seqnos not committed or 0; other failures throw CCF\'s InternalError, seqnos this node does not hold a 404 if let through', async () => {
  const js = await interpreterWith(GLOBALS_APP);
  const { env, host } = testCall();
  const failures: Record<number, CocoError> = {
    8600: new CocoError('TransactionPendingOrUnknown', 'seqno 8600 is not committed yet (the last committed is 30)'),
    3: new CocoError('ResourceNotFound', "this node's ledger files do not hold 2.3 and the signature after it (it started from a snapshot after them)"),
    4: new CocoError('LedgerEntryMalformed', 'ledger_1-9.committed at seqno 4: it does not parse'),
    5: new CocoError('InvalidArgument', 'Invalid range for historical query: end 2 is before start 5'),
  };
  const asked: number[] = [];
  host.historical = {
    getStateRange: (_handle, start) => {
      asked.push(start);
      const failure = failures[start];
      if (failure !== undefined) throw failure;
      return null;
    },
    dropCachedStates: () => true,
  };
  assert.equal(js.call('/g.js', 'rangeOrError', [8600, 8610], env), null);
  assert.equal(js.call('/g.js', 'rangeOrError', [0, 2], env), null);
  // Where CCF answers null forever: the app is told to ask another node, and so is its caller when the app lets it through.
  const unheld = "Failed to get state range: this node's ledger files do not hold 2.3 and the signature after it (it started from a snapshot after them)";
  assert.equal(js.call('/g.js', 'rangeOrError', [3, 3], env), `InternalError: ${unheld}`);
  assert.throws(() => js.call('/g.js', 'range', [3, 3], env), { name: 'CocoError', code: 'ResourceNotFound', message: failures[3]!.message });
  assert.throws(() => js.call('/g.js', 'rangeThenThrow', [3, 3], env), { code: 'JsException', message: /the app failed otherwise/ });
  // CCF's InternalError, in its words, for whatever else the node's cache refuses.
  assert.equal(js.call('/g.js', 'rangeOrError', [4, 4], env), 'InternalError: Failed to get state range: ledger_1-9.committed at seqno 4: it does not parse');
  assert.equal(js.call('/g.js', 'rangeOrError', [5, 2], env), 'InternalError: Failed to get state range: Invalid range for historical query: end 2 is before start 5');
  assert.deepEqual(asked, [8600, 3, 3, 3, 4, 5], 'seqno 0 is not asked for');
  js.dispose();
});

test("snp_attestation.verifySnpAttestation verifies a report as CCF's does, with its errors as RangeErrors", async () => {
  const js = await interpreterWith(GLOBALS_APP);
  const { env, host } = testCall();
  host.untrustedNow = Date.UTC(2026, 5, 1);
  const fixture = (name: string): string => readFileSync(join(repoRoot, 'test', 'fixtures', 'snp', name), 'utf8');
  const report = fromHex(fixture('milan-report.hex'));
  const endorsements = text(fixture('milan-endorsements.pem'));
  const tcb = { boot_loader: 4, tee: 0, snp: 24, microcode: 219 };
  const verified = { version: 3, measurement: '5feee30d6d7e1a29f403d70a4198237ddfb13051a2d6976439487c609388ed7f98189887920ab2fa0096903a0c23fca1', reported_tcb: tcb, platform_info: { smt_en: 1, tsme_en: 0 }, plaform_info: { smt_en: 1, tsme_en: 0 }, chip: '4ffb5cb4', buffer: true };
  assert.deepEqual(js.call('/g.js', 'snp', [report, endorsements], env), verified);
  assert.deepEqual(js.call('/g.js', 'snp', [report, endorsements, null, '04000000000018db'], env), verified);
  assert.equal(js.call('/g.js', 'snp', [report, endorsements, null, '0000000000000000'], env), 'RangeError: SEV-SNP: endorsed TCB 0000000000000000 does not match reported TCB 04000000000018db');
  assert.equal(js.call('/g.js', 'snp', [report.subarray(0, 100), endorsements], env), 'RangeError: Input SEV-SNP attestation report is not of expected size 1184: 100');
  const tampered = report.slice();
  tampered[0x90] = report[0x90]! ^ 1;
  assert.equal(js.call('/g.js', 'snp', [tampered, endorsements], env), 'RangeError: SEV-SNP: Chip certificate (VCEK) did not sign this attestation');
  assert.match(js.call('/g.js', 'snp', [report, text('no certificates')], env) as string, /^RangeError: Expected 3 endorsement certificates but got 0/);
  // Confidential ACI's evidence with Microsoft's UVM endorsements (the Azure Privacy Sandbox KMS's sample).
  const aci = [fromHex(fixture('kms-report.hex')), text(fixture('kms-endorsements.pem')), fromBase64(fixture('kms-uvm-endorsements.cose.base64').replace(/\s/g, ''))];
  const uvm = { did: 'did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx_eT1RPHbCQ_ECBQfYZpt9s::eku:1.3.6.1.4.1.311.76.59.1.2', feed: 'ContainerPlat-AMD-UVM', svn: '100' };
  assert.deepEqual((js.call('/g.js', 'snp', [...aci, '0300000000000873'], env) as { uvm: unknown }).uvm, uvm);
  assert.match(js.call('/g.js', 'snp', [report, endorsements, aci[2]!], env) as string, /^RangeError: Launch measurement in UVM endorsements payload 02c3b0d5\w+ is not equal to UVM attestation measurement 5feee30d/);
  assert.match(js.call('/g.js', 'snp', [report, endorsements, text('uvm')], env) as string, /^RangeError: UVM endorsements are not a tagged COSE Sign1/);
  assert.equal(js.call('/g.js', 'snp', [report], env), 'TypeError: Passed 1 arguments, but expected between 2 and 4');
  assert.match(js.call('/g.js', 'snp', ['report', endorsements], env) as string, /^TypeError: verifySnpAttestation: the evidence must be an ArrayBuffer/);
  assert.match(js.call('/g.js', 'snp', [report, endorsements, null, 42], env) as string, /^TypeError: verifySnpAttestation: the endorsed TCB must be a string/);
  js.dispose();
});

test('unsupported host features throw instead of pretending to work', async () => {
  const js = await interpreterWith(GLOBALS_APP);
  const { env } = testCall();
  jsError(() => js.call('/g.js', 'subprocess', [], env), /ccf\.host\.triggerSubprocess is not supported by Coco/);
  jsError(() => js.call('/g.js', 'rpc', [], env), /ccf\.rpc\.setApplyWrites can only be used while an endpoint handles a request/);
  js.dispose();
});

test('the ccf global has CCF members, the crypto namespace and the deprecated aliases', async () => {
  const js = await interpreterWith(GLOBALS_APP);
  const { env } = testCall();
  assert.deepEqual(js.call('/g.js', 'surface', [], env), {
    ccf: [
      'bufToJsonCompatible', 'bufToStr', 'consensus', 'crypto', 'digest', 'enableMetricsLogging', 'enableUntrustedDateTime', 'generateAesKey',
      'generateEcdsaKeyPair', 'generateRsaKeyPair', 'historical', 'historicalState', 'host', 'isValidX509CertBundle', 'isValidX509CertChain',
      'jsonCompatibleToBuf', 'kv', 'pemToId', 'rpc', 'strToBuf', 'tcbHexToPolicy', 'wrapKey',
    ],
    crypto: [
      'digest', 'eddsaJwkToPem', 'eddsaPemToJwk', 'generateAesKey', 'generateEcdsaKeyPair', 'generateEddsaKeyPair', 'generateRsaKeyPair',
      'isValidX509CertBundle', 'isValidX509CertChain', 'isValidX509RootCACert', 'jwkToPem', 'pemToJwk', 'pubEddsaJwkToPem', 'pubEddsaPemToJwk', 'pubJwkToPem',
      'pubPemToJwk', 'pubRsaJwkToPem', 'pubRsaPemToJwk', 'rsaJwkToPem', 'rsaPemToJwk', 'sign', 'unwrapKey', 'verifySignature', 'wrapKey',
    ],
    aliases: true,
    dropAlias: true,
  });
  js.dispose();
});
