// Coco's Ethereum blocks: one block per Ethereum transaction, numbered from 1 in execution order
// (block 0 is a fixed genesis), each hash chained to its parent's and committing to the block's
// transaction and receipt. Blocks live in the KV like the state, so every node sees the same chain;
// a block is final once the Coco transaction that wrote it is Committed, and the version of its key
// is that transaction's seqno. docs/ethereum.md explains why this mapping and not another.

import { keccak256 } from '../crypto/keccak.js';
import { equalBytes } from '../crypto/bytes.js';
import { invariant } from '../errors.js';
import type { Transaction } from '../kv/transaction.js';
import {
  HASH_BYTES,
  HEAD_KEY,
  blockKey,
  decodeBlock,
  decodeU64,
  encodeBlock,
  encodeU64,
  u64BigEndian,
  type EthereumMaps,
} from './ethereum-maps.js';

/** What the EVM sees of the block it runs in (the rest is the chain's settings): its number, parent and timestamp. */
export interface ExecutionBlock {
  number: bigint;
  parentHash: Uint8Array;
  /** Seconds since the Unix epoch. */
  timestamp: bigint;
}

export interface ChainBlock extends ExecutionBlock {
  hash: Uint8Array;
  /** The block's one transaction; undefined for genesis. */
  txHash: Uint8Array | undefined;
}

const GENESIS_DOMAIN = new TextEncoder().encode('coco/ethereum/genesis');

/** Block 0's hash: keccak256("coco/ethereum/genesis" ‖ chain id as u64 big-endian). */
export function genesisHash(chainId: bigint): Uint8Array {
  return keccak256(Uint8Array.from([...GENESIS_DOMAIN, ...u64BigEndian(chainId)]));
}

/** keccak256(parent hash ‖ number ‖ timestamp (u64 big-endian each) ‖ transaction hash ‖ stored receipt). */
export function computeBlockHash(parent: Uint8Array, number: bigint, timestamp: bigint, txHash: Uint8Array, receipt: Uint8Array): Uint8Array {
  const preimage = new Uint8Array(HASH_BYTES * 2 + 16 + receipt.length);
  preimage.set(parent, 0);
  preimage.set(u64BigEndian(number), HASH_BYTES);
  preimage.set(u64BigEndian(timestamp), HASH_BYTES + 8);
  preimage.set(txHash, HASH_BYTES + 16);
  preimage.set(receipt, HASH_BYTES * 2 + 16);
  return keccak256(preimage);
}

/** Reads and appends blocks through a KV transaction. */
export class Blocks {
  readonly maps: EthereumMaps;
  readonly #genesis: ChainBlock;

  constructor(maps: EthereumMaps, chainId: bigint) {
    this.maps = maps;
    this.#genesis = { number: 0n, hash: genesisHash(chainId), parentHash: new Uint8Array(HASH_BYTES), timestamp: 0n, txHash: undefined };
  }

  /** The number of the last block written, committed or not (0: genesis only). */
  head(tx: Transaction): bigint {
    const value = tx.map(this.maps.blocks).get(HEAD_KEY);
    return value === undefined ? 0n : decodeU64(value, 'ethereum head block number');
  }

  /** Block `number`, or undefined when there is none yet. */
  get(tx: Transaction, number: bigint): ChainBlock | undefined {
    if (number === 0n) return this.#genesis;
    const block = this.withoutParent(tx, number);
    if (block === undefined) return undefined;
    const parentHash = this.hashOf(tx, number - 1n);
    invariant(parentHash !== undefined, `block ${number - 1n} exists below block ${number}`);
    return { ...block, parentHash };
  }

  /** Block `number` but its parent's hash, one read fewer (a scan of many blocks); undefined when there is none yet. */
  withoutParent(tx: Transaction, number: bigint): Omit<ChainBlock, 'parentHash'> | undefined {
    if (number === 0n) return this.#genesis;
    if (number < 0n || number >= 2n ** 64n) return undefined;
    const value = tx.map(this.maps.blocks).get(blockKey(number));
    if (value === undefined) return undefined;
    const record = decodeBlock(value);
    return { number, hash: record.hash, timestamp: record.timestamp, txHash: record.txHash };
  }

  /** The hash of block `number`, or undefined when there is none yet. */
  hashOf(tx: Transaction, number: bigint): Uint8Array | undefined {
    if (number === 0n) return this.#genesis.hash;
    const value = tx.map(this.maps.blocks).get(blockKey(number));
    return value === undefined ? undefined : decodeBlock(value).hash;
  }

  /** The number of the block with `hash`, or undefined. */
  numberOf(tx: Transaction, hash: Uint8Array): bigint | undefined {
    if (hash.length !== HASH_BYTES) return undefined;
    if (equalBytes(hash, this.#genesis.hash)) return 0n;
    const value = tx.map(this.maps.blockHashes).get(hash);
    return value === undefined ? undefined : decodeU64(value, 'ethereum block number');
  }

  /** The seqno of the Coco transaction that wrote block `number`; undefined for genesis or a block not yet applied to the store. */
  seqnoOf(tx: Transaction, number: bigint): bigint | undefined {
    if (number === 0n) return undefined;
    return tx.map(this.maps.blocks).getVersionOfPreviousWrite(blockKey(number));
  }

  /**
   * The highest block whose Coco transaction is Committed, by binary search: seqnos grow with block
   * numbers and Committed is a prefix of them. Genesis is always final.
   */
  latestCommitted(tx: Transaction, isCommitted: (seqno: bigint) => boolean): bigint {
    const committed = (number: bigint): boolean => {
      const seqno = this.seqnoOf(tx, number);
      return number === 0n || (seqno !== undefined && isCommitted(seqno));
    };
    let high = this.head(tx);
    if (committed(high)) return high;
    let low = 0n;
    while (high - low > 1n) {
      const middle = (low + high) / 2n;
      if (committed(middle)) low = middle;
      else high = middle;
    }
    return low;
  }

  /** The block the next transaction goes in; its timestamp never goes below its parent's. */
  pending(tx: Transaction, now_s: number): ExecutionBlock {
    const head = this.get(tx, this.head(tx));
    invariant(head !== undefined, 'the head block exists');
    invariant(Number.isFinite(now_s), `the clock reads a number of seconds, got ${now_s}`);
    const now = BigInt(Math.max(0, Math.floor(now_s)));
    return { number: head.number + 1n, parentHash: head.hash, timestamp: now > head.timestamp ? now : head.timestamp };
  }

  /** Writes `block` (the pending one, now holding `txHash` and `receipt`) as the new head; returns its hash. */
  append(tx: Transaction, block: ExecutionBlock, txHash: Uint8Array, receipt: Uint8Array): Uint8Array {
    invariant(block.number === this.head(tx) + 1n, 'blocks are appended in order');
    const hash = computeBlockHash(block.parentHash, block.number, block.timestamp, txHash, receipt);
    const blocks = tx.map(this.maps.blocks);
    blocks.set(blockKey(block.number), encodeBlock({ hash, timestamp: block.timestamp, txHash }));
    blocks.set(HEAD_KEY, encodeU64(block.number));
    tx.map(this.maps.blockHashes).set(hash, encodeU64(block.number));
    return hash;
  }
}
