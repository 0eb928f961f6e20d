// An in-process Ethereum chain over a real Store for the tests: an execution context with a clock
// the test moves, funded ethers.js wallets that sign exactly as a user's would, and helpers that run
// each Ethereum transaction in its own Coco transaction and commit it.

import { ethers } from 'ethers';
import { hexToBytes } from '@ethereumjs/util';
import { keccak256 } from '../../src/crypto/keccak.js';
import { Store } from '../../src/kv/store.js';
import type { Transaction } from '../../src/kv/transaction.js';
import { setBalance } from '../../src/ethereum/account-state.js';
import { encodeReceipt, encodeTransaction, type LogRecord } from '../../src/ethereum/ethereum-maps.js';
import { executeTransaction, type ExecutionResult } from '../../src/ethereum/execute.js';
import { ExecutionContext, type EthereumConfig } from '../../src/ethereum/execution-context.js';
import { decodeRawTransaction } from '../../src/ethereum/sender.js';

export const CHAIN_ID = 4242n;
export const ETHER = 10n ** 18n;

/** Deterministic test keys: 0x0101…, 0x0202…, … */
export function wallet(index: number): ethers.Wallet {
  return new ethers.Wallet(`0x${(index + 1).toString(16).padStart(2, '0').repeat(32)}`);
}

export function bytes(hex: string): Uint8Array {
  return hexToBytes(hex as `0x${string}`);
}

export class TestChain {
  readonly store = new Store();
  readonly context: ExecutionContext;
  readonly #clock: { now_s: number };

  private constructor(context: ExecutionContext, clock: { now_s: number }) {
    this.context = context;
    this.#clock = clock;
  }

  static async create(config: Partial<EthereumConfig> = {}): Promise<TestChain> {
    const clock = { now_s: 1_700_000_000 };
    const context = await ExecutionContext.create({ chainId: CHAIN_ID, clock: () => clock.now_s, ...config });
    return new TestChain(context, clock);
  }

  /** What the chain's clock reads: the timestamp of the next block. */
  get now_s(): number {
    return this.#clock.now_s;
  }

  set now_s(value: number) {
    this.#clock.now_s = value;
  }

  /** Runs `work` in a Coco transaction and commits it; returns its result and seqno. */
  async write<T>(work: (tx: Transaction) => T | Promise<T>): Promise<{ result: T; seqno: bigint }> {
    const tx = this.store.beginTransaction();
    const result = await work(tx);
    const seqno = this.store.version + 1n;
    this.store.commit(tx, seqno);
    return { result, seqno };
  }

  /** Runs `work` over the current state in a transaction that is then dropped (once `work` settles). */
  read<T>(work: (tx: Transaction) => T): T {
    const tx = this.store.beginTransaction();
    const result = work(tx);
    if (result instanceof Promise) return result.finally(() => tx.abort()) as T;
    tx.abort();
    return result;
  }

  async fund(address: string, balance: bigint): Promise<void> {
    await this.write((tx) => setBalance(tx, this.context.maps, bytes(address), balance));
  }

  nonceOf(address: string): number {
    return this.read((tx) => {
      const stored = tx.map(this.context.maps.accounts).get(bytes(address));
      return stored === undefined ? 0 : Number(new DataView(stored.buffer, stored.byteOffset).getBigUint64(0, true));
    });
  }

  /** Signs `request` as ethers.js would (EIP-1559, fees 0, nonce from the state unless given). */
  async sign(signer: ethers.Wallet, request: ethers.TransactionRequest): Promise<Uint8Array> {
    const signed = await signer.signTransaction({
      type: 2,
      chainId: CHAIN_ID,
      nonce: this.nonceOf(signer.address),
      gasLimit: 1_000_000n,
      maxFeePerGas: 0n,
      maxPriorityFeePerGas: 0n,
      ...request,
    });
    return bytes(signed);
  }

  /** Executes a raw transaction in its own committed Coco transaction. */
  async execute(raw: Uint8Array): Promise<ExecutionResult> {
    const decoded = decodeRawTransaction(raw, this.context.common);
    return (await this.write((tx) => executeTransaction(tx, decoded, this.context))).result;
  }

  async send(signer: ethers.Wallet, request: ethers.TransactionRequest): Promise<ExecutionResult> {
    return this.execute(await this.sign(signer, request));
  }
}

/**
 * Appends `count` blocks to `chain` straight into its maps (sending that many transactions would
 * take a test minutes), each with a stand-in transaction (one signed transfer, its hash made up)
 * whose receipt holds the logs `logsOf` gives for the block's number, and `gasUsed`.
 */
export async function appendLogBlocks(chain: TestChain, count: number, logsOf: (number: bigint) => LogRecord[], gasUsed = 21_000n): Promise<void> {
  const { maps, blocks } = chain.context;
  const raw = bytes(await wallet(0).signTransaction({ type: 0, chainId: CHAIN_ID, to: wallet(1).address, gasLimit: 21_000n, gasPrice: 0n, nonce: 0 }));
  for (let done = 0; done < count; ) {
    await chain.write((tx) => {
      for (const last = Math.min(count, done + 2_000); done < last; done++) {
        const pending = blocks.pending(tx, chain.now_s);
        const hash = keccak256(bytes(ethers.toBeHex(pending.number, 32)));
        const receipt = encodeReceipt({ status: 1, gasUsed, contractAddress: undefined, logs: logsOf(pending.number) });
        tx.map(maps.transactions).set(hash, encodeTransaction({ blockNumber: pending.number, sender: new Uint8Array(20), raw }));
        tx.map(maps.receipts).set(hash, receipt);
        blocks.append(tx, pending, hash, receipt);
      }
    });
  }
}
