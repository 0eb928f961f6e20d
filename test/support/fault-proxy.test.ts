// The fault proxy on its own, in front of an echo server: it forwards both ways, a partition
// destroys open connections and refuses new ones until healed, a partition or delay of one source
// spares the others, a delay never reorders bytes, and close() ends everything. Sources are told
// apart by the client's loopback address (127.0.0.2, 127.0.0.3), as the test's `identify` says.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { FaultProxy } from './fault-proxy.js';

interface EchoServer {
  server: Server;
  port: number;
  /** Sockets the server accepted and that are still open. */
  open: Set<Socket>;
}

async function echoServer(t: TestContext): Promise<EchoServer> {
  const open = new Set<Socket>();
  const server = createServer((socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    for (const socket of open) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { server, port: (server.address() as AddressInfo).port, open };
}

async function startProxy(t: TestContext, target: EchoServer): Promise<FaultProxy> {
  const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: target.port }, identify: (socket) => socket.remoteAddress });
  t.after(() => proxy.close());
  return proxy;
}

/** A client of the proxy from `source` (a loopback address), collecting what it receives. */
async function dial(t: TestContext, proxy: FaultProxy, source = '127.0.0.2'): Promise<{ socket: Socket; received: () => string; closed: Promise<unknown> }> {
  const socket = connect({ host: '127.0.0.1', port: proxy.port, localAddress: source });
  t.after(() => socket.destroy());
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  socket.on('error', () => undefined);
  const closed = once(socket, 'close');
  await once(socket, 'connect');
  return { socket, received: () => text, closed };
}

async function receive(client: { socket: Socket; received: () => string }, expected: string): Promise<void> {
  while (client.received().length < expected.length) await once(client.socket, 'data');
  assert.equal(client.received(), expected);
}

test('forwards bytes both ways on each connection and names its source', async (t) => {
  const target = await echoServer(t);
  const proxy = await startProxy(t, target);
  const a = await dial(t, proxy, '127.0.0.2');
  const b = await dial(t, proxy, '127.0.0.3');
  a.socket.write('hello ');
  a.socket.write('world');
  b.socket.write('other');
  await receive(a, 'hello world');
  await receive(b, 'other');
  assert.deepEqual(proxy.openSources().sort(), ['127.0.0.2', '127.0.0.3']);
  assert.equal(target.open.size, 2);
});

test('a partition destroys open connections both ways and refuses new ones until healed', async (t) => {
  const target = await echoServer(t);
  const proxy = await startProxy(t, target);
  const before = await dial(t, proxy);
  before.socket.write('ping');
  await receive(before, 'ping');

  proxy.partition();
  await before.closed;
  while (target.open.size > 0) await new Promise((resolve) => setImmediate(resolve));
  const during = await dial(t, proxy);
  during.socket.write('lost');
  await during.closed;
  assert.equal(during.received(), '');
  assert.equal(proxy.refused, 1);
  assert.deepEqual(proxy.openSources(), []);

  proxy.heal();
  const after = await dial(t, proxy);
  after.socket.write('pong');
  await receive(after, 'pong');
});

test('a partition of one source drops only its connections; healing it lets it back', async (t) => {
  const target = await echoServer(t);
  const proxy = await startProxy(t, target);
  const cut = await dial(t, proxy, '127.0.0.2');
  const spared = await dial(t, proxy, '127.0.0.3');

  proxy.partition('127.0.0.2');
  await cut.closed;
  spared.socket.write('still here');
  await receive(spared, 'still here');
  const refused = await dial(t, proxy, '127.0.0.2');
  await refused.closed;
  assert.equal(refused.received(), '');
  assert.deepEqual(proxy.openSources(), ['127.0.0.3']);

  proxy.heal('127.0.0.3');
  const stillRefused = await dial(t, proxy, '127.0.0.2');
  await stillRefused.closed;
  proxy.heal('127.0.0.2');
  const back = await dial(t, proxy, '127.0.0.2');
  back.socket.write('back');
  await receive(back, 'back');
});

test('a delay of one source holds its bytes back without reordering them, and spares other sources', async (t) => {
  const target = await echoServer(t);
  const proxy = await startProxy(t, target);
  const slow = await dial(t, proxy, '127.0.0.2');
  const fast = await dial(t, proxy, '127.0.0.3');

  proxy.delay(500, '127.0.0.2');
  slow.socket.write('first;');
  while (proxy.heldBytes === 0) await new Promise((resolve) => setImmediate(resolve));
  fast.socket.write('quick');
  await receive(fast, 'quick');
  assert.equal(slow.received(), '', 'the delayed bytes are still held while another source is served');
  // A shorter delay afterwards must not let later bytes overtake the held ones.
  proxy.delay(0, '127.0.0.2');
  slow.socket.write('second;');
  await receive(slow, 'first;second;');
  assert.equal(proxy.heldBytes, 0);
});

test('rejects a negative delay', async (t) => {
  const proxy = await startProxy(t, await echoServer(t));
  assert.throws(() => proxy.delay(-1), RangeError);
});

test('a connection whose target is down is closed, and close() stops listening and ends every connection', async (t) => {
  const target = await echoServer(t);
  const proxy = await startProxy(t, target);
  const open = await dial(t, proxy);
  open.socket.write('x');
  await receive(open, 'x');

  // Nothing listens on port 1 (and an unprivileged process cannot make anything listen there).
  const dead = await FaultProxy.start({ target: { host: '127.0.0.1', port: 1 } });
  t.after(() => dead.close());
  const toNowhere = await dial(t, dead);
  await toNowhere.closed;

  const port = proxy.port;
  await proxy.close();
  await open.closed;
  const refused = connect({ host: '127.0.0.1', port });
  const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
  assert.equal(error.code, 'ECONNREFUSED');
});
