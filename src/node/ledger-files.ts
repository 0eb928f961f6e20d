// The node's ledger directory: entries appended to the open chunk file `ledger_<first>` as they are
// produced, the chunk completed (positions table, offset header, renamed `ledger_<first>-<last>`)
// after the entry that closes it, and renamed `.committed` once commit passes its last entry.
// `sync()` makes everything appended so far durable; callers batch many entries per sync.
// `truncate()` drops an uncommitted suffix (Raft rollback): committed entries are never touched.
// Every change to the files that the system refuses throws a LedgerDiskError naming the operation,
// the file and the errno (the node stops on it); reads of past entries fail as they are.

import {
  closeSync,
  fsync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readdirSync,
  renameSync,
  unlinkSync,
  writeSync,
  writevSync,
} from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CocoError, invariant } from '../errors.js';
import { CHUNK_HEADER_BYTES, formatChunkName, parseChunkName } from '../ledger/chunk-file.js';
import type { AppendResult } from '../ledger/ledger-writer.js';
import { checkPlacement, type EntryReadBack } from './entry-read-back.js';
import { ledgerDiskError, type LedgerDiskOperation } from './ledger-disk-error.js';
import type { ReplayedChunk } from './ledger-replay.js';
import { makeDirectory } from './make-directory.js';
import { setAsideFile } from './set-aside.js';
import { writeFull } from './write-full.js';
import { fsyncDirectory } from './directory-sync.js';

/** A chunk is renamed at most twice (completed, committed): a third miss is a real error. */
const RENAME_RETRIES_MAX = 3;

/** What the files need of an entry: a primary's AppendResult, or what a backup received. */
export type LedgerFileEntry = Pick<AppendResult, 'txId' | 'entry' | 'closesChunk'>;

interface ChunkIndex {
  name: string;
  first: number;
  last: number;
  /** Where the entries end: the positions table of a complete chunk, or the end of the file. */
  entriesEnd: number;
  /**
   * Where each entry starts; dropped once the chunk is committed (8 bytes a transaction, for the
   * life of the node): its positions table in the file has them, read back with its entries.
   */
  offsets: number[] | undefined;
}

/** Committed chunks whose positions tables are kept after a read (most recent first out last). */
const POSITIONS_CACHE_MAX = 8;

interface OpenChunk extends ChunkIndex {
  offsets: number[];
  fd: number;
  /** Entries appended but not yet written, and where the first of them goes. */
  pending: Uint8Array[];
  pendingAt: number;
  /** Set when the fd is closed (chunk completed, truncated away, or files closed). */
  closed: boolean;
}

export class LedgerFiles {
  private open: OpenChunk | undefined;
  /** Every chunk this node holds, in seqno order, so that past entries can be read back. */
  private readonly chunks: ChunkIndex[] = [];
  /** Completed chunks whose fsync is still running. */
  private readonly completing = new Set<Promise<void>>();
  /** Complete chunks not yet renamed `.committed`, in seqno order. */
  private readonly uncommitted: ChunkIndex[] = [];
  /** Entries up to this seqno are committed: a truncation below it is a bug. */
  private committedSeqno = 0;
  /** Bumped by every truncation, so that a read racing one looks its entry up again. */
  private truncations = 0;
  /** Positions tables of committed chunks read back lately, by chunk first seqno. */
  private readonly positions = new Map<number, readonly number[]>();

  constructor(readonly directory: string) {
    this.disk('create', '', () => makeDirectory(directory));
  }

  /** Runs one change to the file `name` (the directory itself for ''), naming it and the operation if the system refuses it. */
  private disk<T>(operation: LedgerDiskOperation, name: string, action: () => T): T {
    try {
      return action();
    } catch (error) {
      throw ledgerDiskError(operation, join(this.directory, name), error);
    }
  }

