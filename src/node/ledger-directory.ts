// Finds a ledger directory's chunk files and orders them by first seqno, refusing directories
// where two files claim the same seqnos. Files set aside are skipped, as CCF's readers skip them:
// `.ignored` (by a recovery, or by a restart from a snapshot past them) and `.recovery` (written by
// a recovery not yet finished, which CCF's Ledger reads only when asked). Committed chunks are also
// found in the read-only directories (CCF's `ledger.read_only_directories`), after the node's own.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { access, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CocoError } from '../errors.js';
import { CHUNK_HEADER_BYTES, hasChunkNameShape, parseChunkName, readChunkLayout, type ChunkLayout, type ChunkName } from '../ledger/chunk-file.js';
import { checkPlacement, malformedEntry, type EntryReadBack } from './entry-read-back.js';

/** Whether a ledger directory holds a chunk file: a node has started there. */
export function holdsLedger(directory: string): boolean {
  return existsSync(directory) && readdirSync(directory).some((name) => parseChunkName(name) !== undefined);
}

export interface ChunkFile {
  name: string;
  path: string;
  chunk: ChunkName;
}

export interface ListChunkFilesOptions {
  /** A directory without chunks is fine (a node that started from a snapshot). */
  allowEmpty?: boolean;
  /** Sees each chunk file skipped as set aside (`.ignored`, `.recovery`). */
  onSetAside?: (file: ChunkFile) => void;
}

export function listChunkFiles(directory: string, options: ListChunkFilesOptions = {}): ChunkFile[] {
  let names: string[];
  try {
    if (!statSync(directory).isDirectory()) throw new Error('not a directory');
    names = readdirSync(directory);
  } catch (error) {
    throw new CocoError('LedgerDirectoryUnreadable', `cannot read ledger directory ${directory}: ${(error as Error).message}`);
  }
  const files: ChunkFile[] = [];
  for (const name of names) {
    const chunk = parseChunkName(name);
    if (chunk !== undefined) {
      const file = { name, path: join(directory, name), chunk };
      if (chunk.suffix === undefined) files.push(file);
      else options.onSetAside?.(file);
    }
    // Skipping it would hide transactions from a reader: its seqnos say where it belongs, wrongly.
    if (!chunk && hasChunkNameShape(name) && !/\.(ignored|recovery)$/.test(name)) {
      throw new CocoError('LedgerChunkNameInvalid', `${name} in ${directory} is named like a ledger chunk, but its seqnos are no range (the first from 1, the last not below it); rename or remove it`);
    }
  }
  if (files.length === 0 && options.allowEmpty !== true) throw noChunkFiles(directory);
  files.sort((a, b) => a.chunk.first - b.chunk.first);
  for (let i = 1; i < files.length; i++) {
    const previous = files[i - 1]!;
    const current = files[i]!;
    if (previous.chunk.first === current.chunk.first) {
      throw new CocoError('LedgerChunkOverlap', `${previous.name} and ${current.name} both start at seqno ${current.chunk.first}; keep only one of them`);
    }
  }
  return files;
}

function noChunkFiles(directory: string): CocoError {
  return new CocoError('LedgerDirectoryEmpty', `no ledger chunk files (ledger_<first>-<last>[.committed]) in ${directory}`);
}

/** A chunk file a restart replays, and whether it is in a read-only directory (the node never writes it). */
export interface ReplayChunkFile extends ChunkFile {
  readOnly: boolean;
}

/**
 * The chunk files a restart replays, in seqno order: the ledger directory's, and committed chunks of
 * the read-only directories for the seqnos no file of the ledger directory holds, before its last
 * one (in a gap, or before its first), as CCF's host reads a seqno from its own directory first,
 * then from `ledger.read_only_directories`. So chunks an operator moved there from a node's own
 * ledger (or copied from another node's) are replayed as if they had stayed. A read-only chunk that
 * would overlap one taken already (a copy of the ledger directory's, a chunk of an earlier read-only
 * directory) is left out, as are those at or before `after` (the snapshot the replay starts from):
 * the ledger directory's last chunk stays the last, where the node appends.
 */
export function listReplayChunkFiles(directory: string, readOnlyDirectories: readonly string[], options: { allowEmpty?: boolean; after?: number } = {}): ReplayChunkFile[] {
  const own: ReplayChunkFile[] = listChunkFiles(directory, { allowEmpty: true }).map((file) => ({ ...file, readOnly: false }));
  const end = own.at(-1)?.chunk.first ?? 0;
  const after = options.after ?? 0;
  const taken = [...own];
  for (const readOnly of readOnlyDirectories) {
    for (const file of listChunkFiles(readOnly, { allowEmpty: true })) {
      const { first, last, committed } = file.chunk;
      if (!committed || last === undefined || first <= after || last >= end) continue;
      if (taken.some(({ chunk }) => chunk.first <= last && first <= (chunk.last ?? Infinity))) continue;
      taken.push({ ...file, readOnly: true });
    }
  }
  if (taken.length === 0 && options.allowEmpty !== true) throw noChunkFiles(directory);
  return taken.sort((a, b) => a.chunk.first - b.chunk.first);
}

