// `ccf.historical.getStateRange` and `dropCachedStates` for JS apps: the states of a range of
// committed transactions, read back from the ledger. As in CCF, the first call for a range starts
// loading it and answers null; a later call answers every state once all are loaded. Loading runs
// in the background, off the request path: a window of seqnos at a time for all ranges together,
// with a turn of the event loop between windows, so that a long range (CCF's logging sample asks
// for 2,001 seqnos) holds back neither requests nor consensus. A range keeps its states until its
// handle is dropped, replaced by another range, or not asked for within its expiry; all ranges
// together keep at most a bound of bytes (CCF bounds its historical cache by bytes too), the
// ranges asked for longest ago going first to make room for a newer one.

import { CocoError } from '../errors.js';
import type { HistoricalStateInput } from '../js/js-host.js';
import type { HistoricalState } from './historical-states.js';
import type { TxId } from '../ledger/tx-id.js';

/** Memory the states of all ranges take together at most, as counted below; one range alone that needs more is refused. */
export const HISTORICAL_RANGES_BYTES_MAX = 256 * 1024 * 1024;
/**
 * What a state takes besides its ledger entry: its store, receipt and proof, and the caches' share
 * (a range of 2,001 states of the logging sample's ~280-byte entries took ~14 MB of heap).
 */
export const HISTORICAL_STATE_OVERHEAD_BYTES = 8 * 1024;
/** Seqnos one range may span: as many states as all ranges may hold (32,768, against CCF's logging sample's 2,001). */
export const HISTORICAL_RANGE_SEQNOS_MAX = HISTORICAL_RANGES_BYTES_MAX / HISTORICAL_STATE_OVERHEAD_BYTES;
/** States loaded at once for ranges (of one range, then the next): bounds the reads in flight and the work per turn. */
export const HISTORICAL_RANGE_WINDOW_SEQNOS = 32;
/** Handles remembered; past it the one asked for longest ago is forgotten (an app may name one per request). */
const HANDLES_MAX = 1024;

/** A loaded state as a JS app sees it: its TxID, its receipt, and a transaction to read its writes. */
export function jsHistoricalState(state: HistoricalState): HistoricalStateInput {
  return { transactionId: state.txId, receipt: state.receipt, tx: state.store.beginTransaction() };
}

export interface RangeSource {
  readonly commitTxId: TxId;
  viewOf(seqno: number): number;
  /** The state of a committed transaction, loaded first if need be. */
  readonly historical: { loaded(txId: TxId): Promise<HistoricalState> };
}

/** What one handle asked for, and what of it is loaded. */
interface RangeRequest {
  readonly start: number;
  readonly end: number;
  expiresAtMs: number;
  /** The states loaded so far, from `start` on, in order. */
  readonly states: HistoricalState[];
  bytes: number;
  /** Set when the range is dropped, replaced or expired: its load stops at the next window. */
  forgotten: boolean;
  /** Waiting in the queue of loads, or being loaded. */
  queued: boolean;
  /** Why the last load failed (a read back that did not verify): answered until a load gets past it. */
  failure: CocoError | undefined;
  /** Set when the range needs more bytes than all ranges may hold: answered for as long as it is asked. */
  refusal: CocoError | undefined;
}

export class HistoricalRanges {
  /** By handle, in the order handles were last asked for. */
  readonly #requests = new Map<number, RangeRequest>();
  /** Ranges still loading, each loaded a window at a time in turn. */
  readonly #queue: RangeRequest[] = [];
  #loading = false;
  #bytes = 0;

  /** `bytesMax`: what all ranges may hold, HISTORICAL_RANGES_BYTES_MAX unless given. */
  constructor(
    private readonly source: RangeSource,
    private readonly nowMs: () => number,
    private readonly bytesMax = HISTORICAL_RANGES_BYTES_MAX,
  ) {}

  /** Bytes the states all ranges hold take now, as counted against the bound. */
  get bytes(): number {
    return this.#bytes;
  }

