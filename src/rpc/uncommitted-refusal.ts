// CCF's refusal of a query that needs a committed transaction (a receipt, a historical endpoint's
// state) for one that is not (is_tx_committed_v2 and default_error_handler): 404 in CCF's words,
// with `Cache-Control: no-cache` while the transaction may still commit.

import type { TxStatus } from '../consensus/tx-status.js';
import { RpcError } from './rpc-error.js';

/** The refusal for the transaction written `txIdText`, whose status is `status`. */
export function uncommittedRefusal(txIdText: string, status: Exclude<TxStatus, 'Committed'>): RpcError {
  const reason = `Only committed transactions can be queried. Transaction ${txIdText} is ${status}`;
  if (status === 'Invalid') return new RpcError(404, 'TransactionInvalid', reason);
  return new RpcError(404, 'TransactionPendingOrUnknown', reason, { 'cache-control': 'no-cache' });
}
