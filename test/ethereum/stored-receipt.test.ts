// A stored receipt read in place agrees with decodeReceipt: its gas used (receiptGasUsed), and the logs a filter
// selects, with their indexes; the time check runs between every LOGS_SCAN_LOGS_PER_CHECK logs; a
// malformed receipt is refused as decodeReceipt refuses it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CocoError } from '../../src/errors.js';
import { decodeReceipt, encodeReceipt, receiptGasUsed, type LogRecord, type ReceiptRecord } from '../../src/ethereum/ethereum-maps.js';
import { LOGS_SCAN_LOGS_PER_CHECK } from '../../src/ethereum/limits.js';
import { parseLogFilter } from '../../src/ethereum/log-filter.js';
import { data } from '../../src/ethereum/rpc-values.js';
import { selectLogs } from '../../src/ethereum/stored-receipt.js';

const address = (byte: number) => new Uint8Array(20).fill(byte);
const topic = (byte: number) => new Uint8Array(32).fill(byte);
const hex = (bytes: Uint8Array) => data(bytes);

const LOGS: LogRecord[] = [
  { address: address(1), topics: [], data: new Uint8Array(0) },
  { address: address(1), topics: [topic(0xa)], data: Uint8Array.of(1, 2, 3) },
  { address: address(2), topics: [topic(0xa), topic(0xb)], data: new Uint8Array(70).fill(7) },
  { address: address(2), topics: [topic(0xc), topic(0xb), topic(0xd), topic(0xe)], data: new Uint8Array(0) },
  { address: address(3), topics: [topic(0xb)], data: new Uint8Array(33) },
];

const RECEIPTS: ReceiptRecord[] = [
  { status: 1, gasUsed: 21_000n, contractAddress: undefined, logs: [] },
  { status: 0, gasUsed: 2n ** 63n + 5n, contractAddress: address(9), logs: LOGS },
  { status: 1, gasUsed: 1n, contractAddress: undefined, logs: LOGS },
];

/** Filters, and the indexes of LOGS each selects. */
const FILTERS: Array<[Record<string, unknown>, number[]]> = [
  [{}, [0, 1, 2, 3, 4]],
  [{ address: hex(address(2)) }, [2, 3]],
  [{ address: [hex(address(3)), hex(address(1))] }, [0, 1, 4]],
  [{ topics: [hex(topic(0xa))] }, [1, 2]],
  [{ topics: [null, hex(topic(0xb))] }, [2, 3]],
  [{ topics: [[hex(topic(0xc)), hex(topic(0xb))]] }, [3, 4]],
  [{ address: hex(address(2)), topics: [null, null, hex(topic(0xd))] }, [3]],
  [{ address: hex(address(4)) }, []],
];

test('a stored receipt read in place: the gas used, and the logs a filter selects with their indexes, as decodeReceipt reads them', () => {
  for (const receipt of RECEIPTS) {
    const stored = encodeReceipt(receipt);
    assert.equal(receiptGasUsed(stored), decodeReceipt(stored).gasUsed);
    for (const [fields, wanted] of FILTERS) {
      const indexes = wanted.filter((i) => i < receipt.logs.length);
      const selected = selectLogs(stored, parseLogFilter(fields), () => false)!;
      assert.deepEqual(selected.indexes, indexes, JSON.stringify(fields));
      assert.deepEqual(selected.receipt, { ...decodeReceipt(stored), logs: indexes.map((i) => receipt.logs[i]) }, JSON.stringify(fields));
    }
  }
});

test('the time check runs between every LOGS_SCAN_LOGS_PER_CHECK logs; when it says stop, nothing is selected', () => {
  const many = encodeReceipt({ status: 1, gasUsed: 1n, contractAddress: undefined, logs: Array.from({ length: 3 * LOGS_SCAN_LOGS_PER_CHECK }, () => LOGS[1]!) });
  let checks = 0;
  assert.equal(selectLogs(many, parseLogFilter({}), () => ++checks === 2), undefined, 'stopped at the second check');
  assert.equal(checks, 2);
  checks = 0;
  assert.equal(selectLogs(many, parseLogFilter({}), () => (checks++, false))!.indexes.length, 3 * LOGS_SCAN_LOGS_PER_CHECK);
  assert.equal(checks, 2, 'after the first 1,024 logs and after the second');
});

test('a malformed stored receipt is refused, as decodeReceipt refuses it', () => {
  const stored = encodeReceipt(RECEIPTS[1]!);
  const refused = (error: unknown) => error instanceof CocoError && error.code === 'EthereumStateMalformed';
  for (const length of [0, 5, 30, 40, stored.length - 1]) {
    const truncated = stored.subarray(0, length);
    assert.throws(() => decodeReceipt(truncated), refused);
    assert.throws(() => selectLogs(truncated, parseLogFilter({}), () => false), refused, `truncated to ${length} bytes`);
  }
  const trailing = Uint8Array.from([...stored, 0]);
  assert.throws(() => selectLogs(trailing, parseLogFilter({}), () => false), /1 trailing bytes/);
});