/**
 * Where a node reads its committed chunks: its own ledger directory first, then the directories an
 * operator keeps older chunks in (CCF's `ledger.read_only_directories`), which it never writes.
 */
export type CommittedChunkDirectories = readonly string[];

/**
 * The committed chunk file (`ledger_<first>-<last>.committed`) holding `seqno`, if one of the
 * directories has one (the first that does). Read without blocking: a node answers requests while
 * it lists a directory of many chunks.
 */
export async function committedChunkHolding(directories: CommittedChunkDirectories, seqno: number): Promise<ChunkFile | undefined> {
  for (const directory of directories) {
    let names: string[];
    try {
      names = await readdir(directory);
    } catch (error) {
      throw new CocoError('LedgerDirectoryUnreadable', `cannot read ledger directory ${directory}: ${(error as Error).message}`);
    }
    for (const name of names) {
      const chunk = parseChunkName(name);
      if (chunk?.committed === true && chunk.suffix === undefined && chunk.first <= seqno && seqno <= (chunk.last ?? -1)) {
        return { name, path: join(directory, name), chunk };
      }
    }
  }
  return undefined;
}

/** The path of the committed chunk file named `name` in the first of the directories holding it. */
export async function committedChunkNamed(directories: CommittedChunkDirectories, name: string): Promise<string | undefined> {
  if (!isCommittedChunkName(name)) return undefined;
  for (const directory of directories) {
    const path = join(directory, name);
    try {
      await access(path);
      return path;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** The committed chunk files in the directories that start before `seqno`, as listed now. */
export function committedChunksBefore(directories: CommittedChunkDirectories, seqno: number): ChunkName[] {
  return directories.flatMap((directory) =>
    listChunkFiles(directory, { allowEmpty: true })
      .filter((file) => isCommittedChunkName(file.name) && file.chunk.first < seqno)
      .map((file) => file.chunk),
  );
}

/**
 * At most `countMax` entries of the committed chunk file holding `seqno`, from `seqno` on (not past
 * the chunk's end), cut where its positions table says and not parsed yet; undefined when the
 * directories have no such file (for ledger a node holds from before the snapshot it started from,
 * which its own index of chunks does not cover). Only those entries are read, each into bytes of
 * its own: a chunk can be megabytes, and what a cache keeps of one entry must not keep the rest.
 */
export async function readCommittedEntriesFrom(directories: CommittedChunkDirectories, seqno: number, countMax: number): Promise<EntryReadBack[] | undefined> {
  const file = await committedChunkHolding(directories, seqno);
  if (file === undefined) return undefined;
  const { first } = file.chunk;
  const last = Math.min(file.chunk.last!, seqno + countMax - 1);
  const handle = await open(file.path, 'r');
  try {
    const read = async (position: number, length: number): Promise<Uint8Array> => {
      const bytes = new Uint8Array(length);
      const { bytesRead } = await handle.read(bytes, 0, length, position);
      if (bytesRead !== length) throw malformedEntry({ file: file.name, seqno }, `the file ends at byte ${position + bytesRead}, before the ${length} bytes expected at ${position}`);
      return bytes;
    };
    const { size } = await handle.stat();
    let layout: ChunkLayout;
    try {
      layout = readChunkLayout(await read(0, Math.min(CHUNK_HEADER_BYTES, size)), file.name, size);
      if (!layout.complete) throw new Error('a committed chunk has no positions table');
    } catch (error) {
      throw malformedEntry({ file: file.name, seqno }, (error as Error).message, error);
    }
    // The positions of entries seqno..last, and of the one after (or the end of the entries).
    const tableStart = layout.entriesEnd + (seqno - first) * 4;
    const positionsRead = last + 1 - seqno + (last < file.chunk.last! ? 1 : 0);
    const table = new DataView((await read(tableStart, Math.min(positionsRead * 4, Math.max(0, size - tableStart)))).buffer);
    const position = (at: number): number | undefined => ((at - seqno) * 4 + 4 <= table.byteLength ? table.getUint32((at - seqno) * 4, true) : undefined);
    const spans = [];
    for (let at = seqno; at <= last; at++) {
      const next = at === file.chunk.last ? layout.entriesEnd : position(at + 1);
      spans.push({ seqno: at, ...checkPlacement(file.name, at, position(at), next, layout.entriesEnd) });
    }
    const start = spans[0]!.start;
    const bytes = await read(start, spans.at(-1)!.end - start);
    return spans.map((span) => ({ seqno: span.seqno, file: file.name, bytes: bytes.slice(span.start - start, span.end - start) }));
  } finally {
    await handle.close();
  }
}

/** Whether `name` is a committed chunk file's name (and nothing else: no path, no suffix). */
export function isCommittedChunkName(name: string): boolean {
  const chunk = parseChunkName(name);
  return chunk !== undefined && chunk.committed && chunk.suffix === undefined;
}
