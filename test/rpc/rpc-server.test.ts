// The HTTPS frontend on its own: answers written once per loop turn still reach the right client
// and the right request (pipelined ones in order), carry the TxID of the moment they were
// answered, and a response Node cannot write as HTTP becomes a 500 instead of stopping the node.
// Session caps and the error counters of `/node/metrics`, over real TLS connections.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect as netConnect, type Socket } from 'node:net';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { CocoError } from '../../src/errors.js';
import { CocoClient } from '../../src/client/coco-client.js';
import type { TxId } from '../../src/ledger/tx-id.js';
import type { RpcRequest, RpcServer } from '../../src/rpc/rpc-server.js';
import type { SessionCounts } from '../../src/rpc/session-caps.js';
import { createService, type ServiceIdentity } from '../client/tls-fixture.js';
import { exchange, testRpcServer, tlsConnection as openTls } from './rpc-server-fixture.js';

let service: ServiceIdentity;
let server: RpcServer;
let port: number;
let client: CocoClient;
let current: TxId = { view: 2, seqno: 5 };
let onAnswered: (() => void) | undefined;
let sessions: SessionCounts;
/** Bodies of the `/node/record` requests that ran. */
const recorded: string[] = [];

before(async () => {
  service = await createService();
  ({ server, sessions } = testRpcServer(service, {
    caps: { soft: 1000, hard: 1010 },
    currentTxId: () => current,
    afterRequest: () => onAnswered?.(),
    primaryUrl: () => 'https://127.0.0.1:9100',
  }));
  server.add('node', 'GET', '/echo/{n}', (request) => ({ body: { n: Number(request.params.n) } }));
  server.add(['node', 'gov'], 'GET', '/raw/{n}', (request) => ({ body: { n: Number(request.params.n) } }), { ignoresAccept: true });
  server.add('node', 'POST', '/echo', (request) => ({ body: new TextDecoder().decode(request.body) }));
  server.add('node', 'POST', '/write', () => {
    throw new CocoError('NotPrimary', 'this node is a backup');
  });
  server.add('node', 'POST', '/record', (request) => {
    const text = new TextDecoder().decode(request.body);
    recorded.push(text);
    return { body: `recorded ${text}` };
  });
  server.add('app', 'GET', '/greet/{name}', (request) => ({ body: { hello: request.params.name, path: request.path, pathname: request.pathname } }));
  server.add('app', 'POST', '/write', () => {
    throw new CocoError('NotPrimary', 'this node is a backup');
  });
  server.add('node', 'GET', '/bad-header', () => ({ headers: { 'x-bad': 'a\r\nb' }, body: 'never sent' }));
  server.add('node', 'POST', '/kept-despite-error', () => ({ status: 400, body: { error: { code: 'Custom', message: 'kept' } }, txId: { view: 2, seqno: 9 } }));
  // An app's handler may return any headers; the node's own win.
  server.add('node', 'POST', '/reframed', () => ({
    headers: { 'content-length': '99', 'transfer-encoding': 'chunked', 'x-ms-ccf-transaction-id': '1.2', 'content-type': 'application/cbor' },
    body: 'hello',
    txId: { view: 2, seqno: 9 },
  }));
  server.add('node', 'POST', '/spoofed-error', () => ({ status: 409, headers: { 'x-ms-ccf-transaction-id': '1.2' }, body: 'no write' }));
  server.add('node', 'POST', '/no-content', () => ({ status: 204, headers: { 'content-length': '11' }, body: 'not sent at all' }));
  server.add('node', 'POST', '/script-failed', () => {
    throw new CocoError('InternalError', 'Failed to apply(): ReferenceError: x is not defined');
  });
  server.add('node', 'POST', '/bug', () => {
    throw new TypeError('cannot read properties of undefined');
  });
  port = (await server.listen('127.0.0.1', 0)).port;
  client = new CocoClient({ url: `https://127.0.0.1:${port}`, caCertPem: service.certPem });
});

after(async () => {
  client?.close();
  await server?.close();
});

test('concurrent requests on many connections each get their own answer', async () => {
  const clients = Array.from({ length: 16 }, () => new CocoClient({ url: `https://127.0.0.1:${port}`, caCertPem: service.certPem }));
  try {
    const answers = await Promise.all(clients.flatMap((c, i) => [0, 1, 2].map(async (j) => (await c.request('GET', `/node/echo/${i * 3 + j}`)).json<{ n: number }>().n)));
    assert.deepEqual(answers, Array.from({ length: 48 }, (_, k) => k));
  } finally {
    for (const c of clients) c.close();
  }
});

test('pipelined requests on one connection are answered in order', async () => {
  const socket = connect({ host: '127.0.0.1', port, ca: service.certPem, servername: '127.0.0.1' });
  try {
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    const bodies = ['first', 'second', 'third'];
    socket.write(bodies.map((b) => `POST /node/echo HTTP/1.1\r\nhost: x\r\ncontent-length: ${b.length}\r\n\r\n${b}`).join(''));
    let text = '';
    socket.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      socket.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('third')) resolve();
      });
      socket.once('error', reject);
    });
    const order = bodies.map((b) => text.indexOf(`\r\n\r\n${b}`));
    assert.ok(order.every((at) => at > 0) && order[0]! < order[1]! && order[1]! < order[2]!, text);
  } finally {
    socket.destroy();
  }
});

test('a response carries the TxID of the state it was answered from, though written later', async () => {
  // The state moves on right after the answer, before the turn's writes.
  onAnswered = () => (current = { view: 2, seqno: current.seqno + 1 });
  try {
    const response = await client.request('GET', '/node/echo/1');
    assert.equal(response.headers['x-ms-ccf-transaction-id'], '2.5');
    assert.equal(current.seqno, 6);
  } finally {
    onAnswered = undefined;
  }
});

