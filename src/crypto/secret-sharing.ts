// Shamir secret sharing as CCF does it for recovery shares: over the prime field of the Mersenne
// prime 2^31 - 1, a secret of 10 limbs (10 independent degree-(k-1) polynomials, ~310 bits), share
// i at x = i (x = 0 is the secret itself, CCF's "full share"), each share serialised as 44 bytes
// (x then the 10 limbs, little-endian u32). The wrapping key is HKDF-SHA256 of the secret's limbs
// (CCF passes the limbs as both key material and info). JavaScript gives no constant-time
// guarantee for this arithmetic; the shares leave the node only encrypted to their members.

import { CocoError } from '../errors.js';
import { hkdfSha256 } from './kdf.js';
import { randomBytes } from './random.js';

const PRIME = 2n ** 31n - 1n;
export const SHARE_LIMBS = 10;
export const SHARE_BYTES = 4 + 4 * SHARE_LIMBS;
/** Most shares one polynomial gives: x must stay below the prime, and CCF caps members far lower. */
const SHARES_MAX = 255;

export interface Share {
  /** 0 for the secret (a full share), 1.. for a partial share. */
  x: number;
  y: number[];
}

/** A field element uniformly at random: 31 random bits, drawn again in the one case they equal the prime. */
function sample(): bigint {
  for (;;) {
    const bytes = randomBytes(4);
    const value = BigInt(((bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0) & 0x7fffffff);
    if (value !== PRIME) return value;
  }
}

function evaluate(coefficients: readonly bigint[], x: bigint): bigint {
  let y = 0n;
  for (let i = coefficients.length - 1; i >= 0; i--) y = (y * x + coefficients[i]!) % PRIME;
  return y;
}

function inverse(value: bigint): bigint {
  // Fermat: value^(p-2), the field being prime.
  let result = 1n;
  let base = value % PRIME;
  for (let exponent = PRIME - 2n; exponent > 0n; exponent >>= 1n) {
    if (exponent & 1n) result = (result * base) % PRIME;
    base = (base * base) % PRIME;
  }
  return result;
}

/** A fresh secret and `count` shares of it, any `threshold` of which recover it. */
export function sampleSecretAndShares(count: number, threshold: number): { secret: Share; shares: Share[] } {
  if (!Number.isInteger(count) || count < 1 || count > SHARES_MAX) throw new CocoError('InvalidArgument', `the number of shares must be 1 to ${SHARES_MAX}, not ${count}`);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > count) throw new CocoError('InvalidArgument', `the threshold must be 1 to the number of shares (${count}), not ${threshold}`);
  const secret: Share = { x: 0, y: [] };
  const shares: Share[] = Array.from({ length: count }, (_, i) => ({ x: i + 1, y: [] }));
  for (let limb = 0; limb < SHARE_LIMBS; limb++) {
    const coefficients = Array.from({ length: threshold }, sample);
    secret.y.push(Number(coefficients[0]!));
    for (const share of shares) share.y.push(Number(evaluate(coefficients, BigInt(share.x))));
  }
  return { secret, shares };
}

/** The secret from `threshold` (or more: the extra ones are ignored) shares with distinct x. */
export function recoverSecret(shares: readonly Share[], threshold: number): Share {
  if (shares.length < threshold) throw new CocoError('InvalidArgument', `${shares.length} shares cannot recover a secret that needs ${threshold}`);
  const used = shares.slice(0, threshold);
  const xs = used.map((share) => BigInt(share.x) % PRIME);
  const lagrange = xs.map((xi, i) => {
    let numerator = 1n;
    let denominator = 1n;
    xs.forEach((xj, j) => {
      if (i === j) return;
      numerator = (numerator * xj) % PRIME;
      denominator = (denominator * ((xj - xi + PRIME) % PRIME)) % PRIME;
    });
    if (denominator === 0n) throw new CocoError('InvalidArgument', 'two shares have the same x');
    return (numerator * inverse(denominator)) % PRIME;
  });
  const y = Array.from({ length: SHARE_LIMBS }, (_, limb) =>
    Number(used.reduce((sum, share, i) => (sum + lagrange[i]! * (BigInt(share.y[limb]!) % PRIME)) % PRIME, 0n)));
  return { x: 0, y };
}

export function encodeShare(share: Share): Uint8Array {
  const bytes = new Uint8Array(SHARE_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, share.x, true);
  share.y.forEach((limb, i) => view.setUint32(4 + 4 * i, limb, true));
  return bytes;
}

export function decodeShare(bytes: Uint8Array): Share {
  if (bytes.length !== SHARE_BYTES) throw new CocoError('InvalidArgument', `a share is ${SHARE_BYTES} bytes, not ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { x: view.getUint32(0, true), y: Array.from({ length: SHARE_LIMBS }, (_, i) => view.getUint32(4 + 4 * i, true)) };
}

/** The AES key a secret (x = 0) stands for. */
export function shareKey(secret: Share, length = 32): Uint8Array {
  if (secret.x !== 0) throw new CocoError('InvalidArgument', 'a key comes from the secret (x = 0), not from a partial share');
  const limbs = encodeShare(secret).subarray(4);
  return hkdfSha256(limbs, new Uint8Array(0), limbs, length);
}
