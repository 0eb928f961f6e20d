// The ALPN protocols of real ClientHellos, as Node's TLS client sends them, and nothing from bytes
// that are not a whole ClientHello.

import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { connect, type ConnectionOptions } from 'node:tls';
import { offeredAlpnProtocols } from '../../src/rpc/client-hello-alpn.js';

/** The first bytes a TLS client with `options` sends: its ClientHello's record. */
async function clientHello(options: ConnectionOptions): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const received = new Promise<Buffer>((resolve) =>
      server.once('connection', (socket) =>
        socket.once('data', (chunk: Buffer) => {
          resolve(chunk);
          socket.destroy();
        }),
      ),
    );
    const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ...options }).on('error', () => {});
    const hello = await received;
    client.destroy();
    return hello;
  } finally {
    server.close();
  }
}

test('the protocols a ClientHello offers by ALPN, in its order, whatever its TLS version', { timeout: 10_000 }, async () => {
  for (const [options, offered] of [
    [{ ALPNProtocols: ['h2'] }, ['h2']],
    [{ ALPNProtocols: ['h2', 'http/1.1'] }, ['h2', 'http/1.1']],
    [{ ALPNProtocols: ['http/1.1'], maxVersion: 'TLSv1.2' }, ['http/1.1']],
    [{}, undefined],
  ] as const) {
    assert.deepEqual(offeredAlpnProtocols(await clientHello(options)), offered, JSON.stringify(options));
  }
});

test('bytes that are no whole ClientHello offer nothing', { timeout: 10_000 }, async () => {
  const hello = await clientHello({ ALPNProtocols: ['h2', 'http/1.1'] });
  const wrongLength = Buffer.from(hello);
  wrongLength[3] = 0xff; // the record claims more bytes than it has
  for (const bytes of [hello.subarray(0, hello.length - 1), hello.subarray(0, 5), Buffer.alloc(0), Buffer.from('GET / HTTP/1.1\r\n\r\n'), wrongLength]) {
    assert.equal(offeredAlpnProtocols(bytes), undefined, bytes.toString('hex').slice(0, 40));
  }
});