test('as in CCF, an error or a redirect names no TxID; the error code is also in x-ms-error-code', async () => {
  for (const path of ['/node/nowhere', '/app/nowhere', '/node/bad-header']) {
    const answer = await client.request('GET', path, { allowError: true });
    assert.ok(answer.status >= 400, `${path}: ${answer.status}`);
    assert.equal(answer.headers['x-ms-ccf-transaction-id'], undefined, path);
    assert.equal(answer.headers['x-ms-error-code'], answer.json<{ error: { code: string } }>().error.code, path);
  }
  // An error answer whose handler applied its writes (setApplyWrites(true)) names that transaction.
  const kept = await client.request('POST', '/node/kept-despite-error', { allowError: true });
  assert.equal(kept.status, 400);
  assert.equal(kept.headers['x-ms-ccf-transaction-id'], '2.9');
  const wrongMethod = await client.request('DELETE', '/node/echo/1', { allowError: true });
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers['x-ms-ccf-transaction-id'], undefined);
  assert.match((await client.request('GET', '/node/echo/1')).headers['x-ms-ccf-transaction-id'] as string, /^2\.\d+$/);
});

test("the node frames every answer and names its transaction: a handler's content-length, transfer-encoding or TxID header is dropped", async () => {
  const reframed = await client.request('POST', '/node/reframed', { body: 'x' });
  assert.equal(reframed.text(), 'hello');
  assert.deepEqual(
    [reframed.headers['content-length'], reframed.headers['transfer-encoding'], reframed.headers['x-ms-ccf-transaction-id'], reframed.headers['content-type']],
    ['5', undefined, '2.9', 'application/cbor'],
  );
  const spoofed = await client.request('POST', '/node/spoofed-error', { body: 'x', allowError: true });
  assert.deepEqual([spoofed.status, spoofed.headers['x-ms-ccf-transaction-id']], [409, undefined]);
  // A 204 has no body: none is sent, and no length announced for one (RFC 9110 §15.3.5).
  const empty = await client.request('POST', '/node/no-content', { body: 'x' });
  assert.deepEqual([empty.status, empty.body.length, empty.headers['content-length'], empty.headers['content-type']], [204, 0, undefined, undefined]);
  // The connection is still in step: the next answer is the right one.
  assert.deepEqual((await client.request('GET', '/node/echo/8')).json(), { n: 8 });
});

test('a response HTTP cannot carry is a 500 InternalError, and the server keeps serving', async () => {
  const bad = await client.request('GET', '/node/bad-header', { allowError: true });
  assert.equal(bad.status, 500);
  assert.equal(bad.headers['x-bad'], undefined);
  assert.equal(bad.json<{ error: { code: string } }>().error.code, 'InternalError');
  assert.deepEqual((await client.request('GET', '/node/echo/7')).json(), { n: 7 });
});

test('a 500 the node anticipated is logged as one line; any other failure with its stack', async () => {
  const logged: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args.map((a) => (a instanceof Error ? a.stack : String(a))).join(' '));
  try {
    const failed = await client.request('POST', '/node/script-failed', { allowError: true });
    assert.equal(failed.status, 500);
    assert.equal(failed.json<{ error: { code: string } }>().error.code, 'InternalError');
    const bug = await client.request('POST', '/node/bug', { allowError: true });
    assert.equal(bug.status, 500);
    assert.equal(logged.length, 2, logged.join('\n'));
    assert.match(logged[0]!, /^\S+Z \[error\] coco node: request failed: Failed to apply\(\): ReferenceError: x is not defined \[InternalError\]$/);
    // The stack stays in the one record: its line breaks written as \n.
    assert.match(logged[1]!, /^\S+Z \[error\] coco node: request failed: TypeError: cannot read properties of undefined\\n\s+at [^\n]+$/);
  } finally {
    console.error = original;
  }
});

/** A TLS connection to `to`, trusting the test service. */
const tlsConnection = async (to: number): Promise<TLSSocket> => openTls(to, service.certPem);

const waitFor = async (condition: () => boolean) => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), 'condition reached');
};

