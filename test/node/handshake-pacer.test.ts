// The handshake pacer over real sockets and TLS: how many handshakes it lets run at once, which
// connections take a place (only those whose client's hello has arrived), which get the next one
// (the clients' addresses in turn), and which it closes and why.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import test from 'node:test';
import tls from 'node:tls';
import { HandshakePacer, type PacerClosure } from '../../src/node/handshake-pacer.js';
import { firstRecordBytes } from '../../src/node/tls-first-record.js';
import { createIdentity, createService } from '../client/tls-fixture.js';
import { until } from '../support/until.js';

const service = await createService();
const user = await createIdentity('user0');

/**
 * An HTTPS server asking for client certificates, fed by a paused TCP listener through a pacer, as the
 * node's listeners are; every request is answered "answered".
 */
async function pacedServer({ inProgressMax, waitMs = 60_000 }: { inProgressMax?: number; waitMs?: number } = {}) {
  const options = { key: service.node.keyPem, cert: service.node.certPem, requestCert: true, rejectUnauthorized: false, handshakeTimeout: waitMs };
  const server = https.createServer(options, (_request, response) => response.end('answered'));
  const closures: PacerClosure[] = [];
  const pacer = new HandshakePacer(server, waitMs, { inProgressMax, onClose: (_socket, why) => closures.push(why) });
  const tcp = net.createServer({ pauseOnConnect: true }, (socket) => pacer.add(socket));
  const accepted = new Set<net.Socket>();
  tcp.on('connection', (socket) => {
    accepted.add(socket);
    socket.on('close', () => accepted.delete(socket));
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  const port = (tcp.address() as AddressInfo).port;
  const close = async () => {
    pacer.close();
    for (const socket of accepted) socket.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => tcp.close(resolve));
  };
  return { server, port, close, accepted, closures };
}

function handshake(port: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A GET with the user's client certificate on a new connection (from `localAddress`): the answer's body. */
function get(port: number, localAddress = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, localAddress, path: '/', agent: false, ca: service.certPem, cert: user.certPem, key: user.keyPem };
    const request = https.request(options, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(body));
    });
    request.on('error', reject).end();
  });
}

/** The first record a real TLS client sends (its ClientHello), as a plain TCP server receives it. */
async function clientHello(): Promise<Buffer> {
  const tcp = net.createServer();
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  const received: Buffer[] = [];
  const hello = new Promise<Buffer>((resolve) => {
    tcp.once('connection', (socket) => {
      socket.on('data', (chunk: Buffer) => {
        received.push(chunk);
        const bytes = Buffer.concat(received);
        const recordBytes = firstRecordBytes(bytes);
        if (typeof recordBytes === 'number' && bytes.length >= recordBytes) resolve(bytes.subarray(0, recordBytes));
      });
    });
  });
  const client = tls.connect({ port: (tcp.address() as AddressInfo).port, host: '127.0.0.1', rejectUnauthorized: false });
  client.on('error', () => {});
  const record = await hello;
  client.destroy();
  tcp.close();
  return record;
}

const hello = await clientHello();

/**
 * `count` connections from `localAddress` that each send `bytes` (nothing when empty) and then never
 * another; each one the server closes is opened again 10 ms later, and every `churnMs` the oldest is
 * closed and opened again, so that new ones keep arriving.
 */
function stallingClients(port: number, { count, bytes, churnMs, localAddress = '127.0.0.1' }: { count: number; bytes: Uint8Array; churnMs?: number; localAddress?: string }) {
  let stopped = false;
  let opened = 0;
  const open = new Set<net.Socket>();
  const connect = () => {
    if (stopped) return;
    opened++;
    const socket = net.connect({ port, host: '127.0.0.1', localAddress }, () => {
      if (bytes.length > 0) socket.write(bytes);
    });
    open.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => {
      open.delete(socket);
      setTimeout(connect, 10);
    });
  };
  for (let i = 0; i < count; i++) connect();
  const churn = churnMs === undefined ? undefined : setInterval(() => open.values().next().value?.destroy(), churnMs);
  return {
    open,
    /** Connections opened so far, those open included. */
    get opened() {
      return opened;
    },
    stop() {
      stopped = true;
      clearInterval(churn);
      for (const socket of open) socket.destroy();
    },
  };
}

