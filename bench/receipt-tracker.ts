// Learns when Ethereum transactions have a receipt without a request per transaction per poll: a
// few polling loops send one JSON-RPC batch of `eth_getTransactionReceipt` for the oldest pending
// hashes (at most `batchMax`), together at most once every `pollIntervalMs` and with at most
// `pollsInFlight` outstanding. On Coco a receipt exists once its transaction is Committed; on
// Hardhat once it is mined. Latency is from a transaction's send to the arrival of the first poll
// answer that showed its receipt: what a client polling this way observes.

import { percentile } from './load.js';
import type { JsonRpcClient } from './json-rpc-client.js';

export interface ReceiptResult {
  /** Transactions whose receipt was seen with status 1, and with status 0 (reverted). */
  succeeded: number;
  reverted: number;
  /** Transactions still without a receipt when `finish` gave up. */
  missing: number;
  /** Succeeded transactions per second, from the tracker's start until the last receipt was seen. */
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  polls: number;
  /** Polls that failed or answered an error for a hash; the first message. */
  pollErrors: number;
  firstPollError: string | undefined;
  /** On Coco: the lowest and highest seqno of the Coco transactions (cocoTransactionId) of the receipts seen. */
  cocoSeqnos: { first: number; last: number } | undefined;
}

interface Pending {
  hash: string;
  startMs: number;
  polling: boolean;
}

interface Receipt {
  status?: string;
  cocoTransactionId?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ReceiptTracker {
  readonly #client: JsonRpcClient;
  readonly #pollIntervalMs: number;
  readonly #batchMax: number;
  readonly #startMs = performance.now();
  #pending: Pending[] = [];
  readonly #latencies: number[] = [];
  #reverted = 0;
  #lastReceiptMs = this.#startMs;
  #nextPollMs = this.#startMs;
  #polls = 0;
  #pollErrors = 0;
  #firstPollError: string | undefined;
  #cocoSeqnos: { first: number; last: number } | undefined;
  #stopped = false;
  readonly #loop: Promise<void>;

  /** Starts polling through `client` (one connection per poll in flight). */
  constructor(client: JsonRpcClient, options: { pollIntervalMs: number; pollsInFlight: number; batchMax: number }) {
    this.#client = client;
    this.#pollIntervalMs = options.pollIntervalMs;
    this.#batchMax = options.batchMax;
    this.#loop = Promise.all(Array.from({ length: options.pollsInFlight }, () => this.#poll())).then(() => undefined);
  }

  /** Records a transaction whose send started at `startMs` (`performance.now()`). */
  add(hash: string, startMs: number): void {
    this.#pending.push({ hash, startMs, polling: false });
  }

  async #poll(): Promise<void> {
    while (!this.#stopped) {
      // Take the next free start time; the loops share one schedule.
      const startMs = Math.max(this.#nextPollMs, performance.now());
      this.#nextPollMs = startMs + this.#pollIntervalMs;
      const waitMs = startMs - performance.now();
      if (waitMs > 0) await sleep(waitMs);
      if (this.#stopped) return;
      const batch: Pending[] = [];
      for (const pending of this.#pending) {
        if (batch.length >= this.#batchMax) break;
        if (!pending.polling) batch.push(pending);
      }
      if (batch.length === 0) continue;
      for (const pending of batch) pending.polling = true;
      try {
        const answers = await this.#client.batch(batch.map((pending) => ({ method: 'eth_getTransactionReceipt', params: [pending.hash] })));
        this.#polls++;
        this.#settle(batch, answers.map((answer) => ('result' in answer ? (answer.result as Receipt | null) : this.#failed(answer.error.message))), performance.now());
      } catch (error) {
        this.#failed((error as Error).message);
      } finally {
        for (const pending of batch) pending.polling = false;
      }
    }
  }

  #failed(message: string): null {
    this.#pollErrors++;
    this.#firstPollError ??= message;
    return null;
  }

  #settle(batch: Pending[], receipts: (Receipt | null)[], nowMs: number): void {
    const settled = new Set<Pending>();
    batch.forEach((pending, i) => {
      const receipt = receipts[i];
      if (receipt === null || receipt === undefined) return;
      settled.add(pending);
      if (receipt.status === '0x1') this.#latencies.push(nowMs - pending.startMs);
      else this.#reverted++;
      this.#lastReceiptMs = nowMs;
      const seqno = receipt.cocoTransactionId === undefined ? undefined : Number(receipt.cocoTransactionId.split('.')[1]);
      if (seqno !== undefined && Number.isSafeInteger(seqno)) {
        const seen = this.#cocoSeqnos;
        this.#cocoSeqnos = seen === undefined ? { first: seqno, last: seqno } : { first: Math.min(seen.first, seqno), last: Math.max(seen.last, seqno) };
      }
    });
    if (settled.size > 0) this.#pending = this.#pending.filter((pending) => !settled.has(pending));
  }

  /** Waits until every recorded transaction has a receipt (at most `timeoutMs`), stops polling and reports. */
  async finish(timeoutMs: number): Promise<ReceiptResult> {
    const deadline = performance.now() + timeoutMs;
    while (this.#pending.length > 0 && performance.now() < deadline) await sleep(this.#pollIntervalMs);
    this.#stopped = true;
    await this.#loop;
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    return {
      succeeded: sorted.length,
      reverted: this.#reverted,
      missing: this.#pending.length,
      perSecond: sorted.length / ((this.#lastReceiptMs - this.#startMs) / 1000),
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      polls: this.#polls,
      pollErrors: this.#pollErrors,
      firstPollError: this.#firstPollError,
      cocoSeqnos: this.#cocoSeqnos,
    };
  }
}