test('past the soft cap a session is answered 503 SessionCapExhausted and closed; past the hard cap it is cut before TLS; the node logs both, once', async (t) => {
  const logged: string[] = [];
  t.mock.method(console, 'error', (line: string) => void logged.push(line));
  const { server: small, sessions: capped } = testRpcServer(service, { interfaceName: 'small', caps: { soft: 2, hard: 3 }, currentTxId: () => current });
  small.add('node', 'GET', '/echo/{n}', (request) => ({ body: { n: Number(request.params.n) } }));
  const smallPort = (await small.listen('127.0.0.1', 0)).port;
  const open: TLSSocket[] = [];
  try {
    open.push(await tlsConnection(smallPort), await tlsConnection(smallPort));
    const third = await tlsConnection(smallPort);
    const answer = await exchange(third, 'GET /node/echo/3 HTTP/1.1\r\nhost: x\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 503 /);
    assert.match(answer, /"code":"SessionCapExhausted"/);
    assert.match(answer, /connection: close/i);
    await waitFor(() => capped.metrics().active === 2);
    // A soft-capped session still counts: with it, three are open and the next is cut without a handshake.
    open.push(await tlsConnection(smallPort));
    await assert.rejects(tlsConnection(smallPort), /ECONNRESET|socket disconnected|socket hang up/);
    await assert.rejects(tlsConnection(smallPort), /ECONNRESET|socket disconnected|socket hang up/);
    assert.deepEqual({ ...capped.metrics().interfaces.small, errors: undefined }, { active: 3, peak: 3, soft_cap: 2, hard_cap: 3, errors: undefined });
    // The operator learns why clients fail: a line for the first of each, not one per connection.
    const warnings = logged.filter((line) => line.includes('[warn ] coco node: '));
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(warnings[0]!, /answers a new session from 127\.0\.0\.1 503 SessionCapExhausted: interface small has more than 2 open sessions, its max_open_sessions_soft; raise the cap/);
    assert.match(warnings[1]!, /closed a new connection from 127\.0\.0\.1 before TLS: interface small has 3 open sessions, its max_open_sessions_hard; raise the cap/);
    // Sessions that close free their places: served again.
    for (const socket of open.splice(0)) socket.destroy();
    await waitFor(() => capped.metrics().active === 0);
    const again = new CocoClient({ url: `https://127.0.0.1:${smallPort}`, caCertPem: service.certPem });
    try {
      assert.deepEqual((await again.request('GET', '/node/echo/4')).json(), { n: 4 });
    } finally {
      again.close();
    }
  } finally {
    for (const socket of open) socket.destroy();
    await small.close();
  }
});

test('a header past 16 KiB gets 431 RequestHeaderTooLarge; malformed HTTP and oversized bodies are counted too', async () => {
  const before = sessions.metrics().interfaces.primary!.errors;
  const big = await exchange(await tlsConnection(port), `GET /node/echo/1 HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(17 * 1024)}\r\n\r\n`);
  assert.match(big, /^HTTP\/1\.1 431 /);
  assert.match(big, /"code":"RequestHeaderTooLarge"/);
  assert.match(big, /\r\nx-ms-error-code: RequestHeaderTooLarge\r\n/);
  const garbage = await exchange(await tlsConnection(port), 'GARBAGE / HTTP/9.9\r\n\r\n');
  assert.match(garbage, /^HTTP\/1\.1 400 /);
  const large = await client.request('POST', '/node/echo', { body: 'x'.repeat(2048), allowError: true });
  assert.equal(large.status, 413);
  const after = sessions.metrics().interfaces.primary!.errors;
  assert.deepEqual(after, {
    parsing: before.parsing + 1,
    request_payload_too_large: before.request_payload_too_large + 1,
    request_header_too_large: before.request_header_too_large + 1,
  });
  assert.deepEqual((await client.request('GET', '/node/echo/8')).json(), { n: 8 });
});

test('requests pipelined before a malformed one are answered first, in order, then the 400 closes the connection', async () => {
  // Answering the error at once would drop the answers owed: a client would read the 400 as the
  // answer to its first request, which ran, and send it again.
  for (const garbage of ['GARBAGE\r\n\r\n', '\x01\x02', `GET /node/echo/3 HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(70 * 1024)}\r\n\r\n`]) {
    const answer = await exchange(await tlsConnection(port), `GET /node/echo/1 HTTP/1.1\r\nhost: x\r\n\r\nPOST /node/echo HTTP/1.1\r\nhost: x\r\ncontent-length: 7\r\n\r\n{"n":2}${garbage}`);
    const statuses = [...answer.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => match[1]);
    assert.deepEqual(statuses, ['200', '200', garbage.startsWith('GET') ? '431' : '400'], answer);
    assert.ok(answer.indexOf('{"n":1}') < answer.indexOf('{"n":2}'), answer);
  }
  assert.deepEqual((await client.request('GET', '/node/echo/8')).json(), { n: 8 });
});

test('a chunked body that does not parse is answered 400 at once, after the answers owed to requests before it (QA: it hung)', async () => {
  const badChunk = 'POST /node/echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nZZ\r\nabc\r\n';
  const alone = await exchange(await tlsConnection(port), badChunk);
  assert.deepEqual([...alone.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => match[1]), ['400'], alone);
  assert.match(alone, /HPE_INVALID_CHUNK_SIZE/);
  const afterGet = await exchange(await tlsConnection(port), `GET /node/echo/1 HTTP/1.1\r\nhost: x\r\n\r\n${badChunk}`);
  assert.deepEqual([...afterGet.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => match[1]), ['200', '400'], afterGet);
  const badEnd = await exchange(await tlsConnection(port), 'GET /node/echo/1 HTTP/1.1\r\nhost: x\r\n\r\nPOST /node/echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabcXX');
  assert.deepEqual([...badEnd.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => match[1]), ['200', '400'], badEnd);
});

test('a client that ends its connection in the middle of a request gets nothing and counts as no parsing error', async () => {
  const before = sessions.metrics().interfaces.primary!.errors.parsing;
  for (const partial of ['POST /node/echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n0123456789abcd', 'GET /node/echo/1 HTTP/1.1\r\nhost: x\r\nx-half']) {
    assert.equal(await exchange(await tlsConnection(port), partial, { end: true }), '', partial);
  }
  assert.equal(sessions.metrics().interfaces.primary!.errors.parsing, before);
});

test('a client still sending a header far past the limit reads its 431, not a broken pipe', async () => {
  // The node answers once the head passes its limit; the rest of the 2 MiB is still on its way.
  // Closing at once would reset the connection under the client's feet, discarding the answer.
  for (let i = 0; i < 3; i++) {
    const socket = await tlsConnection(port);
    const failure = new Promise<Error>((resolve) => socket.once('error', resolve));
    const answer = await Promise.race([exchange(socket, `GET /node/echo/1 HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(2 * 1024 * 1024)}\r\n\r\n`), failure]);
    assert.equal(typeof answer, 'string', `answered, not ${String(answer)}`);
    assert.match(answer as string, /^HTTP\/1\.1 431 [^]*"code":"RequestHeaderTooLarge"/);
  }
});

test('connections that never finish TLS, or never send a request, are dropped and give their session places back', async () => {
  const { server: timed, sessions: counted } = testRpcServer(service, { interfaceName: 'timed', caps: { soft: 10, hard: 10 }, currentTxId: () => current, handshakeTimeoutMs: 200, idleTimeoutMs: 300 });
  const timedPort = (await timed.listen('127.0.0.1', 0)).port;
  const plain: Socket[] = [];
  try {
    for (let i = 0; i < 3; i++) plain.push(netConnect(timedPort, '127.0.0.1').on('error', () => {}));
    const closed = plain.map((socket) => new Promise((resolve) => socket.once('close', resolve)));
    await waitFor(() => counted.metrics().active === 3);
    await Promise.all(closed);
    await waitFor(() => counted.metrics().active === 0);
    const idle = await tlsConnection(timedPort);
    await new Promise((resolve) => idle.once('close', resolve));
    await waitFor(() => counted.metrics().active === 0);
    // A connection still before its handshake does not hold up closing the server.
    plain.push(netConnect(timedPort, '127.0.0.1').on('error', () => {}));
    await waitFor(() => counted.metrics().active === 1);
  } finally {
    await timed.close();
    for (const socket of plain) socket.destroy();
  }
  await waitFor(() => counted.metrics().active === 0);
});

test('a client that refuses the node certificate and leaves mid-handshake gives its session place back at once, not at the handshake timeout', async () => {
  const { server: paced, sessions: counted } = testRpcServer(service, { interfaceName: 'refused', caps: { soft: 10, hard: 10 }, currentTxId: () => current, handshakeTimeoutMs: 60_000 });
  const pacedPort = (await paced.listen('127.0.0.1', 0)).port;
  // Trusting another service, the client finds the node's certificate unendorsed after the server's
  // flight and closes its side, with the handshake still unfinished on the node (TLS 1.3).
  const stranger = await createService();
  const refusal = new Promise<NodeJS.ErrnoException>((resolve) => connect({ host: '127.0.0.1', port: pacedPort, ca: stranger.certPem, servername: '127.0.0.1' }).once('error', resolve));
  try {
    assert.equal((await refusal).code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    await waitFor(() => counted.metrics().active === 0);
  } finally {
    await paced.close();
  }
});

test('a malformed request is answered and its connection closed at once, even when the client keeps its side open', async () => {
  const { server: strict, sessions: counted } = testRpcServer(service, { interfaceName: 'halfopen', currentTxId: () => current });
  const strictPort = (await strict.listen('127.0.0.1', 0)).port;
  // The client never closes its side: the node must not wait for it (until its 60 s idle timeout).
  const socket = connect({ socket: netConnect({ host: '127.0.0.1', port: strictPort, allowHalfOpen: true }), ca: service.certPem, servername: '127.0.0.1' });
  try {
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    const ended = new Promise((resolve) => socket.once('end', resolve));
    socket.write('GARBAGE / HTTP/9.9\r\n\r\n');
    await ended;
    assert.match(answer, /^HTTP\/1\.1 400 /);
    await waitFor(() => counted.metrics().active === 0);
  } finally {
    socket.destroy();
    await strict.close();
  }
});

test("as in CCF, a path no endpoint has is 'Unknown path: P.'; a method it does not take is 405 and OPTIONS 204, both with Allow listing OPTIONS first", async () => {
  for (const path of ['/node/nowhere', '/gov/nowhere', '/elsewhere']) {
    const unknown = await client.request('GET', path, { allowError: true });
    assert.deepEqual([unknown.status, unknown.json<{ error: { message: string } }>().error.message], [404, `Unknown path: ${path}.`]);
  }
  const wrongMethod = await client.request('DELETE', '/node/echo/1', { allowError: true });
  assert.deepEqual([wrongMethod.status, wrongMethod.headers.allow], [405, 'OPTIONS, GET']);
  assert.equal(wrongMethod.json<{ error: { message: string } }>().error.message, "Allowed methods for '/node/echo/1' are: OPTIONS, GET.");
  // A WebSocket handshake is told why (QA: web3's WebSocketProvider reported only "Unexpected server response: 405").
  const handshake = await client.request('GET', '/node/echo', { allowError: true, headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
  assert.deepEqual([handshake.status, handshake.json<{ error: { message: string } }>().error.message], [405, "Allowed methods for '/node/echo' are: OPTIONS, POST. This service has no WebSocket endpoints: send each request over HTTP (a JSON-RPC client: its HTTP provider, which polls for events)."]);
  const options = await exchange(await tlsConnection(port), 'OPTIONS /node/echo HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
  assert.match(options, /^HTTP\/1\.1 204 /);
  assert.match(options, /\r\nallow: OPTIONS, POST\r\n/i);
  assert.doesNotMatch(options, /x-ms-ccf-transaction-id/i, 'no endpoint ran');
});

test("as in CCF since 3.0, the app's endpoints answer with or without /app; a redirect keeps the path as sent", async () => {
  for (const pathname of ['/app/greet/ann', '/greet/ann']) {
    const answer = await client.request('GET', pathname);
    assert.deepEqual(answer.json(), { hello: 'ann', path: '/greet/ann', pathname });
  }
  for (const target of ['/app/write?a=1', '/write?a=1']) {
    const answer = await exchange(await tlsConnection(port), `POST ${target} HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 307 /, target);
    assert.ok(answer.includes(`\r\nlocation: https://127.0.0.1:9100${target}\r\n`), answer);
  }
  // /gov and /node stay theirs: an app path under them is not the app's.
  assert.equal((await client.request('GET', '/node/greet/ann', { allowError: true })).status, 404);
});

test("as CCF's JSON endpoints, a read answers 400 to an Accept header it cannot parse and 406 to one that accepts no JSON", async () => {
  const status = async (accept: string) => {
    const answer = await client.request('GET', '/node/echo/1', { headers: { accept }, allowError: true });
    return [answer.status, answer.status === 200 ? undefined : answer.json<{ error: { code: string; message: string } }>().error.code];
  };
  // CCF's own tests (custom_authorization.py test_accept_header).
  assert.deepEqual(await status('nonsense'), [400, 'InvalidHeaderValue']);
  assert.deepEqual(await status('text/html'), [406, 'UnsupportedContentType']);
  assert.deepEqual(await status('text/html;q=0.9,image/jpeg;video/mpeg;q=0.8'), [406, 'UnsupportedContentType']);
  assert.deepEqual(await status('text/plain;q=x'), [400, 'InvalidHeaderValue']);
  for (const accept of ['application/json', '*/*', 'text/html, application/*;q=0.5', '']) assert.deepEqual(await status(accept), [200, undefined], accept);
  // Writes are not checked (a refusal after the handler could not undo them), nor text answers.
  const text = await client.request('POST', '/node/echo', { body: 'hi', headers: { accept: 'text/html' } });
  assert.equal(text.status, 200);
  // Nor what CCF answers whatever the header says: its governance API, node endpoints that write their own body.
  for (const path of ['/gov/raw/1', '/node/raw/1']) {
    for (const accept of ['text/html', 'application/json; charset=utf-8']) {
      const answer = await client.request('GET', path, { headers: { accept }, allowError: true });
      assert.equal(answer.status, 200, `${path} with ${accept}: ${answer.text()}`);
    }
  }
});

test('a path parameter that is not valid percent-encoding is answered 400 InvalidInput', async () => {
  const bad = await client.request('GET', '/node/echo/%zz', { allowError: true });
  assert.equal(bad.status, 400);
  assert.equal(bad.json<{ error: { code: string } }>().error.code, 'InvalidInput');
});

test('a write redirected to the primary keeps only its path and query, whatever form its request target had', async () => {
  for (const target of ['/node/write?a=1', 'https://evil.example/node/write?a=1']) {
    const answer = await exchange(await tlsConnection(port), `POST ${target} HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 307 /, target);
    assert.match(answer, /\r\nlocation: https:\/\/127\.0\.0\.1:9100\/node\/write\?a=1\r\n/, target);
  }
  // A path, not an authority: its first segment is empty, so it names no frontend.
  const authority = await exchange(await tlsConnection(port), `POST //evil.example/node/write?a=1 HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
  assert.match(authority, /^HTTP\/1\.1 404 [^]*"code":"ResourceNotFound"/);
});

test('a path is routed as sent: dot segments, their percent-encoding and backslashes do not lead to another frontend', async () => {
  const get = async (target: string) => exchange(await tlsConnection(port), `GET ${target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
  // Each of these resolves to /node/echo/5 under URL's rules; CCF (and now Coco) routes none of them there.
  for (const target of ['/app/../node/echo/5', '/app/%2e%2e/node/echo/5', '/app/%2E%2E/node/echo/5', '/gov/x/../../node/echo/5', '/app\\..\\node/echo/5']) {
    const answer = await get(target);
    assert.match(answer, /^HTTP\/1\.1 404 [^]*"code":"ResourceNotFound"/, target);
  }
  assert.match(await get('/node/echo/5?x=/../y'), /^HTTP\/1\.1 200 [^]*\{"n":5\}$/);
});

test('as in CCF, more than 256 headers get 431, and a body declared too large gets 413 at once, before it is sent', async () => {
  const many = Array.from({ length: 257 }, (_, i) => `x-h${i}: v\r\n`).join('');
  const tooMany = await exchange(await tlsConnection(port), `GET /node/echo/1 HTTP/1.1\r\nhost: x\r\n${many}\r\n`);
  assert.match(tooMany, /^HTTP\/1\.1 431 [^]*"code":"RequestHeaderTooLarge","message":"the request has more than 256 headers \(http_configuration\.max_headers_count\)"/);
  const enough = Array.from({ length: 250 }, (_, i) => `x-h${i}: v\r\n`).join('');
  assert.match(await exchange(await tlsConnection(port), `GET /node/echo/1 HTTP/1.1\r\nhost: x\r\n${enough}connection: close\r\n\r\n`), /^HTTP\/1\.1 200 /);
  // The body never comes: the answer must not wait for it.
  const declared = await exchange(await tlsConnection(port), 'POST /node/echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100000000\r\n\r\nabc');
  assert.match(declared, /^HTTP\/1\.1 413 [^]*"code":"RequestBodyTooLarge"/);
});

test('as in CCF, the trailer fields after a chunked body count as headers: past max_headers_count together, 431', { timeout: 10_000 }, async () => {
  const fields = (count: number, prefix: string) => Array.from({ length: count }, (_, i) => `${prefix}${i}: v\r\n`).join('');
  const withTrailers = (count: number) => `POST /node/echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n2\r\nhi\r\n0\r\n${fields(count, 'x-t')}\r\n`;
  // host, transfer-encoding and connection, and 253 trailers: 256 fields.
  assert.match(await exchange(await tlsConnection(port), withTrailers(253)), /^HTTP\/1\.1 200 [^]*\r\n\r\nhi$/);
  for (const count of [254, 1000]) {
    const answer = await exchange(await tlsConnection(port), withTrailers(count));
    assert.match(answer, /^HTTP\/1\.1 431 [^]*"message":"the request has more than 256 headers and trailers \(http_configuration\.max_headers_count\)"/, `${count} trailers`);
  }
  // Node keeps 2,000 fields of a request unless told otherwise: a limit above that still holds.
  const { server: roomy } = testRpcServer(service, { interfaceName: 'roomy', currentTxId: () => current, maxHeadersCount: 2100 });
  roomy.add('node', 'GET', '/echo/{n}', (request) => ({ body: { n: Number(request.params.n) } }));
  const roomyPort = (await roomy.listen('127.0.0.1', 0)).port;
  try {
    const many = await exchange(await tlsConnection(roomyPort), `GET /node/echo/1 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n${fields(2500, 'x-h')}\r\n`);
    assert.match(many, /^HTTP\/1\.1 431 [^]*more than 2100 headers/);
  } finally {
    await roomy.close();
  }
});

test("an interface's http_configuration sets its limits: each header's name and value, the number of headers, the whole head, the body", { timeout: 20_000 }, async () => {
  const { server: strict } = testRpcServer(service, { interfaceName: 'strict', currentTxId: () => current, maxHeaderBytes: 1024, maxHeadersCount: 4, maxBodyBytes: 2048 });
  strict.add('node', 'POST', '/echo', (request) => ({ body: new TextDecoder().decode(request.body) }));
  const strictPort = (await strict.listen('127.0.0.1', 0)).port;
  try {
    const raw = async (request: string) => exchange(await tlsConnection(strictPort), request);
    const post = (headers: string, body = 'x') => raw(`POST /node/echo HTTP/1.1\r\nhost: x\r\n${headers}content-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    // CCF bounds each header, not their sum: two headers of 1,000 bytes each pass a limit of 1,024.
    assert.match(await post(`x-a: ${'a'.repeat(1000)}\r\n`), /^HTTP\/1\.1 200 /);
    const long = await post(`x-long: ${'a'.repeat(1025)}\r\n`);
    assert.match(long, /^HTTP\/1\.1 431 [^]*"message":"the header x-long has a name or value of 1025 bytes, more than 1024 \(http_configuration\.max_header_size\)"/);
    assert.match(await post(`${'x'.repeat(1025)}: v\r\n`), /^HTTP\/1\.1 431 [^]*has a name or value of 1025 bytes/);
    // Sizes are bytes on the wire: 500 two-byte UTF-8 characters are 1,000 bytes, under the limit.
    assert.match(await post(`x-utf8: ${'é'.repeat(500)}\r\n`), /^HTTP\/1\.1 200 /);
    assert.match(await post(`x-utf8: ${'é'.repeat(513)}\r\n`), /^HTTP\/1\.1 431 [^]*has a name or value of 1026 bytes/);
    assert.match(await post('x-a: 1\r\nx-b: 2\r\n'), /^HTTP\/1\.1 431 [^]*more than 4 headers/, 'host, content-length, connection and two more');
    // The head as a whole is bounded by four times the limit on one header.
    const head = await raw(`GET /node/echo HTTP/1.1\r\nhost: x\r\nx-a: ${'a'.repeat(1020)}\r\nx-b: ${'b'.repeat(1020)}\r\nx-c: ${'c'.repeat(1020)}\r\nx-d: ${'d'.repeat(1020)}\r\n\r\n`);
    assert.match(head, /^HTTP\/1\.1 431 [^]*exceed the limit of 4096 bytes/);
    assert.match(await post('', 'y'.repeat(2049)), /^HTTP\/1\.1 413 /);
    assert.match(await post('', 'y'.repeat(2048)), /^HTTP\/1\.1 200 /);
    // As CCF's, a body declared over the limit is refused before it all comes; the client may
    // still send the rest, and the connection closes after the one answer.
    const slow = await tlsConnection(strictPort);
    let answer = '';
    const answered = new Promise<void>((resolve) => slow.on('data', (chunk: Buffer) => (answer += chunk.toString()).endsWith('}}') && resolve()));
    slow.write('POST /node/echo HTTP/1.1\r\nhost: x\r\ncontent-length: 4096\r\n\r\n' + 'z'.repeat(2048));
    await answered;
    assert.match(answer, /^HTTP\/1\.1 413 [^]*"code":"RequestBodyTooLarge"/);
    const closed = new Promise((resolve) => slow.once('close', resolve));
    slow.end('z'.repeat(2048));
    await closed;
    assert.equal(answer.match(/HTTP\/1\.1 /g)?.length, 1, answer);
  } finally {
    await strict.close();
  }
});

// A time limit: the code before this test's fix left the client waiting for ever instead of failing.
test('a client that pipelines more requests than a connection may leave unanswered gets every answer, in order, each request run once; others are served meanwhile', { timeout: 60_000 }, async () => {
  recorded.length = 0;
  const socket = await tlsConnection(port);
  socket.pause();
  const count = 300;
  const bodies = Array.from({ length: count }, (_, i) => `r${i}.`);
  socket.write(bodies.map((body) => record(body)).join(''));
  // While its answers wait unread, another connection is served.
  assert.deepEqual((await client.request('GET', '/node/echo/3')).json(), { n: 3 });
  socket.resume();
  const text = await exchange(socket, record('last.', 'connection: close\r\n'));
  assert.equal(text.match(/HTTP\/1\.1 200 /g)?.length, count + 1, text.slice(0, 2000));
  assert.deepEqual([...text.matchAll(/recorded (r\d+\.|last\.)/g)].map((m) => m[1]), [...bodies, 'last.']);
  assert.deepEqual(recorded, [...bodies, 'last.']);
});

test('more than 1,152 requests arriving at once on a connection are answered in order up to that bound, then 503 TooManyPipelinedRequests saying why, and the connection closes', { timeout: 30_000 }, async () => {
  // One write, read as it comes: the requests arrive faster than the node can answer them.
  const text = await exchange(await tlsConnection(port), 'GET /node/echo/1 HTTP/1.1\r\nhost: x\r\n\r\n'.repeat(4000));
  const statuses = [...text.matchAll(/HTTP\/1\.1 (\d+) /g)].map((m) => m[1]);
  const served = statuses.indexOf('503');
  assert.ok(served >= 1152, `${served} answered before the 503`);
  assert.deepEqual(statuses.slice(served), ['503']);
  assert.match(text, /"code":"TooManyPipelinedRequests","message":"more than 1152 requests arrived on this connection before the node could answer them: pipeline fewer at once \(wait for answers before sending more\); this connection closes once the answers due are written"/);
});

const record = (body: string, headers = '') => `POST /node/record HTTP/1.1\r\nhost: x\r\n${headers}content-length: ${body.length}\r\n\r\n${body}`;

test('a request pipelined after one that closes the connection is neither run nor answered', async () => {
  for (const [first, answer, ran] of [
    [record('closing', 'connection: close\r\n'), /^HTTP\/1\.1 200 [^]*recorded closing$/, ['closing']],
    [record('x'.repeat(2048)), /^HTTP\/1\.1 413 [^]*"code":"RequestBodyTooLarge"[^]*\}$/, []],
  ] as const) {
    recorded.length = 0;
    const text = await exchange(await tlsConnection(port), first + record('after'));
    assert.match(text, answer);
    assert.equal(text.match(/HTTP\/1\.1 /g)?.length, 1, text);
    // A request on another connection runs after any the first connection could still have started.
    assert.deepEqual((await client.request('GET', '/node/echo/9')).json(), { n: 9 });
    assert.deepEqual(recorded, ran);
  }
});

test('a request asking to upgrade the connection is answered as any other, and its answer closes the connection: nothing sent after it waits for an answer', { timeout: 10_000 }, async () => {
  recorded.length = 0;
  // Node's parser drops what follows such a request in the same read: the POST would never run nor be answered.
  const upgrade = 'GET /node/echo/1 HTTP/1.1\r\nhost: x\r\nconnection: keep-alive, Upgrade\r\nupgrade: websocket\r\n\r\n';
  const text = await exchange(await tlsConnection(port), upgrade + record('after') + 'GET /node/echo/2 HTTP/1.1\r\nhost: x\r\n\r\n');
  assert.match(text, /^HTTP\/1\.1 200 [^]*\r\nconnection: close\r\n[^]*\{"n":1\}$/);
  assert.equal(text.match(/HTTP\/1\.1 /g)?.length, 1, text);
  assert.deepEqual((await client.request('GET', '/node/echo/9')).json(), { n: 9 });
  assert.deepEqual(recorded, []);
});

test('a client that ends its side right after its requests (TLS close_notify, or a bare FIN) still gets every answer, then the connection closes', { timeout: 10_000 }, async () => {
  const requests = (tag: string) => `GET /node/echo/1 HTTP/1.1\r\nhost: x\r\n\r\n${record(tag)}GET /node/echo/2 HTTP/1.1\r\nhost: x\r\n\r\n`;
  const answered = (text: string, tag: string) => {
    assert.deepEqual([...text.matchAll(/HTTP\/1\.1 (\d+) /g)].map((m) => m[1]), ['200', '200', '200'], text);
    assert.match(text, new RegExp(`\\{"n":1\\}[^]*recorded ${tag}[^]*\\{"n":2\\}$`));
  };
  recorded.length = 0;
  // close_notify, then FIN: as `openssl s_client` with a here-document, or any client that ends its writes.
  answered(await exchange(await tlsConnection(port), requests('notified'), { end: true }), 'notified');
  // A FIN under TLS without close_notify.
  const tcp = netConnect({ host: '127.0.0.1', port, allowHalfOpen: true });
  const socket = connect({ socket: tcp, ca: service.certPem, servername: '127.0.0.1' });
  try {
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    const closedByServer = new Promise((resolve) => socket.once('end', resolve));
    socket.write(requests('bare'));
    tcp.end();
    await closedByServer;
    answered(text, 'bare');
  } finally {
    socket.destroy();
  }
  assert.deepEqual(recorded, ['notified', 'bare']);
});

test('a request without Host, or with an Expect the server does not know, is answered like any other, as CCF does', async () => {
  const noHost = await exchange(await tlsConnection(port), 'GET /node/echo/3 HTTP/1.1\r\nconnection: close\r\n\r\n');
  assert.match(noHost, /^HTTP\/1\.1 200 [^]*\{"n":3\}$/);
  const expecting = await exchange(await tlsConnection(port), `POST /node/echo HTTP/1.1\r\nhost: x\r\nexpect: something-else\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi`);
  assert.match(expecting, /^HTTP\/1\.1 200 [^]*\r\n\r\nhi$/);
});

test('CONNECT is answered 405 UnsupportedHttpVerb and the connection closed', async () => {
  const answer = await exchange(await tlsConnection(port), 'CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n');
  assert.match(answer, /^HTTP\/1\.1 405 /);
  assert.match(answer, /\{"error":\{"code":"UnsupportedHttpVerb","message":"CONNECT is not supported: this is no proxy"\}\}$/);
  assert.deepEqual((await client.request('GET', '/node/echo/4')).json(), { n: 4 });
});

test('a client too slow to send its headers is answered 408 RequestTimeout, with the CCF error body', async () => {
  const { server: slow, sessions: counted } = testRpcServer(service, { interfaceName: 'slow', caps: { soft: 10, hard: 10 }, currentTxId: () => current, headersTimeoutMs: 300 });
  const slowPort = (await slow.listen('127.0.0.1', 0)).port;
  try {
    // The request line and one header, then nothing more.
    const answer = await exchange(await tlsConnection(slowPort), 'GET /node/echo/1 HTTP/1.1\r\nhost: x\r\n');
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.match(answer, /"code":"RequestTimeout"/);
    assert.match(answer, /its line and headers within 0\.3 s/);
    assert.equal(counted.metrics().interfaces.slow!.errors.parsing, 0, 'a slow client is no parsing error');
  } finally {
    await slow.close();
  }
});

test('a connection that never sends a request gets no 408: it is closed silently at the idle timeout', { timeout: 10_000 }, async () => {
  const { server: idle, sessions: counted } = testRpcServer(service, { interfaceName: 'idle', caps: { soft: 10, hard: 10 }, currentTxId: () => current, headersTimeoutMs: 200, idleTimeoutMs: 1_000 });
  const idlePort = (await idle.listen('127.0.0.1', 0)).port;
  try {
    // Well past the headers timeout, the idle timeout closes it, with nothing written.
    assert.equal(await exchange(await tlsConnection(idlePort), ''), '');
    await waitFor(() => counted.metrics().active === 0);
    // One that started a request and stalled is still answered 408.
    assert.match(await exchange(await tlsConnection(idlePort), 'GET /node/echo/1 HTTP/1.1\r\n'), /^HTTP\/1\.1 408 [^]*"code":"RequestTimeout"/);
  } finally {
    await idle.close();
  }
});

test('a request whose body stops arriving is answered 408 at its request timeout, even past the idle timeout', { timeout: 10_000 }, async () => {
  const { server: stalled } = testRpcServer(service, { interfaceName: 'stalled', caps: { soft: 10, hard: 10 }, currentTxId: () => current, headersTimeoutMs: 200, requestTimeoutMs: 600, idleTimeoutMs: 300 });
  const stalledPort = (await stalled.listen('127.0.0.1', 0)).port;
  try {
    // Headers and 3 bytes of a 100-byte body, then nothing: idle (300 ms) before the request timeout (600 ms).
    const answer = await exchange(await tlsConnection(stalledPort), 'POST /node/echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nabc');
    assert.match(answer, /^HTTP\/1\.1 408 [^]*"code":"RequestTimeout"[^]*all of it within 0\.6 s/);
    // A connection with nothing in progress still closes silently at the idle timeout.
    assert.equal(await exchange(await tlsConnection(stalledPort), ''), '');
  } finally {
    await stalled.close();
  }
});

test("as CCF's, an interface's accepted_endpoints serve only the endpoints they match; others are answered 503 before they run", async () => {
  // The app's own endpoints are matched by the path of the endpoint it names (as the JS app does).
  const appFallback = (request: RpcRequest) => {
    request.matched(request.path.startsWith('/log/') ? '/log/{id}' : request.path);
    return { body: 'app ran' };
  };
  const { server: operator } = testRpcServer(service, { interfaceName: 'operator', currentTxId: () => current, acceptedEndpoints: [/^(?:\/node\/echo\/.*)$/, /^(?:\/app\/log\/\{id\})$/], appFallback });
  let ran = 0;
  operator.add('node', 'GET', '/echo/{n}', (request) => ({ body: { n: Number(request.params.n) } }));
  operator.add('node', 'POST', '/echo', () => ({ body: String(++ran) }));
  const operatorPort = (await operator.listen('127.0.0.1', 0)).port;
  const operatorClient = new CocoClient({ url: `https://127.0.0.1:${operatorPort}`, caCertPem: service.certPem });
  try {
    // The endpoint's path is matched (its template), not the request's: /node/echo/{n}.
    assert.deepEqual((await operatorClient.request('GET', '/node/echo/7')).json(), { n: 7 });
    const refused = await operatorClient.request('POST', '/node/echo', { body: 'x', allowError: true });
    assert.equal(refused.status, 503);
    assert.equal(refused.json<{ error: { code: string } }>().error.code, 'EndpointNotAccepted');
    assert.match(refused.text(), /\/node\/echo is not served on interface operator/);
    assert.equal(ran, 0, 'the refused endpoint did not run');
    // A path no endpoint has is still unknown.
    assert.equal((await operatorClient.request('GET', '/node/nothing', { allowError: true })).status, 404);
    assert.equal((await operatorClient.request('GET', '/app/log/3')).text(), 'app ran');
    const app = await operatorClient.request('GET', '/app/other', { allowError: true });
    assert.deepEqual([app.status, app.text().includes('/app/other is not served')], [503, true]);
  } finally {
    operatorClient.close();
    await operator.close();
  }
});

test('a connection the process could not accept (out of descriptors) is logged once with what to do, and the node keeps serving', async () => {
  const logged: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args.map(String).join(' '));
  try {
    // What Node reports when libuv's accept fails with EMFILE and it drops the connections waiting.
    const acceptFailed = Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', errno: -24, syscall: 'accept' });
    const tcp = (server as unknown as { tcp: import('node:net').Server }).tcp;
    tcp.emit('error', acceptFailed);
    tcp.emit('error', acceptFailed);
    assert.equal(logged.length, 1, logged.join('\n'));
    assert.match(logged[0]!, /\[warn \] coco node: interface primary could not accept a connection \(accept EMFILE\); it dropped the connections waiting, and refuses new ones while they last: raise the node's descriptor limit \(ulimit -n\)/);
    assert.deepEqual((await client.request('GET', '/node/echo/9')).json(), { n: 9 });
  } finally {
    console.error = original;
  }
});

test('a client that leaves in the middle of its body is no failure of the node: nothing logged, nothing counted', async () => {
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args);
  try {
    const before = server.metrics.get('POST /node/echo')?.failures ?? 0;
    const socket = await tlsConnection(port);
    socket.write('POST /node/echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n0123456789');
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    // The next request on another connection is answered: the aborted one held up nothing.
    assert.equal((await client.request('POST', '/node/echo', { body: 'after' })).text(), 'after');
    assert.equal(server.metrics.get('POST /node/echo')?.failures ?? 0, before);
    assert.deepEqual(logged, []);
  } finally {
    console.error = original;
  }
});

test('answers advertise the keep-alive timeout, which the node applies with a margin after it', async () => {
  const answer = await exchange(await tlsConnection(port), 'GET /node/echo/5 HTTP/1.1\r\nhost: x\r\n\r\nGET /node/echo/6 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
  // The first answer keeps the connection: whole seconds, rounded down from 30.9.
  assert.match(answer, /^HTTP\/1\.1 200 [^]*\r\nkeep-alive: timeout=30\r\n[^]*\{"n":5\}HTTP\/1\.1 200 /i);
});

/** A TLS handshake with the server under `options`: what it agreed to, or the error that ended it. */
async function handshake(options: ConnectionOptions): Promise<{ protocol: string | null; cipher: string; group: string | undefined; socket: TLSSocket } | Error> {
  const socket = connect({ host: '127.0.0.1', port, ca: service.certPem, servername: '127.0.0.1', ...options });
  try {
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    const key = socket.getEphemeralKeyInfo() as { name?: string } | null;
    return { protocol: socket.getProtocol(), cipher: socket.getCipher().name, group: key?.name, socket };
  } catch (error) {
    socket.destroy();
    return error as Error;
  }
}

test('TLS as CCF allows it: 1.2 or 1.3, AES-GCM suites only, no renegotiation', async () => {
  const preferred = await handshake({});
  assert.ok(!(preferred instanceof Error), String(preferred));
  assert.deepEqual([preferred.protocol, preferred.cipher], ['TLSv1.3', 'TLS_AES_256_GCM_SHA384'], 'the server\'s first choice, over a client\'s default offer');
  preferred.socket.destroy();
  // A client limited to CCF's key exchange groups.
  for (const group of ['P-384', 'P-521']) {
    const ccfGroups = await handshake({ ecdhCurve: group });
    assert.ok(!(ccfGroups instanceof Error), String(ccfGroups));
    assert.equal(ccfGroups.group, group === 'P-384' ? 'secp384r1' : 'secp521r1');
    ccfGroups.socket.destroy();
  }

  const tls12 = await handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256', ecdhCurve: 'P-384' });
  assert.ok(!(tls12 instanceof Error), String(tls12));
  assert.deepEqual([tls12.protocol, tls12.cipher, tls12.group], ['TLSv1.2', 'ECDHE-ECDSA-AES128-GCM-SHA256', 'secp384r1']);
  // OpenSSL refuses a renegotiation the server does not allow; Node reports it as an error.
  const renegotiated = await new Promise<Error | null>((resolve) => {
    tls12.socket.once('error', resolve);
    const started = tls12.socket.renegotiate({}, (error) => resolve(error ?? null));
    if (!started) resolve(new Error('renegotiation not started'));
  });
  assert.ok(renegotiated instanceof Error, 'the server refuses to renegotiate');
  tls12.socket.destroy();

  const refused: [string, ConnectionOptions][] = [
    ['a CBC suite', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA' }],
    ['ChaCha20 in TLS 1.2', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' }],
    ['ChaCha20 in TLS 1.3', { minVersion: 'TLSv1.3', ciphers: 'TLS_CHACHA20_POLY1305_SHA256' }],
    ['TLS 1.1', { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }],
  ];
  for (const [what, options] of refused) {
    assert.ok((await handshake(options)) instanceof Error, `${what} is refused`);
  }
  // The refusals are TLS errors, not a stopped server.
  assert.equal((await client.request('GET', '/node/echo/7')).json<{ n: number }>().n, 7);
});

test("ALPN as CCF's server answers it: http/1.1 when the client offers it, else no protocol, and HTTP/1.1 served either way", { timeout: 10_000 }, async () => {
  for (const [offered, selected] of [
    [['h2'], false],
    [['h2', 'http/1.1'], 'http/1.1'],
    [['http/1.1'], 'http/1.1'],
    [undefined, false],
  ] as const) {
    const socket = await openTls(port, service.certPem, offered === undefined ? {} : { ALPNProtocols: [...offered] });
    assert.equal(socket.alpnProtocol, selected, JSON.stringify(offered));
    assert.match(await exchange(socket, 'GET /node/echo/3 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'), /^HTTP\/1\.1 200 [^]*\{"n":3\}$/);
  }
});