/**
 * Another process connects `count` TLS clients at once and prints how many completed their handshake:
 * in this process, the clients' own work would space the server's handshakes out.
 */
function flood(port: number, count: number, t: test.TestContext): Promise<number> {
  const script = `
    const tls = require('node:tls');
    let done = 0, ok = 0;
    for (let i = 0; i < ${count}; i++) {
      const socket = tls.connect({ port: ${port}, host: '127.0.0.1', rejectUnauthorized: false }, () => { ok++; end(); });
      socket.on('error', end);
    }
    function end() { if (++done === ${count}) { console.log(ok); process.exit(0); } }`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.on('exit', () => resolve(Number(output))));
}

test('the bytes a first record takes are read from its header; bytes that start no handshake record are no TLS', () => {
  const cases: [number[], number | 'not-tls' | undefined][] = [
    [[], undefined],
    [[0x16], undefined],
    [[0x16, 0x03, 0x01, 0x02], undefined],
    [[0x16, 0x03, 0x01, 0x02, 0x00], 5 + 512],
    [[0x16, 0x03, 0x01, 0x41, 0x00, 0xff], 5 + 16_640],
    [[0x16, 0x03, 0x01, 0x41, 0x01], 'not-tls'],
    [[0x47, 0x45, 0x54, 0x20, 0x2f], 'not-tls'],
    [[0x80], 'not-tls'],
  ];
  for (const [head, expected] of cases) assert.equal(firstRecordBytes(Uint8Array.from(head)), expected, `${Buffer.from(head).toString('hex')}`);
  assert.equal(firstRecordBytes(hello), hello.length, "a real client's hello");
});

// Time limits: a test that waits for connections to close would otherwise hang, not fail; and its
// servers close in `after`, which runs at the limit too, so that the file's process can end.
test('a burst of connections runs at most the bound of handshakes between two timer runs, and every one completes', { timeout: 120_000 }, async (t) => {
  const inProgressMax = 4;
  const { server, port, close } = await pacedServer({ inProgressMax });
  // The server's first key log line for a connection is its key exchange: the handshake's work.
  const started = new WeakSet<tls.TLSSocket>();
  let sinceTimer = 0;
  let most = 0;
  server.on('keylog', (_line: Buffer, socket: tls.TLSSocket) => {
    if (started.has(socket)) return;
    started.add(socket);
    most = Math.max(most, ++sinceTimer);
  });
  const timer = setInterval(() => (sinceTimer = 0), 1);
  t.after(() => clearInterval(timer));
  t.after(close);
  assert.equal(await flood(port, 200, t), 200);
  assert.ok(most <= inProgressMax, `${most} handshakes ran between two timer runs, more than ${inProgressMax}`);
});

test('connections that stall their handshake after their hello give their places to a connection waiting', { timeout: 60_000 }, async (t) => {
  const { port, close, closures } = await pacedServer({ inProgressMax: 2 });
  t.after(close);
  const stalled = await Promise.all([0, 1].map(() => new Promise<net.Socket>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(hello, () => resolve(socket)));
    socket.on('error', () => {});
  })));
  t.after(() => stalled.forEach((socket) => socket.destroy()));
  const closed = stalled.map((socket) => new Promise((resolve) => socket.on('close', resolve)));
  // Both hold their places before the client comes: the server answered their hellos (read and
  // dropped, so that each sees its connection end).
  await Promise.all(stalled.map((socket) => new Promise((resolve) => socket.once('data', resolve))));
  const client = await handshake(port);
  client.destroy();
  // The one whose place it took is closed. The other may keep its place (it has held it less than
  // the limit when the first is closed, and then nobody waits), until TLS's own handshake timeout.
  await Promise.race(closed);
  assert.ok(closures.length >= 1 && closures.every((why) => why === 'held'), `the server is told why: ${closures.join(', ')}`);
});

