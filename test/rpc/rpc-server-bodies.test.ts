// Request bodies under hostile clients, over real TLS: a body is refused as soon as the node knows
// it will not take it (declared or grown past max_body_size, or arriving in too many pieces), the
// node then parses nothing more of the connection, and a client still sending reads its answer.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import type { RpcServer } from '../../src/rpc/rpc-server.js';
import { createService, type ServiceIdentity } from '../client/tls-fixture.js';
import { exchange, testRpcServer, tlsConnection } from './rpc-server-fixture.js';

const MAX_BODY_BYTES = 1024 * 1024;

let service: ServiceIdentity;
let server: RpcServer;
let port: number;

before(async () => {
  service = await createService();
  ({ server } = testRpcServer(service, { currentTxId: () => ({ view: 2, seqno: 5 }), maxBodyBytes: MAX_BODY_BYTES }));
  server.add('node', 'POST', '/length', (request) => ({ body: { bytes: request.body.length } }));
  server.add('node', 'GET', '/echo/{n}', (request) => ({ body: { n: Number(request.params.n) } }));
  port = (await server.listen('127.0.0.1', 0)).port;
});

after(async () => {
  await server?.close();
});

const connection = async (): Promise<TLSSocket> => tlsConnection(port, service.certPem);

/** A chunked body of `count` chunks of `bytes` bytes each, with its last chunk. */
const chunked = (count: number, bytes: number) => `${bytes.toString(16)}\r\n${'y'.repeat(bytes)}\r\n`.repeat(count) + '0\r\n\r\n';

const post = (headers: string) => `POST /node/length HTTP/1.1\r\nhost: x\r\n${headers}\r\n`;

/** Resolves with what the server sent once a whole answer (head and JSON body) has arrived, the connection still open. */
function firstAnswer(socket: TLSSocket): Promise<string> {
  let text = '';
  return new Promise((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (/\r\n\r\n\{[^]*\}\}$/.test(text)) resolve(text);
    });
  });
}

test('a body in a thousand-odd tiny chunks is refused 400 RequestBodyTooFragmented, whatever its path, and nothing more of the connection is parsed', { timeout: 20_000 }, async () => {
  for (const path of ['/node/length', '/node/nowhere']) {
    // 100,000 one-byte chunks (600 KB on the wire for 100 KB), then a request that would be answered were it parsed.
    const flood = `POST ${path} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n` + chunked(100_000, 1) + 'GET /node/echo/7 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n';
    const text = await exchange(await connection(), flood);
    assert.match(text, /^HTTP\/1\.1 400 [^]*\r\nconnection: close\r\n[^]*"code":"RequestBodyTooFragmented"/, `${path}: ${text.slice(0, 300)}`);
    assert.equal(text.match(/HTTP\/1\.1 /g)?.length, 1, 'the request after the body is not answered');
    // The node's work is a parser callback per piece: it stopped after ~1,024 of the 100,000.
    const pieces = Number(/came in (\d+) pieces/.exec(text)?.[1]);
    assert.ok(pieces > 1024 && pieces < 1100, `refused after ${pieces} pieces`);
  }
});

test('bodies in chunks of a few hundred bytes or more are taken, up to max_body_size', { timeout: 20_000 }, async () => {
  for (const [count, bytes] of [
    [1024, 1024],
    [4096, 256],
  ] as const) {
    const text = await exchange(await connection(), post('transfer-encoding: chunked\r\nconnection: close\r\n') + chunked(count, bytes));
    assert.match(text, new RegExp(`^HTTP/1\\.1 200 [^]*\\{"bytes":${count * bytes}\\}$`), `${count} chunks of ${bytes} bytes`);
  }
});

test('as in CCF, a body over max_body_size is refused 413 as soon as the node knows: a Content-Length over it before any of the body, a chunked body once it passes it', { timeout: 20_000 }, async () => {
  const declared = await connection();
  const declaredAnswer = firstAnswer(declared);
  declared.write(post(`content-length: ${MAX_BODY_BYTES + 1}\r\n`) + 'only the start of it');
  assert.match(await declaredAnswer, /^HTTP\/1\.1 413 [^]*\r\nconnection: close\r\n[^]*"code":"RequestBodyTooLarge"/);
  declared.destroy();
  // 1 MiB and 16 KiB of a chunked body that goes on: the answer does not wait for its end.
  const growing = await connection();
  const growingAnswer = firstAnswer(growing);
  growing.write(post('transfer-encoding: chunked\r\n') + chunked(65, 16 * 1024).slice(0, -'0\r\n\r\n'.length));
  assert.match(await growingAnswer, /^HTTP\/1\.1 413 [^]*"code":"RequestBodyTooLarge"/);
  growing.destroy();
});

test('a client awaiting 100 Continue is refused 413 without it when its Content-Length is over max_body_size, and invited within it', { timeout: 20_000 }, async () => {
  const refused = await connection();
  const refusedAnswer = firstAnswer(refused);
  refused.write(post(`expect: 100-continue\r\ncontent-length: ${MAX_BODY_BYTES + 1}\r\n`));
  assert.match(await refusedAnswer, /^HTTP\/1\.1 413 [^]*"code":"RequestBodyTooLarge"/);
  refused.destroy();
  const invited = await connection();
  let text = '';
  invited.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const continued = new Promise<void>((resolve) => invited.on('data', () => text.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && resolve()));
  invited.write(post('expect: 100-continue\r\ncontent-length: 5\r\nconnection: close\r\n'));
  await continued;
  const closed = new Promise((resolve) => invited.once('close', resolve));
  invited.write('hello');
  await closed;
  assert.match(text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 [^]*\{"bytes":5\}$/);
});

test('a client still sending a body far past max_body_size reads its 413, not a broken pipe', { timeout: 30_000 }, async () => {
  // The node answers before the 3 MiB have come, and reads no more of them: closing at once would
  // reset the connection under the client's feet, discarding the answer.
  for (let i = 0; i < 3; i++) {
    const socket = await connection();
    const failure = new Promise<Error>((resolve) => socket.once('error', resolve));
    const answer = await Promise.race([exchange(socket, post(`content-length: ${3 * MAX_BODY_BYTES}\r\n`) + 'z'.repeat(3 * MAX_BODY_BYTES)), failure]);
    assert.equal(typeof answer, 'string', `answered, not ${String(answer)}`);
    assert.match(answer as string, /^HTTP\/1\.1 413 [^]*"code":"RequestBodyTooLarge"/);
  }
});
