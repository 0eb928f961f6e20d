import assert from 'node:assert/strict';
import net from 'node:net';
import test from 'node:test';
import tls from 'node:tls';
import { FRAME_PAYLOAD_BYTES_MAX, SOCKET_WRITABLE_BYTES_MAX, UNAUTHENTICATED_INBOUND_CONNECTIONS_MAX } from '../../src/channels/channel-limits.js';
import { encodeFrameHeader } from '../../src/channels/frame.js';
import { NodeChannels } from '../../src/channels/node-channels.js';
import { CocoError } from '../../src/errors.js';
import { HANDSHAKES_IN_PROGRESS_MAX } from '../../src/node/handshake-pacer.js';
import { connect, createNode, createService, startNode, text, type TestNode } from './channel-fixture.js';

/** Guards against a hang only: every wait below is on an event, not a duration. */
const HANG_GUARD = { timeout: 60_000 };

const service = createService();
const otherService = createService();
const [keysA, keysB, keysC] = [createNode(service), createNode(service), createNode(service)] as const;
const rogueKeys = createNode(otherService);

/** Connects `a` and `b` both ways and sends a frame each way; resolves once both have arrived. */
async function roundTrip(a: TestNode, b: TestNode, there: string, back: string): Promise<void> {
  connect(a, [b]);
  connect(b, [a]);
  a.channels.send(b.keys.id, 1, text(there));
  b.channels.send(a.keys.id, 1, text(back));
  await b.waitForFrame(a.keys.id, there);
  await a.waitForFrame(b.keys.id, back);
}

async function closeAll(...nodes: TestNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.channels.close()));
}

test('three nodes exchange frames both ways, in order, tagged with the authenticated sender', HANG_GUARD, async () => {
  const nodes = await Promise.all([keysA, keysB, keysC].map((keys) => startNode(keys, service.certPem)));
  for (const node of nodes) connect(node, nodes);
  const count = 20;
  // Sent at once, before any connection is up: they queue and go out in order.
  for (const from of nodes) {
    for (const to of nodes) {
      if (from === to) continue;
      for (let i = 0; i < count; i++) assert.ok(from.channels.send(to.keys.id, 1, text(`${from.port}->${to.port} #${i}`)));
    }
  }
  for (const from of nodes) {
    for (const to of nodes) {
      if (from === to) continue;
      await to.waitForFrame(from.keys.id, `${from.port}->${to.port} #${count - 1}`);
      assert.deepEqual(to.textsFrom(from.keys.id), Array.from({ length: count }, (_, i) => `${from.port}->${to.port} #${i}`));
    }
  }
  assert.ok(nodes.every((node) => node.frames.items.every((f) => f.kind === 1)));
  await closeAll(...nodes);
});

test('nodes whose certificates (and the service certificate) have expired still connect, as CCF ignores validity between nodes', HANG_GUARD, async () => {
  const expiredService = createService({ expired: true });
  const [old1, old2] = [createNode(expiredService, { expired: true }), createNode(expiredService, { expired: true })];
  const a = await startNode(old1, expiredService.certPem);
  const b = await startNode(old2, expiredService.certPem);
  await roundTrip(a, b, 'after expiry', 'and back');
  await closeAll(a, b);
});

test('frames to an unknown peer, to itself or larger than a frame are dropped', HANG_GUARD, async () => {
  const a = await startNode(keysA, service.certPem);
  const b = await startNode(keysB, service.certPem);
  connect(a, [a, b]);
  assert.equal(a.channels.send(keysC.id, 1, text('who?')), false);
  assert.equal(a.channels.send(keysA.id, 1, text('me?')), false);
  // A stand-in for 128 MiB + 1: only the length is read before the frame is dropped.
  const oversize = { length: FRAME_PAYLOAD_BYTES_MAX + 1 } as unknown as Uint8Array;
  assert.equal(a.channels.send(keysB.id, 1, oversize), false);
  assert.equal(a.channels.send(keysB.id, 2, text('hello')), true);
  await b.waitForFrame(keysA.id, 'hello');
  await closeAll(a, b);
});