  getStateRange(handle: number, startSeqno: number, endSeqno: number, secondsUntilExpiry: number): HistoricalStateInput[] | null {
    this.#forgetExpired();
    // CCF's words for a reversed range (its historical cache's); JS apps see them after "Failed to get state range: ".
    if (endSeqno < startSeqno) throw new CocoError('InvalidArgument', `Invalid range for historical query: end ${endSeqno} is before start ${startSeqno}`);
    if (startSeqno < 1) throw new CocoError('InvalidArgument', `Invalid range for historical query: seqnos start at 1, not ${startSeqno}`);
    if (endSeqno - startSeqno + 1 > HISTORICAL_RANGE_SEQNOS_MAX) {
      throw new CocoError('InvalidArgument', `${startSeqno}..${endSeqno} spans ${endSeqno - startSeqno + 1} seqnos, more than the ${HISTORICAL_RANGE_SEQNOS_MAX} one request may; ask for it in parts`);
    }
    const committed = this.source.commitTxId.seqno;
    if (endSeqno > committed) throw new CocoError('TransactionPendingOrUnknown', `seqno ${endSeqno} is not committed yet (the last committed is ${committed})`);
    let request = this.#requests.get(handle);
    if (request === undefined || request.start !== startSeqno || request.end !== endSeqno) {
      if (request !== undefined) this.#forget(handle);
      request = { start: startSeqno, end: endSeqno, expiresAtMs: 0, states: [], bytes: 0, forgotten: false, queued: false, failure: undefined, refusal: undefined };
    }
    // Set anew, so that the map's order is the order handles were last asked for.
    this.#requests.delete(handle);
    if (this.#requests.size >= HANDLES_MAX) this.#forget(this.#requests.keys().next().value!);
    this.#requests.set(handle, request);
    request.expiresAtMs = this.nowMs() + secondsUntilExpiry * 1000;
    if (request.refusal !== undefined) throw request.refusal;
    // A failed range answers its error until a new load (started now, in case the file was restored) gets past it.
    if (!request.queued && request.states.length < request.end - request.start + 1) this.#enqueue(request);
    if (request.failure !== undefined) throw request.failure;
    if (request.queued) return null;
    return request.states.map(jsHistoricalState);
  }

  /** Whether the handle named a request still held; either way it names none afterwards. */
  dropCachedStates(handle: number): boolean {
    this.#forgetExpired();
    return this.#forget(handle);
  }

  #enqueue(request: RangeRequest): void {
    request.queued = true;
    this.#queue.push(request);
    if (!this.#loading) void this.#loadQueued();
  }

  /** Loads the queued ranges, a window of one at a time, taking them in turn so that a short range is not stuck behind a long one. */
  async #loadQueued(): Promise<void> {
    this.#loading = true;
    for (let request = this.#queue.shift(); request !== undefined; request = this.#queue.shift()) {
      if (request.forgotten) continue;
      try {
        await this.#loadWindow(request);
      } catch (error) {
        request.failure = error instanceof CocoError ? error : new CocoError('InternalError', String(error));
      }
      if (request.failure === undefined && request.refusal === undefined && !request.forgotten && request.states.length < request.end - request.start + 1) this.#queue.push(request);
      else request.queued = false;
      // Whatever the window cost, requests and consensus get a turn before the next.
      await new Promise(setImmediate);
    }
    this.#loading = false;
  }

  async #loadWindow(request: RangeRequest): Promise<void> {
    const from = request.start + request.states.length;
    const to = Math.min(request.end, from + HISTORICAL_RANGE_WINDOW_SEQNOS - 1);
    const txIds = Array.from({ length: to - from + 1 }, (_, i) => ({ view: this.source.viewOf(from + i), seqno: from + i }));
    const states = await Promise.all(txIds.map((txId) => this.source.historical.loaded(txId)));
    if (request.forgotten) return;
    request.failure = undefined;
    for (const state of states) {
      const bytes = state.entryBytes + HISTORICAL_STATE_OVERHEAD_BYTES;
      request.states.push(state);
      request.bytes += bytes;
      this.#bytes += bytes;
    }
    this.#makeRoomFor(request);
  }

  /** Refuses `request` if it alone holds too much; else forgets the ranges asked for longest ago while all of them do. */
  #makeRoomFor(request: RangeRequest): void {
    if (request.bytes > this.bytesMax) {
      request.refusal = new CocoError(
        'InvalidArgument',
        `${request.start}..${request.end} takes more than the ${this.bytesMax} bytes a node keeps for ranges (its first ${request.states.length} states take ${request.bytes}: their ledger entries and ${HISTORICAL_STATE_OVERHEAD_BYTES} bytes each besides); ask for it in parts`,
      );
      this.#release(request);
      return;
    }
    for (const [handle, other] of this.#requests) {
      if (this.#bytes <= this.bytesMax) return;
      if (other !== request) this.#forget(handle);
    }
  }

  /** Frees a request's states; it loads again from its start if asked again. */
  #release(request: RangeRequest): void {
    this.#bytes -= request.bytes;
    request.bytes = 0;
    request.states.length = 0;
  }

  #forget(handle: number): boolean {
    const request = this.#requests.get(handle);
    if (request === undefined) return false;
    request.forgotten = true;
    this.#release(request);
    return this.#requests.delete(handle);
  }

  #forgetExpired(): void {
    const now = this.nowMs();
    for (const [handle, request] of this.#requests) if (request.expiresAtMs <= now) this.#forget(handle);
  }
}
