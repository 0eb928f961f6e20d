// Decoding a raw signed Ethereum transaction (legacy with EIP-155, or without it where the service
// allows that, EIP-2930, EIP-1559) and recovering its sender, once: the result carries the
// transaction hash and the sender, and the EthereumJS transaction it holds keeps the recovered key,
// so execution never recovers it again.
// Every refusal is a CocoError whose message is the one Ethereum clients expect.

import type { Common } from '@ethereumjs/common';
import { RLP, type NestedUint8Array } from '@ethereumjs/rlp';
import {
  TransactionType,
  create1559FeeMarketTxFromBytesArray,
  createAccessList2930TxFromBytesArray,
  createLegacyTxFromBytesArray,
  type AccessList2930Tx,
  type FeeMarket1559Tx,
  type LegacyTx,
} from '@ethereumjs/tx';
import { Address, bytesToBigInt } from '@ethereumjs/util';
import { keccak256 } from '../crypto/keccak.js';
import { CocoError } from '../errors.js';
import { RAW_TRANSACTION_BYTES_MAX } from './limits.js';

export type SupportedTransaction = LegacyTx | AccessList2930Tx | FeeMarket1559Tx;

export interface DecodedTransaction {
  /** The signed bytes as the client sent them. */
  readonly raw: Uint8Array;
  /** keccak256 of `raw`: the transaction hash. */
  readonly hash: Uint8Array;
  readonly sender: Address;
  /** Frozen, with the sender's public key cached. */
  readonly tx: SupportedTransaction;
}

type Values = Uint8Array[];

const UNSUPPORTED_TYPES: Record<number, string> = {
  [TransactionType.BlobEIP4844]: 'blob (EIP-4844) transactions are not supported: Coco keeps no blobs',
  [TransactionType.EOACodeEIP7702]: 'set-code (EIP-7702) transactions are not supported',
};

/** What decoding accepts beyond the chain's rules. */
export interface DecodeOptions {
  /** Legacy transactions signed without a chain id (pre-EIP-155: v = 27 or 28); refused when false. */
  readonly allowUnprotected: boolean;
}

/** geth's words for an unprotected transaction, then how a Coco service accepts them (see chain-settings.ts). */
const UNPROTECTED_REFUSED =
  'only replay-protected (EIP-155) transactions allowed over RPC: sign it with the chain id, or, for a presigned ' +
  'transaction, use a service whose genesis configuration sets ethereum.allow_unprotected_transactions to true (a sandbox: coco sandbox --ethereum-allow-unprotected-transactions; docs/ethereum.md)';

/** geth's refusal (core.ErrTipAboveFeeCap) of a priority fee above the fee cap; EthereumJS's words are its own. */
export const TIP_ABOVE_FEE_CAP = 'max priority fee per gas higher than max fee per gas';

function invalid(message: string): CocoError {
  return new CocoError('InvalidTransaction', message);
}

