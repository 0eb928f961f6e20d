// EthereumJS's state manager over Coco's KV: accounts, code and storage read through a KV
// transaction, with the changes of the running Ethereum transaction kept in memory (an overlay
// with an undo journal, so checkpoints cost nothing and a revert undoes only what changed since).
// Nothing reaches the KV transaction before `flush()`, which the executor calls once the Ethereum
// transaction is final. There is no Merkle-Patricia trie: Coco's Merkle tree commits to the state.
// Accounts are read as governance left them (governed-accounts.ts): a balance it set applies until
// the account is next written. With no storage trie, an account's storage root says only whether it
// has storage, which is all the EVM asks of it (EIP-7610's collision check). The system contracts
// are seen as system-contracts.ts shows them, the history contract's storage from the blocks.

import type { AccountFields, StateManagerInterface } from '@ethereumjs/common';
import { Account, KECCAK256_NULL, KECCAK256_RLP, bytesToHex, equalsBytes, unpadBytes, type Address } from '@ethereumjs/util';
import { keccak256 } from '../crypto/keccak.js';
import { CocoError, invariant } from '../errors.js';
import type { MapHandle } from '../kv/map-handle.js';
import type { Transaction } from '../kv/transaction.js';
import type { Blocks } from './blocks.js';
import { decodeAccount, encodeAccount, storageKey, type AccountRecord, type EthereumMaps } from './ethereum-maps.js';
import { governedAccount, settleGovernedBalance } from './governed-accounts.js';
import { systemCode, systemStorage, withSystemContract } from './system-contracts.js';

/** What getStateRoot answers: Coco keeps no state trie, so there is no Ethereum state root. */
export const NO_STATE_ROOT = new Uint8Array(32);

/** The storage root an account with storage shows: a marker, not a trie root (any value but the empty root's says "not empty"). */
export const NON_EMPTY_STORAGE_ROOT = new Uint8Array(32).fill(0xff);

/** The latest value the running transaction gave one piece of state. */
type Change =
  | { kind: 'account'; address: Uint8Array; account: AccountRecord | undefined }
  | { kind: 'storage'; address: Uint8Array; slot: Uint8Array; value: Uint8Array }
  | { kind: 'code'; hash: Uint8Array; code: Uint8Array }
  /** Storage of the address as stored before this transaction is gone (later writes still count). */
  | { kind: 'cleared'; address: Uint8Array };

interface Bound {
  tx: Transaction;
  /** The block the run executes in. */
  blockNumber: bigint;
  accounts: MapHandle;
  code: MapHandle;
  storage: MapHandle;
}

const accountKey = (address: Uint8Array): string => `a${bytesToHex(address)}`;
const clearedKey = (address: Uint8Array): string => `x${bytesToHex(address)}`;
const storagePrefix = (address: Uint8Array): string => `s${bytesToHex(address)}`;
const slotKey = (address: Uint8Array, slot: Uint8Array): string => storagePrefix(address) + bytesToHex(slot);
const codeKey = (hash: Uint8Array): string => `c${bytesToHex(hash)}`;

/**
 * An account as the EVM sees it. Its storage root is worked out when first read, from the state the
 * running transaction sees then: the EVM reads it only to create a contract at the address (where
 * storage makes a collision, EIP-7610), and looking for storage on every account read would cost a
 * range scan each time.
 */
class StateAccount extends Account {
  readonly #hasStorage: () => boolean;

  constructor(record: AccountRecord, hasStorage: () => boolean) {
    super(record.nonce, record.balance, null, record.codeHash ?? KECCAK256_NULL);
    this.#hasStorage = hasStorage;
  }

  override get storageRoot(): Uint8Array {
    this._storageRoot ??= this.#hasStorage() ? NON_EMPTY_STORAGE_ROOT : KECCAK256_RLP;
    return this._storageRoot;
  }

  override set storageRoot(root: Uint8Array) {
    this._storageRoot = root;
  }
}

function toRecord(account: Account): AccountRecord {
  const codeHash = equalsBytes(account.codeHash, KECCAK256_NULL) ? undefined : account.codeHash;
  return { nonce: account.nonce, balance: account.balance, codeHash };
}

export class KvStateManager implements StateManagerInterface {
  readonly #blocks: Blocks;
  readonly #maps: EthereumMaps;
  #bound: Bound | undefined;
  readonly #overlay = new Map<string, Change>();
  /** Per change, the overlay entry it replaced (undefined: none), oldest first. */
  readonly #journal: { key: string; previous: Change | undefined }[] = [];
  /** Journal length at each open checkpoint. */
  readonly #checkpoints: number[] = [];
  /** The sender of a call, shown without its code (see presentWithoutCode). */
  #codeless: { address: Uint8Array; account?: Account; codeHash?: Uint8Array } | undefined;

  /** Values as they were before the running transaction: what SSTORE's gas rules call "original". */
  readonly originalStorageCache = {
    get: async (address: Address, key: Uint8Array): Promise<Uint8Array> => this.#stored(address.bytes, key),
    clear: (): void => {},
  };

