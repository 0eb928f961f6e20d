// The thread that prepares ECDSA nonces for a primary's signature transactions (see
// crypto/ecdsa-nonce.ts): the costly half of each signature runs beside the event loop, not on it.

import { parentPort } from 'node:worker_threads';
import { createEcdsaNonce, type EcdsaCurve } from '../crypto/ecdsa-nonce.js';

export interface NonceRequest {
  curve: EcdsaCurve;
  count: number;
}

export interface NonceBatch {
  curve: EcdsaCurve;
  nonces: { curve: EcdsaCurve; r: bigint; kInverse: bigint }[];
  /** What one nonce cost this thread. */
  msEach: number;
}

parentPort?.on('message', ({ curve, count }: NonceRequest) => {
  const startMs = performance.now();
  const nonces = Array.from({ length: count }, () => createEcdsaNonce(curve));
  const batch: NonceBatch = { curve, nonces, msEach: (performance.now() - startMs) / count };
  parentPort!.postMessage(batch);
});
