// RSA key pairs for apps' `ccf.crypto.generateRsaKeyPair`, generated ahead of time on libuv's thread
// pool. Generated on the event loop, a 4096-bit pair holds it for 0.6-2 s on this kind of machine:
// longer than the default election timeout (1 s), so the backups hear no heartbeat and depose the
// primary. A shape (modulus size and exponent) gets pairs made ahead from its first use on (that
// first call still generates its own), and each pair taken is replaced. Pairs are made one at a
// time: the same thread pool makes the ledger durable, and an fsync must not wait behind keys.

import { generateKeyPair } from 'node:crypto';
import { rsaKeyPairOptions, type PemKeyPair, type RsaKeyPairSource } from '../js/ccf-crypto.js';

/** Pairs kept ready per shape: a burst of this many calls takes none of the event loop's time. */
const READY_PER_SHAPE = 4;
/** Shapes kept; past it the one used longest ago is dropped (an app asking for many sizes gets few ready). */
const SHAPES_MAX = 4;

interface Shape {
  bits: number;
  exponent: number;
  ready: PemKeyPair[];
}

export class RsaKeyPairPool implements RsaKeyPairSource {
  /** By `bits:exponent`, the shape used last at the end. */
  readonly #shapes = new Map<string, Shape>();
  #generating = false;
  #stopped = false;

  take(bits: number, exponent: number): PemKeyPair | undefined {
    const key = `${bits}:${exponent}`;
    const shape = this.#shapes.get(key) ?? { bits, exponent, ready: [] };
    this.#shapes.delete(key);
    if (this.#shapes.size >= SHAPES_MAX) this.#shapes.delete(this.#shapes.keys().next().value!);
    this.#shapes.set(key, shape);
    const pair = shape.ready.shift();
    this.#fill();
    return pair;
  }

  /** How many pairs are ready for this shape now. */
  readyCount(bits: number, exponent: number): number {
    return this.#shapes.get(`${bits}:${exponent}`)?.ready.length ?? 0;
  }

  /** Drops the pairs at hand; a generation still running is discarded when it ends. */
  stop(): void {
    this.#stopped = true;
    this.#shapes.clear();
  }

  /** Starts the next pair, for the shape used most recently that lacks some, unless one is under way. */
  #fill(): void {
    if (this.#generating || this.#stopped) return;
    const shape = [...this.#shapes.values()].reverse().find((s) => s.ready.length < READY_PER_SHAPE);
    if (shape === undefined) return;
    this.#generating = true;
    generateKeyPair('rsa', rsaKeyPairOptions(shape.bits, shape.exponent), (error, publicKey, privateKey) => {
      this.#generating = false;
      // A failure (none is expected for a shape ccf-crypto accepted) leaves calls generating their own.
      if (error !== null) return;
      if (this.#shapes.get(`${shape.bits}:${shape.exponent}`) === shape) shape.ready.push({ publicKey, privateKey });
      this.#fill();
    });
  }
}