test('a node with no address for a peer that dialled it answers on that connection, in order, and the dialler takes it as from that peer', HANG_GUARD, async () => {
  const a = await startNode(keysA, service.certPem);
  const b = await startNode(keysB, service.certPem);
  // Only a knows b's address (b's state lags: it knows nothing of a).
  connect(a, [b]);
  assert.equal(b.channels.send(keysA.id, 1, text('too early')), false, 'nothing to answer on before a dials');
  a.channels.send(keysB.id, 1, text('hello'));
  await b.waitForFrame(keysA.id, 'hello');
  for (const n of [1, 2, 3]) assert.equal(b.channels.send(keysA.id, 1, text(`answer ${n}`)), true);
  for (const n of [1, 2, 3]) await a.waitForFrame(keysB.id, `answer ${n}`);
  assert.equal(b.channels.send(keysC.id, 1, text('who?')), false, 'a node that neither dialled nor was dialled gets nothing');
  await closeAll(a, b);
});

test('a client endorsed by another service is refused in the handshake', HANG_GUARD, async () => {
  const a = await startNode(keysA, service.certPem);
  // The rogue trusts A's service, so only A's check stands between it and A.
  const rogue = await startNode(rogueKeys, service.certPem);
  connect(rogue, [a]);
  rogue.channels.send(keysA.id, 1, text('let me in'));
  await a.waitForLog(/refused an inbound connection from/);
  assert.deepEqual(a.frames.items, []);
  assert.ok(!a.logs.items.some((line) => line.includes(`node ${rogueKeys.id} connected`)));
  await closeAll(a, rogue);
});

test('a server endorsed by another service is refused by the client', HANG_GUARD, async () => {
  const a = await startNode(keysA, service.certPem);
  const rogue = await startNode(rogueKeys, service.certPem);
  connect(a, [rogue]);
  a.channels.send(rogueKeys.id, 1, text('secret'));
  await a.waitForLog(new RegExp(`connection to node ${rogueKeys.id} .* failed`));
  assert.deepEqual(rogue.frames.items, []);
  assert.ok(!a.logs.items.some((line) => line.startsWith('connected to node')));
  await closeAll(a, rogue);
});

test('a dialled server whose node ID is not the expected one is refused', HANG_GUARD, async () => {
  const a = await startNode(keysA, service.certPem);
  const c = await startNode(keysC, service.certPem);
  // B's ID at C's address: C is a genuine node of the service, but not B.
  a.channels.setPeers(new Map([[keysB.id, c.address]]));
  a.channels.send(keysB.id, 1, text('for B only'));
  await a.waitForLog(new RegExp(`is node ${keysC.id}, not node ${keysB.id}`));
  assert.deepEqual(c.frames.items, []);
  await closeAll(a, c);
});

test('a peer that authorize refuses is dropped on connect, and its frames are not delivered', HANG_GUARD, async () => {
  const a = await startNode(keysA, service.certPem);
  const b = await startNode(keysB, service.certPem);
  a.refused.add(keysB.id);
  connect(b, [a]);
  b.channels.send(keysA.id, 1, text('ignored'));
  await a.waitForLog(new RegExp(`refused an inbound connection from node ${keysB.id}: not authorized`));
  assert.deepEqual(a.frames.items, []);
  await closeAll(a, b);
});

test('a peer that stops being authorized is dropped at its next frame, which is not delivered', HANG_GUARD, async () => {
  const a = await startNode(keysA, service.certPem);
  const b = await startNode(keysB, service.certPem);
  connect(b, [a]);
  b.channels.send(keysA.id, 1, text('while trusted'));
  await a.waitForFrame(keysB.id, 'while trusted');
  a.refused.add(keysB.id);
  b.channels.send(keysA.id, 1, text('after removal'));
  await a.waitForLog(new RegExp(`dropped the connection from node ${keysB.id}: no longer authorized`));
  assert.deepEqual(a.textsFrom(keysB.id), ['while trusted']);
  await closeAll(a, b);
});

