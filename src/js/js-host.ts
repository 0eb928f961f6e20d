// What the JavaScript runtime needs from the node it runs in: a monotonic clock for execution
// deadlines, the untrusted host time apps may opt into, a log, and optional capabilities (consensus,
// historical state). The js layer reads no clock and does no I/O itself: everything comes through here.

import type { Transaction } from '../kv/transaction.js';
import type { Receipt } from '../ledger/receipt.js';
import type { TxId } from '../ledger/tx-id.js';
import type { RsaKeyPairSource } from './ccf-crypto.js';

export type { TxStatus } from '../consensus/tx-status.js';
import type { TxStatus } from '../consensus/tx-status.js';

/** One historical transaction as JS sees it: `{transactionId, receipt, kv}` (kv read-only). */
export interface HistoricalStateInput {
  transactionId: TxId;
  /** The ledger's receipt for it, which js-receipt.ts shows apps in CCF's shape. */
  receipt: Receipt;
  /** A transaction over the store as of `transactionId`; only read. */
  tx: Transaction;
}

export interface JsHost {
  /** Milliseconds from any fixed origin, never decreasing: execution deadlines use it. */
  monotonicMs(): number;
  /** Host wall-clock time in ms since the epoch: untrusted, shown to apps only if they opt in. */
  untrustedNowMs(): number;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** Backs `ccf.consensus.*`; without it those functions throw inside JS. */
  consensus?: {
    lastCommittedTxId(): TxId;
    statusForTxId(txId: TxId): TxStatus;
    viewForSeqno(seqno: number): number | null;
  };
  /** Serves `ccf.crypto.generateRsaKeyPair` when it has a pair ready; without one the call generates its own. */
  rsaKeyPairs?: RsaKeyPairSource;
  /** Backs `ccf.historical.*`; without it those functions throw inside JS. */
  historical?: {
    /** The states of seqnos start..end (inclusive), or null while they are being fetched. */
    getStateRange(handle: number, startSeqno: number, endSeqno: number, secondsUntilExpiry: number): HistoricalStateInput[] | null;
    dropCachedStates(handle: number): boolean;
  };
}
