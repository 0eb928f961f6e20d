// Requests to the JS application on a node in this process, through appRequestHandler: what a
// historical endpoint answers while the transaction it names is read back, then once it is; what
// any endpoint answers while the app has no usable interpreter; unknown paths, other methods and OPTIONS.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { fromUtf8, utf8 } from '../../src/crypto/bytes.js';
import { CocoError } from '../../src/errors.js';
import { encodeJson, readServiceInfo, SINGLETON, Tables } from '../../src/governance/builtin-tables.js';
import { bundleToKvWrites, type AppBundle } from '../../src/js/app-bundle.js';
import type { JsHost } from '../../src/js/js-host.js';
import { formatTxId } from '../../src/ledger/tx-id.js';
import type { Node } from '../../src/node/node.js';
import { appRequestHandler } from '../../src/rpc/app-endpoints.js';
import { AppRuntime } from '../../src/rpc/app-runtime.js';
import { asRpcError } from '../../src/rpc/rpc-error.js';
import type { RpcHandler, RpcRequest } from '../../src/rpc/rpc-server.js';
import { bundleOf } from '../js/js-test-host.js';
import { LOG_LINE_PREFIX, logLine } from '../../src/node/buffered-log.js';
import { startInProcessNode } from '../support/in-process-node.js';

const APP = bundleOf(
  { 'app.js': 'export function get() { return { body: ccf.bufToStr(ccf.historicalState.kv["records"].get(ccf.strToBuf("k"))) }; }' },
  { '/historical': { get: { mode: 'historical' } } },
);

function request(headers: Record<string, string>, method = 'GET', path = '/historical'): RpcRequest {
  return { frontend: 'app', method, path, pathname: `/app${path}`, params: {}, query: new URLSearchParams(), rawQuery: '', headers, body: new Uint8Array(0), clientCert: undefined, matched: () => undefined, session: { sentToPrimary: false } };
}

/** An open service on a node in this process with `bundle` as its app, and its app request handler. */
function openService(t: TestContext, bundle: AppBundle, log: JsHost['log'] = () => undefined): { node: Node; runtime: AppRuntime; handler: RpcHandler } {
  const instance = startInProcessNode();
  const runtime = new AppRuntime();
  t.after(async () => {
    runtime.dispose();
    await instance.close();
  });
  const { node } = instance;
  node.execute((tx) => {
    for (const write of bundleToKvWrites(bundle)) tx.map(write.map).set(write.key, write.value);
    tx.map(Tables.serviceInfo).set(SINGLETON, encodeJson({ ...readServiceInfo(tx), status: 'Open' }));
    return { result: undefined, applyWrites: true };
  });
  const host: JsHost = { monotonicMs: () => performance.now(), untrustedNowMs: () => Date.now(), log };
  const handler = appRequestHandler(node, runtime, host, () => Math.floor(Date.now() / 1000), { primaryUrl: () => undefined, backupUrl: () => undefined });
  return { node, runtime, handler };
}

test('a historical endpoint answers as CCF while its transaction is read back: 202, Retry-After: 3, which transaction in text', async (t) => {
  const { node, handler } = openService(t, APP);
  const written = node.execute((tx) => {
    tx.map('records').set(utf8('k'), utf8('then'));
    return { result: undefined, applyWrites: true };
  }).txId!;
  await node.waitForCommit(written.seqno);
  const headers = { 'x-ms-ccf-transaction-id': formatTxId(written) };

  const first = await handler(request(headers));
  assert.equal(first.status, 202);
  assert.deepEqual(first.headers, { 'retry-after': '3' });
  // A string body: sent as text/plain, as CCF's.
  assert.equal(first.body, `Historical transaction ${formatTxId(written)} is not currently available.`);

  await node.historical.settled(written);
  const answer = await handler(request(headers));
  assert.equal(answer.status ?? 200, 200);
  assert.equal(fromUtf8(answer.body as Uint8Array), 'then');
});

