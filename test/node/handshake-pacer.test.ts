import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';
import test from 'node:test';
import tls from 'node:tls';
import { HandshakePacer, type PacerClosure } from '../../src/node/handshake-pacer.js';
import { createService } from '../client/tls-fixture.js';
import { until } from '../support/until.js';

const service = await createService();

/** A TLS server fed by a paused TCP listener through a pacer, as the node's listeners are. */
async function pacedServer(inProgressMax: number) {
  const server = tls.createServer({ key: service.node.keyPem, cert: service.node.certPem });
  const closures: PacerClosure[] = [];
  const pacer = new HandshakePacer(server, 60_000, { inProgressMax, onClose: (_socket, why) => closures.push(why) });
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

// Time limits: a test that waits for connections to close would otherwise hang, not fail; and its
// servers close in `after`, which runs at the limit too, so that the file's process can end.
test('a burst of connections runs at most the bound of handshakes between two timer runs, and every one completes', { timeout: 120_000 }, async (t) => {
  const inProgressMax = 4;
  const { server, port, close } = await pacedServer(inProgressMax);
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

test('connections that stall their handshake give their places to a connection waiting', { timeout: 60_000 }, async (t) => {
  const { port, close, accepted, closures } = await pacedServer(2);
  t.after(close);
  const stalled = await Promise.all([0, 1].map(() => new Promise<net.Socket>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
  })));
  t.after(() => stalled.forEach((socket) => socket.destroy()));
  const closed = stalled.map((socket) => new Promise((resolve) => socket.on('close', resolve)));
  // Both hold their places before the client comes: the newest waiting goes first, so a client
  // accepted with them could take a place, and no stalled one would need to give up its own.
  await until('the server to accept both stalled connections', 10_000, async () => (accepted.size === 2 ? true : undefined));
  await new Promise((resolve) => setTimeout(resolve, 100));
  const client = await handshake(port);
  client.destroy();
  // The one whose place it took is closed. The other may keep its place (it has held it less than
  // the limit when the first is closed, and then nobody waits), until TLS's own handshake timeout.
  await Promise.race(closed);
  assert.ok(closures.length >= 1 && closures.every((why) => why === 'held'), `the server is told why: ${closures.join(', ')}`);
});