test('a peer that goes down and comes back on the same port gets what was sent while it was away', HANG_GUARD, async () => {
  const a = await startNode(keysA, service.certPem);
  let b = await startNode(keysB, service.certPem);
  connect(a, [b]);
  a.channels.send(keysB.id, 1, text('before'));
  await b.waitForFrame(keysA.id, 'before');
  await b.channels.close();
  await a.waitForLog(new RegExp(`disconnected from node ${keysB.id}`));
  const away = ['away 1', 'away 2', 'away 3'];
  for (const message of away) assert.ok(a.channels.send(keysB.id, 1, text(message)));
  // Several redials are refused meanwhile (backoff from 50 ms): the first is logged, not each one.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const refusals = a.logs.items.filter((line) => line.startsWith(`connection to node ${keysB.id}`));
  assert.equal(refusals.length, 1, refusals.join('\n'));
  b = await startNode(keysB, service.certPem, { port: b.port });
  await b.waitForFrame(keysA.id, 'away 3');
  assert.ok(a.logs.items.some((line) => new RegExp(`^connected to node ${keysB.id} at .* after ([2-9]|\\d\\d+) failed attempts$`).test(line)), a.logs.items.join('\n'));
  assert.deepEqual(b.textsFrom(keysA.id), away);
  a.channels.send(keysB.id, 1, text('after'));
  await b.waitForFrame(keysA.id, 'after');
  await closeAll(a, b);
});

test('a TLS record corrupted on the way (a bit flipped by the network or a host) ends that connection, and the sender redials', HANG_GUARD, async () => {
  const a = await startNode(keysA, service.certPem);
  const b = await startNode(keysB, service.certPem);
  // A relay between them that flips one bit of the next chunk from a to b, once.
  let flipNext = false;
  const relay = net.createServer((from) => {
    const to = net.connect(b.port, '127.0.0.1');
    from.on('data', (chunk: Buffer) => {
      if (flipNext) {
        flipNext = false;
        chunk = Buffer.from(chunk);
        chunk[chunk.length - 1]! ^= 1;
      }
      to.write(chunk);
    });
    to.on('data', (chunk: Buffer) => from.write(chunk));
    for (const [one, other] of [[from, to], [to, from]] as const) {
      one.on('error', () => other.destroy());
      one.on('close', () => other.destroy());
    }
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  a.channels.setPeers(new Map([[keysB.id, `127.0.0.1:${(relay.address() as net.AddressInfo).port}`]]));
  a.channels.send(keysB.id, 1, text('before'));
  await b.waitForFrame(keysA.id, 'before');
  flipNext = true;
  a.channels.send(keysB.id, 1, text('corrupted'));
  await b.waitForLog(new RegExp(`inbound connection from node ${keysA.id} failed: .*(bad record mac|decryption failed)`, 'i'));
  // Both ends close their socket: a redials, and what it sends next arrives.
  await a.waitForLog(new RegExp(`disconnected from node ${keysB.id}`));
  a.channels.send(keysB.id, 1, text('after'));
  await b.waitForFrame(keysA.id, 'after');
  await closeAll(a, b);
  await new Promise((resolve) => relay.close(resolve));
});

test('a peer that stops reading gets frames dropped once its socket holds the bound, not buffered without limit', HANG_GUARD, async () => {
  const a = await startNode(keysA, service.certPem);
  // B's identity, served by a listener that accepts and then never reads.
  const accepted: tls.TLSSocket[] = [];
  const stuck = tls.createServer({ key: keysB.keyPem, cert: keysB.certPem, ca: [service.certPem], requestCert: true, rejectUnauthorized: true }, (socket) => {
    socket.pause();
    accepted.push(socket);
  });
  await new Promise<void>((resolve) => stuck.listen(0, '127.0.0.1', resolve));
  a.channels.setPeers(new Map([[keysB.id, `127.0.0.1:${(stuck.address() as net.AddressInfo).port}`]]));
  await a.waitForLog(new RegExp(`connected to node ${keysB.id}`));
  const payload = new Uint8Array(1024 * 1024);
  let sent = 0;
  // Far more than the bound plus what the kernel buffers; one frame per turn, so the socket can drain if it is able to.
  while (sent < 512 && a.channels.send(keysB.id, 1, payload)) {
    sent += 1;
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.ok(sent < 512, 'send reports drops');
  assert.ok(sent >= SOCKET_WRITABLE_BYTES_MAX / payload.length, `${sent} MiB accepted before the first drop`);
  await a.channels.close();
  for (const socket of accepted) socket.destroy();
  await new Promise((resolve) => stuck.close(resolve));
});

function rawTlsClient(server: TestNode, keys: { keyPem: string; certPem: string } | null): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: server.port,
      ca: [service.certPem],
      ...(keys !== null && { key: keys.keyPem, cert: keys.certPem }),
      checkServerIdentity: () => undefined,
    });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
}