test("a historical endpoint refuses, in CCF's words, a request without the transaction header and a transaction not committed", async (t) => {
  const { node, handler } = openService(t, APP);
  const refusal = async (headers: Record<string, string>) => {
    try {
      await handler(request(headers));
    } catch (error) {
      const { status, code, message, headers: extra } = asRpcError(error);
      return { status, code, message, headers: extra };
    }
    assert.fail('expected a refusal');
  };
  assert.deepEqual(await refusal({}), { status: 400, code: 'MissingRequiredHeader', message: "Historical query is missing 'x-ms-ccf-transaction-id' header.", headers: {} });
  const view = node.role.view;
  assert.deepEqual(await refusal({ 'x-ms-ccf-transaction-id': `${view}.99999` }), {
    status: 404,
    code: 'TransactionPendingOrUnknown',
    message: `Only committed transactions can be queried. Transaction ${view}.99999 is Unknown`,
    headers: { 'cache-control': 'no-cache' },
  });
  assert.deepEqual(await refusal({ 'x-ms-ccf-transaction-id': '1.1' }), { status: 404, code: 'TransactionInvalid', message: 'Only committed transactions can be queried. Transaction 1.1 is Invalid', headers: {} });
  // CCF reads any two unsigned 64-bit numbers, then refuses what no transaction has; only text that is no TxID is 400.
  assert.deepEqual(await refusal({ 'x-ms-ccf-transaction-id': '0.1' }), { status: 404, code: 'TransactionInvalid', message: 'Only committed transactions can be queried. Transaction 0.1 is Invalid', headers: {} });
  assert.equal((await refusal({ 'x-ms-ccf-transaction-id': `${view}.0000000000000000099999` })).code, 'TransactionPendingOrUnknown');
  // Past 2^53 the transaction is named as written, not as a double rounds it (QA).
  assert.equal((await refusal({ 'x-ms-ccf-transaction-id': '1.18446744073709551615' })).message, 'Only committed transactions can be queried. Transaction 1.18446744073709551615 is Invalid');
  assert.equal((await refusal({ 'x-ms-ccf-transaction-id': `${view}.9007199254740993` })).message, `Only committed transactions can be queried. Transaction ${view}.9007199254740993 is Unknown`);
  for (const text of ['a.b', '2.', '2.18446744073709551616']) {
    assert.deepEqual(await refusal({ 'x-ms-ccf-transaction-id': text }), { status: 400, code: 'InvalidHeaderValue', message: `The value '${text}' in header 'x-ms-ccf-transaction-id' could not be converted to a valid Tx ID.`, headers: {} });
  }
});

test('while every interpreter of the app is being replaced, a request is answered 503 with Retry-After, not as a handler failure', async (t) => {
  const { node, runtime, handler } = openService(t, bundleOf({ 'app.js': 'export function get() { return { body: "served" }; }' }, { '/historical': { get: {} } }));
  const app = await runtime.appFor(node.execute((tx) => ({ result: runtime.settingsFor(tx), applyWrites: false })).result);
  // What JsApp throws when no interpreter is usable (their replacements are still being created).
  const invoke = app.invoke.bind(app);
  app.invoke = () => {
    throw new CocoError('JsUnavailable', 'every interpreter of the app failed and is being replaced: retry in a second');
  };
  await assert.rejects(async () => handler(request({})), (error: unknown) => {
    const answer = asRpcError(error);
    assert.equal(answer.status, 503);
    assert.equal(answer.code, 'JsUnavailable');
    assert.deepEqual(answer.headers, { 'retry-after': '1' });
    assert.match(answer.message, /being replaced: retry in a second$/);
    return true;
  });
  app.invoke = invoke;
  const served = await handler(request({}));
  assert.equal(fromUtf8(served.body as Uint8Array), 'served');
});

test("as the built-in routes, an app path answers OPTIONS 204 and other methods 405 with Allow 'OPTIONS, GET'; an unknown one 'Unknown path: P.'", async (t) => {
  const { handler } = openService(t, APP);
  const options = await handler(request({}, 'OPTIONS'));
  assert.deepEqual([options.status, options.headers, options.txId], [204, { allow: 'OPTIONS, GET' }, null]);
  await assert.rejects(async () => handler(request({}, 'DELETE')), (error: unknown) => {
    const answer = asRpcError(error);
    assert.deepEqual([answer.status, answer.code, answer.headers], [405, 'UnsupportedHttpVerb', { allow: 'OPTIONS, GET' }]);
    assert.equal(answer.message, "Allowed methods for '/app/historical' are: OPTIONS, GET.");
    return true;
  });
  await assert.rejects(async () => handler(request({}, 'GET', '/nope')), (error: unknown) => asRpcError(error).message === 'Unknown path: /app/nope.');
});