test('connections that never send a byte, reopened as soon as they close, do not keep a client out', { timeout: 60_000 }, async (t) => {
  // Before the pacer waited for hellos, the newest of these took every place that came free.
  const { port, close, accepted, closures } = await pacedServer({ waitMs: 3_000 });
  t.after(close);
  const idle = stallingClients(port, { count: 200, bytes: new Uint8Array(), churnMs: 5 });
  t.after(() => idle.stop());
  await until('the server to accept the idle connections', 10_000, async () => (accepted.size >= 150 && idle.opened >= 3 * 200 ? true : undefined));
  assert.equal(await get(port), 'answered');
  assert.ok(!closures.includes('held'), `no idle connection held a place: ${closures.join(', ')}`);
});

test('connections that send half a hello and stall take no place', { timeout: 60_000 }, async (t) => {
  const { port, close, closures } = await pacedServer({ inProgressMax: 1, waitMs: 3_000 });
  t.after(close);
  const halves = stallingClients(port, { count: 20, bytes: hello.subarray(0, hello.length >> 1) });
  t.after(() => halves.stop());
  await until('the server to read the half hellos', 10_000, async () => (halves.open.size === 20 && [...halves.open].every((socket) => socket.bytesWritten > 0) ? true : undefined));
  assert.equal(await get(port), 'answered');
  assert.ok(!closures.includes('held'), `no half hello held the one place: ${closures.join(', ')}`);
});

test('a connection whose client sends no whole hello is closed at the handshake timeout; one that ends first is closed quietly', { timeout: 60_000 }, async (t) => {
  const { port, close, closures } = await pacedServer({ waitMs: 300 });
  t.after(close);
  const connect = (bytes: Uint8Array, end = false) => new Promise<net.Socket>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(bytes);
      if (end) socket.end();
      resolve(socket);
    });
    socket.on('error', () => {});
  });
  const ended = await connect(hello.subarray(0, 3), true);
  await new Promise((resolve) => ended.once('close', resolve));
  assert.deepEqual(closures, [], 'a client that ended its connection is not reported');
  const silent = [await connect(new Uint8Array()), await connect(hello.subarray(0, 4)), await connect(hello.subarray(0, hello.length - 1))];
  t.after(() => silent.forEach((socket) => socket.destroy()));
  await Promise.all(silent.map((socket) => new Promise((resolve) => socket.once('close', resolve))));
  assert.deepEqual(closures, ['no-hello', 'no-hello', 'no-hello']);
});

// Two addresses: one whose connections send hellos and stall, the other a client's. Newest first,
// the stalling address's new connections would keep going ahead of the client; oldest first, the client
// would wait behind all of that address's connections queued before it.
// The client comes once the stalling address has opened `openedBefore` connections, and must get its
// answer before any connection is closed for waiting its turn too long.
async function assertClientAmongStallersAnswered(t: test.TestContext, stalling: { count: number; churnMs?: number; openedBefore: number }): Promise<void> {
  const { port, close, accepted, closures } = await pacedServer({ inProgressMax: 2, waitMs: 3_000 });
  t.after(close);
  const stallers = stallingClients(port, { ...stalling, bytes: hello });
  t.after(() => stallers.stop());
  const ready = () => accepted.size >= stalling.count - 5 && stallers.opened >= stalling.openedBefore;
  await until('the server to accept the stalling connections', 10_000, async () => (ready() ? true : undefined));
  assert.equal(await get(port, '127.0.0.2'), 'answered');
  assert.ok(!closures.includes('waited'), 'the client did not wait its turn until those ahead of it timed out');
}

test("an address's new connections, sending hellos and stalling, do not go ahead of another address's client", { timeout: 60_000 }, async (t) => {
  await assertClientAmongStallersAnswered(t, { count: 100, churnMs: 5, openedBefore: 2 * 100 });
});

test("an address's burst of connections, sending hellos and stalling, does not make another address's client wait behind it", { timeout: 60_000 }, async (t) => {
  await assertClientAmongStallersAnswered(t, { count: 60, openedBefore: 60 });
});
