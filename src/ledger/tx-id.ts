// Transaction IDs as CCF writes them: "<view>.<seqno>", both decimal. Seqnos start at 1.

import { CocoError } from '../errors.js';

export interface TxId {
  view: number;
  seqno: number;
}

export function formatTxId(txId: TxId): string {
  return `${txId.view}.${txId.seqno}`;
}

export function parseTxId(text: string): TxId {
  const match = /^(\d{1,15})\.(\d{1,15})$/.exec(text);
  if (!match) {
    throw new CocoError('InvalidQueryParameterValue', `"${text}" is not a transaction ID; expected "<view>.<seqno>", e.g. "2.15"`);
  }
  return { view: Number(match[1]), seqno: Number(match[2]) };
}
