// Prepared ECDSA nonces for the node's signatures, made by a worker thread (ecdsa-nonce-worker) so
// that a signature transaction costs the event loop a few microseconds instead of two
// milliseconds of P-384 arithmetic. The worker starts on the first request (only a primary
// signs), asks for more when few are left, and never holds the process open. Without a nonce at
// hand the signer signs whole, so the pool can only make signing cheaper, never block it.

import { Worker } from 'node:worker_threads';
import type { EcdsaCurve, EcdsaNonce } from '../crypto/ecdsa-nonce.js';
import type { NonceBatch, NonceRequest } from './ecdsa-nonce-worker.js';
import { logLine } from './buffered-log.js';

/**
 * Two nonces per signature (node key, service key). Refilled while four signatures' worth are
 * still at hand: with two, 2.4 % of signatures under full load found the pool empty (the worker
 * shares the cores with the event loop, and its answer waits for a turn of the loop).
 */
const BATCH = 16;
const REFILL_BELOW = 8;

export class EcdsaNoncePool {
  private worker: Worker | undefined;
  private failed = false;
  private readonly ready = new Map<EcdsaCurve, EcdsaNonce[]>();
  private readonly requested = new Set<EcdsaCurve>();
  private readonly msEach = new Map<EcdsaCurve, number>();
  /** Worker time behind the nonces handed out so far: signing's true cost includes it. */
  handedOutMs = 0;

  take(curve: EcdsaCurve): EcdsaNonce | undefined {
    const ready = this.ready.get(curve);
    const nonce = ready?.shift();
    if (nonce !== undefined) this.handedOutMs += this.msEach.get(curve) ?? 0;
    if ((ready?.length ?? 0) < REFILL_BELOW) this.request(curve);
    return nonce;
  }

  async close(): Promise<void> {
    this.failed = true;
    this.ready.clear();
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private request(curve: EcdsaCurve): void {
    if (this.failed || this.requested.has(curve)) return;
    this.requested.add(curve);
    const request: NonceRequest = { curve, count: BATCH };
    this.start().postMessage(request);
  }

  private start(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(new URL('./ecdsa-nonce-worker.js', import.meta.url));
    worker.unref();
    worker.on('message', (batch: NonceBatch) => {
      if (this.failed) return; // closed, or failed: nothing is handed out any more
      this.requested.delete(batch.curve);
      this.msEach.set(batch.curve, batch.msEach);
      const ready = this.ready.get(batch.curve) ?? [];
      ready.push(...batch.nonces);
      this.ready.set(batch.curve, ready);
    });
    worker.on('error', (error) => {
      // Signing goes on, whole, on the event loop.
      logLine('warn', `coco node: the signing worker failed (${error.message}); signatures are computed on the main thread from now on`);
      this.failed = true;
      this.ready.clear();
    });
    this.worker = worker;
    return worker;
  }
}
