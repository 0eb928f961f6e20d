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
  assert.deepEqual(bundle.modules.map((m) => m.name), ['jwt.js', 'log.js']);
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
