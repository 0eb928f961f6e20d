// A stored receipt (the layout of encodeReceipt in ethereum-maps.ts) read where it lies: its gas
// used, and the logs a filter selects. decodeReceipt makes an object of every log; a scan over
// blocks that hold tens of thousands of logs each reads them here instead, allocating only for the
// logs it returns, and asks every LOGS_SCAN_LOGS_PER_CHECK logs whether its request's time is up.

import { CocoError } from '../errors.js';
import { ByteReader } from '../kv/byte-reader.js';
import type { Transaction } from '../kv/transaction.js';
import { ADDRESS_BYTES, HASH_BYTES, type EthereumMaps, type LogRecord, type ReceiptRecord } from './ethereum-maps.js';
import { LOGS_SCAN_LOGS_PER_CHECK } from './limits.js';
import { selectsLog, type LogFilter } from './log-filter.js';
import { data } from './rpc-values.js';

/** The stored receipt of transaction `hash`, one the transactions map holds (each has its receipt). */
export function storedReceiptBytes(tx: Transaction, maps: EthereumMaps, hash: Uint8Array): Uint8Array {
  const value = tx.map(maps.receipts).get(hash);
  if (value === undefined) throw new CocoError('InternalError', `the receipt of stored transaction ${data(hash)} is missing`);
  return value;
}

function reader(receipt: Uint8Array): ByteReader {
  return new ByteReader(receipt, 'EthereumStateMalformed', 'ethereum receipt');
}

/** Moves `r` past `count` bytes; where they start. */
function skip(r: ByteReader, count: number, field: string): number {
  if (count > r.remaining) r.fail(`truncated while reading ${field}: needs ${count} bytes, ${r.remaining} left`);
  const start = r.offset;
  r.offset += count;
  return start;
}

/** The gas used of a stored receipt, read without its logs. */
export function storedGasUsed(receipt: Uint8Array): bigint {
  const r = reader(receipt);
  r.u8('status');
  return r.u64('gas used');
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
  const r = reader(receipt);
  const status = r.u8('status');
  if (status > 1) r.failField(`status ${status} is neither 0 nor 1`);
  const gasUsed = r.u64('gas used');
  const contractAddress = r.u8('has contract address') === 1 ? r.bytesView(ADDRESS_BYTES, 'contract address') : undefined;
  const logs: LogRecord[] = [];
  const indexes: number[] = [];
  const count = r.u32('log count');
  for (let index = 0; index < count; index++) {
    if (index > 0 && index % LOGS_SCAN_LOGS_PER_CHECK === 0 && timeIsUp()) return undefined;
    const addressAt = skip(r, ADDRESS_BYTES, 'log address');
    const topicCount = r.u8('topic count');
    const topicsAt = skip(r, topicCount * HASH_BYTES, 'topics');
    const dataLength = r.u32('log data length');
    const dataAt = skip(r, dataLength, 'log data');
    if (!selectsLog(filter, receipt, addressAt, topicCount, topicsAt)) continue;
    const topics: Uint8Array[] = [];
    for (let t = 0; t < topicCount; t++) topics.push(receipt.subarray(topicsAt + t * HASH_BYTES, topicsAt + (t + 1) * HASH_BYTES));
    logs.push({ address: receipt.subarray(addressAt, addressAt + ADDRESS_BYTES), topics, data: receipt.subarray(dataAt, dataAt + dataLength) });
    indexes.push(index);
  }
  if (!r.atEnd) r.fail(`${r.remaining} trailing bytes`);
  return { receipt: { status: status as 0 | 1, gasUsed, contractAddress, logs }, indexes };
}
