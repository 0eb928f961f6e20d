// The thread that makes RSA key pairs for apps (see rsa-key-pair-pool.ts): one at a time, each
// answered on the port the pool gave it, then counted in the shared counter the pool can wait on
// while the event loop is held by a handler that needs the pair.

import { generateKeyPairSync } from 'node:crypto';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { rsaKeyPairOptions, type PemKeyPair } from '../js/ccf-crypto.js';

export interface RsaKeyPairWorkerData {
  port: MessagePort;
  /** One Int32 the worker adds one to after each answer. */
  answered: SharedArrayBuffer;
}

export interface RsaKeyPairRequest {
  bits: number;
  exponent: number;
}

export interface RsaKeyPairAnswer extends RsaKeyPairRequest {
  pair?: PemKeyPair;
  error?: string;
}

const { port, answered } = workerData as RsaKeyPairWorkerData;
const counter = new Int32Array(answered);

parentPort?.on('message', ({ bits, exponent }: RsaKeyPairRequest) => {
  let answer: RsaKeyPairAnswer;
  try {
    answer = { bits, exponent, pair: generateKeyPairSync('rsa', rsaKeyPairOptions(bits, exponent)) };
  } catch (error) {
    answer = { bits, exponent, error: (error as Error).message };
  }
  port.postMessage(answer);
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
});
