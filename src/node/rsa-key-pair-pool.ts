// RSA key pairs for apps' `ccf.crypto.generateRsaKeyPair`, made on a worker thread. Made on the
// event loop, a 4096-bit pair holds it for 0.3-3 s on this kind of machine: longer than the default
// election timeout (1 s), so the backups hear no heartbeat and depose the primary (a QA pass forced
// eight elections with eight calls). A shape (modulus size and exponent) gets pairs made ahead from
// its first use on, and each pair taken is replaced. A call that finds none ready waits for the
// worker, but only as long as it is given (half of what is left of its handler's time limit): the
// pair then goes to the next call, and this one fails saying so. The worker makes one pair at a time and
// uses no thread of libuv's pool, so ledger fsyncs never wait behind keys.

import { receiveMessageOnPort, MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { PemKeyPair, RsaKeyPairSource } from '../js/ccf-crypto.js';
import { logLine } from './buffered-log.js';
import type { RsaKeyPairAnswer, RsaKeyPairRequest, RsaKeyPairWorkerData } from './rsa-key-pair-worker.js';

/** Pairs kept ready per shape: a burst of this many calls waits for none. */
const READY_PER_SHAPE = 4;
/** Shapes kept; past it the one used longest ago is dropped (an app asking for many sizes gets few ready). */
const SHAPES_MAX = 4;

interface Shape {
  bits: number;
  exponent: number;
  ready: PemKeyPair[];
}

interface KeyWorker {
  thread: Worker;
  port: MessagePort;
  /** How many answers the worker has sent (it counts after each). */
  answered: Int32Array;
}

const shapeKey = (bits: number, exponent: number) => `${bits}:${exponent}`;

export class RsaKeyPairPool implements RsaKeyPairSource {
  /** By `bits:exponent`, the shape used last at the end. */
  readonly #shapes = new Map<string, Shape>();
  readonly #waitMaxMs: number;
  #worker: KeyWorker | undefined;
  /** Whether the worker is making a pair. */
  #making = false;
  #stopped = false;

  /** `waitMaxMs`: the longest a call waits for a pair, whatever time it has left (the event loop waits with it). */
  constructor(waitMaxMs: number) {
    this.#waitMaxMs = waitMaxMs;
  }

  take(bits: number, exponent: number, waitMs: number): PemKeyPair | undefined {
    if (this.#stopped) return undefined;
    const key = shapeKey(bits, exponent);
    const shape = this.#shapes.get(key) ?? { bits, exponent, ready: [] };
    this.#shapes.delete(key);
    if (this.#shapes.size >= SHAPES_MAX) this.#shapes.delete(this.#shapes.keys().next().value!);
    this.#shapes.set(key, shape);
    this.#fill();
    const deadlineMs = performance.now() + Math.min(waitMs, this.#waitMaxMs);
    while (shape.ready.length === 0 && this.#worker !== undefined) {
      const { port, answered } = this.#worker;
      const seen = Atomics.load(answered, 0);
      for (let message = receiveMessageOnPort(port); message !== undefined; message = receiveMessageOnPort(port)) this.#accept(message.message as RsaKeyPairAnswer);
      if (shape.ready.length > 0) break;
      const leftMs = deadlineMs - performance.now();
      if (leftMs <= 0 || Atomics.wait(answered, 0, seen, leftMs) === 'timed-out') break;
    }
    const pair = shape.ready.shift();
    this.#fill();
    return pair;
  }

  prepare(bits: number, exponent: number): void {
    if (this.#stopped) return;
    const key = shapeKey(bits, exponent);
    if (this.#shapes.has(key)) return;
    if (this.#shapes.size >= SHAPES_MAX) return; // shapes in use come first
    this.#shapes.set(key, { bits, exponent, ready: [] });
    this.#fill();
  }

  /** How many pairs are ready for this shape now. */
  readyCount(bits: number, exponent: number): number {
    return this.#shapes.get(shapeKey(bits, exponent))?.ready.length ?? 0;
  }

  /** Drops the pairs at hand and stops the worker. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#shapes.clear();
    const worker = this.#worker;
    this.#worker = undefined;
    worker?.port.close();
    await worker?.thread.terminate();
  }

  /** Asks for the next pair, for the shape used most recently that lacks some, unless one is being made. */
  #fill(): void {
    if (this.#making || this.#stopped) return;
    const shape = [...this.#shapes.values()].reverse().find((s) => s.ready.length < READY_PER_SHAPE);
    if (shape === undefined) return;
    const worker = this.#start();
    this.#making = true;
    const request: RsaKeyPairRequest = { bits: shape.bits, exponent: shape.exponent };
    worker.thread.postMessage(request);
  }

  #accept(answer: RsaKeyPairAnswer): void {
    this.#making = false;
    const shape = this.#shapes.get(shapeKey(answer.bits, answer.exponent));
    // A failure (none is expected for a shape ccf-crypto accepted) is said once per pair asked for.
    if (answer.error !== undefined) logLine('warn', `coco node: making a ${answer.bits}-bit RSA key pair failed: ${answer.error}`);
    else if (shape !== undefined && answer.pair !== undefined) shape.ready.push(answer.pair);
    if (answer.error === undefined) this.#fill();
  }

  #start(): KeyWorker {
    if (this.#worker !== undefined) return this.#worker;
    const { port1, port2 } = new MessageChannel();
    const data: RsaKeyPairWorkerData = { port: port2, answered: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT) };
    const thread = new Worker(new URL('./rsa-key-pair-worker.js', import.meta.url), { workerData: data, transferList: [port2] });
    thread.unref();
    port1.on('message', (answer: RsaKeyPairAnswer) => this.#accept(answer));
    port1.unref();
    thread.on('error', (error) => {
      logLine('warn', `coco node: the RSA key pair worker failed (${error.message}); generateRsaKeyPair fails until the node restarts`);
      this.#worker = undefined;
      this.#stopped = true;
    });
    this.#worker = { thread, port: port1, answered: new Int32Array(data.answered) };
    return this.#worker;
  }
}
