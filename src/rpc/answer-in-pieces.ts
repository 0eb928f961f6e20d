// A large answer body written a piece per turn of the event loop. A TLS socket encrypts what one
// write gives it before the write returns: a 159 MB snapshot answered in one call held a primary
// 1.4-4.5 s, and its backups elected another (a QA pass backing up snapshots with curl). Pieces go
// as the socket takes them (waiting for 'drain' when it is full), with a turn of the loop between two.

/** Bytes encrypted in one turn: a millisecond or two of AES-GCM. */
export const ANSWER_PIECE_BYTES = 1 << 20;

/** What endInPieces needs of a ServerResponse. */
export interface PieceSink {
  readonly destroyed: boolean;
  write(piece: Uint8Array): boolean;
  end(piece?: Uint8Array): unknown;
  once(event: 'drain', listener: () => void): unknown;
}

/** Ends `response` with `body`, at most ANSWER_PIECE_BYTES per turn of the event loop. */
export function endInPieces(response: PieceSink, body: Uint8Array): void {
  // Almost every answer: one write, nothing kept for later turns (this runs for every request).
  if (body.length <= ANSWER_PIECE_BYTES) return void response.end(body);
  let at = 0;
  const next = (): void => {
    // A client gone: the rest has nowhere to go.
    if (response.destroyed) return;
    const piece = body.subarray(at, Math.min(at + ANSWER_PIECE_BYTES, body.length));
    at += piece.length;
    if (at === body.length) return void response.end(piece);
    if (response.write(piece)) setImmediate(next);
    else response.once('drain', next);
  };
  next();
}
