// A stored receipt read for a scan over blocks: its bytes, and the logs a filter selects, tested where
// they lie (decodeReceiptLogs) so that a block of tens of thousands of logs allocates only for the
// logs returned, asking every LOGS_SCAN_LOGS_PER_CHECK logs whether its request's time is up.

import { CocoError } from '../errors.js';
import type { Transaction } from '../kv/transaction.js';
import { decodeReceiptLogs, type EthereumMaps, type ReceiptRecord } from './ethereum-maps.js';
import { LOGS_SCAN_LOGS_PER_CHECK } from './limits.js';
import { selectsLog, type LogFilter } from './log-filter.js';
import { data } from './rpc-values.js';

/** The stored receipt of transaction `hash`, one the transactions map holds (each has its receipt). */
export function storedReceiptBytes(tx: Transaction, maps: EthereumMaps, hash: Uint8Array): Uint8Array {
  const value = tx.map(maps.receipts).get(hash);
  if (value === undefined) throw new CocoError('InternalError', `the receipt of stored transaction ${data(hash)} is missing`);
  return value;
}

export interface SelectedLogs {
  /** The receipt, with the selected logs only (views of the stored bytes). */
  receipt: ReceiptRecord;
  /** Each selected log's index among all the receipt's logs. */
  indexes: number[];
}

/**
 * The logs of `receipt` that `filter` selects, in order; undefined when `timeIsUp`, asked every
 * LOGS_SCAN_LOGS_PER_CHECK logs, said to stop before the last one.
 */
export function selectLogs(receipt: Uint8Array, filter: LogFilter, timeIsUp: () => boolean): SelectedLogs | undefined {
  return decodeReceiptLogs(receipt, (bytes, index, addressAt, topicCount, topicsAt) => {
    if (index > 0 && index % LOGS_SCAN_LOGS_PER_CHECK === 0 && timeIsUp()) return 'stop';
    return selectsLog(filter, bytes, addressAt, topicCount, topicsAt) ? 'keep' : 'skip';
  });
}