  constructor(blocks: Blocks) {
    this.#blocks = blocks;
    this.#maps = blocks.maps;
  }

  /** Starts an Ethereum transaction over `tx`, in block `blockNumber`: reads go through it, and no change is pending. */
  bind(tx: Transaction, blockNumber: bigint): void {
    invariant(this.#bound === undefined, 'a state manager serves one KV transaction at a time');
    const maps = this.#maps;
    this.#bound = { tx, blockNumber, accounts: tx.map(maps.accounts), code: tx.map(maps.code), storage: tx.map(maps.storage) };
  }

  /** Forgets the KV transaction and every change not flushed. */
  release(): void {
    this.#bound = undefined;
    this.#overlay.clear();
    this.#journal.length = 0;
    this.#checkpoints.length = 0;
    this.#codeless = undefined;
  }

  /**
   * For eth_call from an address that holds code, which geth, Hardhat and Anvil run but EthereumJS's
   * runTx always refuses (its EIP-3607 sender check): the next read of `address` gives an account
   * object that shows no code, and writes of that same object keep the code. Every other read of the
   * address, the EVM's included, sees the code.
   */
  presentWithoutCode(address: Uint8Array): void {
    this.#codeless = { address };
  }

  #kv(): Bound {
    if (this.#bound === undefined) {
      throw new CocoError('InternalError', 'the Ethereum state manager was used outside an execution (no KV transaction bound)');
    }
    return this.#bound;
  }

