import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAppBundle } from '../../src/js/app-bundle.js';
import type { AppResponse } from '../../src/js/app-dispatch.js';
import type { AppRequest } from '../../src/js/app-request.js';
import { JsApp } from '../../src/js/js-app.js';
import { Store } from '../../src/kv/store.js';
import type { WriteSet } from '../../src/kv/write-set.js';
import { repoRoot } from '../support/paths.js';
import type { HistoricalStateInput } from '../../src/js/js-host.js';
import { appRequest, decodeText, storeWithApp, TestHost, testReceipt, text } from './js-test-host.js';

// Build the sample with its own build script, into a directory of this test.
const outDir = mkdtempSync(join(tmpdir(), 'coco-logging-'));
const build = spawnSync(process.execPath, [join(repoRoot, 'samples', 'logging', 'build.mjs'), outDir], { encoding: 'utf8', timeout: 60_000 });
assert.equal(build.status, 0, `the build failed: ${build.stderr}`);
const bundle = parseAppBundle(JSON.parse(readFileSync(join(outDir, 'bundle.json'), 'utf8')));
rmSync(outDir, { recursive: true, force: true });

const store = storeWithApp(bundle);
const writeSets: WriteSet[] = [];
const app = await JsApp.create();
const host = new TestHost();
const user = { policy: 'user_cert', id: 'a1'.repeat(32), data: null, cert: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' };
test.after(() => app.dispose());

/** Runs a request in its own transaction and commits it when the response says so. */
function call(method: string, path: string, options: Partial<AppRequest> = {}): { status: number; body: unknown } {
  const tx = store.beginTransaction();
  const response: AppResponse = app.invoke('v1', appRequest(method, `/app${path}`, { caller: user, hostname: 'localhost', ...options }), tx, host);
  if (response.applyWrites) writeSets.push(store.commit(tx, store.version + 1n));
  else tx.abort();
  const body = response.body === undefined || response.body.length === 0 ? undefined : JSON.parse(decodeText(response.body));
  return { status: response.statusCode, body };
}

const post = (kind: string, entry: unknown) => call('POST', `/log/${kind}`, { body: text(JSON.stringify(entry)), headers: { 'content-type': 'application/json' } });

test('the build script bundles every module app.json names, with no imports left', () => {
  assert.deepEqual(bundle.modules.map((m) => m.name), ['jwt.js', 'log.js', 'range.js']);
  for (const { module } of bundle.modules) {
    assert.doesNotMatch(module, /^\s*import\s/m);
    assert.doesNotMatch(module, /require\(/);
  }
  assert.equal(bundle.metadata.endpoints['/log/private/historical']?.get?.mode, 'historical');
  assert.deepEqual(bundle.metadata.endpoints['/jwt']?.get?.authn_policies, ['jwt']);
});

test('every endpoint shares the interpreter_reuse key "logging": the app keeps no state between requests, so it may skip a fresh interpreter per request', () => {
  for (const [url, methods] of Object.entries(bundle.metadata.endpoints)) {
    for (const [method, info] of Object.entries(methods)) assert.deepEqual(info.interpreter_reuse, { key: 'logging' }, `${method} ${url}`);
  }
});

test('private and public messages are posted, read back and land in their own domain', () => {
  assert.deepEqual(post('private', { id: 1, msg: 'secret hello' }), { status: 200, body: true });
  const privateWrite = writeSets.at(-1);
  assert.deepEqual(post('public', { id: 1, msg: 'public hello' }), { status: 200, body: true });
  const publicWrite = writeSets.at(-1);
  assert.deepEqual(call('GET', '/log/private', { query: 'id=1' }), { status: 200, body: { msg: 'secret hello' } });
  assert.deepEqual(call('GET', '/log/public', { query: 'id=1' }), { status: 200, body: { msg: 'public hello' } });
  assert.deepEqual(privateWrite?.private.map((m) => m.name), ['records']);
  assert.deepEqual(privateWrite?.public, []);
  assert.deepEqual(publicWrite?.public.map((m) => m.name), ['public:records']);
  assert.equal(decodeText(publicWrite?.public[0]?.writes[0]?.value ?? new Uint8Array()), 'public hello');
});

test('count, overwrite and delete behave as in CCF', () => {
  post('private', { id: 2, msg: 'two' });
  post('private', { id: 2, msg: 'two again' });
  assert.deepEqual(call('GET', '/log/private', { query: 'id=2' }).body, { msg: 'two again' });
  const count = call('GET', '/log/private/count');
  assert.equal(count.status, 200);
  assert.equal(count.body, 2);
  assert.deepEqual(call('DELETE', '/log/private', { query: 'id=2' }), { status: 200, body: true });
  assert.equal(call('GET', '/log/private', { query: 'id=2' }).status, 404);
  assert.equal(call('GET', '/log/private/count').body, 1);
  assert.deepEqual(call('DELETE', '/log/public', { query: 'id=1' }), { status: 200, body: true });
  assert.equal(call('GET', '/log/public', { query: 'id=1' }).status, 404);
});

test('an absent record is a 404 in CCF error shape', () => {
  assert.deepEqual(call('GET', '/log/private', { query: 'id=404' }), {
    status: 404,
    body: { error: { code: 'ResourceNotFound', message: 'No such record: 404.' } },
  });
});

test('bad input is refused with 400 and a message, and writes nothing', () => {
  const versionBefore = store.version;
  const bad: [string, string][] = [
    ['{not json', 'InvalidInput'],
    ['[1, 2]', 'InvalidInput'],
    ['"text"', 'InvalidInput'],
    ['{"msg": "no id"}', 'InvalidInput'],
    ['{"id": "1", "msg": "id as string"}', 'InvalidInput'],
    ['{"id": -1, "msg": "negative"}', 'InvalidInput'],
    ['{"id": 1.5, "msg": "fraction"}', 'InvalidInput'],
    ['{"id": 4294967296, "msg": "too large"}', 'InvalidInput'],
    ['{"id": 3, "msg": 7}', 'InvalidInput'],
    // Deeper than QuickJS's parser can take on Node's stack: refused as bad JSON, not a crash.
    ['['.repeat(100_000), 'InvalidInput'],
  ];
  for (const [body, code] of bad) {
    const response = call('POST', '/log/private', { body: text(body) });
    assert.equal(response.status, 400, body);
    const error = (response.body as { error: { code: string; message: string } }).error;
    assert.equal(error.code, code, body);
    assert.ok(error.message.length > 0);
  }
  for (const query of ['', 'id=', 'id=abc', 'id=-3', 'id=1e3', 'other=1']) {
    const response = call('GET', '/log/private', { query });
    assert.equal(response.status, 400, query);
    assert.equal((response.body as { error: { code: string } }).error.code, 'InvalidQueryParameterValue');
  }
  assert.equal(store.version, versionBefore, 'nothing was committed');
});

test('the historical endpoint reads the private record as of the requested transaction', () => {
  post('private', { id: 50, msg: 'first version' });
  const seqno = Number(store.version);
  post('private', { id: 50, msg: 'second version' });
  // The state as of `seqno`: the write sets up to it replayed into a store of their own (seqno 1
  // installed the app, which the historical read does not need).
  const historical = new Store();
  historical.applyWriteSet({ public: [], private: [] }, 1n);
  for (const [i, writeSet] of writeSets.entries()) {
    const version = BigInt(i + 2);
    if (version > BigInt(seqno)) break;
    historical.applyWriteSet(writeSet, version);
  }
  const historicalState = { transactionId: { view: 2, seqno }, receipt: testReceipt(1), tx: historical.beginTransaction() };
  const tx = store.beginTransaction();
  const response = app.invoke('v1', appRequest('GET', '/app/log/private/historical', { query: 'id=50', caller: user }), tx, host, { historicalState });
  assert.equal(response.statusCode, 200);
  assert.ok(response.body !== undefined);
  assert.deepEqual(JSON.parse(decodeText(response.body)), { msg: 'first version' });
  assert.deepEqual(call('GET', '/log/private', { query: 'id=50' }).body, { msg: 'second version' });
});

/** Seqnos of one page of the range endpoints (the sample's RANGE_PAGE_SEQNOS, CCF's sample's). */
const RANGE_PAGE_SEQNOS = 500;

/**
 * The node's part in range requests, over this test's store: consensus with every seqno up to
 * `committed` committed and the later ones pending, and historical states rebuilt from the write
 * sets, each range loaded when asked for a second time (null the first, as the node answers while
 * it reads them back). `asked` lists the calls.
 */
function rangeHost(committed: number) {
  const host = new TestHost();
  const asked: string[] = [];
  const loaded = new Set<number>();
  const lastSeqno = () => Number(store.version);
  host.consensus = {
    lastCommittedTxId: () => ({ view: 2, seqno: committed }),
    statusForTxId: ({ seqno }) => (seqno <= committed ? 'Committed' : seqno <= lastSeqno() ? 'Pending' : 'Unknown'),
    viewForSeqno: (seqno) => (seqno >= 1 && seqno <= lastSeqno() ? 2 : null),
  };
  const stateAt = (seqno: number): HistoricalStateInput => {
    const state = new Store(BigInt(seqno - 1));
    // Seqno 1 installed the app; the write sets of the requests follow it.
    state.applyWriteSet(writeSets[seqno - 2] ?? { public: [], private: [] }, BigInt(seqno));
    return { transactionId: { view: 2, seqno }, receipt: testReceipt(1), tx: state.beginTransaction() };
  };
  host.historical = {
    getStateRange: (handle, start, end) => {
      asked.push(`range ${start}..${end}`);
      if (!loaded.has(handle)) {
        loaded.add(handle);
        return null;
      }
      return Array.from({ length: end - start + 1 }, (_, i) => stateAt(start + i));
    },
    dropCachedStates: (handle) => {
      asked.push('drop');
      return loaded.delete(handle);
    },
  };
  return { host, asked };
}

/** A range request, its body as the response's content type has it. */
function rangeCall(host: TestHost, kind: string, query: string) {
  const response = app.invoke('v1', appRequest('GET', `/app/log/${kind}/historical/range`, { query, caller: user }), store.beginTransaction(), host);
  const body = response.body === undefined ? '' : decodeText(response.body);
  return { status: response.statusCode, headers: response.headers, body: response.headers['content-type'] === 'application/json' ? (JSON.parse(body) as unknown) : body };
}

test("the historical range endpoints answer as CCF's logging sample: one record's writes, from seqno 1 to its last write unless told, 202 while the node reads them", () => {
  const first = post('private', { id: 70, msg: 'a' });
  assert.equal(first.status, 200);
  const a = Number(store.version);
  post('private', { id: 71, msg: 'another record' });
  post('public', { id: 70, msg: 'public' });
  post('private', { id: 70, msg: 'b' });
  const b = Number(store.version);
  post('private', { id: 71, msg: 'after' });
  const { host, asked } = rangeHost(Number(store.version));

  const loading = rangeCall(host, 'private', 'id=70');
  assert.equal(loading.status, 202);
  assert.equal(loading.headers['retry-after'], '1');
  assert.equal(loading.body, `Historical transactions from 1 to ${b} are not yet available, fetching now`);
  const page = rangeCall(host, 'private', 'id=70');
  assert.equal(page.status, 200);
  assert.deepEqual(page.body, { entries: [{ seqno: a, id: 70, msg: 'a' }, { seqno: b, id: 70, msg: 'b' }] }, 'no @nextLink: the range fits one page');
  assert.deepEqual(asked, [`range 1..${b}`, `range 1..${b}`, 'drop'], 'the states are dropped once answered');

  // Bounds as given, and the public map through the public twin.
  rangeCall(host, 'private', `id=70&from_seqno=${a + 1}&to_seqno=${b - 1}`);
  assert.deepEqual(rangeCall(host, 'private', `id=70&from_seqno=${a + 1}&to_seqno=${b - 1}`).body, { entries: [] });
  rangeCall(host, 'public', 'id=70');
  assert.deepEqual(rangeCall(host, 'public', 'id=70').body, { entries: [{ seqno: b - 1, id: 70, msg: 'public' }] });
  // A record never written: every committed seqno, none of which wrote it.
  rangeCall(host, 'private', 'id=79');
  assert.deepEqual(rangeCall(host, 'private', 'id=79').body, { entries: [] });
});

test('a range longer than a page is answered a page at a time, each naming the rest in @nextLink and loading the next page', () => {
  const from = Number(store.version) + 1;
  for (let i = 0; i < RANGE_PAGE_SEQNOS + 20; i++) post('private', { id: 80, msg: `m${i}` });
  const to = Number(store.version);
  const { host, asked } = rangeHost(to);
  const entries: unknown[] = [];
  let query = `id=80&from_seqno=${from}`;
  const links: string[] = [];
  const statuses: number[] = [];
  for (;;) {
    let response = rangeCall(host, 'private', query);
    statuses.push(response.status);
    if (response.status === 202) response = rangeCall(host, 'private', query);
    const page = response.body as { entries: { msg: string }[]; '@nextLink'?: string };
    entries.push(...page.entries);
    if (page['@nextLink'] === undefined) break;
    links.push(page['@nextLink']);
    query = page['@nextLink'].split('?')[1]!;
  }
  const firstEnd = from + RANGE_PAGE_SEQNOS - 1;
  assert.deepEqual(links, [`/app/log/private/historical/range?from_seqno=${firstEnd + 1}&to_seqno=${to}&id=80`]);
  assert.equal(entries.length, RANGE_PAGE_SEQNOS + 20);
  assert.deepEqual(entries.at(-1), { seqno: to, id: 80, msg: `m${RANGE_PAGE_SEQNOS + 19}` });
  // Each page spans RANGE_PAGE_SEQNOS seqnos, its ends included; answering one starts loading the
  // next, which the link then finds (here at once: this host loads a range when asked twice).
  assert.deepEqual(asked, [`range ${from}..${firstEnd}`, `range ${from}..${firstEnd}`, `range ${firstEnd + 1}..${to}`, 'drop', `range ${firstEnd + 1}..${to}`, 'drop']);
  assert.deepEqual(statuses, [202, 200]);
});

test('a range ending at a seqno this node has not committed is retried while pending, and refused in CCF\'s words when unknown', () => {
  post('private', { id: 90, msg: 'committed' });
  const committed = Number(store.version);
  post('private', { id: 90, msg: 'pending' });
  const pending = Number(store.version);
  // A lagging backup's view: it holds the last write but has not committed it yet.
  const { host, asked } = rangeHost(committed);
  const waiting = rangeCall(host, 'private', 'id=90');
  assert.equal(waiting.status, 202, 'the default end is the last write, pending here');
  assert.equal(waiting.headers['retry-after'], '1');
  assert.equal(waiting.body, `Transaction 2.${pending} is not committed on this node yet; ask again shortly`);
  const unknown = rangeCall(host, 'private', `id=90&to_seqno=${pending + 10}`);
  assert.equal(unknown.status, 404);
  assert.deepEqual(unknown.body, {
    error: { code: 'TransactionPendingOrUnknown', message: `Only committed transactions can be queried. Transaction at seqno ${pending + 10} is Unknown (this node has committed up to seqno ${committed})` },
  });
  assert.deepEqual(asked, [], 'no state is asked for');
  rangeCall(host, 'private', `id=90&to_seqno=${committed}`);
  assert.equal(rangeCall(host, 'private', `id=90&to_seqno=${committed}`).status, 200, 'up to the commit: served');
});

test('a range request without an id, with a seqno that is none, or reversed, is refused with 400 and says which', () => {
  const { host, asked } = rangeHost(Number(store.version));
  const refusals: [string, string, RegExp][] = [
    ['', 'InvalidQueryParameterValue', /^query parameter id must be an integer from 0 to 4294967295$/],
    ['from_seqno=1&to_seqno=2', 'InvalidQueryParameterValue', /^query parameter id/],
    ['id=1&from_seqno=abc', 'InvalidQueryParameterValue', /^query parameter from_seqno must be a seqno \(an integer from 1\), got "abc"$/],
    ['id=1&from_seqno=0', 'InvalidQueryParameterValue', /from_seqno must be a seqno/],
    ['id=1&to_seqno=-2', 'InvalidQueryParameterValue', /to_seqno must be a seqno/],
    ['id=1&from_seqno=5&to_seqno=3', 'InvalidInput', /^Invalid range: Starts at 5 but ends at 3$/],
  ];
  for (const [query, code, message] of refusals) {
    const response = rangeCall(host, 'private', query);
    assert.equal(response.status, 400, query);
    const { error } = response.body as { error: { code: string; message: string } };
    assert.equal(error.code, code, query);
    assert.match(error.message, message, query);
  }
  assert.deepEqual(asked, []);
});

test('GET /jwt returns the payload claims of the caller token, and refuses other callers', () => {
  const payload = { sub: 'alice', iss: 'https://issuer.example', exp: 2000000000, roles: ['reader'] };
  const jwt = { policy: 'jwt', jwt: { keyIssuer: 'https://issuer.example', header: { alg: 'RS256', kid: 'k1' }, payload } };
  assert.deepEqual(call('GET', '/jwt', { caller: jwt }), { status: 200, body: payload });
  assert.equal(call('GET', '/jwt').status, 401);
});

test('10,000 sequential requests leave the interpreter heap where it was', () => {
  const measure = () => app.memoryUsage().reduce((sum, usage) => ({ heapBytes: sum.heapBytes + usage.heapBytes, allocations: sum.allocations + usage.allocations }), { heapBytes: 0, allocations: 0 });
  for (let i = 0; i < 200; i++) post('private', { id: 1000 + (i % 100), msg: `warm up ${i}` });
  const before = measure();
  for (let i = 0; i < 10_000; i++) {
    const id = 1000 + (i % 100);
    if (i % 2 === 0) assert.equal(post('private', { id, msg: `message ${i}` }).status, 200);
    else assert.equal(call('GET', '/log/private', { query: `id=${id}` }).status, 200);
  }
  const after = measure();
  assert.ok(after.heapBytes - before.heapBytes < 64 * 1024, `heap grew from ${before.heapBytes} to ${after.heapBytes} bytes`);
  assert.ok(after.allocations - before.allocations < 100, `live allocations grew from ${before.allocations} to ${after.allocations}`);
});
