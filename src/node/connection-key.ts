// What names one accepted connection across its layers: the TCP socket a server accepted and the TLS
// socket later wrapped over it are different objects with the same two ends.

import type { Socket } from 'node:net';

/** Both ends of a connection; undefined once the connection is reset (Node then forgets its address). */
export function connectionKey(socket: Socket): string | undefined {
  const { remoteAddress, remotePort, localAddress, localPort } = socket;
  if (remoteAddress === undefined || remotePort === undefined) return undefined;
  return `${remoteAddress} ${remotePort} ${localAddress ?? ''} ${localPort ?? ''}`;
}
