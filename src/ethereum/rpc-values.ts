// Ethereum JSON-RPC's value encodings: quantities ("0x"-prefixed hex without leading zeros), data
// ("0x"-prefixed hex bytes), block selectors (tags, numbers, EIP-1898 objects) and call objects.
// Parsers check every parameter at the boundary and throw JsonRpcError -32602 naming the culprit.

import type { AccessListBytes } from '@ethereumjs/tx';
import { bytesToHex } from '@ethereumjs/util';
import type { AccountOverride, CallParams } from './call.js';
import { ADDRESS_BYTES, HASH_BYTES } from './ethereum-maps.js';
import { JsonRpcError } from './json-rpc.js';

const QUANTITY = /^0x[0-9a-fA-F]+$/;
const DATA = /^0x(?:[0-9a-fA-F]{2})*$/;

export function invalidParams(message: string): JsonRpcError {
  return new JsonRpcError(-32602, message);
}

export function quantity(value: bigint | number): string {
  return `0x${value.toString(16)}`;
}

export function data(bytes: Uint8Array): string {
  return bytesToHex(bytes);
}

/**
 * A quantity of at most `bits` bits (256: a value; 64: a block number, an index, a count), refused
 * with geth's words when it has leading zeros or is longer.
 */
export function parseQuantity(value: unknown, name: string, bits: 64 | 256 = 256): bigint {
  if (typeof value !== 'string' || !QUANTITY.test(value)) {
    throw invalidParams(`${name} must be a hex quantity like "0x1a", got ${JSON.stringify(value)?.slice(0, 80)}`);
  }
  if (value.length > 3 && value[2] === '0') throw invalidParams(`${name}: hex number with leading zero digits, got ${JSON.stringify(value.slice(0, 80))}`);
  if (value.length > 2 + bits / 4) throw invalidParams(`${name}: hex number > ${bits} bits`);
  return BigInt(value);
}

