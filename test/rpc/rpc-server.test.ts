// The HTTPS frontend on its own: answers written once per loop turn still reach the right client
// and the right request (pipelined ones in order), carry the TxID of the moment they were
// answered, and a response Node cannot write as HTTP becomes a 500 instead of stopping the node.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect } from 'node:tls';
import { CocoClient } from '../../src/client/coco-client.js';
import type { TxId } from '../../src/ledger/tx-id.js';
import { RpcServer } from '../../src/rpc/rpc-server.js';
import { createService, type ServiceIdentity } from '../client/tls-fixture.js';

let service: ServiceIdentity;
let server: RpcServer;
let port: number;
let client: CocoClient;
let current: TxId = { view: 2, seqno: 5 };
let onAnswered: (() => void) | undefined;

before(async () => {
  service = await createService();
  server = new RpcServer({
    keyPem: service.node.keyPem,
    certPem: service.node.certPem,
    maxBodyBytes: 1024,
    currentTxId: () => current,
    afterRequest: () => onAnswered?.(),
  });
  server.add('node', 'GET', '/echo/{n}', (request) => ({ body: { n: Number(request.params.n) } }));
  server.add('node', 'POST', '/echo', (request) => ({ body: new TextDecoder().decode(request.body) }));
  server.add('node', 'GET', '/bad-header', () => ({ headers: { 'x-bad': 'a\r\nb' }, body: 'never sent' }));
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

test('a response HTTP cannot carry is a 500 InternalError, and the server keeps serving', async () => {
  const bad = await client.request('GET', '/node/bad-header', { allowError: true });
  assert.equal(bad.status, 500);
  assert.equal(bad.headers['x-bad'], undefined);
  assert.equal(bad.json<{ error: { code: string } }>().error.code, 'InternalError');
  assert.deepEqual((await client.request('GET', '/node/echo/7')).json(), { n: 7 });
});