  /**
   * Takes over the chunks of a replayed ledger, each cut after its last kept entry. A chunk ends
   * where the primary closed it, never at the restart (so that `.committed` files are the same on
   * every node): a last chunk whose last kept entry does not close it becomes the open chunk again,
   * committed entries or not, and appends continue in it; one that does is completed if the node
   * stopped before it wrote the positions table. Complete chunks whose entries are all committed (up
   * to `committedSeqno`) are named `.committed`, later ones `ledger_<first>-<last>`. Chunk files
   * wholly after the kept entries (never signed, or the torn chunk replay left out) are deleted:
   * their seqnos will be written again. Returns the entry bytes of the open chunk (0 if none), for
   * LedgerWriter's resume.
   */
  resume(chunks: readonly ReplayedChunk[], committedSeqno: number): number {
    invariant(this.chunks.length === 0 && this.open === undefined, 'resume starts with no chunks');
    if (!Number.isSafeInteger(committedSeqno) || committedSeqno < 0) {
      throw new CocoError('InvalidArgument', `committed seqno must be a non-negative integer, got ${committedSeqno}`);
    }
    // A chunk already named `.committed` was committed, whatever the caller knows.
    for (const chunk of chunks) {
      if (parseChunkName(chunk.name)?.committed === true) committedSeqno = Math.max(committedSeqno, chunk.last);
    }
    this.committedSeqno = committedSeqno;
    // Chunks up to the commit (from before the snapshot a replay started from, say) stay.
    let renamed = this.deleteChunksAfter(Math.max(chunks.at(-1)?.last ?? 0, committedSeqno));
    for (const [i, chunk] of chunks.entries()) {
      const index: ChunkIndex = { name: chunk.name, first: chunk.first, last: chunk.last, entriesEnd: chunk.entriesEnd, offsets: [...chunk.offsets] };
      if (!chunk.complete && !chunk.closesChunk) {
        invariant(i === chunks.length - 1, 'only the last replayed chunk can be open');
        renamed = this.reopen(index) || renamed;
        continue;
      }
      // Its closing entry was written, its positions table not: the node stopped in between.
      if (!chunk.complete) {
        const fd = this.disk('open', chunk.name, () => openSync(join(this.directory, chunk.name), 'r+'));
        try {
          this.disk('truncate', chunk.name, () => ftruncateSync(fd, chunk.entriesEnd));
          this.writeTable(fd, index);
          this.disk('fsync', chunk.name, () => fsyncSync(fd));
        } finally {
          this.disk('close', chunk.name, () => closeSync(fd));
        }
      }
      const committed = chunk.last <= committedSeqno;
      const name = formatChunkName(chunk.first, chunk.last, committed);
      if (chunk.name !== name) {
        this.rename(index, name);
        renamed = true;
      }
      this.chunks.push(index);
      if (committed) index.offsets = undefined;
      else this.uncommitted.push(index);
    }
    if (renamed) this.syncDirectory();
    return this.openChunkBytes();
  }

  /**
   * Sets the chunk files `names` aside (see set-aside.ts) before a resume: replay's, from before its
   * snapshot. Returns the names they now have, in order.
   */
  setAside(names: readonly string[]): string[] {
    const setAsideAs = names.map((name) => this.disk('rename', name, () => setAsideFile(this.directory, name)));
    if (names.length > 0) this.syncDirectory();
    return setAsideAs;
  }

  /** Deletes the uncommitted chunk files that start after `seqno` but are not in the index. */
  private deleteChunksAfter(seqno: number): boolean {
    let deleted = false;
    for (const name of this.disk('open', '', () => readdirSync(this.directory))) {
      const chunk = parseChunkName(name);
      if (chunk === undefined || chunk.suffix !== undefined || chunk.first <= seqno) continue;
      if (chunk.committed) {
        throw new CocoError('InternalError', `${name} is committed but lies after the last entry kept (${seqno}); the ledger directory is inconsistent`);
      }
      this.disk('delete', name, () => unlinkSync(join(this.directory, name)));
      deleted = true;
    }
    return deleted;
  }

  /**
   * Makes a chunk the open chunk again, cut after its indexed entries: positions table dropped,
   * header offset zeroed, named `ledger_<first>`. Returns whether it was renamed.
   */
  private reopen(chunk: ChunkIndex): boolean {
    invariant(this.open === undefined, 'one chunk is open at a time');
    const fd = this.disk('open', chunk.name, () => openSync(join(this.directory, chunk.name), 'r+'));
    this.disk('truncate', chunk.name, () => ftruncateSync(fd, chunk.entriesEnd));
    this.disk('write', chunk.name, () => writeFull(fd, new Uint8Array(CHUNK_HEADER_BYTES), 0));
    this.disk('fsync', chunk.name, () => fsyncSync(fd));
    const open: OpenChunk = { ...chunk, offsets: uncommittedOffsets(chunk), fd, pending: [], pendingAt: chunk.entriesEnd, closed: false };
    const name = formatChunkName(chunk.first, undefined, false);
    const renamed = open.name !== name;
    if (renamed) this.rename(open, name);
    const position = this.chunks.indexOf(chunk);
    if (position === -1) this.chunks.push(open);
    else this.chunks[position] = open;
    this.open = open;
    return renamed;
  }

