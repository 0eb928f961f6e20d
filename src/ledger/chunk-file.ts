// Ledger chunk files as CCF writes them: a u64 offset of the positions table, the entries back to
// back, then (once the chunk is complete) a table of u32 entry offsets. Names are
// `ledger_<first>-<last>[.committed]`, or `ledger_<first>` while a chunk is still being written.

import { CocoError } from '../errors.js';
import { ByteReader } from '../kv/byte-reader.js';
import { decodeEntry, entryEndAt, type LedgerEntry } from './entry.js';

export const CHUNK_HEADER_BYTES = 8;

export interface ChunkName {
  first: number;
  last: number | undefined;
  committed: boolean;
  /** `.recovery` or `.ignored` (`.<n>.ignored` when set aside again): written during a recovery, or left aside. */
  suffix: 'recovery' | 'ignored' | undefined;
}

const CHUNK_NAME = /^ledger_(\d+)(?:-(\d+))?(\.committed)?(?:\.(recovery)|(?:\.\d+)?\.(ignored))?$/;

export function parseChunkName(fileName: string): ChunkName | undefined {
  const match = CHUNK_NAME.exec(fileName);
  if (!match) return undefined;
  const first = Number(match[1]);
  const last = match[2] === undefined ? undefined : Number(match[2]);
  if (first < 1 || (last !== undefined && last < first)) return undefined;
  const suffix = (match[4] ?? match[5]) as ChunkName['suffix'];
  return { first, last, committed: match[3] !== undefined, suffix };
}

/** Whether `fileName` has a chunk's shape, whether or not its seqnos make a chunk (ledger_0-3, ledger_30-20). */
export function hasChunkNameShape(fileName: string): boolean {
  return CHUNK_NAME.test(fileName);
}

export function formatChunkName(first: number, last: number | undefined, committed: boolean): string {
  if (last === undefined) return `ledger_${first}`;
  return `ledger_${first}-${last}${committed ? '.committed' : ''}`;
}

export interface ChunkLayout {
  /** Whether the file carries its positions table (a complete chunk). */
  complete: boolean;
  /** Where the entries end: the positions table, or the end of the file. */
  entriesEnd: number;
}

/** A chunk's layout from its first bytes (the header at least) and the file's length, `fileBytes`. */
export function readChunkLayout(bytes: Uint8Array, fileName: string, fileBytes = bytes.length): ChunkLayout {
  const reader = new ByteReader(bytes, 'LedgerChunkMalformed', fileName);
  const tableOffset = reader.u64Size('positions table offset');
  const complete = tableOffset !== 0;
  if (complete && (tableOffset < CHUNK_HEADER_BYTES || tableOffset > fileBytes)) {
    reader.failField(`positions table offset ${tableOffset} is outside the file (${fileBytes} bytes)`);
  }
  return { complete, entriesEnd: complete ? tableOffset : fileBytes };
}

/** The whole entries at the start of a chunk still being written (no positions table). */
export interface OpenChunkEntries {
  count: number;
  /** Where the last whole entry ends: the file's length, unless a crash cut the last entry short. */
  end: number;
}

/**
 * Counts an open chunk's entries by their headers' sizes alone, stopping at one that runs past the
 * end of the file: a crash can leave the entry being appended partly written, and CCF stops there.
 */
export function openChunkEntries(bytes: Uint8Array): OpenChunkEntries {
  let count = 0;
  let end = Math.min(CHUNK_HEADER_BYTES, bytes.length);
  for (let next = entryEndAt(bytes, end); next !== undefined; next = entryEndAt(bytes, end)) {
    count += 1;
    end = next;
  }
  return { count, end };
}

/** Where the positions table says entry `index` (0-based) starts, if the table lists it. */
export function tablePosition(bytes: Uint8Array, layout: ChunkLayout, index: number): number | undefined {
  const at = layout.entriesEnd + index * 4;
  if (!layout.complete || at + 4 > bytes.length) return undefined;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at, true);
}

/** A complete chunk's positions table must list exactly the entries found, where they were found. */
export function checkPositionsTable(bytes: Uint8Array, layout: ChunkLayout, offsets: readonly number[], fileName: string): void {
  if (!layout.complete) return;
  const tableBytes = bytes.length - layout.entriesEnd;
  if (tableBytes !== offsets.length * 4) {
    throw new CocoError(
      'LedgerChunkMalformed',
      `${fileName}: positions table has room for ${tableBytes / 4} entries but the chunk holds ${offsets.length}`,
    );
  }
  const table = new ByteReader(bytes, 'LedgerChunkMalformed', `${fileName} positions table`, layout.entriesEnd);
  for (let i = 0; i < offsets.length; i++) {
    const position = table.u32('position');
    if (position !== offsets[i]) {
      throw new CocoError(
        'LedgerChunkMalformed',
        `${fileName}: positions table says entry ${i + 1} starts at byte ${position}, but it starts at ${offsets[i]}`,
      );
    }
  }
}

export interface DecodedChunk {
  entries: LedgerEntry[];
  /** Byte offset of each entry in the file. */
  offsets: number[];
  complete: boolean;
}

/** Decodes every entry of a chunk file; without a positions table entries run to the end of the file. */
export function decodeChunk(bytes: Uint8Array, fileName: string): DecodedChunk {
  const layout = readChunkLayout(bytes, fileName);
  const entryBytes = bytes.subarray(0, layout.entriesEnd);
  const entries: LedgerEntry[] = [];
  const offsets: number[] = [];
  let offset = CHUNK_HEADER_BYTES;
  while (offset < layout.entriesEnd) {
    offsets.push(offset);
    try {
      const { entry, next } = decodeEntry(entryBytes, offset);
      entries.push(entry);
      offset = next;
    } catch (error) {
      if (!(error instanceof CocoError)) throw error;
      throw new CocoError(error.code, `${fileName}: entry ${entries.length + 1} at byte ${offset}: ${error.message}`);
    }
  }
  checkPositionsTable(bytes, layout, offsets, fileName);
  return { entries, offsets, complete: layout.complete };
}

/** Encodes a chunk file from encoded entries; `complete` appends the positions table. */
export function encodeChunk(entries: readonly Uint8Array[], complete: boolean): Uint8Array {
  let size = CHUNK_HEADER_BYTES;
  for (const entry of entries) size += entry.length;
  const tableOffset = size;
  if (complete) size += entries.length * 4;
  if (size > 0xffff_ffff) {
    throw new CocoError('LedgerChunkTooLarge', `a chunk of ${size} bytes cannot be indexed by u32 positions; cut smaller chunks`);
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  if (complete) view.setBigUint64(0, BigInt(tableOffset), true);
  let offset = CHUNK_HEADER_BYTES;
  let tablePosition = tableOffset;
  for (const entry of entries) {
    out.set(entry, offset);
    if (complete) {
      view.setUint32(tablePosition, offset, true);
      tablePosition += 4;
    }
    offset += entry.length;
  }
  return out;
}
