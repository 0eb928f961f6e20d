// The last commit a node knew, beside its consensus state, so that a restart does not report as
// Pending what it had already reported Committed. A restarted node otherwise knows only the commit
// its committed chunk files show, which can lie well behind (the open chunk's entries, up to a
// chunk's worth) until a primary tells it again, and with no majority up that may be never.
//
// Written in place at every commit advance, without fsync, naming the commit but never an entry
// not yet written to the ledger files (a backup learns of commits while its newest entries wait in
// memory for the next batch): a crash of the process leaves it and those entries in the page cache,
// and a power loss leaves an older or unreadable one. Either is safe to read back: it is used only
// when the ledger holds the very entry it names (same view and seqno), and then every entry up to
// it is the committed one (Raft's log matching).

import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { TxId } from '../ledger/tx-id.js';

/** Bytes written each time, padded: a shorter record never leaves the end of a longer one behind. */
const RECORD_BYTES = 64;

/** Where the marker of a node whose consensus state is in `consensusStateFile` lives. */
export function commitMarkerPath(consensusStateFile: string): string {
  return consensusStateFile.replace(/(\.json)?$/, '.commit.json');
}

/** The commit the marker at `path` names; undefined when there is none or it cannot be read. */
export function readCommitMarker(path: string): TxId | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const { view, seqno } = JSON.parse(readFileSync(path, 'utf8')) as { view?: unknown; seqno?: unknown };
    return Number.isSafeInteger(view) && Number.isSafeInteger(seqno) && (seqno as number) > 0 ? { view: view as number, seqno: seqno as number } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The commit seqno to restart with: the marker's, when the replayed entries hold the entry it names
 * and it is past what the chunk files show; otherwise theirs.
 */
export function restartCommitSeqno(committedByChunks: number, marker: TxId | undefined, entries: readonly { seqno: number; view: number }[]): number {
  if (marker === undefined || marker.seqno <= committedByChunks || entries.length === 0) return committedByChunks;
  const entry = entries[marker.seqno - entries[0]!.seqno];
  return entry?.seqno === marker.seqno && entry.view === marker.view ? marker.seqno : committedByChunks;
}

export class CommitMarker {
  readonly #fd: number | undefined;

  constructor(path: string) {
    let fd: number | undefined;
    try {
      fd = openSync(path, existsSync(path) ? 'r+' : 'w', 0o600);
    } catch {
      // Without it, a restart knows what the chunk files show, as before the marker existed.
    }
    this.#fd = fd;
  }

  write(txId: TxId): void {
    if (this.#fd === undefined) return;
    try {
      writeSync(this.#fd, JSON.stringify({ view: txId.view, seqno: txId.seqno }).padEnd(RECORD_BYTES), 0);
    } catch {
      // A full disk: the marker stays at an earlier commit, which is still true.
    }
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
  }
}
