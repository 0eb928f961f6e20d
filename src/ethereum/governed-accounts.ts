// How Ethereum execution honours governance: the JSON tables the constitution writes, keyed by the
// lowercase 0x address. A balance set by governance applies exactly once: it overrides the account's
// EVM balance until an Ethereum write of the account records, in the applied_balances map, the
// version of the record it applied. Frozen senders, and senders outside a non-empty allowlist, are
// refused before execution. Governance records are written only by governance transactions.

import { bytesToHex } from '@ethereumjs/util';
import { utf8 } from '../crypto/bytes.js';
import { CocoError, invariant } from '../errors.js';
import { Tables, decodeJson } from '../governance/builtin-tables.js';
import type { Transaction } from '../kv/transaction.js';
import { decodeU64, encodeU64, type AccountRecord, type EthereumMaps } from './ethereum-maps.js';

const BALANCE_MAX = 2n ** 256n - 1n;
const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** The key of `address` in the governance tables: "0x" and 40 lowercase hex digits, as UTF-8. */
export function governanceKey(address: Uint8Array): Uint8Array {
  return utf8(bytesToHex(address));
}

/** A balance governance set and the version of its record, not yet applied to the account. */
interface PendingBalance {
  balance: bigint;
  version: bigint;
}

function parseBalance(value: Uint8Array, address: Uint8Array): bigint {
  const record = decodeJson<{ balance?: unknown }>(value, Tables.ethereumBalances);
  const text = typeof record === 'object' && record !== null ? record.balance : undefined;
  if (typeof text !== 'string' || !DECIMAL.test(text) || BigInt(text) > BALANCE_MAX) {
    throw new CocoError('EthereumGovernanceMalformed', `${Tables.ethereumBalances} holds no valid "balance" for ${bytesToHex(address)}: fix it by proposal`);
  }
  return BigInt(text);
}

function pendingBalance(tx: Transaction, maps: EthereumMaps, address: Uint8Array): PendingBalance | undefined {
  const balances = tx.map(Tables.ethereumBalances);
  const key = governanceKey(address);
  const value = balances.get(key);
  if (value === undefined) return undefined;
  const version = balances.getVersionOfPreviousWrite(key);
  invariant(version !== undefined, `${Tables.ethereumBalances} is written by governance transactions only, never with Ethereum state`);
  const applied = tx.map(maps.appliedBalances).get(address);
  if (applied !== undefined && decodeU64(applied, 'applied balance version') >= version) return undefined;
  return { balance: parseBalance(value, address), version };
}

/** The account as execution sees it: `stored` (its EVM state), with a balance governance set since applied. */
export function governedAccount(tx: Transaction, maps: EthereumMaps, address: Uint8Array, stored: AccountRecord | undefined): AccountRecord | undefined {
  const pending = pendingBalance(tx, maps, address);
  if (pending === undefined) return stored;
  return { nonce: stored?.nonce ?? 0n, balance: pending.balance, codeHash: stored?.codeHash };
}

/**
 * Records that the account's state now includes any balance governance set: call it whenever the
 * account is written (or deleted), so that the balance is never applied again over later changes.
 */
export function settleGovernedBalance(tx: Transaction, maps: EthereumMaps, address: Uint8Array): void {
  const pending = pendingBalance(tx, maps, address);
  if (pending !== undefined) tx.map(maps.appliedBalances).set(address, encodeU64(pending.version));
}

/** Refuses a transaction from a frozen sender, or from a sender not in a non-empty allowlist. */
export function checkSenderAllowed(tx: Transaction, sender: Uint8Array): void {
  const key = governanceKey(sender);
  const account = tx.map(Tables.ethereumAccounts).get(key);
  if (account !== undefined && decodeJson<{ frozen?: unknown }>(account, Tables.ethereumAccounts)?.frozen === true) {
    throw new CocoError('SenderFrozen', `sender frozen: address ${bytesToHex(sender)} is frozen by governance and cannot send transactions`);
  }
  const allowed = tx.map(Tables.ethereumAllowedSenders);
  if (!allowed.has(key) && allowed.size() > 0) {
    throw new CocoError('SenderNotAllowed', `sender not allowed: address ${bytesToHex(sender)} is not in the governance allowlist of senders`);
  }
}
