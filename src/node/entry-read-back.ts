// An entry read back from a ledger chunk file for a historical query or a receipt, with the file
// it came from. Disk is untrusted and such a file may never have been checked (chunks before the
// snapshot a node started from are not replayed), so whatever fails to parse or verify in the
// entry is reported as LedgerEntryMalformed naming the file and the seqno, never as an internal error.

import { CocoError } from '../errors.js';
import { CHUNK_HEADER_BYTES } from '../ledger/chunk-file.js';

export interface EntryReadBack {
  seqno: number;
  /** The name of the chunk file it was read from. */
  file: string;
  bytes: Uint8Array;
}

/** The error for an entry read back that is not what the service wrote. */
export function malformedEntry(read: Omit<EntryReadBack, 'bytes'>, reason: string, cause?: unknown): CocoError {
  return new CocoError(
    'LedgerEntryMalformed',
    `${read.file} at seqno ${read.seqno}: ${reason}; the file was altered or damaged: replace it with a copy that \`coco ledger verify\` accepts`,
    { cause },
  );
}

/** What `parse` makes of the entry's bytes; any failure of it is the entry's, as malformedEntry says. */
export function parseReadBack<T>(read: EntryReadBack, parse: (bytes: Uint8Array) => T): T {
  try {
    return parse(read.bytes);
  } catch (error) {
    throw malformedEntry(read, error instanceof Error ? error.message : String(error), error);
  }
}

/** Checks that a chunk's positions table places the entry of `seqno` within the chunk's entries, as a damaged table may not. */
export function checkPlacement(file: string, seqno: number, start: number | undefined, end: number | undefined, entriesEnd: number): { start: number; end: number } {
  if (start === undefined || end === undefined || start < CHUNK_HEADER_BYTES || end <= start || end > entriesEnd) {
    throw malformedEntry({ file, seqno }, `its positions table does not place the entry within the chunk (bytes ${start ?? '?'}..${end ?? '?'} of ${entriesEnd})`);
  }
  return { start, end };
}
