// The node's ledger directory: entries appended to the open chunk file `ledger_<first>` as they are
// produced, the chunk completed (positions table, offset header, renamed `ledger_<first>-<last>`)
// after the entry that closes it, and renamed `.committed` once commit passes its last entry.
// `sync()` makes everything appended so far durable; callers batch many entries per sync.

import { closeSync, fsync, fsyncSync, ftruncateSync, mkdirSync, openSync, renameSync, writeSync, writevSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CocoError } from '../errors.js';
import { CHUNK_HEADER_BYTES, formatChunkName } from '../ledger/chunk-file.js';
import type { AppendResult } from '../ledger/ledger-writer.js';
import type { ReplayedChunk } from './ledger-replay.js';

/** A chunk is renamed at most twice (completed, committed): a third miss is a real error. */
const RENAME_RETRIES_MAX = 3;

interface ChunkIndex {
  name: string;
  first: number;
  last: number;
  /** Where the entries end: the positions table of a complete chunk, or the end of the file. */
  entriesEnd: number;
  offsets: number[];
}

interface OpenChunk extends ChunkIndex {
  fd: number;
  /** Entries appended but not yet written, and where the first of them goes. */
  pending: Uint8Array[];
  pendingAt: number;
}

export class LedgerFiles {
  private open: OpenChunk | undefined;
  /** Every chunk this node wrote, in seqno order, so that past entries can be read back. */
  private readonly chunks: ChunkIndex[] = [];
  /** Complete chunks not yet renamed `.committed`. */
  private readonly uncommitted: ChunkIndex[] = [];

  constructor(readonly directory: string) {
    mkdirSync(directory, { recursive: true });
  }

  /**
   * Takes over the chunks of a replayed ledger: each is cut after its last kept entry, completed
   * with its positions table and named `.committed` (everything kept is signed and on disk); new
   * entries go to a new chunk.
   */
  resume(chunks: readonly ReplayedChunk[]): void {
    for (const chunk of chunks) {
      const index: ChunkIndex = { name: chunk.name, first: chunk.first, last: chunk.last, entriesEnd: chunk.entriesEnd, offsets: [...chunk.offsets] };
      if (!chunk.complete) {
        const fd = openSync(join(this.directory, chunk.name), 'r+');
        try {
          ftruncateSync(fd, chunk.entriesEnd);
          this.writeTable(fd, index);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
      const committed = formatChunkName(chunk.first, chunk.last, true);
      if (chunk.name !== committed) this.rename(index, committed);
      this.chunks.push(index);
    }
  }

  /** Appends the positions table after the entries and points the header at it. */
  private writeTable(fd: number, chunk: ChunkIndex): void {
    const table = new Uint8Array(chunk.offsets.length * 4);
    const view = new DataView(table.buffer);
    chunk.offsets.forEach((offset, i) => view.setUint32(i * 4, offset, true));
    writeFull(fd, table, chunk.entriesEnd);
    const header = new Uint8Array(CHUNK_HEADER_BYTES);
    new DataView(header.buffer).setBigUint64(0, BigInt(chunk.entriesEnd), true);
    writeFull(fd, header, 0);
  }

  append(result: AppendResult): void {
    const seqno = result.txId.seqno;
    if (this.open === undefined) {
      const name = formatChunkName(seqno, undefined, false);
      const fd = openSync(join(this.directory, name), 'wx');
      writeSync(fd, new Uint8Array(CHUNK_HEADER_BYTES));
      this.open = { fd, name, first: seqno, last: seqno - 1, entriesEnd: CHUNK_HEADER_BYTES, offsets: [], pending: [], pendingAt: CHUNK_HEADER_BYTES };
      this.chunks.push(this.open);
    }
    const chunk = this.open;
    if (seqno !== chunk.last + 1) throw new CocoError('InternalError', `ledger entry ${seqno} does not follow ${chunk.last}`);
    // Entries are written in batches (see writePending): one system call per batch, not per entry.
    chunk.pending.push(result.entry);
    chunk.offsets.push(chunk.entriesEnd);
    chunk.entriesEnd += result.entry.length;
    chunk.last = seqno;
    if (result.closesChunk) this.completeChunk(chunk);
  }

  /** Writes the entries appended since the last batch. */
  private writePending(chunk: OpenChunk): void {
    if (chunk.pending.length === 0) return;
    let position = chunk.pendingAt;
    let written = writevSync(chunk.fd, chunk.pending, position);
    const total = chunk.entriesEnd - chunk.pendingAt;
    // A short write (rare) is finished entry by entry from where it stopped.
    if (written < total) {
      for (const entry of chunk.pending) {
        if (written >= entry.length) {
          written -= entry.length;
          position += entry.length;
          continue;
        }
        writeFull(chunk.fd, entry.subarray(written), position + written);
        position += entry.length;
        written = 0;
      }
    }
    chunk.pending = [];
    chunk.pendingAt = chunk.entriesEnd;
  }

  private completeChunk(chunk: OpenChunk): void {
    this.writePending(chunk);
    this.writeTable(chunk.fd, chunk);
    fsyncSync(chunk.fd);
    closeSync(chunk.fd);
    this.rename(chunk, formatChunkName(chunk.first, chunk.last, false));
    this.uncommitted.push(chunk);
    this.open = undefined;
  }

  /** Makes every appended entry durable. */
  sync(): Promise<void> {
    const chunk = this.open;
    if (chunk === undefined) return Promise.resolve();
    this.writePending(chunk);
    return new Promise((resolve, reject) => fsync(chunk.fd, (error) => (error ? reject(error) : resolve())));
  }

  /** Renames the complete chunks that end at or before `seqno` to `.committed`. */
  markCommitted(seqno: number): void {
    while (this.uncommitted.length > 0 && this.uncommitted[0]!.last <= seqno) {
      const chunk = this.uncommitted.shift()!;
      this.rename(chunk, formatChunkName(chunk.first, chunk.last, true));
    }
  }

  /** Opens a chunk by its current name; a commit may rename it between the lookup and the open. */
  private async openChunk(chunk: ChunkIndex) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await openFile(join(this.directory, chunk.name), 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= RENAME_RETRIES_MAX) throw error;
      }
    }
  }

  private rename(chunk: ChunkIndex, name: string): void {
    renameSync(join(this.directory, chunk.name), join(this.directory, name));
    chunk.name = name;
  }

  /** Reads back the entry of `seqno` from its chunk file (for historical queries). */
  async readEntry(seqno: number): Promise<Uint8Array> {
    const chunk = this.chunks.find((c) => c.first <= seqno && seqno <= c.last);
    if (chunk === undefined) throw new CocoError('TransactionPendingOrUnknown', `seqno ${seqno} is not in this node's ledger`);
    if (chunk === this.open) this.writePending(this.open);
    const index = seqno - chunk.first;
    const start = chunk.offsets[index]!;
    const end = chunk.offsets[index + 1] ?? chunk.entriesEnd;
    const file = await this.openChunk(chunk);
    try {
      const bytes = new Uint8Array(end - start);
      const { bytesRead } = await file.read(bytes, 0, bytes.length, start);
      if (bytesRead !== bytes.length) throw new CocoError('LedgerEntryMalformed', `${chunk.name} is shorter than this node wrote it (seqno ${seqno})`);
      return bytes;
    } finally {
      await file.close();
    }
  }

  close(): void {
    if (this.open === undefined) return;
    this.writePending(this.open);
    fsyncSync(this.open.fd);
    closeSync(this.open.fd);
    this.open = undefined;
  }
}

function writeFull(fd: number, bytes: Uint8Array, position: number): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written, position + written);
}