/** A storage slot as geth's decodeHash reads one: hex of at most 32 bytes, its 0x (or 0X) prefix optional. */
export function parseStorageSlot(value: unknown, name: string): Uint8Array {
  const match = typeof value === 'string' ? /^(?:0[xX])?([0-9a-fA-F]{1,64})$/.exec(value) : null;
  if (match === null) {
    throw invalidParams(`${name} must be hex of at most 32 bytes like "0x0", got ${JSON.stringify(value)?.slice(0, 80)}`);
  }
  const bytes = Buffer.from(match[1]!.padStart(HASH_BYTES * 2, '0'), 'hex');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

export function parseData(value: unknown, name: string, length?: number): Uint8Array {
  if (typeof value !== 'string' || !DATA.test(value)) {
    throw invalidParams(`${name} must be 0x-prefixed hex bytes, got ${JSON.stringify(value)?.slice(0, 80)}`);
  }
  const bytes = Buffer.from(value.slice(2), 'hex');
  if (length !== undefined && bytes.length !== length) {
    throw invalidParams(`${name} must be ${length} bytes, got ${bytes.length}`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

export function parseAddress(value: unknown, name: string): Uint8Array {
  return parseData(value, name, ADDRESS_BYTES);
}

export function parseHash(value: unknown, name: string): Uint8Array {
  return parseData(value, name, HASH_BYTES);
}

export type BlockTag = 'latest' | 'pending' | 'safe' | 'finalized' | 'earliest';

export type BlockNumberOrTag = { tag: BlockTag } | { number: bigint };

export type BlockSelector = BlockNumberOrTag | { hash: Uint8Array };

const TAGS: readonly string[] = ['latest', 'pending', 'safe', 'finalized', 'earliest'];

/** Characters of a block hash as a string: 0x and 64 hex digits. */
const HASH_CHARS = 2 + HASH_BYTES * 2;

/**
 * A block tag, a block number (64 bits), a block hash, or an EIP-1898 object ({ blockNumber } or
 * { blockHash }); `absent` when not given. As in geth, any string of a hash's length is a hash
 * (ethers passes `blockTag: block.hash` as it is), leading zero digits included.
 */
export function parseBlockSelector(value: unknown, name: string, absent: BlockTag = 'latest'): BlockSelector {
  if (value === undefined || value === null) return { tag: absent };
  if (typeof value === 'string') {
    if (TAGS.includes(value)) return { tag: value as BlockTag };
    if (value.length === HASH_CHARS) return { hash: parseHash(value, name) };
    return { number: parseQuantity(value, name, 64) };
  }
  if (typeof value === 'object' && !Array.isArray(value)) {
    const { blockHash, blockNumber } = value as Record<string, unknown>;
    if (blockHash !== undefined && blockNumber === undefined) return { hash: parseHash(blockHash, `${name}.blockHash`) };
    if (blockNumber !== undefined && blockHash === undefined) return parseBlockSelector(blockNumber, `${name}.blockNumber`);
  }
  throw invalidParams(`${name} must be a block number, a block hash, a tag (latest, pending, safe, finalized, earliest) or { blockHash } / { blockNumber }`);
}

/**
 * A block tag or a block number (64 bits), as a log query's fromBlock and toBlock take them (geth's
 * rpc.BlockNumber); 'latest' when absent. A block hash, which names one block, is refused here.
 */
export function parseBlockNumberOrTag(value: unknown, name: string): BlockNumberOrTag {
  if (value === undefined || value === null) return { tag: 'latest' };
  if (typeof value === 'string' && TAGS.includes(value)) return { tag: value as BlockTag };
  if (typeof value === 'string' && value.length === HASH_CHARS) {
    throw invalidParams(`${name} must be a block number or a tag, not a block hash: to ask for the logs of one block by its hash, give filter.blockHash alone`);
  }
  if (typeof value !== 'string') throw invalidParams(`${name} must be a block number or a tag (latest, pending, safe, finalized, earliest)`);
  return { number: parseQuantity(value, name, 64) };
}

/** `object[field]` parsed, named `${owner}.${field}` in errors; undefined when absent or null. */
function optional<T>(object: Record<string, unknown>, field: string, parse: (value: unknown, name: string) => T, owner = 'call'): T | undefined {
  const value = object[field];
  return value === undefined || value === null ? undefined : parse(value, `${owner}.${field}`);
}

function parseAccessList(value: unknown, name: string): AccessListBytes {
  if (!Array.isArray(value)) throw invalidParams(`${name} must be a list of { address, storageKeys }`);
  return value.map((item, i) => {
    const { address, storageKeys } = (item ?? {}) as Record<string, unknown>;
    if (!Array.isArray(storageKeys)) throw invalidParams(`${name}[${i}].storageKeys must be a list of 32-byte keys`);
    return [parseAddress(address, `${name}[${i}].address`), storageKeys.map((key, j) => parseHash(key, `${name}[${i}].storageKeys[${j}]`))];
  });
}

/** A map of 32-byte slots to 32-byte values (a state override's `state` or `stateDiff`). */
function parseSlots(value: unknown, name: string): Array<[Uint8Array, Uint8Array]> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidParams(`${name} must be an object of 32-byte slots to 32-byte values`);
  return Object.entries(value).map(([slot, slotValue]) => [parseHash(slot, `${name} slot`), parseHash(slotValue, `${name}[${slot}]`)]);
}

const OVERRIDE_FIELDS: readonly string[] = ['balance', 'nonce', 'code', 'state', 'stateDiff'];

/** eth_call's state overrides, as geth takes them: { address: { balance, nonce, code, state | stateDiff } }. */
export function parseStateOverrides(value: unknown): AccountOverride[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidParams('state overrides must be an object of addresses to { balance, nonce, code, state, stateDiff }');
  return Object.entries(value).map(([addressText, fields]) => {
    const address = parseAddress(addressText, 'state override address');
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw invalidParams(`the state override of ${addressText} must be an object`);
    const object = fields as Record<string, unknown>;
    const unknown = Object.keys(object).find((field) => !OVERRIDE_FIELDS.includes(field));
    if (unknown !== undefined) throw invalidParams(`state override field '${unknown}' is not supported: use balance, nonce, code, state or stateDiff`);
    if (object.state !== undefined && object.state !== null && object.stateDiff !== undefined && object.stateDiff !== null) {
      throw new JsonRpcError(-32000, `account ${addressText} has both 'state' and 'stateDiff'`);
    }
    const owner = `state override ${addressText}`;
    const field = <T>(name: string, parse: (value: unknown, name: string) => T): T | undefined => optional(object, name, parse, owner);
    const nonce = field('nonce', parseQuantity);
    if (nonce !== undefined && nonce >= 2n ** 64n) throw invalidParams(`${owner}.nonce must fit in 64 bits`);
    return { address, balance: field('balance', parseQuantity), nonce, code: field('code', parseData), state: field('state', parseSlots), stateDiff: field('stateDiff', parseSlots) };
  });
}

/**
 * Call fields of the transaction types sendRawTransaction refuses: geth applies them to the call, so
 * ignoring them would answer for another call than the one asked (a delegated account's code run
 * as if it had none, BLOBHASH reading zero).
 */
const REFUSED_CALL_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ['authorizationList', 'EIP-7702 (type 4)'],
  ['blobVersionedHashes', 'EIP-4844 blob (type 3)'],
  ['maxFeePerBlobGas', 'EIP-4844 blob (type 3)'],
];

/** The transaction-call object of eth_call and eth_estimateGas. */
export function parseCallParams(value: unknown, chainId: bigint): CallParams {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidParams('the call must be an object like { from, to, data, value, gas }');
  }
  const object = value as Record<string, unknown>;
  for (const [field, kind] of REFUSED_CALL_FIELDS) {
    const given = object[field];
    // An empty list asks nothing: only a field that would change the call is refused.
    if (given !== undefined && given !== null && !(Array.isArray(given) && given.length === 0)) {
      throw invalidParams(`call.${field} is not supported: Coco refuses ${kind} transactions, so a call cannot simulate one; leave it out`);
    }
  }
  const input = optional(object, 'input', parseData);
  const dataField = optional(object, 'data', parseData);
  if (input !== undefined && dataField !== undefined && data(input) !== data(dataField)) {
    throw invalidParams('call.input and call.data differ: send one of them');
  }
  const callChainId = optional(object, 'chainId', parseQuantity);
  if (callChainId !== undefined && callChainId !== chainId) {
    throw invalidParams(`call.chainId is ${callChainId}, this chain is ${chainId}`);
  }
  const gasPrice = optional(object, 'gasPrice', parseQuantity);
  const maxFeePerGas = optional(object, 'maxFeePerGas', parseQuantity);
  const maxPriorityFeePerGas = optional(object, 'maxPriorityFeePerGas', parseQuantity);
  // A legacy price and fee-market fees describe two kinds of transaction: geth refuses the mix.
  if (gasPrice !== undefined && (maxFeePerGas !== undefined || maxPriorityFeePerGas !== undefined)) {
    throw invalidParams('both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified');
  }
  return {
    from: optional(object, 'from', parseAddress),
    to: optional(object, 'to', parseAddress),
    gas: optional(object, 'gas', parseQuantity),
    gasPrice,
    maxFeePerGas,
    maxPriorityFeePerGas,
    value: optional(object, 'value', parseQuantity),
    data: input ?? dataField,
    accessList: optional(object, 'accessList', parseAccessList),
  };
}
