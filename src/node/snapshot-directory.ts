// The node's snapshot directory (CCF's snapshots.directory): `snapshot_<seqno>_<evidence seqno>`
// while the evidence transaction awaits commit, then `.committed` with the receipt of the evidence
// appended. A pending file is of no use after a crash (nothing reads it), so it is not flushed to
// disk; its commit appends the receipt, flushes and renames, so a crash never leaves half a
// snapshot under a committed name. A snapshot read back is verified before anything uses it; one a
// restart finds damaged is set aside as `<name>.ignored`. Writes run in order off the event loop (a
// snapshot is megabytes: written on the loop, it held it ~10-60 ms).

import { existsSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import { open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { committedSnapshotPieces, parseSnapshotFileName, snapshotFileName, verifyCommittedSnapshot, type VerifiedSnapshot } from '../ledger/committed-snapshot.js';
import type { LedgerSecrets } from '../ledger/ledger-secrets.js';
import type { TxReceipt } from '../ledger/receipt.js';
import { CocoError } from '../errors.js';
import { logLine } from './buffered-log.js';
import { makeDirectory } from './make-directory.js';
import { readNodeFile } from './node-file-read.js';
import { setAsideFile } from './set-aside.js';

export interface LoadedSnapshot extends VerifiedSnapshot {
  name: string;
  /** The committed file as it is on disk (what GET /node/snapshot serves). */
  fileBytes: Uint8Array;
}

function isCommittedName(name: string): boolean {
  return parseSnapshotFileName(name)?.committed === true;
}

function noSnapshot(name: string): CocoError {
  return new CocoError('ResourceNotFound', `no committed snapshot ${name} on this node`);
}

export class SnapshotDirectory {
  /** The file operations asked for so far, one after the other. */
  #writes: Promise<void> = Promise.resolve();
  /** Pending files written whole: a commit appends the receipt to these, and writes the others anew. */
  readonly #pendingWritten = new Set<string>();

  /**
   * `maxSnapshots` (CCF's files_cleanup.max_snapshots): once a snapshot commits, committed ones
   * beyond this many are deleted, oldest first; unset, every snapshot is kept.
   */
  constructor(readonly directory: string, readonly maxSnapshots?: number) {
    makeDirectory(directory);
    // What an earlier run left unfinished (a snapshot pending its evidence, a write a crash or a full
    // disk cut short) is never completed: this run writes its own.
    for (const name of readdirSync(directory)) {
      if (name.endsWith(TMP_SUFFIX) || parseSnapshotFileName(name)?.committed === false) rmSync(join(directory, name), { force: true });
    }
  }

  /** The name of the committed snapshot with the highest seqno (above `since`, if given), if any. */
  latestCommittedName(since = 0): string | undefined {
    const name = this.committedNames()[0];
    return name !== undefined && parseSnapshotFileName(name)!.seqno > since ? name : undefined;
  }

  /** The committed snapshots, the highest seqno first. */
  committedNames(): string[] {
    return committedNewestFirst(readdirSync(this.directory));
  }

  /** The bytes of the committed snapshot `name`; one the system refuses to read is FileUnreadable, not damaged (see node-file-read.ts). */
  read(name: string): Uint8Array {
    // A name that is there but cannot be read (a link to nowhere included) is unreadable, not absent.
    if (!isCommittedName(name) || lstatSync(join(this.directory, name), { throwIfNoEntry: false }) === undefined) throw noSnapshot(name);
    return readNodeFile(join(this.directory, name), 'snapshot');
  }

  /** Where the committed snapshot `name` is, to be served; ResourceNotFound for a name that is not one (a pending one, a path). */
  pathToServe(name: string): string {
    if (!isCommittedName(name)) throw noSnapshot(name);
    return join(this.directory, name);
  }

  /** Reads and verifies the latest committed snapshot; a corrupted one is refused, naming the file. */
  loadLatest(serviceCertPem: string, secrets: LedgerSecrets): LoadedSnapshot | undefined {
    const name = this.latestCommittedName();
    return name === undefined ? undefined : this.load(name, serviceCertPem, secrets);
  }

  /** Reads and verifies the committed snapshot `name` (see verifySnapshotFile). */
  load(name: string, serviceCertPem: string, secrets: LedgerSecrets | 'public only'): LoadedSnapshot {
    return verifySnapshotFile(name, this.read(name), serviceCertPem, secrets);
  }

  /**
   * Sets the committed snapshot `name` aside (`<name>.ignored`, see set-aside.ts), as CCF does with
   * files it no longer reads: it is neither served, nor started from, nor counted among the
   * snapshots kept, and its bytes stay for whoever looks into it. Returns the new name.
   */
  setAside(name: string): string {
    if (!isCommittedName(name)) throw noSnapshot(name);
    try {
      return setAsideFile(this.directory, name);
    } catch (error) {
      throw new CocoError('SnapshotDirectoryUnwritable', `cannot set ${name} aside in ${this.directory}: ${(error as Error).message}`);
    }
  }

  /** Keeps a snapshot (the pieces of its entry) whose evidence is not committed yet. */
  writePending(seqno: number, evidenceSeqno: number, snapshot: readonly Uint8Array[]): void {
    const name = snapshotFileName(seqno, evidenceSeqno, false);
    this.#then(`the pending snapshot ${name} could not be written`, async () => {
      await this.#removedOnFailure([name], () => this.#write(name, snapshot, 'w'));
      this.#pendingWritten.add(name);
    });
  }

  /** The evidence committed: the snapshot with the evidence's receipt, under its `.committed` name. */
  commit(seqno: number, evidenceSeqno: number, snapshot: readonly Uint8Array[], receipt: TxReceipt): void {
    const pieces = committedSnapshotPieces(snapshot, receipt);
    const pending = snapshotFileName(seqno, evidenceSeqno, false);
    const committed = snapshotFileName(seqno, evidenceSeqno, true);
    this.#then(`the snapshot ${committed} could not be written`, async () => {
      // A snapshot that cannot be completed (a full disk) leaves nothing behind.
      await this.#removedOnFailure([pending], async () => {
        if (this.#pendingWritten.delete(pending)) {
          await this.#write(pending, pieces.slice(-1), 'a', true);
          await rename(join(this.directory, pending), join(this.directory, committed));
        } else {
          await this.#writeDurably(committed, pieces);
          // Whatever a failed pending write left behind goes.
          await this.#removePending(seqno, evidenceSeqno);
        }
      });
      const bytes = pieces.reduce((sum, piece) => sum + piece.length, 0);
      logLine('info', `coco node: new snapshot file written to ${join(this.directory, committed)} [${bytes} bytes]`);
      await this.#removeOldest();
    });
  }

  /** Drops a pending snapshot (its evidence was rolled back). */
  discard(seqno: number, evidenceSeqno: number): void {
    this.#then(`the pending snapshot ${snapshotFileName(seqno, evidenceSeqno, false)} could not be removed`, () => this.#removePending(seqno, evidenceSeqno));
  }

  /** Stores a committed snapshot received from another node (a joiner's starting point). */
  keep(name: string, fileBytes: Uint8Array): Promise<void> {
    this.#then(`the snapshot ${name} received from the primary could not be written`, () => this.#writeDurably(name, [fileBytes]));
    return this.flushed();
  }

  /** Resolves once every write asked for so far is done (or failed and was reported). */
  flushed(): Promise<void> {
    return this.#writes;
  }

  /** Queues `write` after the others; a failure is logged as `failure` (which names the file), with its reason. */
  #then(failure: string, write: () => Promise<void>): void {
    // A snapshot that cannot be written is lost, not the node: the ledger still holds everything.
    this.#writes = this.#writes.then(write).catch((error: unknown) => {
      logLine('error', `coco node: ${failure} in ${this.directory}: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  async #removeOldest(): Promise<void> {
    if (this.maxSnapshots === undefined) return;
    for (const name of committedNewestFirst(await readdir(this.directory)).slice(this.maxSnapshots)) {
      await rm(join(this.directory, name), { force: true });
      logLine('info', `coco node: removed snapshot file ${join(this.directory, name)}: files_cleanup.max_snapshots keeps the ${this.maxSnapshots} newest`);
    }
  }

  #removePending(seqno: number, evidenceSeqno: number): Promise<void> {
    const name = snapshotFileName(seqno, evidenceSeqno, false);
    this.#pendingWritten.delete(name);
    return rm(join(this.directory, name), { force: true });
  }

  /** Writes (`w`) or appends (`a`) the pieces to file `name`, flushed to disk if `durable`. */
  async #write(name: string, pieces: readonly Uint8Array[], flags: 'w' | 'a', durable = false): Promise<void> {
    const file = await open(join(this.directory, name), flags);
    try {
      // writeFile writes each whole piece from where the last one ended.
      for (const piece of pieces) await file.writeFile(piece);
      if (durable) await file.sync();
    } finally {
      await file.close();
    }
  }

  async #writeDurably(name: string, pieces: readonly Uint8Array[]): Promise<void> {
    const tmp = `${name}${TMP_SUFFIX}`;
    await this.#removedOnFailure([tmp], () => this.#write(tmp, pieces, 'w', true));
    await rename(join(this.directory, tmp), join(this.directory, name));
  }

  /** Runs `write`; if it fails, removes the files `names` (what it may have left half written) and fails. */
  async #removedOnFailure(names: readonly string[], write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      for (const name of names) await rm(join(this.directory, name), { force: true }).catch(() => undefined);
      throw error;
    }
  }
}

/** A file being written whole before it takes its name. */
const TMP_SUFFIX = '.tmp';

/**
 * The committed snapshots in `directory`, the highest seqno first (none when it does not exist),
 * read without touching it: unlike a SnapshotDirectory, which clears what an earlier run left
 * pending, for directories this process does not own (another node's, kept for a recovery).
 */
export function committedSnapshotNames(directory: string): string[] {
  return existsSync(directory) ? committedNewestFirst(readdirSync(directory)) : [];
}

/** The committed snapshots among a directory's file names, the highest seqno first. */
function committedNewestFirst(names: readonly string[]): string[] {
  const committed: { name: string; seqno: number }[] = [];
  for (const name of names) {
    const parsed = parseSnapshotFileName(name);
    if (parsed?.committed === true) committed.push({ name, seqno: parsed.seqno });
  }
  return committed.sort((a, b) => b.seqno - a.seqno).map(({ name }) => name);
}

/**
 * A committed snapshot file that is not what its receipt proves, or no snapshot at all (empty,
 * malformed): damaged, whatever identity it is checked against. `reason` says why, without the file.
 */
export class SnapshotRefused extends CocoError {
  constructor(
    readonly file: string,
    readonly reason: string,
    cause: CocoError,
  ) {
    super('SnapshotInvalid', `snapshot ${file} is refused: ${reason}; remove it to start from the ledger or another snapshot`, { cause });
  }
}

/** The checks' own opening, said once: the refusal names the file. */
const REFUSED_PREFIX = /^committed snapshot is refused: /;

/**
 * Verifies the committed snapshot file `name` (see verifyCommittedSnapshot). Only a file that is not
 * what its receipt proves is damaged (SnapshotRefused), and the error says to remove it; one of
 * another service (SnapshotServiceMismatch) or that the secrets do not decrypt (DecryptionFailed) may
 * be a good snapshot checked against the wrong identity: the caller, who knows where that came from,
 * says what to do.
 */
export function verifySnapshotFile(name: string, fileBytes: Uint8Array, serviceCertPem: string, secrets: LedgerSecrets | 'public only'): LoadedSnapshot {
  try {
    // Said plainly: what the decoder would say of it (truncated at its first field) hides the cause.
    if (fileBytes.length === 0) throw new CocoError('SnapshotMalformed', 'the file is empty');
    const keyFor = secrets === 'public only' ? secrets : (seqno: number) => secrets.keyFor(seqno);
    return { ...verifyCommittedSnapshot(fileBytes, serviceCertPem, keyFor, name), name, fileBytes };
  } catch (error) {
    if (!(error instanceof CocoError)) throw error;
    const reason = error.message.replace(REFUSED_PREFIX, '');
    if (error.code === 'SnapshotServiceMismatch' || error.code === 'DecryptionFailed') throw new CocoError(error.code, `snapshot ${name} is refused: ${reason}`, { cause: error });
    throw new SnapshotRefused(name, reason, error);
  }
}
