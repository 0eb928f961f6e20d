// The status of a transaction ID as one node sees it (CCF's Unknown, Pending, Committed, Invalid),
// from the view of each seqno in its log and its commit seqno. Final states are safe: a TxID reported
// Committed is never Invalid on any node, and one rolled back by an election ends Invalid.

import { invariant } from '../errors.js';
import type { TxId } from '../ledger/tx-id.js';

export type TxStatus = 'Unknown' | 'Pending' | 'Committed' | 'Invalid';

export interface TxHistory {
  /** The view of the local entry at `seqno` (0 for seqno 0), undefined past the end of the log. */
  viewOf(seqno: number): number | undefined;
  /** Last committed seqno; always a signature entry held locally. */
  commitSeqno: number;
}

/**
 * The status of any TxID a client can write: whole numbers from 0 (past 2^53 rounded, which keeps
 * them past every view and seqno this node holds). No transaction has view 0 or seqno 0, so such a
 * TxID is Invalid: it can never be committed (where CCF's rules would call seqno 0 an internal
 * error and view 0 past the log Pending).
 */
export function statusOf(txId: TxId, history: TxHistory): TxStatus {
  invariant(Number.isInteger(txId.view) && txId.view >= 0 && Number.isInteger(txId.seqno) && txId.seqno >= 0, `a TxID is two whole numbers, not ${txId.view}.${txId.seqno}`);
  if (txId.view === 0 || txId.seqno === 0) return 'Invalid';
  const localView = history.viewOf(txId.seqno);
  if (txId.seqno <= history.commitSeqno) return localView === txId.view ? 'Committed' : 'Invalid';
  if (localView === txId.view) return 'Pending';
  // A later view committed a signature before this seqno, so every later log holds that view (or a
  // later one) from there on: an entry of an earlier view can no longer commit at this seqno.
  const committedView = history.viewOf(history.commitSeqno) ?? 0;
  if (txId.view < committedView) return 'Invalid';
  // Another view holds (or may yet hold) this seqno locally, but a different leader may still commit
  // the asked-for entry: only commit settles it.
  return 'Unknown';
}
