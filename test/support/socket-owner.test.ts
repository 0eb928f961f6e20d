// Finding the process behind a loopback connection from the server's side: a child process that
// dials is found by its pid, this process by its own, and a pid list without the owner finds none.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { loopbackSocketOwner } from './socket-owner.js';

test('names the process that holds the client end of a loopback connection', async (t) => {
  const accepted: Socket[] = [];
  const server = createServer((socket) => accepted.push(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  t.after(async () => {
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  const nextConnection = () => once(server, 'connection').then(([socket]) => socket as Socket);

  // The child holds its connection open until its stdin closes.
  const child = spawn(process.execPath, ['-e', `require('net').connect(${port}, '127.0.0.1'); process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`], { stdio: ['pipe', 'ignore', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  const fromChild = await nextConnection();
  assert.equal(loopbackSocketOwner(fromChild.remotePort!, port, [process.pid, child.pid!]), child.pid);
  assert.equal(loopbackSocketOwner(fromChild.remotePort!, port, [process.pid]), undefined, 'the owner is not among the pids');

  const own = connect({ host: '127.0.0.1', port });
  t.after(() => own.destroy());
  const fromSelf = await nextConnection();
  assert.equal(loopbackSocketOwner(fromSelf.remotePort!, port, [child.pid!, process.pid]), process.pid);

  child.stdin!.end();
  await once(child, 'exit');
  assert.equal(loopbackSocketOwner(fromChild.remotePort!, port, [process.pid, child.pid!]), undefined, 'a closed connection has no owner');
});
