// The KV maps that hold Ethereum's state and history, and the byte encodings of their keys and
// values. Maps are private (encrypted in the ledger) unless the service's settings make them public
// (`public:` prefix; see chain-settings.ts). Integers in values are little-endian like the rest of Coco's formats;
// block numbers in keys are big-endian so that key order is block order. A change to any encoding
// takes new map names: the names version the format. docs/ethereum.md tabulates this layout.

import { bigIntToUnpaddedBytes, bytesToBigInt } from '@ethereumjs/util';
import { ByteReader } from '../kv/byte-reader.js';
import { ByteWriter } from '../kv/byte-writer.js';
import { PUBLIC_MAP_PREFIX } from '../kv/write-set.js';

export interface EthereumMaps {
  /** address (20) → account (see encodeAccount). */
  readonly accounts: string;
  /** keccak256(code) (32) → code. */
  readonly code: string;
  /** address (20) ‖ slot (32) → value, big-endian without leading zeros; zero slots are absent. */
  readonly storage: string;
  /** transaction hash (32) → transaction (see encodeTransaction). */
  readonly transactions: string;
  /** transaction hash (32) → receipt (see encodeReceipt). */
  readonly receipts: string;
  /** block number (u64 big-endian) → block (see encodeBlock); and HEAD_KEY → the head block number (u64). */
  readonly blocks: string;
  /** block hash (32) → block number (u64). */
  readonly blockHashes: string;
  /** address (20) → version (u64) of the governance balance record last applied to the account. */
  readonly appliedBalances: string;
}

const MAP_SUFFIXES: Record<keyof EthereumMaps, string> = {
  accounts: 'accounts',
  code: 'code',
  storage: 'storage',
  transactions: 'transactions',
  receipts: 'receipts',
  blocks: 'blocks',
  blockHashes: 'block_hashes',
  appliedBalances: 'applied_balances',
};

/** The map names, private by default; `publicState` puts every one of them in the public domain. */
export function ethereumMaps(publicState = false): EthereumMaps {
  const prefix = `${publicState ? PUBLIC_MAP_PREFIX : ''}coco.ethereum.`;
  const entries = Object.entries(MAP_SUFFIXES).map(([field, suffix]) => [field, prefix + suffix]);
  return Object.fromEntries(entries) as unknown as EthereumMaps;
}

export const ADDRESS_BYTES = 20;
export const HASH_BYTES = 32;
/** The key of the head block number in the blocks map (block keys are 8 bytes, so it cannot clash). */
export const HEAD_KEY = new TextEncoder().encode('head');

function reader(bytes: Uint8Array, what: string): ByteReader {
  return new ByteReader(bytes, 'EthereumStateMalformed', what);
}

function expectEnd(r: ByteReader): void {
  if (!r.atEnd) r.fail(`${r.remaining} trailing bytes`);
}

export function u64BigEndian(value: bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, value, false);
  return bytes;
}

export function blockKey(number: bigint): Uint8Array {
  return u64BigEndian(number);
}

export function storageKey(address: Uint8Array, slot: Uint8Array): Uint8Array {
  const key = new Uint8Array(ADDRESS_BYTES + HASH_BYTES);
  key.set(address);
  key.set(slot, key.length - slot.length);
  return key;
}

export function encodeU64(value: bigint): Uint8Array {
  return new ByteWriter(8).u64(value).finish();
}

export function decodeU64(bytes: Uint8Array, what: string): bigint {
  const r = reader(bytes, what);
  const value = r.u64('value');
  expectEnd(r);
  return value;
}

export interface AccountRecord {
  nonce: bigint;
  balance: bigint;
  /** keccak256 of the account's code; undefined for an account without code. */
  codeHash: Uint8Array | undefined;
}

/** nonce (u64) ‖ balance length (u8) ‖ balance (big-endian) ‖ code hash (32 bytes, contracts only). */
export function encodeAccount(account: AccountRecord): Uint8Array {
  const balance = bigIntToUnpaddedBytes(account.balance);
  const w = new ByteWriter(8 + 1 + balance.length + HASH_BYTES).u64(account.nonce).u8(balance.length).bytes(balance);
  if (account.codeHash !== undefined) w.bytes(account.codeHash);
  return w.finish();
}

export function decodeAccount(bytes: Uint8Array): AccountRecord {
  const r = reader(bytes, 'ethereum account');
  const nonce = r.u64('nonce');
  const balance = bytesToBigInt(r.bytesView(r.u8('balance length'), 'balance'));
  const codeHash = r.atEnd ? undefined : r.bytesView(HASH_BYTES, 'code hash');
  expectEnd(r);
  return { nonce, balance, codeHash };
}

export interface TransactionRecord {
  blockNumber: bigint;
  sender: Uint8Array;
  /** The signed transaction as sent. */
  raw: Uint8Array;
}

/** block number (u64) ‖ sender (20) ‖ raw signed transaction. */
export function encodeTransaction(record: TransactionRecord): Uint8Array {
  return new ByteWriter(8 + ADDRESS_BYTES + record.raw.length).u64(record.blockNumber).bytes(record.sender).bytes(record.raw).finish();
}

