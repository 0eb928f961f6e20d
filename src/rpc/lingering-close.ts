// Closing a connection whose client may still be sending, without losing the answer written to it.
// Closed at once, a connection with bytes still arriving is reset, and a reset makes the client's
// system drop the answer unread (a broken pipe where it expected a 413). So the node stops parsing
// the connection, half-closes it once the answer is written, and reads and discards what still
// comes until the client closes too, for LINGER_MS, or up to LINGER_BYTES_MAX: never more.

import type { Socket } from 'node:net';

/** The longest a closing connection reads what its client still sends. */
export const LINGER_MS = 2_000;
/** What a closing connection discards at most before it is cut off (TLS decrypts it, nothing parses it). */
export const LINGER_BYTES_MAX = 16 * 1024 * 1024;

/**
 * From now on, what the client sends on `socket` is read and discarded: no HTTP parser sees it (Node's
 * HTTP server parses in its 'data' listener, removed here), and past LINGER_BYTES_MAX the connection
 * is cut off. Answers already due are still written.
 */
export function discardIncoming(socket: Socket): void {
  socket.removeAllListeners('data');
  let discardedBytes = 0;
  socket.on('data', (chunk: Buffer) => {
    discardedBytes += chunk.length;
    if (discardedBytes > LINGER_BYTES_MAX) socket.destroy();
  });
  // The connection may have been paused (a backlog of answers): a paused socket is reset at its close.
  socket.resume();
}

/** Half-closes `socket` after `answer` (when given), and destroys it LINGER_MS later unless its client closed first. */
export function lingeringEnd(socket: Socket, answer?: Uint8Array): void {
  if (answer === undefined) socket.end();
  else socket.end(answer);
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  socket.once('close', () => clearTimeout(timer));
}

/**
 * Node's HTTP server ends a connection after its last answer with `destroySoon()`, which destroys it
 * as soon as the answer is written: on `socket`, it lingers instead (lingeringEnd).
 */
export function lingerAfterLastAnswer(socket: Socket): void {
  socket.destroySoon = () => lingeringEnd(socket);
}
