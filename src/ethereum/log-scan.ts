// The logs a filter selects in a range of blocks (eth_getLogs, eth_getFilterLogs, a logs filter's
// poll), within the bounds of the request that asks for them (RequestScope: its execution time, its
// count of logs, its response size). Each block's receipt is read where it lies (stored-receipt.ts):
// only the logs returned are decoded and made into JSON, and the clock is looked at before every
// block and every few thousand logs (scan-deadline.ts), so no block, however many logs it holds,
// keeps the scan going long past the request's time.

import type { Blocks } from './blocks.js';
import { ADDRESS_BYTES, HASH_BYTES, type LogRecord } from './ethereum-maps.js';
import { JsonRpcError, type RequestScope } from './json-rpc.js';
import { LOGS_RESULTS_MAX, RESPONSE_BYTES_MAX } from './limits.js';
import type { LogFilter } from './log-filter.js';
import { logObjects } from './rpc-objects.js';
import { quantity } from './rpc-values.js';
import { ScanDeadline } from './scan-deadline.js';
import { selectLogs, storedReceiptBytes } from './stored-receipt.js';
import type { Transaction } from '../kv/transaction.js';

/** The JSON of a log object (logObjects) without topics or data, its quantities of one digit. */
const LOG_JSON_BASE_BYTES = JSON.stringify(
  logObjects(new Uint8Array(HASH_BYTES), { status: 1, gasUsed: 0n, contractAddress: undefined, logs: [{ address: new Uint8Array(ADDRESS_BYTES), topics: [], data: new Uint8Array(0) }] }, { blockNumber: 0n, blockHash: new Uint8Array(HASH_BYTES), timestamp: 0n })[0],
).length;

/** A topic in a log object's JSON: a quoted "0x" and 64 hex digits, and a comma between two. */
const TOPIC_JSON_BYTES = 1 + 2 + 2 * HASH_BYTES + 1 + 1;

/**
 * The JSON bytes of the log object of `log`, the `index`th of its receipt, in block `number` of
 * `timestamp`: what it adds to a response, computed from its parts before any JSON is made (a
 * test holds it to JSON.stringify of the object).
 */
export function logJsonBytes(log: LogRecord, index: number, number: bigint, timestamp: bigint): number {
  const topics = log.topics.length === 0 ? 0 : log.topics.length * TOPIC_JSON_BYTES - 1;
  const quantityDigits = quantity(index).length + quantity(number).length + quantity(timestamp).length - 3 * '0x0'.length;
  return LOG_JSON_BASE_BYTES + topics + 2 * log.data.length + quantityDigits;
}

/** Blocks `from` to `to` (both present), and what to select in them. */
export interface LogQuery {
  readonly from: bigint;
  readonly to: bigint;
  readonly filter: LogFilter;
}

export interface LogScan {
  /** The selected logs' JSON objects, in block and log order. */
  logs: Record<string, unknown>[];
  /** The last block the scan covered: the query's last, unless a poll stopped before it. */
  through: bigint;
}

/**
 * The logs `query` selects, read through `tx`, within `scope`'s bounds (a batch's queries share
 * them). Past the bounds, a query for the whole range is refused (-32005). A filter's poll, given
 * `skipBlock`, instead stops before the first block that would pass them, returning what fits and
 * leaving the rest to its next poll. A block whose logs alone pass the bounds of a whole request can
 * never be returned: it is refused once and `skipBlock` moves the filter past it (else every later
 * poll would fail on it, for good).
 */
export function scanLogs(tx: Transaction, blocks: Blocks, query: LogQuery, scope: RequestScope, nowMs: () => number, skipBlock?: (number: bigint) => void): LogScan {
  const { from, to, filter } = query;
  const found: Record<string, unknown>[] = [];
  let bytes = 0;
  let through = to;
  const deadline = new ScanDeadline(nowMs, scope.time);
  /** Stops at block `number`, whose scan the request's time did not leave room for. */
  const outOfTime = (number: bigint): void => {
    if (skipBlock === undefined) {
      throw new JsonRpcError(-32005, `query timeout: the scan of blocks ${from} to ${to} used up this request's execution time (ethereum.max_execution_time_ms) at block ${number}: narrow the block range`);
    }
    through = number - 1n;
  };
  try {
    for (let number = from; number <= to; number++) {
      if (deadline.passed()) {
        outOfTime(number);
        break;
      }
      const block = blocks.withoutParent(tx, number);
      if (block?.txHash === undefined) continue;
      const selected = selectLogs(storedReceiptBytes(tx, blocks.maps, block.txHash), filter, () => deadline.passed());
      if (selected === undefined) {
        outOfTime(number);
        break;
      }
      const { logs } = selected.receipt;
      if (logs.length === 0) continue;
      // Each log and the comma after it.
      const blockBytes = logs.reduce((sum, log, i) => sum + logJsonBytes(log, selected.indexes[i] as number, number, block.timestamp) + 1, 0);
      // The bounds are the request's: a batch of queries shares them.
      const tooMany = found.length + logs.length > scope.logsRemaining;
      const tooLarge = bytes + blockBytes > scope.responseBytesRemaining;
      if ((tooMany || tooLarge) && skipBlock !== undefined && number > from) {
        through = number - 1n;
        break;
      }
      if (skipBlock !== undefined && (logs.length > LOGS_RESULTS_MAX || blockBytes > RESPONSE_BYTES_MAX)) {
        skipBlock(number);
        throw new JsonRpcError(-32005, `block ${number} alone has ${logs.length} matching logs (about ${blockBytes} bytes), more than one request may return (${LOGS_RESULTS_MAX} logs, ${RESPONSE_BYTES_MAX} bytes): this filter skips them and goes on from block ${number + 1n}`);
      }
      if (tooMany) throw new JsonRpcError(-32005, `query returned more than ${LOGS_RESULTS_MAX} results (a request's queries together): narrow the block range or the filter`);
      if (tooLarge) throw new JsonRpcError(-32005, `query returned more than ${RESPONSE_BYTES_MAX} bytes of logs (a request's queries together): narrow the block range or the filter`);
      const objects = logObjects(block.txHash, selected.receipt, { blockNumber: number, blockHash: block.hash, timestamp: block.timestamp });
      // logObjects numbers the logs it is given: the selected ones take back their index in the receipt.
      objects.forEach((object, i) => {
        object.logIndex = quantity(selected.indexes[i] as number);
        found.push(object);
      });
      bytes += blockBytes;
    }
  } finally {
    deadline.settle();
  }
  scope.logsRemaining -= found.length;
  return { logs: found, through };
}
