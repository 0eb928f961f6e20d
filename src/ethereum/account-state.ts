// Direct reads of Ethereum state through a KV transaction (for JSON-RPC queries, which need no VM),
// seeing accounts as execution does (with any balance governance set, and the system contracts), and
// the one direct write: setting an account's balance, for genesis allocation.

import { bytesToHex } from '@ethereumjs/util';
import { CocoError, invariant } from '../errors.js';
import type { Transaction } from '../kv/transaction.js';
import {
  ADDRESS_BYTES,
  HASH_BYTES,
  decodeAccount,
  encodeAccount,
  storageKey,
  type AccountRecord,
  type EthereumMaps,
} from './ethereum-maps.js';
import type { Blocks } from './blocks.js';
import { governedAccount, settleGovernedBalance } from './governed-accounts.js';
import { systemCode, systemStorage, withSystemContract } from './system-contracts.js';

function checkAddress(address: Uint8Array): void {
  if (!(address instanceof Uint8Array) || address.length !== ADDRESS_BYTES) {
    throw new CocoError('InvalidArgument', 'an Ethereum address must be 20 bytes');
  }
}

export function readAccount(tx: Transaction, maps: EthereumMaps, address: Uint8Array): AccountRecord | undefined {
  checkAddress(address);
  const value = tx.map(maps.accounts).get(address);
  return withSystemContract(address, governedAccount(tx, maps, address, value === undefined ? undefined : decodeAccount(value)));
}

export function readCode(tx: Transaction, maps: EthereumMaps, address: Uint8Array): Uint8Array {
  const codeHash = readAccount(tx, maps, address)?.codeHash;
  if (codeHash === undefined) return new Uint8Array(0);
  const code = systemCode(codeHash) ?? tx.map(maps.code).get(codeHash);
  invariant(code !== undefined, `the code with hash ${bytesToHex(codeHash)} is stored`);
  return code;
}

/** The 32-byte value of storage slot `slot` (32 bytes) of `address`, in the state after the last block written. */
export function readStorage(tx: Transaction, blocks: Blocks, address: Uint8Array, slot: Uint8Array): Uint8Array {
  checkAddress(address);
  if (slot.length !== HASH_BYTES) throw new CocoError('InvalidArgument', 'a storage slot must be 32 bytes');
  // The last block's system call wrote the history contract's slots up to its parent.
  const value = systemStorage(address, slot, () => blocks.head(tx), (n) => blocks.hashOf(tx, n)) ?? tx.map(blocks.maps.storage).get(storageKey(address, slot)) ?? new Uint8Array(0);
  const word = new Uint8Array(HASH_BYTES);
  word.set(value, HASH_BYTES - value.length);
  return word;
}

/** Sets the balance of `address`, creating the account if needed (genesis allocation); it supersedes a balance governance set before. */
export function setBalance(tx: Transaction, maps: EthereumMaps, address: Uint8Array, balance: bigint): void {
  if (typeof balance !== 'bigint' || balance < 0n || balance >= 2n ** 256n) {
    throw new CocoError('InvalidArgument', `a balance must be an integer from 0 to 2^256 - 1 wei, got ${String(balance)}`);
  }
  const account = readAccount(tx, maps, address) ?? { nonce: 0n, balance: 0n, codeHash: undefined };
  tx.map(maps.accounts).set(address, encodeAccount({ ...account, balance }));
  settleGovernedBalance(tx, maps, address);
}
