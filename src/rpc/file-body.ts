// An answer's body that is a byte range of a file opened once: it is read a piece at a time as the
// socket takes it, so a node never holds a whole snapshot for a download, and a file renamed or
// replaced meanwhile is still read from the same descriptor. A read that fails or comes short (the
// file was cut) destroys the connection: the client sees a truncated answer, never wrong bytes.

import type { FileHandle } from 'node:fs/promises';
import { logLine } from '../node/buffered-log.js';
import { ANSWER_PIECE_BYTES, type PieceSink } from './answer-in-pieces.js';
import { RpcError } from './rpc-error.js';

/** What FileBody needs of a ServerResponse. */
export interface FileSink extends PieceSink {
  destroy(): unknown;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

/** Reads exactly `into.length` bytes of `file` from `position`; InternalError if the file ends first. */
export async function readAt(file: FileHandle, into: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < into.length; ) {
    const { bytesRead } = await file.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new RpcError(500, 'InternalError', 'the file ended before its size: it changed while being read');
    done += bytesRead;
  }
}

/** Resolves when `response` can take more, or is gone. */
function drained(response: FileSink): Promise<void> {
  return new Promise((resolve) => {
    if (response.destroyed) return resolve();
    const settle = (): void => {
      response.off('drain', settle);
      response.off('close', settle);
      resolve();
    };
    response.once('drain', settle);
    response.once('close', settle);
  });
}

/** Bytes [start, end) of an open file, as an answer's body. It owns the file until close(). */
export class FileBody {
  #closing: Promise<void> | undefined;

  /** `path` names the file in the node's log only. */
  constructor(
    private readonly file: FileHandle,
    private readonly path: string,
    private readonly start: number,
    private readonly end: number,
  ) {}

  get length(): number {
    return this.end - this.start;
  }

  /**
   * Writes the body to `response` and ends it, at most ANSWER_PIECE_BYTES read and written per turn
   * of the event loop, waiting for 'drain' when the socket is full; a client gone stops the reading.
   * Settles once the body is written or the writing stopped, never rejecting. The caller closes
   * the file once the response closes (see close()).
   */
  endInto(response: FileSink): Promise<void> {
    return this.#write(response).catch((error: unknown) => {
      // The client gone meanwhile (and the file closed with its response) is no failure.
      if (response.destroyed) return;
      logLine('error', `coco node: stopped answering with ${this.path} after a read failed (${error instanceof Error ? error.message : String(error)}): the client gets a truncated answer`);
      response.destroy();
    });
  }

  /** The whole body in memory, for answers that need it whole (a ledger chunk's ETag); closes the file. */
  async read(): Promise<Uint8Array> {
    try {
      const body = new Uint8Array(this.length);
      await readAt(this.file, body, this.start);
      return body;
    } finally {
      await this.close();
    }
  }

  /** Closes the file, once however often it is called; reads after it fail. */
  close(): Promise<void> {
    // A failed close of a file opened read-only loses nothing: the descriptor is released either way.
    this.#closing ??= this.file.close().catch(() => undefined);
    return this.#closing;
  }

  async #write(response: FileSink): Promise<void> {
    if (this.length === 0) return void response.end();
    for (let at = this.start; !response.destroyed; ) {
      // A fresh piece each time: the socket keeps a written one until it is sent.
      const piece = new Uint8Array(Math.min(ANSWER_PIECE_BYTES, this.end - at));
      await readAt(this.file, piece, at);
      if (response.destroyed) return;
      at += piece.length;
      if (at === this.end) return void response.end(piece);
      if (!response.write(piece)) await drained(response);
    }
  }
}
