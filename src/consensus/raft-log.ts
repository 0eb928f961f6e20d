// The in-memory Raft log of one node: entries contiguous from seqno 1, views never decreasing, and
// an index of signature entries (the only commit points). It knows nothing of commit or durability;
// the state machine decides when it may append and truncate.

import { CocoError, invariant } from '../errors.js';
import { configurationProblem } from './configurations.js';
import type { LogEntry } from './log-entry.js';

export interface LogPosition {
  seqno: number;
  view: number;
}

export class RaftLog {
  private readonly entries: LogEntry[] = [];
  /** Seqnos of signature entries, ascending. */
  private readonly signatures: number[] = [];

  /** Rebuilds a log from persisted entries; they must start at seqno 1, be contiguous and never go back in view. */
  constructor(initial: readonly LogEntry[] = []) {
    for (const entry of initial) {
      if (entry.seqno !== this.lastSeqno + 1 || !Number.isSafeInteger(entry.view) || entry.view < this.lastView) {
        throw new CocoError('InvalidConsensusState', `persisted log entry ${entry.view}.${entry.seqno} does not follow ${this.lastView}.${this.lastSeqno}; restore the log from a consistent ledger`);
      }
      const problem = entry.configuration === undefined ? undefined : configurationProblem(entry.configuration);
      if (problem !== undefined) throw new CocoError('InvalidConsensusState', `persisted log entry ${entry.view}.${entry.seqno}: ${problem}; restore the log from a consistent ledger`);
      this.append(entry);
    }
  }

  get lastSeqno(): number {
    return this.entries.length;
  }

  get lastView(): number {
    return this.entries.at(-1)?.view ?? 0;
  }

  /** The view of the entry at `seqno` (0 for seqno 0), or undefined past the end of the log. */
  viewOf(seqno: number): number | undefined {
    if (seqno === 0) return 0;
    return this.entries[seqno - 1]?.view;
  }

  entry(seqno: number): LogEntry | undefined {
    return seqno >= 1 ? this.entries[seqno - 1] : undefined;
  }

  /** Entries `from..to` inclusive, clipped to the log. */
  slice(from: number, to: number): LogEntry[] {
    return this.entries.slice(Math.max(from, 1) - 1, Math.max(to, 0));
  }

  append(entry: LogEntry): void {
    invariant(entry.seqno === this.lastSeqno + 1, `log append at ${entry.seqno} after ${this.lastSeqno}`);
    invariant(entry.view >= this.lastView, `log append in view ${entry.view} after view ${this.lastView}`);
    this.entries.push(entry);
    if (entry.isSignature) this.signatures.push(entry.seqno);
  }

  /** Drops every entry after `seqno`. */
  truncateAfter(seqno: number): void {
    invariant(seqno >= 0 && seqno <= this.lastSeqno, `log truncation to ${seqno} outside 0..${this.lastSeqno}`);
    this.entries.length = seqno;
    while ((this.signatures.at(-1) ?? 0) > seqno) this.signatures.pop();
  }

  /** The last committable (signature) entry, or {0, 0} when there is none. */
  lastSignature(): LogPosition {
    const seqno = this.signatures.at(-1) ?? 0;
    return { seqno, view: this.viewOf(seqno) ?? 0 };
  }

  /** The seqno of the last signature at or before `seqno`, or 0. */
  signatureAtOrBefore(seqno: number): number {
    let low = 0;
    let high = this.signatures.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.signatures[mid] ?? 0) <= seqno) low = mid + 1;
      else high = mid;
    }
    return low === 0 ? 0 : (this.signatures[low - 1] ?? 0);
  }

  /** The largest seqno ≤ `seqno` whose view is ≤ `view`: where two logs may agree (fast backtracking). */
  lastMatchCandidate(seqno: number, view: number): number {
    let candidate = Math.min(seqno, this.lastSeqno);
    while (candidate > 0 && (this.viewOf(candidate) ?? 0) > view) candidate--;
    return candidate;
  }
}
