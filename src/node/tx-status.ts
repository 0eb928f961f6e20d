// Transaction status as CCF reports it, computed from what this node knows: the view of each seqno
// it holds, its last seqno and its commit seqno. Final states never change: a Committed TxID is
// never later Invalid, and an Invalid one never Committed.

import type { TxId } from '../ledger/tx-id.js';

export type TxStatus = 'Unknown' | 'Pending' | 'Committed' | 'Invalid';

export interface TxStatusView {
  lastSeqno: number;
  commitSeqno: number;
  currentView: number;
  /** The view in which this node holds `seqno`, for seqno ≤ lastSeqno. */
  viewOf(seqno: number): number;
}

export function txStatus(txId: TxId, node: TxStatusView): TxStatus {
  if (txId.seqno > node.lastSeqno) {
    // The current or a later view may still produce this seqno; an earlier view never will.
    return txId.view < node.currentView ? 'Invalid' : 'Unknown';
  }
  if (node.viewOf(txId.seqno) !== txId.view) return 'Invalid';
  return txId.seqno <= node.commitSeqno ? 'Committed' : 'Pending';
}