  /** Appends the positions table after the entries and points the header at it. */
  private writeTable(fd: number, chunk: ChunkIndex): void {
    const offsets = uncommittedOffsets(chunk);
    const table = new Uint8Array(offsets.length * 4);
    const view = new DataView(table.buffer);
    offsets.forEach((offset, i) => view.setUint32(i * 4, offset, true));
    const header = new Uint8Array(CHUNK_HEADER_BYTES);
    new DataView(header.buffer).setBigUint64(0, BigInt(chunk.entriesEnd), true);
    this.disk('write', chunk.name, () => {
      writeFull(fd, table, chunk.entriesEnd);
      writeFull(fd, header, 0);
    });
  }

  append(result: LedgerFileEntry): void {
    const seqno = result.txId.seqno;
    if (this.open === undefined) {
      const previous = this.chunks.at(-1)?.last ?? seqno - 1;
      if (seqno !== previous + 1) throw new CocoError('InternalError', `ledger entry ${seqno} does not follow ${previous}`);
      const name = formatChunkName(seqno, undefined, false);
      const fd = this.disk('create', name, () => openSync(join(this.directory, name), 'wx'));
      this.disk('write', name, () => writeSync(fd, new Uint8Array(CHUNK_HEADER_BYTES)));
      this.open = {
        fd,
        name,
        first: seqno,
        last: seqno - 1,
        entriesEnd: CHUNK_HEADER_BYTES,
        offsets: [],
        pending: [],
        pendingAt: CHUNK_HEADER_BYTES,
        closed: false,
      };
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

  /** The last seqno whose entry is written to its file (appended ones wait in memory for the next batch); 0 before any. */
  get writtenSeqno(): number {
    const open = this.open;
    if (open !== undefined) return open.last - open.pending.length;
    return this.chunks.at(-1)?.last ?? 0;
  }

  /** Writes the entries appended since the last batch. */
  private writePending(chunk: OpenChunk): void {
    if (chunk.pending.length === 0) return;
    this.disk('write', chunk.name, () => this.writeBatch(chunk));
    chunk.pending = [];
    chunk.pendingAt = chunk.entriesEnd;
  }

  private writeBatch(chunk: OpenChunk): void {
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
  }

  private completeChunk(chunk: OpenChunk): void {
    this.writePending(chunk);
    this.writeTable(chunk.fd, chunk);
    // Made durable off the event loop (an fsync of megabytes would stall every request); the
    // next sync() waits for it, and the fd closes once it is done.
    const fd = chunk.fd;
    const name = chunk.name;
    chunk.closed = true;
    this.open = undefined;
    const durable = new Promise<void>((resolve, reject) => {
      fsync(fd, (error) => {
        closeSync(fd);
        if (error) reject(ledgerDiskError('fsync', join(this.directory, name), error));
        else resolve();
      });
    });
    this.completing.add(durable);
    void durable.then(
      () => this.completing.delete(durable),
      () => undefined,
    );
    this.rename(chunk, formatChunkName(chunk.first, chunk.last, false));
    this.uncommitted.push(chunk);
  }

  private closeOpen(chunk: OpenChunk): void {
    invariant(chunk === this.open, 'only the open chunk has an fd');
    this.disk('close', chunk.name, () => closeSync(chunk.fd));
    chunk.closed = true;
    this.open = undefined;
  }

  /** Makes every appended entry durable (entries truncated meanwhile need not be); a failure (a full disk) rejects, never throws. */
  sync(): Promise<void> {
    // Completed chunks still being made durable count too (a failure among them rejects).
    const completing = [...this.completing];
    const chunk = this.open;
    if (chunk === undefined) return Promise.all(completing).then(() => undefined);
    try {
      this.writePending(chunk);
    } catch (error) {
      // The caller waits on the promise: a throw here left a node marked as syncing for ever (it then never stopped).
      return Promise.reject(error as Error);
    }
    const open = new Promise<void>((resolve, reject) =>
      fsync(chunk.fd, (error) => {
        // A chunk closed meanwhile was synced when completed, or truncated away: nothing is lost.
        if (error && !chunk.closed) reject(ledgerDiskError('fsync', join(this.directory, chunk.name), error));
        else resolve();
      }),
    );
    return Promise.all([open, ...completing]).then(() => undefined);
  }

  /** Renames the complete chunks that end at or before `seqno` to `.committed`. */
  markCommitted(seqno: number): void {
    this.committedSeqno = Math.max(this.committedSeqno, seqno);
    while (this.uncommitted.length > 0 && this.uncommitted[0]!.last <= seqno) {
      const chunk = this.uncommitted.shift()!;
      this.rename(chunk, formatChunkName(chunk.first, chunk.last, true));
      chunk.offsets = undefined;
    }
  }

  /**
   * Removes every entry after `seqno` from disk and from the index: chunks wholly after it are
   * deleted, and the chunk holding it is cut after it and becomes the open chunk (a completed one
   * loses its positions table and name). Everything changed is fsynced, the directory included.
   * Returns the entry bytes of the open chunk afterwards (0 if none). Throws InternalError below
   * the committed seqno: committed entries never roll back.
   */
  truncate(seqno: number): number {
    if (!Number.isSafeInteger(seqno) || seqno < 0) {
      throw new CocoError('InvalidArgument', `cannot truncate the ledger to seqno ${seqno}: expected a non-negative integer`);
    }
    if (seqno < this.committedSeqno) {
      throw new CocoError('InternalError', `cannot truncate the ledger to seqno ${seqno}: entries up to ${this.committedSeqno} are committed`);
    }
    const lastSeqno = this.chunks.at(-1)?.last ?? 0;
    if (seqno >= lastSeqno) return this.openChunkBytes();
    let directoryChanged = false;
    for (let chunk = this.chunks.at(-1); chunk !== undefined && chunk.first > seqno; chunk = this.chunks.at(-1)) {
      if (chunk === this.open) this.closeOpen(this.open);
      if (this.uncommitted.at(-1) === chunk) this.uncommitted.pop();
      this.disk('delete', chunk.name, () => unlinkSync(join(this.directory, chunk.name)));
      this.chunks.pop();
      directoryChanged = true;
    }
    const chunk = this.chunks.at(-1);
    if (chunk !== undefined && chunk.last > seqno) {
      const kept = seqno - chunk.first + 1;
      const offsets = uncommittedOffsets(chunk);
      chunk.entriesEnd = offsets[kept]!;
      offsets.length = kept;
      chunk.last = seqno;
      if (chunk === this.open) {
        // Entries still pending are written first: simpler than splitting the batch, and rare.
        this.writePending(this.open);
        const fd = this.open.fd;
        this.disk('truncate', chunk.name, () => ftruncateSync(fd, chunk.entriesEnd));
        this.disk('fsync', chunk.name, () => fsyncSync(fd));
        // Written entries may have been cut too: the next ones go where the kept ones end.
        this.open.pendingAt = chunk.entriesEnd;
      } else {
        invariant(this.uncommitted.at(-1) === chunk, 'a chunk holding uncommitted entries is not committed');
        this.uncommitted.pop();
        directoryChanged = this.reopen(chunk) || directoryChanged;
      }
    }
    if (directoryChanged) this.syncDirectory();
    this.truncations++;
    return this.openChunkBytes();
  }

  private openChunkBytes(): number {
    return this.open === undefined ? 0 : this.open.entriesEnd - CHUNK_HEADER_BYTES;
  }

  /** Makes renames and deletions in the directory durable. */
  private syncDirectory(): void {
    this.disk('fsync', '', () => fsyncDirectory(this.directory));
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
    this.renameFile(chunk.name, name);
    chunk.name = name;
  }

  private renameFile(from: string, to: string): void {
    this.disk('rename', `${from} to ${to}`, () => renameSync(join(this.directory, from), join(this.directory, to)));
  }

  /** Reads back the entry of `seqno` from its chunk file (for historical queries), naming the file. */
  async readEntry(seqno: number): Promise<EntryReadBack> {
    const { file, entries } = await this.readRange(seqno, seqno);
    return { seqno, file, bytes: entries[0]! };
  }

  /**
   * Reads back entries `from..to` (inclusive), or the first of them up to the end of the chunk file
   * holding `from`: one read for the lot (to catch a backup up from compacted entries).
   */
  async readEntries(from: number, to: number): Promise<Uint8Array[]> {
    return (await this.readRange(from, to)).entries;
  }

  private async readRange(from: number, to: number): Promise<{ file: string; entries: Uint8Array[] }> {
    const truncations = this.truncations;
    try {
      const read = await this.readChunkRange(from, to);
      if (truncations === this.truncations) return read;
    } catch (error) {
      if (truncations === this.truncations) throw error;
    }
    // A truncation ran meanwhile: the entries may be gone, replaced or in a renamed file.
    return this.readRange(from, to);
  }

  private async readChunkRange(from: number, to: number): Promise<{ file: string; entries: Uint8Array[] }> {
    const chunk = this.chunks.find((c) => c.first <= from && from <= c.last);
    if (chunk === undefined) {
      // Before a chunk it holds, the node never had the entry (it started from a snapshot after it); after the last, it is not written (yet).
      if (this.chunks.some((c) => c.first > from)) {
        throw new CocoError('ResourceNotFound', `seqno ${from} is not in this node's ledger files (it started from a snapshot at or after that seqno): ask a node that holds that part of the ledger`);
      }
      throw new CocoError('TransactionPendingOrUnknown', `seqno ${from} is not in this node's ledger`);
    }
    if (chunk === this.open) this.writePending(this.open);
    const first = from - chunk.first;
    const last = Math.min(to, chunk.last) - chunk.first;
    const file = await this.openChunk(chunk);
    try {
      const offsets = chunk.offsets ?? (await this.positionsTable(chunk, file));
      // A damaged positions table may place entries anywhere: each must lie within the chunk's entries.
      const spans: { start: number; end: number }[] = [];
      for (let index = first; index <= last; index++) {
        spans.push(checkPlacement(chunk.name, chunk.first + index, offsets[index], offsets[index + 1] ?? chunk.entriesEnd, chunk.entriesEnd));
      }
      const start = spans[0]!.start;
      const bytes = new Uint8Array(spans.at(-1)!.end - start);
      const { bytesRead } = await file.read(bytes, 0, bytes.length, start);
      if (bytesRead !== bytes.length) throw new CocoError('LedgerEntryMalformed', `${chunk.name} is shorter than this node wrote it (seqnos ${from}..${Math.min(to, chunk.last)})`);
      return { file: chunk.name, entries: spans.map((span) => bytes.subarray(span.start - start, span.end - start)) };
    } finally {
      await file.close();
    }
  }

  /** A committed chunk's entry positions, from the table at its end (cached for the next reads). */
  private async positionsTable(chunk: ChunkIndex, file: Awaited<ReturnType<typeof openFile>>): Promise<readonly number[]> {
    const cached = this.positions.get(chunk.first);
    if (cached !== undefined) return cached;
    const count = chunk.last - chunk.first + 1;
    const table = new Uint8Array(count * 4);
    const { bytesRead } = await file.read(table, 0, table.length, chunk.entriesEnd);
    if (bytesRead !== table.length) throw new CocoError('LedgerChunkMalformed', `${chunk.name} is shorter than this node wrote it (its positions table)`);
    const view = new DataView(table.buffer);
    const offsets = Array.from({ length: count }, (_, i) => view.getUint32(i * 4, true));
    this.positions.set(chunk.first, offsets);
    if (this.positions.size > POSITIONS_CACHE_MAX) this.positions.delete(this.positions.keys().next().value!);
    return offsets;
  }

  close(): void {
    if (this.open === undefined) return;
    const open = this.open;
    this.writePending(open);
    this.disk('fsync', open.name, () => fsyncSync(open.fd));
    this.closeOpen(open);
  }
}

/** The offsets of a chunk that is not committed yet, which it always keeps. */
function uncommittedOffsets(chunk: ChunkIndex): number[] {
  invariant(chunk.offsets !== undefined, `${chunk.name} is not committed: it keeps its entries' offsets`);
  return chunk.offsets;
}