/** The RLP list of a transaction's fields; legacy transactions are the list itself, typed ones a type byte then the list. */
function decodeFields(payload: Uint8Array): Values {
  let decoded: Uint8Array | NestedUint8Array;
  try {
    decoded = RLP.decode(payload);
  } catch (error) {
    throw invalid(`rlp: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!Array.isArray(decoded)) throw invalid('rlp: a transaction must be a list');
  // EthereumJS checks each field's shape; the two this module reads are checked where read.
  return decoded as Values;
}

function integerField(fields: Values, index: number, name: string): bigint {
  const field = fields[index];
  if (!(field instanceof Uint8Array)) throw invalid(`invalid transaction: field ${name} must be a byte string`);
  return bytesToBigInt(field);
}

function checkChainId(have: bigint, common: Common): void {
  const want = common.chainId();
  if (have !== want) throw new CocoError('WrongChainId', `invalid chain id for signer: have ${have} want ${want}`);
}

/**
 * Where each supported type keeps some of its fields: legacy [nonce, gasPrice, gasLimit, to, value,
 * data, ...], EIP-2930 [chainId, nonce, gasPrice, gasLimit, to, value, data, ...], EIP-1559 [chainId,
 * nonce, maxPriorityFeePerGas, maxFeePerGas, gasLimit, to, value, data, ...].
 */
const FIELD_AT: Record<number, { gasLimit: number; to: number; data: number }> = {
  [TransactionType.Legacy]: { gasLimit: 2, to: 3, data: 5 },
  [TransactionType.AccessListEIP2930]: { gasLimit: 3, to: 4, data: 6 },
  [TransactionType.FeeMarketEIP1559]: { gasLimit: 4, to: 5, data: 7 },
};

/**
 * An access list decoded as geth decodes it, refused in its words (EthereumJS's own checks fail on
 * some shapes with an internal TypeError): a list of [20-byte address, list of 32-byte keys].
 */
function checkAccessListShape(list: unknown): void {
  const refuse = (reason: string): never => {
    throw invalid(`rlp: ${reason}`);
  };
  if (!Array.isArray(list)) refuse('expected input list for types.AccessList');
  (list as unknown[]).forEach((tuple: unknown, i) => {
    const at = `decoding into (types.AccessList)[${i}]`;
    if (!Array.isArray(tuple)) return refuse(`expected input list for types.AccessTuple, ${at}`);
    const [address, keys] = tuple as unknown[];
    if (tuple.length < 2) refuse(`too few elements for types.AccessTuple, ${at}`);
    if (tuple.length > 2) refuse(`input list has too many elements for types.AccessTuple, ${at}`);
    if (!(address instanceof Uint8Array)) refuse(`expected input string or byte for common.Address, ${at}.Address`);
    if ((address as Uint8Array).length !== 20) refuse(`input string too ${(address as Uint8Array).length < 20 ? 'short' : 'long'} for common.Address, ${at}.Address`);
    if (!Array.isArray(keys)) refuse(`expected input list for []common.Hash, ${at}.StorageKeys`);
    (keys as unknown[]).forEach((key, j) => {
      if (!(key instanceof Uint8Array)) refuse(`expected input string or byte for common.Hash, ${at}.StorageKeys[${j}]`);
      if ((key as Uint8Array).length !== 32) refuse(`input string too ${(key as Uint8Array).length < 32 ? 'short' : 'long'} for common.Hash, ${at}.StorageKeys[${j}]`);
    });
  });
}

/** EIP-3860's cap on a contract creation's initcode, refused in geth's words (EthereumJS's are its own). */
export function checkInitCodeSize(data: Uint8Array, common: Common): void {
  if (!common.isActivatedEIP(3860)) return;
  const limit = Number(common.param('maxInitCodeSize'));
  if (data.length > limit) throw invalid(`max initcode size exceeded: code size ${data.length}, limit ${limit}`);
}

/** EIP-7825's cap on one transaction's gas, refused in geth's words (EthereumJS's are its own). */
function checkGasCap(gasLimit: bigint, common: Common): void {
  if (!common.isActivatedEIP(7825)) return;
  const cap = BigInt(common.param('maxTransactionGasLimit'));
  if (gasLimit > cap) throw new CocoError('GasLimitExceeded', `transaction gas limit too high (cap: ${cap}, tx: ${gasLimit})`);
}

function construct(type: number, fields: Values, common: Common): SupportedTransaction {
  // The chain's Common already holds the transaction parameters: an empty set spares each transaction
  // EthereumJS's deep copy of them (~150 µs, a third of decoding), and the chain's Common then skips
  // rebuilding its parameter cache (see createChainCommon).
  const opts = { common, params: {} };
  try {
    if (type === TransactionType.Legacy) return createLegacyTxFromBytesArray(fields, opts);
    if (type === TransactionType.AccessListEIP2930) return createAccessList2930TxFromBytesArray(fields as never, opts);
    return create1559FeeMarketTxFromBytesArray(fields as never, opts);
  } catch (error) {
    // EthereumJS appends a dump of the transaction to its messages; the first clause is the reason.
    const reason = error instanceof Error ? error.message.split(' (tx type=')[0] : String(error);
    if (/signature/i.test(reason ?? '')) throw new CocoError('InvalidSignature', `invalid transaction v, r, s values: ${reason}`);
    throw invalid(`invalid transaction: ${reason}`);
  }
}

/**
 * Decodes `raw` under `common`'s chain id without recovering the sender (for transactions already
 * stored). Throws CocoError InvalidTransaction (malformed, unsupported type, too large, unsigned),
 * WrongChainId or UnprotectedTransaction (legacy without EIP-155, unless `options` allow it).
 */
export function parseTransaction(raw: Uint8Array, common: Common, options: DecodeOptions = { allowUnprotected: false }): SupportedTransaction {
  if (!(raw instanceof Uint8Array)) throw new CocoError('InvalidArgument', 'a raw transaction must be a Uint8Array');
  if (raw.length === 0) throw invalid('empty transaction: send the signed transaction bytes');
  if (raw.length > RAW_TRANSACTION_BYTES_MAX) {
    throw invalid(`oversized data: transaction is ${raw.length} bytes, over ${RAW_TRANSACTION_BYTES_MAX}`);
  }
  const first = raw[0] as number;
  let type: number;
  let fields: Values;
  if (first >= 0xc0) {
    type = TransactionType.Legacy;
    fields = decodeFields(raw);
    if (fields.length !== 9) throw invalid(`invalid transaction: a legacy transaction has 9 fields, got ${fields.length}`);
    const v = integerField(fields, 6, 'v');
    // Unprotected, its signature covers no chain id: EthereumJS recovers its sender as such.
    if ((v === 27n || v === 28n) && !options.allowUnprotected) throw new CocoError('UnprotectedTransaction', UNPROTECTED_REFUSED);
    if (v >= 35n) checkChainId((v - 35n) >> 1n, common);
  } else if (first === TransactionType.AccessListEIP2930 || first === TransactionType.FeeMarketEIP1559) {
    type = first;
    fields = decodeFields(raw.subarray(1));
    checkChainId(integerField(fields, 0, 'chainId'), common);
  } else {
    throw invalid(UNSUPPORTED_TYPES[first] ?? `transaction type 0x${first.toString(16).padStart(2, '0')} not supported`);
  }
  const at = FIELD_AT[type] as { gasLimit: number; to: number; data: number };
  checkGasCap(integerField(fields, at.gasLimit, 'gasLimit'), common);
  const [to, data] = [fields[at.to], fields[at.data]];
  if (to instanceof Uint8Array && to.length === 0 && data instanceof Uint8Array) checkInitCodeSize(data, common);
  if (type === TransactionType.FeeMarketEIP1559 && integerField(fields, 2, 'maxPriorityFeePerGas') > integerField(fields, 3, 'maxFeePerGas')) {
    throw invalid(TIP_ABOVE_FEE_CAP);
  }
  if (type !== TransactionType.Legacy) checkAccessListShape(fields[at.data + 1]);
  const tx = construct(type, fields, common);
  if (!tx.isSigned()) throw invalid('invalid transaction: it is not signed');
  return tx;
}

/**
 * Decodes `raw` under `common`'s chain id and recovers its sender: parseTransaction's refusals, and
 * CocoError InvalidSignature when no public key comes out of the signature.
 */
export function decodeRawTransaction(raw: Uint8Array, common: Common, options?: DecodeOptions): DecodedTransaction {
  const tx = parseTransaction(raw, common, options);
  let sender: Address;
  try {
    // The address is the last 20 bytes of keccak256(public key), as getSenderAddress computes it with slower keccak.
    sender = new Address(keccak256(tx.getSenderPublicKey()).subarray(12));
  } catch {
    throw new CocoError('InvalidSignature', 'invalid sender: the signature does not recover a public key');
  }
  return { raw, hash: keccak256(raw), sender, tx };
}

/** The fees a transaction offers: a fee-market transaction's two, or an older one's gas price. */
export type TransactionFees = { readonly maxPriorityFeePerGas: bigint; readonly maxFeePerGas: bigint } | { readonly gasPrice: bigint };

/** What a receipt shows of a stored transaction besides what Coco records: its type, recipient and fees. */
export type TransactionSummary = TransactionFees & { readonly type: number; readonly to: Uint8Array | undefined };

/**
 * The summary of a transaction this node accepted before (so well formed), read from its RLP fields
 * alone: building an EthereumJS transaction costs a receipt poll more than everything else it does.
 */
export function summarizeTransaction(raw: Uint8Array): TransactionSummary {
  const first = raw[0] ?? 0;
  const type = first >= 0xc0 ? TransactionType.Legacy : first;
  const fields = decodeFields(type === TransactionType.Legacy ? raw : raw.subarray(1));
  const at = FIELD_AT[type];
  if (at === undefined) throw invalid(UNSUPPORTED_TYPES[type] ?? `transaction type 0x${type.toString(16).padStart(2, '0')} not supported`);
  const to = fields[at.to];
  if (!(to instanceof Uint8Array)) throw invalid('invalid transaction: field to must be a byte string');
  const recipient = to.length === 0 ? undefined : to;
  if (type === TransactionType.FeeMarketEIP1559) {
    return { type, to: recipient, maxPriorityFeePerGas: integerField(fields, 2, 'maxPriorityFeePerGas'), maxFeePerGas: integerField(fields, 3, 'maxFeePerGas') };
  }
  return { type, to: recipient, gasPrice: integerField(fields, type === TransactionType.Legacy ? 1 : 2, 'gasPrice') };
}