test('garbage, an oversize length or a rejected frame closes that connection, and the server keeps serving', HANG_GUARD, async () => {
  const a = await startNode(keysA, service.certPem, {
    onFrame: (_from, kind) => {
      if (kind === 9) throw new CocoError('InvalidConsensusMessage', 'test: the receiver rejects kind 9');
    },
  });
  const b = await startNode(keysB, service.certPem);

  const raw = net.connect(a.port, '127.0.0.1', () => raw.write(Buffer.from('GET / HTTP/1.1\r\n\r\n garbage')));
  raw.on('error', () => {});
  await Promise.all([closed(raw), a.waitForLog(/refused an inbound connection/)]);
  // One readable line: OpenSSL's reason, not its internals and their trailing newline.
  assert.ok(a.logs.items.includes('refused an inbound connection from 127.0.0.1: the TLS handshake failed: http request (ERR_SSL_HTTP_REQUEST)'), a.logs.items.join('\n'));

  const noCert = await rawTlsClient(a, null).catch(() => null);
  if (noCert !== null) {
    noCert.on('error', () => {});
    await closed(noCert);
  }

  const oversize = await rawTlsClient(a, keysC);
  oversize.on('error', () => {});
  oversize.write(encodeFrameHeader(1, 0xffff_ffff));
  await Promise.all([closed(oversize), a.waitForLog(new RegExp(`closed the connection from node ${keysC.id}: a frame declares 4294967295`))]);

  const rejected = await rawTlsClient(a, keysC);
  rejected.on('error', () => {});
  rejected.write(Buffer.concat([encodeFrameHeader(9, 1), Uint8Array.of(0), encodeFrameHeader(1, 4), text('late')]));
  await Promise.all([closed(rejected), a.waitForLog(/test: the receiver rejects kind 9/)]);
  assert.deepEqual(a.textsFrom(keysC.id), [], 'neither the rejected frame nor the one after it is delivered');

  connect(b, [a]);
  b.channels.send(keysA.id, 1, text('still here?'));
  await a.waitForFrame(keysB.id, 'still here?');
  await closeAll(a, b);
});

/** A TCP connection to `server` that never starts TLS, from `localAddress` (any 127.x.y.z is this machine). */
function rawTcpClient(server: TestNode, localAddress = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port: server.port, host: '127.0.0.1', localAddress }, () => resolve(socket));
    socket.once('error', reject);
  });
}