  #set(key: string, change: Change): void {
    this.#journal.push({ key, previous: this.#overlay.get(key) });
    this.#overlay.set(key, change);
  }

  /** The value of a slot before the running transaction. */
  #stored(address: Uint8Array, slot: Uint8Array): Uint8Array {
    const kv = this.#kv();
    return systemStorage(address, slot, () => kv.blockNumber, (n) => this.#blocks.hashOf(kv.tx, n)) ?? kv.storage.get(storageKey(address, slot)) ?? new Uint8Array(0);
  }

  #record(address: Uint8Array): AccountRecord | undefined {
    const change = this.#overlay.get(accountKey(address));
    if (change !== undefined) {
      invariant(change.kind === 'account', 'account keys hold account changes');
      return change.account;
    }
    const kv = this.#kv();
    const stored = kv.accounts.get(address);
    return withSystemContract(address, governedAccount(kv.tx, this.#maps, address, stored === undefined ? undefined : decodeAccount(stored)));
  }

  async getAccount(address: Address): Promise<Account | undefined> {
    const record = this.#record(address.bytes);
    if (record === undefined) return undefined;
    const codeless = this.#codeless;
    if (codeless !== undefined && codeless.account === undefined && record.codeHash !== undefined && equalsBytes(codeless.address, address.bytes)) {
      codeless.account = this.#toAccount(address.bytes, { ...record, codeHash: undefined });
      codeless.codeHash = record.codeHash;
      return codeless.account;
    }
    return this.#toAccount(address.bytes, record);
  }

  #toAccount(address: Uint8Array, record: AccountRecord): Account {
    return new StateAccount(record, () => this.#hasStorage(address));
  }

  /** Whether any storage slot of `address` is non-zero as the running transaction sees it. */
  #hasStorage(address: Uint8Array): boolean {
    const prefix = storagePrefix(address);
    for (const [key, change] of this.#overlay) {
      if (change.kind === 'storage' && change.value.length > 0 && key.startsWith(prefix)) return true;
    }
    if (this.#overlay.has(clearedKey(address))) return false;
    // A stored slot counts unless this transaction zeroed it (any non-zero write returned above).
    for (const [key] of this.#kv().storage.range({ from: storageKey(address, new Uint8Array(32)) })) {
      if (!equalsBytes(key.subarray(0, address.length), address)) return false;
      if (!this.#overlay.has(slotKey(address, key.subarray(address.length)))) return true;
    }
    return false;
  }

  async putAccount(address: Address, account?: Account): Promise<void> {
    if (account === undefined) return this.deleteAccount(address);
    const record = toRecord(account);
    if (account === this.#codeless?.account) record.codeHash = this.#codeless.codeHash;
    this.#set(accountKey(address.bytes), { kind: 'account', address: address.bytes, account: record });
  }

  /** Deletes the account and, as Ethereum does, its storage. */
  async deleteAccount(address: Address): Promise<void> {
    this.#set(accountKey(address.bytes), { kind: 'account', address: address.bytes, account: undefined });
    await this.clearStorage(address);
  }

  async modifyAccountFields(address: Address, fields: AccountFields): Promise<void> {
    const account = (await this.getAccount(address)) ?? new Account();
    account.nonce = fields.nonce ?? account.nonce;
    account.balance = fields.balance ?? account.balance;
    account.codeHash = fields.codeHash ?? account.codeHash;
    await this.putAccount(address, account);
  }

  async putCode(address: Address, code: Uint8Array): Promise<void> {
    let codeHash = KECCAK256_NULL;
    if (code.length > 0) {
      codeHash = keccak256(code);
      this.#set(codeKey(codeHash), { kind: 'code', hash: codeHash, code });
    }
    await this.modifyAccountFields(address, { codeHash });
  }

  async getCode(address: Address): Promise<Uint8Array> {
    const codeHash = this.#record(address.bytes)?.codeHash;
    if (codeHash === undefined) return new Uint8Array(0);
    const change = this.#overlay.get(codeKey(codeHash));
    if (change !== undefined) {
      invariant(change.kind === 'code', 'code keys hold code changes');
      return change.code;
    }
    const code = systemCode(codeHash) ?? this.#kv().code.get(codeHash);
    invariant(code !== undefined, `the code of ${address.toString()} (hash ${bytesToHex(codeHash)}) is stored`);
    return code;
  }

  async getCodeSize(address: Address): Promise<number> {
    return (await this.getCode(address)).length;
  }

  async getStorage(address: Address, slot: Uint8Array): Promise<Uint8Array> {
    const change = this.#overlay.get(slotKey(address.bytes, slot));
    if (change !== undefined) {
      invariant(change.kind === 'storage', 'storage keys hold storage changes');
      return change.value;
    }
    if (this.#overlay.has(clearedKey(address.bytes))) return new Uint8Array(0);
    return this.#stored(address.bytes, slot);
  }

  async putStorage(address: Address, slot: Uint8Array, value: Uint8Array): Promise<void> {
    if (slot.length !== 32) throw new CocoError('InternalError', `a storage slot is 32 bytes, got ${slot.length}`);
    const key = slotKey(address.bytes, slot);
    this.#set(key, { kind: 'storage', address: address.bytes, slot, value: unpadBytes(value) });
  }

  async clearStorage(address: Address): Promise<void> {
    const prefix = storagePrefix(address.bytes);
    for (const [key, change] of this.#overlay) {
      if (change.kind === 'storage' && key.startsWith(prefix) && change.value.length > 0) {
        this.#set(key, { ...change, value: new Uint8Array(0) });
      }
    }
    this.#set(clearedKey(address.bytes), { kind: 'cleared', address: address.bytes });
  }

  async checkpoint(): Promise<void> {
    this.#checkpoints.push(this.#journal.length);
  }

  async commit(): Promise<void> {
    invariant(this.#checkpoints.pop() !== undefined, 'commit matches a checkpoint');
  }

  async revert(): Promise<void> {
    const length = this.#checkpoints.pop();
    invariant(length !== undefined, 'revert matches a checkpoint');
    while (this.#journal.length > length) {
      const { key, previous } = this.#journal.pop() as { key: string; previous: Change | undefined };
      if (previous === undefined) this.#overlay.delete(key);
      else this.#overlay.set(key, previous);
    }
  }

  /**
   * Writes the running transaction's changes to the KV transaction: storage of cleared (deleted or
   * re-created) accounts, storage slots (zero ones removed), code still referenced by an account,
   * then accounts. Call it once, when every checkpoint is closed.
   */
  flush(): void {
    invariant(this.#checkpoints.length === 0, 'flush happens outside any checkpoint');
    const kv = this.#kv();
    const codeInUse = new Set<string>();
    for (const change of this.#overlay.values()) {
      if (change.kind === 'cleared') this.#clearStored(change.address);
      else if (change.kind === 'account' && change.account?.codeHash !== undefined) codeInUse.add(codeKey(change.account.codeHash));
    }
    for (const [key, change] of this.#overlay) {
      if (change.kind === 'storage') {
        const k = storageKey(change.address, change.slot);
        if (change.value.length === 0) kv.storage.delete(k);
        else kv.storage.set(k, change.value);
      } else if (change.kind === 'code' && codeInUse.has(key)) {
        kv.code.set(change.hash, change.code);
      }
    }
    for (const change of this.#overlay.values()) {
      if (change.kind !== 'account') continue;
      if (change.account === undefined) kv.accounts.delete(change.address);
      else kv.accounts.set(change.address, encodeAccount(change.account));
      settleGovernedBalance(kv.tx, this.#maps, change.address);
    }
  }

  /** Removes an account's stored slots. Only an account that is stored can have any. */
  #clearStored(address: Uint8Array): void {
    const kv = this.#kv();
    if (kv.accounts.get(address) === undefined) return;
    const keys: Uint8Array[] = [];
    for (const [key] of kv.storage.range({ from: storageKey(address, new Uint8Array(32)) })) {
      if (!equalsBytes(key.subarray(0, address.length), address)) break;
      keys.push(key);
    }
    for (const key of keys) kv.storage.delete(key);
  }

  async getStateRoot(): Promise<Uint8Array> {
    return NO_STATE_ROOT;
  }

  async setStateRoot(): Promise<void> {
    throw new CocoError('Unsupported', 'Coco keeps no Ethereum state trie: there is no state root to go back to');
  }

  async hasStateRoot(): Promise<boolean> {
    return false;
  }

  clearCaches(): void {}

  shallowCopy(): StateManagerInterface {
    throw new CocoError('Unsupported', 'the KV state manager cannot be copied: it serves one KV transaction at a time');
  }
}
