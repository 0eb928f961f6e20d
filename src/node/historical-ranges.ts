// `ccf.historical.getStateRange` and `dropCachedStates` for JS apps: the states of a range of
// committed transactions, read back through the node's historical cache. As in CCF, the first call
// for a range starts loading it and answers null; a later call answers every state once all are
// loaded. A handle names an app's request: asking again with the same handle replaces its range,
// and a handle not asked for within its expiry is forgotten. The states themselves live in the
// node's bounded cache (historical-states.ts), shared with historical endpoints, which evicts the
// least recently used: a range must fit in it, with room to spare for others.

import { CocoError } from '../errors.js';
import type { HistoricalStateInput } from '../js/js-host.js';
import type { JsValue } from '../js/js-value.js';
import { HISTORICAL_CACHE_ENTRIES_MAX, type HistoricalState } from './historical-states.js';
import type { TxId } from '../ledger/tx-id.js';

/** Seqnos one range may span: half the cache, so that two ranges can load at once. */
export const HISTORICAL_RANGE_SEQNOS_MAX = HISTORICAL_CACHE_ENTRIES_MAX / 2;
/** Handles remembered; past it the one asked for longest ago is forgotten (an app may name one per request). */
const HANDLES_MAX = 1024;

/** A loaded state as a JS app sees it: its TxID, its receipt, and a transaction to read its writes. */
export function jsHistoricalState(state: HistoricalState): HistoricalStateInput {
  return { transactionId: state.txId, receipt: state.receipt as unknown as JsValue, tx: state.store.beginTransaction() };
}

export interface RangeSource {
  readonly commitTxId: TxId;
  viewOf(seqno: number): number;
  readonly historical: { get(txId: TxId): HistoricalState | undefined };
}

export class HistoricalRanges {
  /** When each handle's request expires, unless it is asked for again. */
  readonly #expiries = new Map<number, number>();

  constructor(
    private readonly source: RangeSource,
    private readonly nowMs: () => number,
  ) {}

  getStateRange(handle: number, startSeqno: number, endSeqno: number, secondsUntilExpiry: number): HistoricalStateInput[] | null {
    this.#forgetExpired();
    if (startSeqno < 1 || endSeqno < startSeqno) throw new CocoError('InvalidArgument', `Failed to get state range: ${startSeqno}..${endSeqno} is not a range of seqnos (they start at 1, and the end is not before the start)`);
    if (endSeqno - startSeqno + 1 > HISTORICAL_RANGE_SEQNOS_MAX) {
      throw new CocoError('InvalidArgument', `Failed to get state range: ${startSeqno}..${endSeqno} spans ${endSeqno - startSeqno + 1} seqnos, more than the ${HISTORICAL_RANGE_SEQNOS_MAX} one request may; ask for it in parts`);
    }
    const committed = this.source.commitTxId.seqno;
    if (endSeqno > committed) throw new CocoError('TransactionPendingOrUnknown', `Failed to get state range: seqno ${endSeqno} is not committed yet (the last committed is ${committed})`);
    // Set anew, so that the map's order is the order handles were last asked for.
    this.#expiries.delete(handle);
    if (this.#expiries.size >= HANDLES_MAX) this.#expiries.delete(this.#expiries.keys().next().value!);
    this.#expiries.set(handle, this.nowMs() + secondsUntilExpiry * 1000);
    const states: HistoricalState[] = [];
    let loading = false;
    // Every state is asked for, so that all of them load together.
    for (let seqno = startSeqno; seqno <= endSeqno; seqno++) {
      const state = this.#stateAt(seqno);
      if (state === undefined) loading = true;
      else states.push(state);
    }
    if (loading) return null;
    return states.map(jsHistoricalState);
  }

  /** Whether the handle named a request still held; either way it names none afterwards. */
  dropCachedStates(handle: number): boolean {
    this.#forgetExpired();
    return this.#expiries.delete(handle);
  }

  /** The state at `seqno`, or undefined while it (or the receipt that proves it) is read back. */
  #stateAt(seqno: number): HistoricalState | undefined {
    try {
      return this.source.historical.get({ view: this.source.viewOf(seqno), seqno });
    } catch (error) {
      if (error instanceof CocoError && error.code === 'TransactionNotCached') return undefined;
      throw error;
    }
  }

  #forgetExpired(): void {
    const now = this.nowMs();
    for (const [handle, expiresAtMs] of this.#expiries) if (expiresAtMs <= now) this.#expiries.delete(handle);
  }
}
