// The Ethereum methods' view of a Coco node: reads over its current state, writes as asynchronous
// transactions (re-run on conflict, so an Ethereum transaction is serialized with every other
// transaction of the node), its commit point and TxIDs, and waits for its writes to be final.

import type { TxStatus } from '../consensus/tx-status.js';
import type { Transaction } from '../kv/transaction.js';
import type { TxId } from '../ledger/tx-id.js';
import type { Node } from '../node/node.js';
import { CommitWaits } from './commit-waits.js';
import type { EthereumBackend } from './eth-methods.js';

export class NodeEthereumBackend implements EthereumBackend {
  readonly #commitWaits: CommitWaits;

  constructor(private readonly node: Node) {
    this.#commitWaits = new CommitWaits({ status: (txId) => node.status(txId), commitMoved: () => node.waitForCommit(node.commitTxId.seqno + 1) });
  }

  readTransaction(): Transaction {
    return this.node.store.beginTransaction();
  }

  async writeTransaction<T>(work: (tx: Transaction) => Promise<T>, claims?: (result: T) => Uint8Array): Promise<{ result: T; txId: TxId }> {
    const { result, txId } = await this.node.executeAsync(async (tx) => {
      const result = await work(tx);
      return { result, applyWrites: true, claimsDigest: claims?.(result) };
    });
    // An Ethereum transaction always writes (at least the sender's nonce and its receipt).
    return { result, txId: txId ?? this.node.lastTxId };
  }

  commitSeqno(): bigint {
    return BigInt(this.node.commitTxId.seqno);
  }

  txIdAt(seqno: bigint): TxId | undefined {
    const n = Number(seqno);
    return n >= 1 && n <= this.node.lastTxId.seqno ? { view: this.node.viewOf(n), seqno: n } : undefined;
  }

  finality(txId: TxId, timeoutMs: number): Promise<TxStatus> {
    return this.#commitWaits.finality(txId, timeoutMs);
  }
}
