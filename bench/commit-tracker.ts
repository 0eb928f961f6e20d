// Learns when Coco writes become Committed without a request per write: a few polling loops ask
// the primary's `GET /app/commit`, together at most once every `pollIntervalMs` and with at most
// `pollsInFlight` outstanding (several, so that a busy node still answers often enough), and settle
// every write whose TxID has the commit's view and a seqno at or below it. A write whose view
// differs from the commit's (an election happened) is settled at the end with one `GET /app/tx`.
// Latency to Committed is from the write's start to the arrival of the first commit answer that
// covers it: what a client polling this way observes.

import type { CocoClient } from '../src/client/coco-client.js';
import { CocoError } from '../src/errors.js';
import { parseTxId, type TxId } from '../src/ledger/tx-id.js';
import { percentile } from './load.js';

export interface CommitResult {
  /** Writes seen Committed; of them, those settled by `/app/tx` after a view change (no latency for these). */
  committed: number;
  committedAfterViewChange: number;
  /** Writes not Committed when `finish` gave up, found Invalid, or answered without a valid TxID. */
  notCommitted: number;
  /** Committed writes per second, from `startMs` until the last one was seen Committed. */
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  polls: number;
}

interface Write {
  txId: TxId;
  startMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class CommitTracker {
  readonly #client: CocoClient;
  readonly #pollIntervalMs: number;
  readonly #startMs = performance.now();
  #pending: Write[] = [];
  readonly #otherView: Write[] = [];
  readonly #latencies: number[] = [];
  #lastCommittedMs = this.#startMs;
  #nextPollMs = this.#startMs;
  #polls = 0;
  #withoutTxId = 0;
  #stopped = false;
  #pollError: unknown;
  readonly #loop: Promise<void>;

  /** Starts polling through `client` (which must reach the primary). */
  constructor(client: CocoClient, options: { pollIntervalMs: number; pollsInFlight: number }) {
    this.#client = client;
    this.#pollIntervalMs = options.pollIntervalMs;
    this.#loop = Promise.all(Array.from({ length: options.pollsInFlight }, () => this.#poll())).then(() => undefined);
  }

  /** Records a write answered with `txIdText` (its `x-ms-ccf-transaction-id` header). */
  add(txIdText: string | string[] | undefined, startMs: number): void {
    let txId: TxId | undefined;
    try {
      txId = typeof txIdText === 'string' ? parseTxId(txIdText) : undefined;
    } catch {
      txId = undefined;
    }
    // A write without a valid TxID cannot be checked, so it counts as not committed.
    if (txId === undefined) this.#withoutTxId++;
    else this.#pending.push({ txId, startMs });
  }

  /** Polls until stopped or a poll fails; the failure is kept for `finish` to throw. */
  async #poll(): Promise<void> {
    try {
      while (!this.#stopped && this.#pollError === undefined) {
        // Take the next free start time; the loops share one schedule.
        const startMs = Math.max(this.#nextPollMs, performance.now());
        this.#nextPollMs = startMs + this.#pollIntervalMs;
        const waitMs = startMs - performance.now();
        if (waitMs > 0) await sleep(waitMs);
        if (this.#stopped) return;
        const commit = parseTxId((await this.#client.request('GET', '/app/commit')).json<{ transaction_id: string }>().transaction_id);
        this.#polls++;
        this.#settle(commit, performance.now());
      }
    } catch (error) {
      this.#pollError ??= error;
    }
  }

  #settle(commit: TxId, nowMs: number): void {
    const still: Write[] = [];
    for (const write of this.#pending) {
      if (write.txId.seqno > commit.seqno) still.push(write);
      else if (write.txId.view !== commit.view) this.#otherView.push(write);
      else {
        this.#latencies.push(nowMs - write.startMs);
        this.#lastCommittedMs = nowMs;
      }
    }
    this.#pending = still;
  }

  /** Waits until every recorded write is settled (at most `timeoutMs`), stops polling and reports. */
  async finish(timeoutMs: number): Promise<CommitResult> {
    const deadline = performance.now() + timeoutMs;
    while (this.#pending.length > 0 && this.#pollError === undefined && performance.now() < deadline) await sleep(this.#pollIntervalMs);
    this.#stopped = true;
    await this.#loop;
    if (this.#pollError !== undefined) throw new CocoError('BenchFailed', 'polling /app/commit failed', { cause: this.#pollError });
    let committedAfterViewChange = 0;
    for (const write of this.#otherView) {
      const { status } = (await this.#client.request('GET', `/app/tx?transaction_id=${write.txId.view}.${write.txId.seqno}`)).json<{ status: string }>();
      if (status === 'Committed') committedAfterViewChange++;
    }
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    const committed = sorted.length + committedAfterViewChange;
    return {
      committed,
      committedAfterViewChange,
      notCommitted: this.#pending.length + this.#otherView.length - committedAfterViewChange + this.#withoutTxId,
      perSecond: committed / ((this.#lastCommittedMs - this.#startMs) / 1000),
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      polls: this.#polls,
    };
  }
}
