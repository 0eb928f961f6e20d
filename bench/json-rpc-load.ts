// The Ethereum load: each sender sends its pre-signed transactions with `eth_sendRawTransaction` in
// nonce order, keeping a window of consecutive nonces in flight (each on a keep-alive connection of
// its own; the next as soon as one is answered; one at a time is a closed loop), for a fixed
// duration. The same code runs against every system. A sender's queue is shared between runs, so a
// measured run continues where the warm-up stopped. Each accepted transaction is handed on with the
// time its send started, for a receipt tracker.

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
 * Sends from every queue at once for `durationMs` through `client` (which must allow `inFlight`
 * connections per queue), each queue keeping `inFlight` sends in flight; `onSent` sees each
 * accepted transaction's hash and the `performance.now()` its send started.
 */
export async function sendSignedTransactions(
  client: JsonRpcClient,
  queues: readonly SignedQueue[],
  durationMs: number,
  inFlight: number,
  onSent: (hash: string, startMs: number) => void,
): Promise<SendResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let exhausted = 0;
  let gaveUp = 0;
  const start = performance.now();
  const deadline = start + durationMs;
  /** Sends transaction `index` of `queue`; whether it was accepted. */
  const send = async (queue: SignedQueue, index: number): Promise<boolean> => {
    const startMs = performance.now();
    const expected = queue.hashes[index]!;
    try {
      const hash = await client.call('eth_sendRawTransaction', [queue.raws[index]]);
      if (typeof hash !== 'string' || hash.toLowerCase() !== expected) throw new Error(`answered ${JSON.stringify(hash)} instead of the hash ${expected}`);
      latencies.push(performance.now() - startMs);
      onSent(expected, startMs);
      return true;
    } catch (error) {
      errors++;
      firstError ??= (error as Error).message;
      return false;
    }
  };
  const sender = async (queue: SignedQueue): Promise<void> => {
    const sending = new Set<Promise<void>>();
    /** The lowest nonce refused since the window last emptied: the later ones cannot pass before it does. */
    let refused: number | undefined;
    let failures = 0;
    while (performance.now() < deadline) {
      if (refused === undefined && sending.size < inFlight && queue.next < queue.raws.length) {
        const index = queue.next++;
        const sent: Promise<void> = send(queue, index).then((accepted) => {
          sending.delete(sent);
          if (accepted) failures = 0;
          else refused = Math.min(refused ?? index, index);
        });
        sending.add(sent);
        continue;
      }
      if (sending.size > 0) {
        await Promise.race(sending);
        continue;
      }
      if (refused !== undefined) {
        // Try the refused nonce again, then give up.
        if (++failures >= ATTEMPTS_MAX) {
          gaveUp++;
          return;
        }
        queue.next = refused;
        refused = undefined;
        await sleep(RETRY_PAUSE_MS);
        continue;
      }
      exhausted++;
      return;
    }
    await Promise.all(sending);
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