export function decodeTransaction(bytes: Uint8Array): TransactionRecord {
  const r = reader(bytes, 'ethereum transaction');
  const blockNumber = r.u64('block number');
  const sender = r.bytesView(ADDRESS_BYTES, 'sender');
  return { blockNumber, sender, raw: r.bytesView(r.remaining, 'raw transaction') };
}

export interface LogRecord {
  address: Uint8Array;
  topics: Uint8Array[];
  data: Uint8Array;
}

export interface ReceiptRecord {
  /** 1 when execution succeeded, 0 when it reverted or failed (only the nonce and fee then changed). */
  status: 0 | 1;
  gasUsed: bigint;
  /** The address a contract creation targets (present whether or not it succeeded). */
  contractAddress: Uint8Array | undefined;
  logs: LogRecord[];
}

/**
 * status (u8) ‖ gas used (u64) ‖ has contract address (u8) ‖ [contract address (20)] ‖ log count (u32) ‖
 * per log: address (20) ‖ topic count (u8) ‖ topics (32 each) ‖ data length (u32) ‖ data.
 */
export function encodeReceipt(receipt: ReceiptRecord): Uint8Array {
  const w = new ByteWriter(64).u8(receipt.status).u64(receipt.gasUsed);
  if (receipt.contractAddress === undefined) w.u8(0);
  else w.u8(1).bytes(receipt.contractAddress);
  w.u32(receipt.logs.length);
  for (const log of receipt.logs) {
    w.bytes(log.address).u8(log.topics.length);
    for (const topic of log.topics) w.bytes(topic);
    w.u32(log.data.length).bytes(log.data);
  }
  return w.finish();
}

export function decodeReceipt(bytes: Uint8Array): ReceiptRecord {
  return decodeReceiptLogs(bytes, () => 'keep')!.receipt;
}

/** What a reader of a stored receipt does with a log: keep it, leave it out, or stop reading. */
export type LogChoice = 'keep' | 'skip' | 'stop';

/**
 * A stored receipt with the logs `choose` keeps, told where each lies in `bytes` (its index among
 * all, its address, its topic count and first topic), and each kept log's index; undefined when
 * `choose` stopped. A log left out costs no allocation: a scan over receipts of tens of thousands
 * of logs tests them where they lie.
 */
export function decodeReceiptLogs(
  bytes: Uint8Array,
  choose: (bytes: Uint8Array, index: number, addressAt: number, topicCount: number, topicsAt: number) => LogChoice,
): { receipt: ReceiptRecord; indexes: number[] } | undefined {
  const r = reader(bytes, 'ethereum receipt');
  const status = r.u8('status');
  if (status > 1) r.failField(`status ${status} is neither 0 nor 1`);
  const gasUsed = r.u64('gas used');
  const contractAddress = r.u8('has contract address') === 1 ? r.bytesView(ADDRESS_BYTES, 'contract address') : undefined;
  const logs: LogRecord[] = [];
  const indexes: number[] = [];
  const count = r.u32('log count');
  for (let index = 0; index < count; index++) {
    const addressAt = r.skip(ADDRESS_BYTES, 'log address');
    const topicCount = r.u8('topic count');
    const topicsAt = r.skip(topicCount * HASH_BYTES, 'topics');
    const dataLength = r.u32('log data length');
    const dataAt = r.skip(dataLength, 'log data');
    const choice = choose(bytes, index, addressAt, topicCount, topicsAt);
    if (choice === 'stop') return undefined;
    if (choice === 'skip') continue;
    const topics: Uint8Array[] = [];
    for (let t = 0; t < topicCount; t++) topics.push(bytes.subarray(topicsAt + t * HASH_BYTES, topicsAt + (t + 1) * HASH_BYTES));
    logs.push({ address: bytes.subarray(addressAt, addressAt + ADDRESS_BYTES), topics, data: bytes.subarray(dataAt, dataAt + dataLength) });
    indexes.push(index);
  }
  expectEnd(r);
  return { receipt: { status: status as 0 | 1, gasUsed, contractAddress, logs }, indexes };
}

/** The gas used of a stored receipt, read without its logs. */
export function receiptGasUsed(bytes: Uint8Array): bigint {
  const r = reader(bytes, 'ethereum receipt');
  r.u8('status');
  return r.u64('gas used');
}

export interface BlockRecord {
  hash: Uint8Array;
  /** Seconds since the Unix epoch. */
  timestamp: bigint;
  /** The block's one transaction. */
  txHash: Uint8Array;
}

/** hash (32) ‖ timestamp (u64) ‖ transaction hash (32). */
export function encodeBlock(block: BlockRecord): Uint8Array {
  return new ByteWriter(HASH_BYTES * 2 + 8).bytes(block.hash).u64(block.timestamp).bytes(block.txHash).finish();
}

export function decodeBlock(bytes: Uint8Array): BlockRecord {
  const r = reader(bytes, 'ethereum block');
  const block = { hash: r.bytesView(HASH_BYTES, 'hash'), timestamp: r.u64('timestamp'), txHash: r.bytesView(HASH_BYTES, 'transaction hash') };
  expectEnd(r);
  return block;
}
