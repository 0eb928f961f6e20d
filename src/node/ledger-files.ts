// The node's ledger directory: entries appended to the open chunk file `ledger_<first>` as they are
// produced, the chunk completed (positions table, offset header, renamed `ledger_<first>-<last>`)
// after the entry that closes it, and renamed `.committed` once commit passes its last entry.
// `sync()` makes everything appended so far durable; callers batch many entries per sync.

import { closeSync, fsync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CocoError } from '../errors.js';
import { CHUNK_HEADER_BYTES, formatChunkName } from '../ledger/chunk-file.js';
import type { AppendResult } from '../ledger/ledger-writer.js';

interface OpenChunk {
  fd: number;
  first: number;
  last: number;
  size: number;
  offsets: number[];
}

export class LedgerFiles {
  private open: OpenChunk | undefined;
  /** Complete chunks not yet renamed `.committed`: [first, last]. */
  private readonly uncommitted: [number, number][] = [];

  constructor(readonly directory: string) {
    mkdirSync(directory, { recursive: true });
  }

  append(result: AppendResult): void {
    const seqno = result.txId.seqno;
    if (this.open === undefined) {
      const fd = openSync(join(this.directory, formatChunkName(seqno, undefined, false)), 'wx');
      writeSync(fd, new Uint8Array(CHUNK_HEADER_BYTES));
      this.open = { fd, first: seqno, last: seqno - 1, size: CHUNK_HEADER_BYTES, offsets: [] };
    }
    const chunk = this.open;
    if (seqno !== chunk.last + 1) throw new CocoError('InternalError', `ledger entry ${seqno} does not follow ${chunk.last}`);
    writeFull(chunk.fd, result.entry, chunk.size);
    chunk.offsets.push(chunk.size);
    chunk.size += result.entry.length;
    chunk.last = seqno;
    if (result.closesChunk) this.completeChunk(chunk);
  }

  private completeChunk(chunk: OpenChunk): void {
    const table = new Uint8Array(chunk.offsets.length * 4);
    const view = new DataView(table.buffer);
    chunk.offsets.forEach((offset, i) => view.setUint32(i * 4, offset, true));
    writeFull(chunk.fd, table, chunk.size);
    const header = new Uint8Array(CHUNK_HEADER_BYTES);
    new DataView(header.buffer).setBigUint64(0, BigInt(chunk.size), true);
    writeFull(chunk.fd, header, 0);
    fsyncSync(chunk.fd);
    closeSync(chunk.fd);
    renameSync(join(this.directory, formatChunkName(chunk.first, undefined, false)), join(this.directory, formatChunkName(chunk.first, chunk.last, false)));
    this.uncommitted.push([chunk.first, chunk.last]);
    this.open = undefined;
  }

  /** Makes every appended entry durable. */
  sync(): Promise<void> {
    const fd = this.open?.fd;
    if (fd === undefined) return Promise.resolve();
    return new Promise((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
  }

  /** Renames the complete chunks that end at or before `seqno` to `.committed`. */
  markCommitted(seqno: number): void {
    while (this.uncommitted.length > 0 && this.uncommitted[0]![1] <= seqno) {
      const [first, last] = this.uncommitted.shift()!;
      renameSync(join(this.directory, formatChunkName(first, last, false)), join(this.directory, formatChunkName(first, last, true)));
    }
  }

  close(): void {
    if (this.open === undefined) return;
    fsyncSync(this.open.fd);
    closeSync(this.open.fd);
    this.open = undefined;
  }
}

function writeFull(fd: number, bytes: Uint8Array, position: number): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written, position + written);
}
