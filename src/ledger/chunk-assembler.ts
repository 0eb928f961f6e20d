// Collects entries from a LedgerWriter into chunk files held in memory (complete ones with their
// positions table), for tools and tests that write a whole ledger at once; a node writes its
// chunks to disk as it goes instead.

import { encodeChunk, formatChunkName } from './chunk-file.js';
import type { AppendResult } from './ledger-writer.js';

export interface ChunkOutput {
  name: string;
  bytes: Uint8Array;
}

export class ChunkAssembler {
  private first = 1;
  private last = 0;
  private entries: Uint8Array[] = [];
  private readonly completed: ChunkOutput[] = [];

  add(result: AppendResult): void {
    this.entries.push(result.entry);
    this.last = result.txId.seqno;
    if (!result.closesChunk) return;
    this.completed.push({ name: formatChunkName(this.first, this.last, true), bytes: encodeChunk(this.entries, true) });
    this.first = this.last + 1;
    this.entries = [];
  }

  /** Every complete chunk, then the one still open (named as CCF names a chunk being written). */
  chunks(): ChunkOutput[] {
    if (this.entries.length === 0) return [...this.completed];
    return [...this.completed, { name: formatChunkName(this.first, this.last, false), bytes: encodeChunk(this.entries, false) }];
  }
}
