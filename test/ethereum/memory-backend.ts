// A tiny in-memory EthereumBackend over a TestChain's Store: write transactions commit at once (and
// run again on a conflict), and a test decides how far commit has gone (everything, by default), and
// may roll back what is not Committed, as an election does. Sends wait for commit as on a node.
// Also an ethers.js provider that sends its JSON-RPC requests straight to the method table.

import { ethers } from 'ethers';
import { statusOf, type TxStatus } from '../../src/consensus/tx-status.js';
import { CocoError } from '../../src/errors.js';
import type { Transaction } from '../../src/kv/transaction.js';
import type { TxId } from '../../src/ledger/tx-id.js';
import { CommitWaits } from '../../src/ethereum/commit-waits.js';
import { ethereumMethods, type EthereumBackend, type EthereumMethodsOptions } from '../../src/ethereum/eth-methods.js';
import { handleJsonRpc, type JsonRpcMethods } from '../../src/ethereum/json-rpc.js';
import { CHAIN_ID, type TestChain } from './harness.js';

export const VIEW = 2;
const WRITE_ATTEMPTS_MAX = 4;

export class MemoryBackend implements EthereumBackend {
  readonly chain: TestChain;
  writeAttempts = 0;
  /** Seqnos up to this one are Committed; undefined: all of them. */
  #committedUpTo: bigint | undefined;
  /** The view of each seqno written (writes after a rollback are in a later view). */
  readonly #views = new Map<number, number>();
  #view = VIEW;
  /** Wakes whoever waits for commit to move. */
  #wakeCommitWaits: () => void = () => {};
  readonly #commitWaits = new CommitWaits({
    status: (txId) => this.status(txId),
    commitMoved: () => new Promise<void>((resolve) => (this.#wakeCommitWaits = resolve)),
  });

  constructor(chain: TestChain) {
    this.chain = chain;
  }

  get committedUpTo(): bigint | undefined {
    return this.#committedUpTo;
  }

  /** Moves commit (undefined: everything), and wakes the sends waiting for it. */
  set committedUpTo(seqno: bigint | undefined) {
    this.#committedUpTo = seqno;
    this.#wakeCommitWaits();
  }

  readTransaction(): Transaction {
    return this.chain.store.beginTransaction();
  }

  /** The claims digest of each committed write that had one, by seqno. */
  readonly claims = new Map<bigint, Uint8Array>();

  async writeTransaction<T>(work: (tx: Transaction) => Promise<T>, claims?: (result: T) => Uint8Array): Promise<{ result: T; txId: TxId }> {
    for (let attempt = 1; ; attempt++) {
      this.writeAttempts++;
      const tx = this.chain.store.beginTransaction();
      const result = await work(tx);
      const seqno = this.chain.store.version + 1n;
      try {
        this.chain.store.commit(tx, seqno);
      } catch (error) {
        if (error instanceof CocoError && error.code === 'TransactionConflict' && attempt < WRITE_ATTEMPTS_MAX) continue;
        throw error;
      }
      if (claims !== undefined) this.claims.set(seqno, claims(result));
      this.#views.set(Number(seqno), this.#view);
      return { result, txId: { view: this.#view, seqno: Number(seqno) } };
    }
  }

  commitSeqno(): bigint {
    return this.#committedUpTo ?? this.chain.store.version;
  }

  txIdAt(seqno: bigint): TxId | undefined {
    const view = this.#views.get(Number(seqno)) ?? VIEW;
    return seqno >= 1n && seqno <= this.chain.store.version ? { view, seqno: Number(seqno) } : undefined;
  }

  status(txId: TxId): TxStatus {
    const viewOf = (seqno: number) => (seqno === 0 ? 0 : seqno <= this.chain.store.version ? (this.#views.get(seqno) ?? VIEW) : undefined);
    return statusOf(txId, { viewOf, commitSeqno: Number(this.commitSeqno()) });
  }

  finality(txId: TxId, timeoutMs: number): Promise<TxStatus> {
    return this.#commitWaits.finality(txId, timeoutMs);
  }

  /** Holds commit where it is now: later transactions stay Pending (and their sends wait) until `committedUpTo` moves. */
  holdCommit(): void {
    this.committedUpTo = this.chain.store.version;
  }

  /** As an election that keeps the log up to `version` only: what came after is gone, and later writes are in a new view. */
  rollBack(version: bigint): void {
    this.chain.store.rollback(version);
    for (const seqno of this.#views.keys()) if (seqno > version) this.#views.delete(seqno);
    this.#view += 1;
  }
}

export function methodsFor(backend: MemoryBackend, options: Partial<EthereumMethodsOptions> = {}): JsonRpcMethods {
  return ethereumMethods(backend, backend.chain.context, { clientVersion: 'Coco/test', ...options });
}

/** ethers.js's JSON-RPC provider, its transport replaced by a direct call to the method table. */
export class InProcessProvider extends ethers.JsonRpcApiProvider {
  readonly #methods: JsonRpcMethods;

  /** `options` over the tests' own (batches of 10); `{ batchMaxCount: 100 }` batches as ethers does by default. */
  constructor(methods: JsonRpcMethods, options: ethers.JsonRpcApiProviderOptions = {}) {
    // Without cacheTimeout -1, ethers reuses an identical request's answer for 250 ms, nonces included.
    super(new ethers.Network('coco', CHAIN_ID), { staticNetwork: true, pollingInterval: 5, batchMaxCount: 10, cacheTimeout: -1, ...options });
    this.#methods = methods;
  }

  override async _send(payload: ethers.JsonRpcPayload | ethers.JsonRpcPayload[]): Promise<(ethers.JsonRpcResult | ethers.JsonRpcError)[]> {
    const body = await handleJsonRpc(JSON.stringify(payload), this.#methods);
    const parsed = JSON.parse(body ?? '[]') as ethers.JsonRpcResult | ethers.JsonRpcResult[];
    return Array.isArray(parsed) ? parsed : [parsed];
  }
}
