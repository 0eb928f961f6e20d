// Transactions that arrive ahead of their sender's nonce wait here, briefly, for the ones before them.
//
// A client that sends consecutive nonces at once over several connections (ethers.js's NonceManager
// with Promise.all, a deploy script) cannot choose the order they reach the primary, and Coco keeps no
// pool: before, whichever came early was refused "nonce too high". Now it waits until a transaction of
// the same sender is written (then tries again) or its time is up; its HTTP request stays open
// meanwhile, so an answered send is still one that ran.

import { FUTURE_NONCES_MAX, FUTURE_NONCES_PER_SENDER_MAX } from './limits.js';

export class FutureNonces {
  /** Per sender (hex address), what wakes each waiting transaction. */
  readonly #waiting = new Map<string, Set<() => void>>();
  #count = 0;

  /** Whether a transaction `gap` nonces ahead of `sender`'s may wait for the ones before it. */
  mayWait(sender: string, gap: bigint): boolean {
    return gap <= BigInt(FUTURE_NONCES_PER_SENDER_MAX) && this.#count < FUTURE_NONCES_MAX && (this.#waiting.get(sender)?.size ?? 0) < FUTURE_NONCES_PER_SENDER_MAX;
  }

  /** Settles once a transaction of `sender` was written, or after `ms` (false then). */
  waitForNext(sender: string, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const waiters = this.#waiting.get(sender) ?? new Set<() => void>();
      this.#waiting.set(sender, waiters);
      const settle = (advanced: boolean) => {
        clearTimeout(timer);
        if (!waiters.delete(wake)) return;
        this.#count -= 1;
        if (waiters.size === 0) this.#waiting.delete(sender);
        resolve(advanced);
      };
      const wake = () => settle(true);
      const timer = setTimeout(() => settle(false), ms);
      waiters.add(wake);
      this.#count += 1;
    });
  }

  /** A transaction of `sender` was written: those waiting try again. */
  written(sender: string): void {
    for (const wake of [...(this.#waiting.get(sender) ?? [])]) wake();
  }
}
