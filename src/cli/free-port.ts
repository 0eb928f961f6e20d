// Picks a free TCP port now, for addresses that must be known (and written into configurations
// or the nodes table) before the process that will listen on them starts. The port is drawn below
// the kernel's ephemeral range (32768 and up on Linux), where neither outgoing connections nor
// servers listening on port 0 take ports, so it stays free until its process binds it.

import { createServer } from 'node:net';
import { CocoError } from '../errors.js';

const RANGE_FIRST = 20_000;
const RANGE_END = 32_768;
const ATTEMPTS_MAX = 100;

function tryListen(host: string, port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export async function freePort(host: string): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
    const port = RANGE_FIRST + Math.floor(Math.random() * (RANGE_END - RANGE_FIRST));
    if (await tryListen(host, port)) return port;
  }
  throw new CocoError('NoFreePort', `no free port found on ${host} between ${RANGE_FIRST} and ${RANGE_END - 1}; pass explicit ports`);
}
