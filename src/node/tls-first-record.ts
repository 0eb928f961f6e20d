// A TLS client's first record (its ClientHello), awaited on an accepted TCP socket before TLS takes the
// socket: a server's handshake work starts when the hello has arrived, so until then the connection
// costs nothing. What is read is put back into the socket's buffer, where Node's TLSSocket reads it
// first when it wraps the socket (it feeds a wrapped socket's buffered bytes to TLS before reading on).

import type { Socket } from 'node:net';

/** A record header: content type (1 byte), legacy version (2), length of the fragment that follows (2). */
const RECORD_HEADER_BYTES = 5;
/** The content type of handshake records, which carry the ClientHello. */
const HANDSHAKE_CONTENT_TYPE = 0x16;
/** The longest fragment a record may announce: 2^14 bytes plus 256 of expansion (RFC 8446 §5.2). */
export const RECORD_FRAGMENT_BYTES_MAX = 16_384 + 256;

/**
 * The bytes the first record takes, header included, from the first bytes a client sent: undefined
 * while too few have arrived to tell; 'not-tls' when they start no handshake record a server would
 * accept, which TLS refuses as soon as it reads them.
 */
export function firstRecordBytes(head: Uint8Array): number | 'not-tls' | undefined {
  if (head.length === 0) return undefined;
  if (head[0] !== HANDSHAKE_CONTENT_TYPE) return 'not-tls';
  if (head.length < RECORD_HEADER_BYTES) return undefined;
  const fragmentBytes = (head[3]! << 8) | head[4]!;
  return fragmentBytes > RECORD_FRAGMENT_BYTES_MAX ? 'not-tls' : RECORD_HEADER_BYTES + fragmentBytes;
}

/**
 * 'arrived': the first record is whole in the socket's buffer (or its first bytes are no TLS), for TLS
 * to take; 'gone': the client ended or reset the connection, or it closed; 'timed-out': neither within the time given.
 */
export type FirstRecordOutcome = 'arrived' | 'gone' | 'timed-out';

/**
 * Reads `socket` (accepted paused, never read) until the first record has arrived, puts the bytes
 * back, and calls `then` once with the outcome, never before this returns. The returned function
 * stops waiting without calling `then`. The caller keeps an 'error' listener on the socket: reading
 * it, a reset is an error event.
 */
export function awaitFirstRecord(socket: Socket, timeoutMs: number, then: (outcome: FirstRecordOutcome) => void): () => void {
  const chunks: Buffer[] = [];
  let bytesRead = 0;
  const stop = () => {
    clearTimeout(deadline);
    socket.off('readable', read).off('end', gone).off('close', gone);
  };
  const finish = (outcome: FirstRecordOutcome) => {
    stop();
    if (outcome === 'arrived') socket.unshift(Buffer.concat(chunks, bytesRead));
    then(outcome);
  };
  function read(): void {
    for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
      chunks.push(chunk);
      bytesRead += chunk.length;
    }
    const recordBytes = firstRecordBytes(Buffer.concat(chunks, Math.min(bytesRead, RECORD_HEADER_BYTES)));
    if (recordBytes === 'not-tls' || (recordBytes !== undefined && bytesRead >= recordBytes)) finish('arrived');
  }
  function gone(): void {
    finish('gone');
  }
  const deadline = setTimeout(() => finish('timed-out'), timeoutMs);
  // A 'readable' listener starts reading (on the next tick) and leaves the bytes in the buffer until read.
  socket.on('readable', read).once('end', gone).once('close', gone);
  return stop;
}
