// A TxID a client names (the `transaction_id` query parameter of /tx, /local_tx and /receipt, the
// x-ms-ccf-transaction-id header of historical requests), read as CCF's TxID::from_str reads it:
// "<view>.<seqno>", each an unsigned 64-bit decimal (leading zeros allowed, nothing else). Every
// TxID that reads gets an answer about it (a status, a receipt or why there is none); only text
// that does not read, or a number past 2^64 - 1, is the caller's error (400).

import type { TxId } from '../ledger/tx-id.js';
import { RpcError } from './rpc-error.js';
import type { RpcRequest } from './rpc-server.js';

/** The largest uint64, as CCF parses transaction IDs and views. */
export const UINT64_MAX = 2n ** 64n - 1n;
const VIEW_DOT_SEQNO = /^([0-9]+)\.([0-9]+)$/;

export interface TransactionIdParameter {
  /** As CCF writes it back: both numbers in decimal, without leading zeros. */
  text: string;
  /**
   * The view and seqno as numbers: exact up to 2^53, and past it rounded, which keeps them past
   * every view and seqno a node reaches: all its status depends on.
   */
  txId: TxId;
}

/** `text` as a TxID, or undefined when it is not one. */
export function readTransactionId(text: string): TransactionIdParameter | undefined {
  const match = VIEW_DOT_SEQNO.exec(text);
  if (match === null) return undefined;
  const view = BigInt(match[1]!);
  const seqno = BigInt(match[2]!);
  if (view > UINT64_MAX || seqno > UINT64_MAX) return undefined;
  return { text: `${view}.${seqno}`, txId: { view: Number(view), seqno: Number(seqno) } };
}

export function transactionIdParameter(request: RpcRequest): TransactionIdParameter {
  const text = request.query.get('transaction_id');
  if (text === null) throw new RpcError(400, 'InvalidQueryParameterValue', "Query string must contain a 'transaction_id' parameter, e.g. ?transaction_id=2.15");
  return requireTransactionId(text, "query parameter 'transaction_id'");
}

/** `text` as a TxID, or CCF's 400 naming where it came from (e.g. "parameter 'transactionId'"). */
export function requireTransactionId(text: string, passedAs: string): TransactionIdParameter {
  const read = readTransactionId(text);
  if (read === undefined) {
    throw new RpcError(
      400,
      'InvalidQueryParameterValue',
      `The value '${text}' passed as ${passedAs} could not be converted to a valid Transaction ID: it is <view>.<seqno>, two whole numbers below 2^64, e.g. 2.15`,
    );
  }
  return read;
}
