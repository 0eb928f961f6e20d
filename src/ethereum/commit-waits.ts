// Transactions this node wrote, waiting until the node knows them final: Committed, or Invalid (rolled
// back by an election). Either becomes known only when the node's commit moves, so each waiting
// transaction is looked at again then; one wait on the node serves them all, so that a thousand
// sends in flight cost a status check each per move of commit, not a thousand waits on the node.

import type { TxStatus } from '../consensus/tx-status.js';
import type { TxId } from '../ledger/tx-id.js';

/** What the waits need of the node. */
export interface CommitSource {
  /** The status of `txId` as the node sees it now. */
  status(txId: TxId): TxStatus;
  /** Settles once the node's commit has moved on from where it is now. */
  commitMoved(): Promise<void>;
}

interface Waiter {
  readonly txId: TxId;
  readonly resolve: (status: TxStatus) => void;
  timer?: NodeJS.Timeout;
}

const isFinal = (status: TxStatus): boolean => status === 'Committed' || status === 'Invalid';

export class CommitWaits {
  readonly #source: CommitSource;
  readonly #waiting = new Set<Waiter>();
  /** Whether a wait on the node's commit is under way. */
  #watching = false;

  constructor(source: CommitSource) {
    this.#source = source;
  }

  /**
   * Settles with the status of `txId` once it is Committed or Invalid on this node, or after
   * `timeoutMs` with its status then (Pending, or Unknown once another entry holds its seqno).
   */
  finality(txId: TxId, timeoutMs: number): Promise<TxStatus> {
    const status = this.#source.status(txId);
    if (isFinal(status)) return Promise.resolve(status);
    return new Promise((resolve) => {
      const waiter: Waiter = { txId, resolve };
      waiter.timer = setTimeout(() => this.#settle(waiter, this.#source.status(txId)), timeoutMs);
      this.#waiting.add(waiter);
      void this.#watch();
    });
  }

  #settle(waiter: Waiter, status: TxStatus): void {
    if (!this.#waiting.delete(waiter)) return;
    clearTimeout(waiter.timer);
    waiter.resolve(status);
  }

  /** Looks at every waiting transaction each time commit moves, as long as any waits. */
  async #watch(): Promise<void> {
    if (this.#watching) return;
    this.#watching = true;
    try {
      while (this.#waiting.size > 0) {
        await this.#source.commitMoved();
        for (const waiter of this.#waiting) {
          const status = this.#source.status(waiter.txId);
          if (isFinal(status)) this.#settle(waiter, status);
        }
      }
    } finally {
      this.#watching = false;
    }
  }
}
