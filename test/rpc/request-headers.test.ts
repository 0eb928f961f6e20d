// Request headers as CCF keeps them: names lower-cased, and of a header sent more than once, in any
// case, its first value. Over real TLS, a JS app's `request.headers` and the map the built-in
// endpoints and the authentication policies read hold the same first values; and what
// `Expect: 100-continue` gets (docs/node-config.md).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect } from 'node:tls';
import { encodeJson, readServiceInfo, SINGLETON, Tables } from '../../src/governance/builtin-tables.js';
import { bundleToKvWrites } from '../../src/js/app-bundle.js';
import { appRequestHandler } from '../../src/rpc/app-endpoints.js';
import { AppRuntime } from '../../src/rpc/app-runtime.js';
import { requestHeaders } from '../../src/rpc/request-headers.js';
import type { RpcServer } from '../../src/rpc/rpc-server.js';
import { createService, type ServiceIdentity } from '../client/tls-fixture.js';
import { bundleOf } from '../js/js-test-host.js';
import { startInProcessNode, type InProcessNode } from '../support/in-process-node.js';
import { testRpcServer } from './rpc-server-fixture.js';

test('of a header sent more than once, in any case, the first value is kept under the lower-case name', () => {
  const headers = requestHeaders(['X-Foo', 'first', 'x-foo', 'second', 'Accept', 'a', 'ACCEPT', 'b', 'x-foo', 'third', 'Host', 'h']);
  assert.deepEqual({ ...headers }, { 'x-foo': 'first', accept: 'a', host: 'h' });
});

test('a header may be called __proto__ or constructor', () => {
  const headers = requestHeaders(['__proto__', 'p', 'Constructor', 'c', 'constructor', 'd']);
  assert.deepEqual(Object.entries(headers), [
    ['__proto__', 'p'],
    ['constructor', 'c'],
  ]);
});

let inProcess: InProcessNode;
let runtime: AppRuntime;
let service: ServiceIdentity;
let server: RpcServer;
let port: number;

before(async () => {
  inProcess = startInProcessNode();
  const { node } = inProcess;
  const app = bundleOf({ 'app.js': 'export function get(request) { return { body: request.headers }; }' }, { '/echo': { get: { mode: 'readonly' } } });
  node.execute((tx) => {
    for (const write of bundleToKvWrites(app)) tx.map(write.map).set(write.key, write.value);
    tx.map(Tables.serviceInfo).set(SINGLETON, encodeJson({ ...readServiceInfo(tx), status: 'Open' }));
    return { result: undefined, applyWrites: true };
  });
  runtime = new AppRuntime();
  const host = { monotonicMs: () => performance.now(), untrustedNowMs: () => Date.now(), log: () => undefined };
  const appFallback = appRequestHandler(node, runtime, host, () => Math.floor(Date.now() / 1000), { primaryUrl: () => undefined, backupUrl: () => undefined });
  service = await createService();
  ({ server } = testRpcServer(service, { currentTxId: () => node.lastTxId, appFallback }));
  server.add('node', 'GET', '/headers', (request) => ({ body: { ...request.headers } }));
  server.add('node', 'POST', '/body', (request) => ({ body: new TextDecoder().decode(request.body) }));
  ({ port } = await server.listen('127.0.0.1', 0));
});

after(async () => {
  await server?.close();
  runtime?.dispose();
  await inProcess?.close();
});

/** The JSON body of the answer to `head` (request line and headers, CRLF-separated, without the blank line). */
async function answerTo(head: string): Promise<Record<string, string>> {
  const socket = connect({ host: '127.0.0.1', port, ca: service.certPem });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.write(`${head}\r\nConnection: close\r\n\r\n`);
  await new Promise((resolve, reject) => socket.on('close', resolve).on('error', reject));
  const answer = Buffer.concat(chunks).toString('latin1');
  assert.match(answer, /^HTTP\/1\.1 200 /, answer);
  return JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, string>;
}

const REPEATED = [
  'X-Foo-Bar: first',
  'x-foo-bar: second',
  'Accept: application/json',
  'accept: text/html',
  'Authorization: Bearer first',
  'AUTHORIZATION: Bearer second',
  'X-Ms-Ccf-Transaction-Id: 2.1',
  'x-ms-ccf-transaction-id: 2.2',
].join('\r\n');

test("a JS app sees the first value of a repeated header, as CCF's apps do, the same the built-ins and the authentication policies read", { timeout: 30_000 }, async () => {
  const app = await answerTo(`GET /app/echo HTTP/1.1\r\nHost: node\r\n${REPEATED}`);
  const builtin = await answerTo(`GET /node/headers HTTP/1.1\r\nHost: node\r\n${REPEATED}`);
  for (const headers of [app, builtin]) {
    assert.equal(headers['x-foo-bar'], 'first');
    assert.equal(headers.accept, 'application/json');
    assert.equal(headers.authorization, 'Bearer first');
    assert.equal(headers['x-ms-ccf-transaction-id'], '2.1');
  }
  assert.deepEqual(app, builtin);
});

test('Expect: 100-continue gets an interim 100 Continue before the body is sent, then the answer', { timeout: 30_000 }, async () => {
  const socket = connect({ host: '127.0.0.1', port, ca: service.certPem });
  const closed = new Promise((resolve, reject) => socket.on('close', resolve).on('error', reject));
  const interim = new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))));
  socket.write('POST /node/body HTTP/1.1\r\nHost: node\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n');
  assert.equal(await interim, 'HTTP/1.1 100 Continue\r\n\r\n');
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
  socket.write('hi');
  await closed;
  assert.match(answer, /^HTTP\/1\.1 200 [^]*\r\n\r\nhi$/);
});
