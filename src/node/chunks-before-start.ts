// The committed chunks a node's directories hold from before the snapshot it started from, which its
// own index of chunks does not cover. An operator may copy archived chunks into them (a read-only
// directory) while the node runs, as CCF's docs allow: a seqno not found is looked for again in
// the directories, at most once a second, so that requests for what is truly absent stay cheap.

import type { ChunkName } from '../ledger/chunk-file.js';

/** How long a listing of the directories answers "not held" before they are listed again. */
export const CHUNKS_RELIST_INTERVAL_MS = 1000;

export class ChunksBeforeStart {
  private chunks: ChunkName[];
  private listedAtMs: number;

  constructor(
    private readonly list: () => ChunkName[],
    private readonly nowMs: () => number,
  ) {
    this.chunks = list();
    this.listedAtMs = nowMs();
  }

  /** Whether one of the directories' committed chunks holds `seqno`. */
  holds(seqno: number): boolean {
    if (this.covered(seqno)) return true;
    const now = this.nowMs();
    if (now - this.listedAtMs < CHUNKS_RELIST_INTERVAL_MS) return false;
    this.chunks = this.list();
    this.listedAtMs = now;
    return this.covered(seqno);
  }

  private covered(seqno: number): boolean {
    return this.chunks.some((chunk) => chunk.first <= seqno && seqno <= chunk.last!);
  }
}