test('connections that never start TLS, held open past the cap, do not keep a peer out', HANG_GUARD, async () => {
  const a = await startNode(keysA, service.certPem);
  const b = await startNode(keysB, service.certPem);
  const over = 44;
  const flood = await Promise.all(Array.from({ length: UNAUTHENTICATED_INBOUND_CONNECTIONS_MAX + over }, () => rawTcpClient(a)));
  for (const socket of flood) socket.on('error', () => {});
  // The node has reached its cap once it has closed as many as there are over it.
  await new Promise<void>((resolve) => {
    let closedCount = 0;
    for (const socket of flood) socket.once('close', () => ++closedCount === over && resolve());
  });
  await roundTrip(b, a, 'through the flood', 'and back');
  // B got in while the flood was held: only the oldest connections made room (the flood sends no
  // TLS hello, so it takes no handshake place: see HandshakePacer).
  const held = flood.filter((socket) => !socket.destroyed).length;
  assert.ok(held >= UNAUTHENTICATED_INBOUND_CONNECTIONS_MAX - HANDSHAKES_IN_PROGRESS_MAX - 1, `${held} of ${flood.length} still held`);
  for (const socket of flood) socket.destroy();
  await closeAll(a, b);
});

test('room is made by closing connections of the address holding the most, not an older one from elsewhere', HANG_GUARD, async () => {
  // No deadline closes any of them meanwhile, however slowly they arrive.
  const a = await startNode(keysA, service.certPem, { inboundHandshakeTimeoutMs: 120_000 });
  const elsewhere = await rawTcpClient(a, '127.0.0.3');
  elsewhere.on('error', () => {});
  const over = 10;
  const flood = await Promise.all(Array.from({ length: UNAUTHENTICATED_INBOUND_CONNECTIONS_MAX + over }, () => rawTcpClient(a, '127.0.0.2')));
  for (const socket of flood) socket.on('error', () => {});
  // The cap was reached: the flood lost as many of its own as it went over, plus the one place the older connection holds.
  await new Promise<void>((resolve) => {
    let closedCount = 0;
    for (const socket of flood) socket.once('close', () => ++closedCount === over + 1 && resolve());
  });
  assert.equal(elsewhere.destroyed, false, 'the oldest connection, from another address, is still open');
  for (const socket of [elsewhere, ...flood]) socket.destroy();
  await closeAll(a);
});

test('a connection that trickles bytes without finishing its handshake is closed at the deadline', HANG_GUARD, async () => {
  const a = await startNode(keysA, service.certPem, { inboundHandshakeTimeoutMs: 300 });
  const slow = await rawTcpClient(a);
  slow.on('error', () => {});
  // A TLS record header announcing 16 KiB, then a byte at a time: each byte would restart an idle timer.
  slow.write(Uint8Array.of(0x16, 0x03, 0x01, 0x40, 0x00));
  const trickle = setInterval(() => slow.write(Uint8Array.of(0)), 50);
  await Promise.all([closed(slow), a.waitForLog(/refused an inbound connection from 127\.0\.0\.1: not authenticated within 300 ms/)]);
  clearInterval(trickle);
  await a.channels.close();
});

test('refused inbound connections are logged once per source and reason, not once each', HANG_GUARD, async () => {
  const a = await startNode(keysA, service.certPem);
  for (let i = 0; i < 5; i++) {
    const rogue = await rawTlsClient(a, rogueKeys).catch(() => null);
    if (rogue === null) continue;
    rogue.on('error', () => {});
    await closed(rogue);
  }
  const garbage = net.connect(a.port, '127.0.0.1', () => garbage.write(Buffer.from('GET / HTTP/1.1\r\n\r\n')));
  garbage.on('error', () => {});
  await closed(garbage);
  const refusals = a.logs.items.filter((line) => line.startsWith('refused an inbound connection from 127.0.0.1'));
  assert.equal(refusals.filter((line) => line.includes('not endorsed by this service')).length, 1, refusals.join('\n'));
  assert.equal(refusals.length, 2, 'another reason gets its own line');
  await a.channels.close();
});

