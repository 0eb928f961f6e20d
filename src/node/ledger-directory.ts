// Finds a ledger directory's chunk files and orders them by first seqno, refusing directories
// where two files claim the same seqnos. Files set aside (`.ignored`, as CCF names them: by a
// recovery, or by a restart from a snapshot past them) are skipped.

import { readdirSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CocoError } from '../errors.js';
import { parseChunkName, readChunkLayout, tablePosition, type ChunkLayout, type ChunkName } from '../ledger/chunk-file.js';
import { checkPlacement, malformedEntry, type EntryReadBack } from './entry-read-back.js';

export interface ChunkFile {
  name: string;
  path: string;
  chunk: ChunkName;
}

/** `allowEmpty`: a directory without chunks is fine (a node that started from a snapshot). */
export function listChunkFiles(directory: string, options: { allowEmpty?: boolean } = {}): ChunkFile[] {
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
    if (chunk && chunk.suffix !== 'ignored') files.push({ name, path: join(directory, name), chunk });
  }
  if (files.length === 0 && options.allowEmpty !== true) {
    throw new CocoError('LedgerDirectoryEmpty', `no ledger chunk files (ledger_<first>-<last>[.committed]) in ${directory}`);
  }
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

/**
 * The committed chunk file (`ledger_<first>-<last>.committed`) holding `seqno`, if the directory has
 * one. Read without blocking: a node answers requests while it lists a directory of many chunks.
 */
export async function committedChunkHolding(directory: string, seqno: number): Promise<ChunkFile | undefined> {
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
  return undefined;
}

/** The committed chunk files in `directory` that start before `seqno`, as listed now. */
export function committedChunksBefore(directory: string, seqno: number): ChunkName[] {
  return listChunkFiles(directory, { allowEmpty: true })
    .filter((file) => isCommittedChunkName(file.name) && file.chunk.first < seqno)
    .map((file) => file.chunk);
}

/**
 * The entries of the committed chunk file holding `seqno`, from `seqno` to the end of the chunk, cut
 * where its positions table says and not parsed yet; undefined when the directory has no such file
 * (for ledger a node holds from before the snapshot it started from, which its own index of chunks
 * does not cover).
 */
export async function readCommittedEntriesFrom(directory: string, seqno: number): Promise<EntryReadBack[] | undefined> {
  const file = await committedChunkHolding(directory, seqno);
  if (file === undefined) return undefined;
  const bytes = new Uint8Array(await readFile(file.path));
  let layout: ChunkLayout;
  try {
    layout = readChunkLayout(bytes, file.name);
  } catch (error) {
    throw malformedEntry({ file: file.name, seqno }, (error as Error).message, error);
  }
  const entries: EntryReadBack[] = [];
  for (let at = seqno; at <= file.chunk.last!; at++) {
    const index = at - file.chunk.first;
    const next = at === file.chunk.last ? layout.entriesEnd : tablePosition(bytes, layout, index + 1);
    const { start, end } = checkPlacement(file.name, at, tablePosition(bytes, layout, index), next, layout.entriesEnd);
    entries.push({ seqno: at, file: file.name, bytes: bytes.subarray(start, end) });
  }
  return entries;
}

/** Whether `name` is a committed chunk file's name (and nothing else: no path, no suffix). */
export function isCommittedChunkName(name: string): boolean {
  const chunk = parseChunkName(name);
  return chunk !== undefined && chunk.committed && chunk.suffix === undefined;
}