test("a promise rejection the handler left unhandled is logged with its reason once governance sets log_exception_details, as the app's exceptions are", async (t) => {
  const bundle = bundleOf({ 'app.js': 'export function post() { Promise.resolve().then(() => { throw new TypeError("lost in a job"); }); return { body: "answered" }; }' }, { '/lost': { post: {} } });
  const logged: string[] = [];
  const { node, handler } = openService(t, bundle, (_level, line) => void logged.push(line));
  const lostLines = async () => {
    logged.length = 0;
    assert.equal(fromUtf8((await handler(request({}, 'POST', '/lost'))).body as Uint8Array), 'answered');
    return logged.filter((line) => line.includes('unhandled promise rejection'));
  };
  assert.deepEqual(await lostLines(), ['[js] POST /app/lost: unhandled promise rejection, the promise chain stopped there (log_exception_details logs its reason)']);
  node.execute((tx) => {
    tx.map(Tables.jsRuntimeOptions).set(SINGLETON, encodeJson({ log_exception_details: true }));
    return { result: undefined, applyWrites: true };
  });
  const [detailed, ...rest] = await lostLines();
  assert.match(detailed ?? '', /^\[js\] POST \/app\/lost: unhandled promise rejection, the promise chain stopped there: TypeError: lost in a job/);
  assert.deepEqual(rest, []);
});

test("an app's console line is one line of the node's log, tagged [app], its newlines and terminal escapes written as escapes", async (t) => {
  const forged = 'x\n2026-01-01T00:00:00.000Z [error] coco node 0ce6ccbb4559: stopped\r\u001b[2K';
  const bundle = bundleOf({ 'app.js': 'export function post(request) { console.log("secret is", request.body.text()); return { body: "logged" }; }' }, { '/chatty': { post: {} } });
  const written: string[] = [];
  t.mock.method(console, 'log', (line: string) => void written.push(line));
  const { handler } = openService(t, bundle, logLine);
  await handler({ ...request({}, 'POST', '/chatty'), body: utf8(forged) });
  const lines = written.join('\n').split('\n');
  assert.ok(lines.every((line) => LOG_LINE_PREFIX.test(line) && !/[\r\u001b]/.test(line)), lines.join('\n'));
  const appLines = lines.filter((line) => line.includes('[app]'));
  assert.equal(appLines.length, 1, lines.join('\n'));
  assert.ok(appLines[0]!.endsWith('[info ] [app] secret is x\\n2026-01-01T00:00:00.000Z [error] coco node 0ce6ccbb4559: stopped\\r\\x1b[2K'), appLines[0]);
});

test('a handler stopped at its time limit is logged at info, naming the endpoint, the time it ran and the limit, without log_exception_details', { timeout: 30_000 }, async (t) => {
  const bundle = bundleOf({ 'app.js': 'export function get() { for (;;) {} }' }, { '/loop': { get: {} } });
  const logged: { level: string; line: string }[] = [];
  const { node, handler } = openService(t, bundle, (level, line) => void logged.push({ level, line }));
  node.execute((tx) => {
    tx.map(Tables.jsRuntimeOptions).set(SINGLETON, encodeJson({ max_execution_time_ms: 100 }));
    return { result: undefined, applyWrites: true };
  });
  await assert.rejects(async () => handler(request({}, 'GET', '/loop')), (error: unknown) => asRpcError(error).status === 500);
  assert.equal(logged.length, 1, JSON.stringify(logged));
  assert.equal(logged[0]!.level, 'info');
  const [, elapsedMs] = /^\[js\] GET \/app\/loop: JS execution has timed out after (\d+)ms \(max is 100ms\)$/.exec(logged[0]!.line) ?? assert.fail(logged[0]!.line);
  assert.ok(Number(elapsedMs) >= 100, logged[0]!.line);
});
