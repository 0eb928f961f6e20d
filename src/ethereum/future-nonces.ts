// Transactions that arrive ahead of their sender's nonce wait here, briefly, for the ones before them.
//
// A client that sends consecutive nonces at once over several connections (ethers.js's NonceManager
// with Promise.all, a deploy script) cannot choose the order they reach the primary, and Coco keeps no
// pool: before, whichever came early was refused "nonce too high". Now it waits until the transaction
// of the nonce before its own is written (then tries again) or its time is up; its HTTP request stays
// open meanwhile, so an answered send is still one that ran. One transaction waits per sender and
// nonce: another of the same sender and nonce replaces it on geth's txpool terms, or is refused.
// Meanwhile it can be found by its hash, as geth finds the queued transactions of its pool.

import { CocoError } from '../errors.js';
import { FUTURE_NONCES_MAX, FUTURE_NONCES_PER_SENDER_MAX } from './limits.js';
import type { TransactionFees } from './sender.js';

/** How much more a replacement must offer, in both fees, than the transaction it replaces (geth's txpool.pricebump). */
const PRICE_BUMP_PERCENT = 10n;

/** A transaction waiting for the nonces before its own. */
export interface HeldTransaction {
  readonly sender: string;
  readonly nonce: bigint;
  /** 0x-prefixed hex. */
  readonly hash: string;
  readonly fees: TransactionFees;
  /** The signed transaction as sent: what eth_getTransactionByHash shows of it meanwhile. */
  readonly raw: Uint8Array;
  /** The hash of the transaction that took its place: this one must then never run. */
  replacedBy?: string;
  /** The transaction of the nonce before its own was written since it last tried: it may run now. */
  predecessorWritten?: boolean;
  /** Wakes the wait under way, if any. */
  wake?: () => void;
}

export class FutureNonces {
  /** Per sender (hex address), the transaction waiting at each nonce. */
  readonly #held = new Map<string, Map<bigint, HeldTransaction>>();
  /** The same transactions by hash. */
  readonly #byHash = new Map<string, HeldTransaction>();
  #count = 0;

  /**
   * Holds `transaction`, `gap` nonces ahead of its sender's; undefined if it may not wait (too far
   * ahead, or too many waiting). One of the same sender and nonce already waiting is replaced when
   * `transaction` offers at least PRICE_BUMP_PERCENT more in both fees; otherwise `transaction` is
   * refused at once, as geth refuses it. Call it from the queue that runs the transactions, so that
   * the one replaced cannot be running meanwhile.
   */
  hold(transaction: Omit<HeldTransaction, 'replacedBy' | 'predecessorWritten' | 'wake'>, gap: bigint): HeldTransaction | undefined {
    const { sender, nonce } = transaction;
    const nonces = this.#held.get(sender) ?? new Map<bigint, HeldTransaction>();
    const waiting = nonces.get(nonce);
    if (waiting !== undefined) {
      if (waiting.hash === transaction.hash) throw new CocoError('AlreadyKnown', 'already known');
      if (!outbids(transaction.fees, waiting.fees)) {
        throw new CocoError('ReplacementUnderpriced', `replacement transaction underpriced: ${waiting.hash} waits with the same sender and nonce; a replacement must offer ${PRICE_BUMP_PERCENT}% more in both fees`);
      }
      const held: HeldTransaction = { ...transaction };
      nonces.set(nonce, held);
      this.#byHash.delete(waiting.hash);
      this.#byHash.set(held.hash, held);
      waiting.replacedBy = transaction.hash;
      waiting.wake?.();
      return held;
    }
    if (gap > BigInt(FUTURE_NONCES_PER_SENDER_MAX) || this.#count >= FUTURE_NONCES_MAX || nonces.size >= FUTURE_NONCES_PER_SENDER_MAX) return undefined;
    const held: HeldTransaction = { ...transaction };
    nonces.set(nonce, held);
    this.#held.set(sender, nonces);
    this.#byHash.set(held.hash, held);
    this.#count += 1;
    return held;
  }

  /** The transaction of `hash` (0x-prefixed, lowercase hex) waiting here, if any. */
  find(hash: string): HeldTransaction | undefined {
    return this.#byHash.get(hash);
  }

  /**
   * Settles once the transaction before `held` (its sender's, one nonce lower) was written or `held`
   * was replaced, or after `ms` (false then); at once when that happened since `held` last tried.
   */
  waitForNext(held: HeldTransaction, ms: number): Promise<boolean> {
    if (held.predecessorWritten === true || held.replacedBy !== undefined) {
      held.predecessorWritten = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const settle = (woken: boolean) => {
        clearTimeout(timer);
        held.wake = undefined;
        held.predecessorWritten = false;
        resolve(woken);
      };
      const timer = setTimeout(() => settle(false), ms);
      held.wake = () => settle(true);
    });
  }

  /** `held` ran, was refused or replaced: it no longer waits at its nonce. */
  release(held: HeldTransaction): void {
    const nonces = this.#held.get(held.sender);
    if (nonces?.get(held.nonce) !== held) return;
    nonces.delete(held.nonce);
    this.#byHash.delete(held.hash);
    this.#count -= 1;
    if (nonces.size === 0) this.#held.delete(held.sender);
  }

  /** The transaction of `sender` and `nonce` was written: the one waiting at the next nonce, if any, tries again (no other can run yet). */
  written(sender: string, nonce: bigint): void {
    const next = this.#held.get(sender)?.get(nonce + 1n);
    if (next === undefined) return;
    next.predecessorWritten = true;
    next.wake?.();
  }
}

/** The fee cap and tip of `fees`: a fee-market transaction's two, an older one's gas price for both. */
function feeCapAndTip(fees: TransactionFees): [bigint, bigint] {
  return 'maxFeePerGas' in fees ? [fees.maxFeePerGas, fees.maxPriorityFeePerGas] : [fees.gasPrice, fees.gasPrice];
}

/** geth's rule: more than `old` in both fees, and at least PRICE_BUMP_PERCENT more (rounded down). */
function outbids(fees: TransactionFees, old: TransactionFees): boolean {
  const bumped = (value: bigint) => (value * (100n + PRICE_BUMP_PERCENT)) / 100n;
  const [cap, tip] = feeCapAndTip(fees);
  const [oldCap, oldTip] = feeCapAndTip(old);
  return cap > oldCap && tip > oldTip && cap >= bumped(oldCap) && tip >= bumped(oldTip);
}
