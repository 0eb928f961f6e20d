// The JSON objects of Ethereum JSON-RPC answers (transactions, receipts, logs, blocks) in the shape
// geth gives them, built from Coco's stored records. A block holds one transaction, so transaction
// indexes are 0 and a receipt's cumulative gas is its own. Roots Coco does not compute (state,
// transactions, receipts: Coco's Merkle tree commits to all of them) are 32 zero bytes.

import { Capability, isAccessList2930Tx, isFeeMarket1559Tx, isLegacyTx } from '@ethereumjs/tx';
import { KECCAK256_RLP, KECCAK256_RLP_ARRAY, bytesToHex } from '@ethereumjs/util';
import type { ChainBlock } from './blocks.js';
import type { ReceiptRecord, TransactionRecord } from './ethereum-maps.js';
import { logsBloom } from './logs-bloom.js';
import { data, quantity } from './rpc-values.js';
import type { SupportedTransaction, TransactionFees, TransactionSummary } from './sender.js';

const ZERO_HASH = data(new Uint8Array(32));

/** Where a mined transaction sits; undefined while its Coco transaction is not Committed. */
export interface Location {
  blockNumber: bigint;
  blockHash: Uint8Array;
  timestamp: bigint;
}

/** What the sender pays per gas: the base fee is 0, so a fee-market transaction pays its priority fee. */
export function effectiveGasPrice(fees: TransactionFees): bigint {
  if ('maxFeePerGas' in fees) return fees.maxPriorityFeePerGas < fees.maxFeePerGas ? fees.maxPriorityFeePerGas : fees.maxFeePerGas;
  return fees.gasPrice;
}

function accessListJson(tx: SupportedTransaction): { address: string; storageKeys: string[] }[] {
  if (isLegacyTx(tx)) return [];
  return tx.accessList.map(([address, keys]) => ({ address: data(address), storageKeys: keys.map(data) }));
}

/** Transaction `hash` from `sender`; pending (null block fields) without a `location`. */
export function transactionObject(hash: Uint8Array, sender: Uint8Array, tx: SupportedTransaction, location: Location | undefined): Record<string, unknown> {
  const object: Record<string, unknown> = {
    blockHash: location === undefined ? null : data(location.blockHash),
    blockNumber: location === undefined ? null : quantity(location.blockNumber),
    transactionIndex: location === undefined ? null : '0x0',
    hash: data(hash),
    type: quantity(tx.type),
    from: data(sender),
    to: tx.to === undefined ? null : tx.to.toString(),
    nonce: quantity(tx.nonce),
    gas: quantity(tx.gasLimit),
    // geth's convention: a pending fee-market transaction shows its fee cap, a mined one what it paid.
    gasPrice: quantity(location === undefined && isFeeMarket1559Tx(tx) ? tx.maxFeePerGas : effectiveGasPrice(tx)),
    value: quantity(tx.value),
    input: data(tx.data),
    // As geth: a legacy transaction signed without a chain id (pre-EIP-155) shows none.
    ...(tx.supports(Capability.EIP155ReplayProtection) || !isLegacyTx(tx) ? { chainId: quantity(tx.common.chainId()) } : {}),
    v: quantity(tx.v ?? 0n),
    r: quantity(tx.r ?? 0n),
    s: quantity(tx.s ?? 0n),
  };
  if (isFeeMarket1559Tx(tx)) {
    object.maxFeePerGas = quantity(tx.maxFeePerGas);
    object.maxPriorityFeePerGas = quantity(tx.maxPriorityFeePerGas);
  }
  if (isFeeMarket1559Tx(tx) || isAccessList2930Tx(tx)) {
    object.accessList = accessListJson(tx);
    object.yParity = quantity(tx.v ?? 0n);
  }
  return object;
}

export function logObjects(hash: Uint8Array, receipt: ReceiptRecord, location: Location): Record<string, unknown>[] {
  // The same for every log of the receipt: hexed once (a receipt may hold tens of thousands of logs).
  const blockNumber = quantity(location.blockNumber);
  const blockHash = data(location.blockHash);
  const blockTimestamp = quantity(location.timestamp);
  const transactionHash = data(hash);
  return receipt.logs.map((log, index) => ({
    address: data(log.address),
    topics: log.topics.map(data),
    data: data(log.data),
    blockNumber,
    blockHash,
    blockTimestamp,
    transactionHash,
    transactionIndex: '0x0',
    logIndex: quantity(index),
    removed: false,
  }));
}

/** A receipt, with Coco's own field `cocoTransactionId`: the Coco TxID ("view.seqno") that proves it, null if unknown. */
export function receiptObject(
  hash: Uint8Array,
  record: TransactionRecord,
  tx: TransactionSummary,
  receipt: ReceiptRecord,
  location: Location,
  cocoTransactionId: string | null,
): Record<string, unknown> {
  return {
    transactionHash: data(hash),
    transactionIndex: '0x0',
    blockHash: data(location.blockHash),
    blockNumber: quantity(location.blockNumber),
    from: data(record.sender),
    to: tx.to === undefined ? null : data(tx.to),
    cumulativeGasUsed: quantity(receipt.gasUsed),
    gasUsed: quantity(receipt.gasUsed),
    effectiveGasPrice: quantity(effectiveGasPrice(tx)),
    contractAddress: receipt.contractAddress === undefined ? null : data(receipt.contractAddress),
    logs: logObjects(hash, receipt, location),
    logsBloom: data(logsBloom(receipt.logs)),
    type: quantity(tx.type),
    status: quantity(receipt.status),
    cocoTransactionId,
  };
}

/** What a block holds besides its header: nothing for genesis. */
export interface BlockContent {
  receipt: ReceiptRecord;
  /** The transaction object, or its hash when full transactions were not asked for. */
  transaction: Record<string, unknown> | string;
  /** Size of the signed transaction, in bytes. */
  transactionBytes: number;
}

/** EIP-7685's header field (from Prague) for a block with no execution-layer requests: SHA-256 of nothing. */
const EMPTY_REQUESTS_HASH = '0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export function blockObject(block: ChainBlock, content: BlockContent | undefined, gasLimit: bigint, miner: string): Record<string, unknown> {
  const logs = content?.receipt.logs ?? [];
  return {
    number: quantity(block.number),
    hash: data(block.hash),
    parentHash: data(block.parentHash),
    nonce: '0x0000000000000000',
    sha3Uncles: data(KECCAK256_RLP_ARRAY),
    logsBloom: data(logsBloom(logs)),
    transactionsRoot: ZERO_HASH,
    stateRoot: ZERO_HASH,
    receiptsRoot: ZERO_HASH,
    miner,
    difficulty: '0x0',
    totalDifficulty: '0x0',
    extraData: '0x',
    size: quantity(content?.transactionBytes ?? 0),
    gasLimit: quantity(gasLimit),
    gasUsed: quantity(content?.receipt.gasUsed ?? 0n),
    timestamp: quantity(block.timestamp),
    transactions: content === undefined ? [] : [content.transaction],
    uncles: [],
    mixHash: ZERO_HASH,
    baseFeePerGas: '0x0',
    withdrawals: [],
    withdrawalsRoot: bytesToHex(KECCAK256_RLP),
    blobGasUsed: '0x0',
    excessBlobGas: '0x0',
    parentBeaconBlockRoot: ZERO_HASH,
    requestsHash: EMPTY_REQUESTS_HASH,
  };
}