test('a node identity connecting from two processes in turn is logged as a warning once the replacements repeat, throttled', HANG_GUARD, async () => {
  const a = await startNode(keysA, service.certPem);
  // Two copies of node B (one node directory run twice): each connection of one replaces the other's.
  const copies = await Promise.all([startNode(keysB, service.certPem), startNode(keysB, service.certPem)]);
  for (const copy of copies) connect(copy, [a]);
  const warning = await a.waitForLog(/^\[warn\] node \w+ connected again from /);
  assert.match(warning, new RegExp(`^\\[warn\\] node ${keysB.id} connected again from 127\\.0\\.0\\.1:\\d+ then 127\\.0\\.0\\.1:\\d+ while its previous connection was open, twice within 10 s: two processes may be running with this node's identity \\(a copied node directory\\?\\); stop all but one of them$`));
  assert.ok(a.logs.items.includes(`node ${keysB.id} connected again; closing its previous inbound connection`), 'the first replacement is news, not a warning');
  // They go on taking turns: three more connections, still one warning (the next comes a minute later at the earliest).
  const connected = `node ${keysB.id} connected`;
  const wanted = a.logs.items.filter((line) => line === connected).length + 3;
  let seen = 0;
  await a.logs.waitFor((line) => line === connected && ++seen >= wanted);
  assert.equal(a.logs.items.filter((line) => line.startsWith('[warn]')).length, 1, a.logs.items.join('\n'));
  await closeAll(a, ...copies);
});

test('a node refuses a certificate that is not its own node ID, and an address that is not host:port', async () => {
  const keys = { selfId: keysA.id, keyPem: keysB.keyPem, certPem: keysB.certPem, serviceCertPem: service.certPem, host: '127.0.0.1', port: 0 };
  const callbacks = { authorize: () => true, onFrame: () => {} };
  assert.throws(() => new NodeChannels({ ...keys, ...callbacks }), (e: unknown) => e instanceof CocoError && e.code === 'InvalidArgument');
  const channels = new NodeChannels({ ...keys, selfId: keysB.id, ...callbacks });
  for (const address of ['127.0.0.1', '127.0.0.1:', ':80', '[]:80', '127.0.0.1:0', '127.0.0.1:65536', 'host:8x']) {
    assert.throws(() => channels.setPeers(new Map([[keysC.id, address]])), (e: unknown) => e instanceof CocoError && e.code === 'InvalidArgument', address);
  }
  await channels.close();
});

test('listening on a port already in use fails with a CocoError', HANG_GUARD, async () => {
  const a = await startNode(keysA, service.certPem);
  await assert.rejects(startNode(keysB, service.certPem, { port: a.port }), (e: unknown) => e instanceof CocoError && e.code === 'ChannelListenFailed');
  await a.channels.close();
});

test('close() leaves no socket, server or timer behind, even with peers down and redials pending', HANG_GUARD, async () => {
  const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const a = await startNode(keysA, service.certPem);
  const b = await startNode(keysB, service.certPem);
  const c = await startNode(keysC, service.certPem);
  connect(a, [b, c]);
  connect(b, [a, c]);
  a.channels.send(keysB.id, 1, text('up'));
  await b.waitForFrame(keysA.id, 'up');
  await c.channels.close();
  await a.waitForLog(new RegExp(`disconnected from node ${keysC.id}`));
  await closeAll(a, b);
  assert.equal(a.channels.send(keysB.id, 1, text('too late')), false);
  // Destroyed handles are released on the next turns of the event loop.
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  const left = process.getActiveResourcesInfo();
  assert.deepEqual(left.filter((r) => /^(TCP|TLS)/.test(r)), [], left.join(', '));
  // The test runner's own hang guard is the only timer.
  assert.equal(left.filter((r) => r === 'Timeout').length, timersBefore, left.join(', '));
});
