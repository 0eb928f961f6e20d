// Picks a free TCP port now, for addresses that must be known (and written into configurations
// or the nodes table) before the process that will listen on them starts.

import { createServer } from 'node:net';

export async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
