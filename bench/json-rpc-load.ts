// The Ethereum load: one keep-alive client per sender, each sending its sender's pre-signed
// transactions with `eth_sendRawTransaction` in nonce order, the next as soon as the previous send
// was answered (closed loop), for a fixed duration. The same code runs against every system. A
// sender's queue is shared between runs, so a measured run continues where the warm-up stopped.
// Each accepted transaction is handed on with the time its send started, for a receipt tracker.

import { percentile } from './load.js';
import type { JsonRpcClient } from './json-rpc-client.js';

/** A refused send is tried again after this pause, at most this many times in a row. */
const RETRY_PAUSE_MS = 20;
const ATTEMPTS_MAX = 3;

/** One sender's signed transactions in nonce order, and the next one to send. */
export interface SignedQueue {
  raws: string[];
  /** The transaction hashes of `raws`. */
  hashes: string[];
  next: number;
}

export interface SendResult {
  /** Transactions the server accepted (answered with their hash). */
  sent: number;
  /** Refused or failed sends (each attempt counts); the first message. */
  errors: number;
  firstError: string | undefined;
  seconds: number;
  /** Accepted sends per second, and the time each took to be answered. */
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Clients that ran out of signed transactions, or gave up after repeated refusals, before the end. */
  exhausted: number;
  gaveUp: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends from every queue at once for `durationMs` through `client` (which must allow one connection
 * per queue); `onSent` sees each accepted transaction's hash and the `performance.now()` its send started.
 */
export async function sendSignedTransactions(
  client: JsonRpcClient,
  queues: readonly SignedQueue[],
  durationMs: number,
  onSent: (hash: string, startMs: number) => void,
): Promise<SendResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let exhausted = 0;
  let gaveUp = 0;
  const start = performance.now();
  const deadline = start + durationMs;
  const sender = async (queue: SignedQueue): Promise<void> => {
    let failures = 0;
    while (performance.now() < deadline) {
      if (queue.next >= queue.raws.length) {
        exhausted++;
        return;
      }
      const startMs = performance.now();
      const expected = queue.hashes[queue.next]!;
      try {
        const hash = await client.call('eth_sendRawTransaction', [queue.raws[queue.next]]);
        if (typeof hash !== 'string' || hash.toLowerCase() !== expected) throw new Error(`answered ${JSON.stringify(hash)} instead of the hash ${expected}`);
        latencies.push(performance.now() - startMs);
        queue.next++;
        failures = 0;
        onSent(expected, startMs);
      } catch (error) {
        errors++;
        firstError ??= (error as Error).message;
        // The nonces that follow cannot pass until this one does: try it again, then give up.
        if (++failures >= ATTEMPTS_MAX) {
          gaveUp++;
          return;
        }
        await sleep(RETRY_PAUSE_MS);
      }
    }
  };
  await Promise.all(queues.map(sender));
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    sent: latencies.length,
    errors,
    firstError,
    seconds,
    perSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    exhausted,
    gaveUp,
  };
}
