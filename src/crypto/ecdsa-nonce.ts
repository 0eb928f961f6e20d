// ECDSA in two halves. Almost all of a signature's cost is the nonce point k·G, which depends on
// neither the message nor the key; prepared ahead (on another thread), it leaves two
// multiplications modulo n for the signature itself. Each nonce is random, signs once, and is
// dropped: a nonce used twice would reveal the key.

import { createECDH, type ECDH } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import type { ECDSA } from '@noble/curves/abstract/weierstrass.js';
import { CocoError } from '../errors.js';

export type EcdsaCurve = 'P-256' | 'P-384' | 'P-521';

/** k⁻¹ and r = (k·G).x mod n for one random k; the signer's half of ECDSA without the message. */
export interface EcdsaNonce {
  readonly curve: EcdsaCurve;
  readonly r: bigint;
  readonly kInverse: bigint;
}

/** Where a signer takes prepared nonces from; undefined when none is ready (the signer then signs whole). */
export type EcdsaNonceSource = (curve: EcdsaCurve) => EcdsaNonce | undefined;

const ECDSA_OF: Record<EcdsaCurve, ECDSA> = { 'P-256': p256, 'P-384': p384, 'P-521': p521 };
/** The curves' names in OpenSSL (node:crypto's `namedCurve`). */
export const OPENSSL_CURVE_NAMES: Record<EcdsaCurve, string> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' };
const baseMultipliers = new Map<EcdsaCurve, ECDH>();

export function isEcdsaCurve(curve: string): curve is EcdsaCurve {
  return curve in ECDSA_OF;
}

/**
 * A fresh nonce from the CSPRNG: the costly half (one fixed-base multiplication and an inversion).
 * k·G is an ECDH public key: OpenSSL computes it natively, in half the time of BigInt arithmetic.
 */
export function createEcdsaNonce(curve: EcdsaCurve): EcdsaNonce {
  const { Point, utils } = ECDSA_OF[curve];
  const { Fn } = Point;
  let multiplier = baseMultipliers.get(curve);
  if (multiplier === undefined) baseMultipliers.set(curve, (multiplier = createECDH(OPENSSL_CURVE_NAMES[curve])));
  for (;;) {
    const kBytes = utils.randomSecretKey();
    multiplier.setPrivateKey(kBytes);
    // Uncompressed point: 0x04, then x and y of Fp's length each.
    const point = multiplier.getPublicKey();
    const x = Point.Fp.fromBytes(point.subarray(1, 1 + Point.Fp.BYTES));
    const r = Fn.create(x);
    if (r !== 0n) return { curve, r, kInverse: Fn.inv(Fn.fromBytes(kBytes)) };
  }
}

/**
 * s = k⁻¹(z + r·d) mod n, low-S as the whole signer produces; `z` is the digest as an integer
 * (already truncated to the order's bits). Undefined in the negligible case s = 0: sign whole then.
 */
export function signWithNonce(nonce: EcdsaNonce, secretScalar: bigint, z: bigint): { r: bigint; s: bigint } | undefined {
  const { Fn } = ECDSA_OF[nonce.curve].Point;
  if (!Fn.isValidNot0(secretScalar)) throw new CocoError('InvalidKey', 'the ECDSA private scalar is out of range');
  const s = Fn.mul(nonce.kInverse, Fn.add(Fn.create(z), Fn.mul(nonce.r, secretScalar)));
  if (s === 0n) return undefined;
  return { r: nonce.r, s: s > Fn.ORDER >> 1n ? Fn.neg(s) : s };
}
