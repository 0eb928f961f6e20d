// Why a call straight to a precompile failed, in geth's words (core/vm/contracts.go and the curve
// and KZG libraries behind it): geth answers eth_call and eth_estimateGas with that message as a
// -32000 error, and tools show it. EthereumJS names most of these failures otherwise, and the BN254
// ones 'revert', which reads as a revert that never happened. The reason is worked out from the
// input, checked the way and in the order geth checks it, once EthereumJS has found the call failed.

import { bytesToBigInt } from '@ethereumjs/util';
import { bn254 } from '@noble/curves/bn254.js';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { sha256 } from '../crypto/hash.js';

const OUT_OF_GAS = 'out of gas';
const INVALID_INPUT_LENGTH = 'invalid input length';
const FP_ENCODING = 'invalid fp.Element encoding';

/** `size` bytes of `data` from `start`, zero-padded at the end as geth's getData does. */
function slice(data: Uint8Array, start: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  if (start < data.length) out.set(data.subarray(start, Math.min(data.length, start + size)));
  return out;
}

const isZero = (bytes: Uint8Array): boolean => bytes.every((byte) => byte === 0);

/** The first reason of `checks` (run in order, each only if those before found nothing). */
function first(...checks: (() => string | undefined)[]): string | undefined {
  for (const check of checks) {
    const reason = check();
    if (reason !== undefined) return reason;
  }
  return undefined;
}

// BN254 (0x06 to 0x08): geth's gnark-crypto decoding of 32-byte big-endian coordinates.
const BN = { Fp: bn254.fields.Fp, Fp2: bn254.fields.Fp2, G2: bn254.G2.Point };

function bn254G1(bytes: Uint8Array): string | undefined {
  if (isZero(bytes)) return undefined;
  const [x, y] = [bytesToBigInt(bytes.subarray(0, 32)), bytesToBigInt(bytes.subarray(32, 64))];
  if (x >= BN.Fp.ORDER || y >= BN.Fp.ORDER) return FP_ENCODING;
  const { Fp } = BN;
  return Fp.eql(Fp.sqr(y), Fp.add(Fp.mul(Fp.sqr(x), x), 3n)) ? undefined : 'point is not on curve';
}

/** A G2 point: x's imaginary part, its real part, then y's, 32 bytes each. */
function bn254G2(bytes: Uint8Array): string | undefined {
  if (isZero(bytes)) return undefined;
  const [x1, x0, y1, y0] = [0, 32, 64, 96].map((at) => bytesToBigInt(bytes.subarray(at, at + 32))) as [bigint, bigint, bigint, bigint];
  if ([x1, x0, y1, y0].some((c) => c >= BN.Fp.ORDER)) return FP_ENCODING;
  const { Fp2, G2 } = BN;
  const x = Fp2.create({ c0: x0, c1: x1 });
  const y = Fp2.create({ c0: y0, c1: y1 });
  if (!Fp2.eql(Fp2.sqr(y), Fp2.add(Fp2.mul(Fp2.sqr(x), x), G2.CURVE().b))) return 'point is not on curve';
  return G2.fromAffine({ x, y }).isTorsionFree() ? undefined : 'point is not in correct subgroup';
}

function bn254Pairing(data: Uint8Array): string | undefined {
  if (data.length % 192 !== 0) return 'bad elliptic curve pairing size';
  for (let at = 0; at < data.length; at += 192) {
    const reason = first(() => bn254G1(data.subarray(at, at + 64)), () => bn254G2(data.subarray(at + 64, at + 192)));
    if (reason !== undefined) return reason;
  }
  return undefined;
}

// BLS12-381 (EIP-2537, 0x0b to 0x11): 64-byte field elements, their top 16 bytes zero.
const BLS = { Fp: bls12_381.fields.Fp, Fp2: bls12_381.fields.Fp2, G1: bls12_381.G1.Point, G2: bls12_381.G2.Point };

/** A field element, or why geth refuses it. */
function blsFp(bytes: Uint8Array): bigint | string {
  if (!isZero(bytes.subarray(0, 16))) return 'invalid field element top bytes';
  const value = bytesToBigInt(bytes.subarray(16, 64));
  return value >= BLS.Fp.ORDER ? FP_ENCODING : value;
}

function blsFps(bytes: Uint8Array, count: number): bigint[] | string {
  const values: bigint[] = [];
  for (let i = 0; i < count; i++) {
    const value = blsFp(bytes.subarray(i * 64, i * 64 + 64));
    if (typeof value === 'string') return value;
    values.push(value);
  }
  return values;
}

const BLS_NOT_ON_CURVE = 'invalid point: not on curve';

/** A 128-byte G1 point (x, y); with `subgroup`, it must also be in the prime-order subgroup. */
function blsG1(bytes: Uint8Array, subgroup: boolean): string | undefined {
  const coordinates = blsFps(bytes, 2);
  if (typeof coordinates === 'string') return coordinates;
  const [x, y] = coordinates as [bigint, bigint];
  if (x === 0n && y === 0n) return undefined;
  const { Fp, G1 } = BLS;
  if (!Fp.eql(Fp.sqr(y), Fp.add(Fp.mul(Fp.sqr(x), x), G1.CURVE().b))) return BLS_NOT_ON_CURVE;
  return !subgroup || G1.fromAffine({ x, y }).isTorsionFree() ? undefined : 'g1 point is not on correct subgroup';
}

/** A 256-byte G2 point (x.c0, x.c1, y.c0, y.c1); with `subgroup`, it must also be in the prime-order subgroup. */
function blsG2(bytes: Uint8Array, subgroup: boolean): string | undefined {
  const coordinates = blsFps(bytes, 4);
  if (typeof coordinates === 'string') return coordinates;
  const [x0, x1, y0, y1] = coordinates as [bigint, bigint, bigint, bigint];
  if (x0 === 0n && x1 === 0n && y0 === 0n && y1 === 0n) return undefined;
  const { Fp2, G2 } = BLS;
  const x = Fp2.create({ c0: x0, c1: x1 });
  const y = Fp2.create({ c0: y0, c1: y1 });
  if (!Fp2.eql(Fp2.sqr(y), Fp2.add(Fp2.mul(Fp2.sqr(x), x), G2.CURVE().b))) return BLS_NOT_ON_CURVE;
  return !subgroup || G2.fromAffine({ x, y }).isTorsionFree() ? undefined : 'g2 point is not on correct subgroup';
}

/** Inputs of `size`-byte items, at least one (`exact`: exactly one), each checked by `item`. */
function blsItems(data: Uint8Array, size: number, exact: boolean, item: (bytes: Uint8Array) => string | undefined): string | undefined {
  if (exact ? data.length !== size : data.length === 0 || data.length % size !== 0) return INVALID_INPUT_LENGTH;
  for (let at = 0; at < data.length; at += size) {
    const reason = item(data.subarray(at, at + size));
    if (reason !== undefined) return reason;
  }
  return undefined;
}

const fpOnly = (count: number) => (bytes: Uint8Array): string | undefined => {
  const values = blsFps(bytes, count);
  return typeof values === 'string' ? values : undefined;
};

// The point evaluation precompile (0x0a): geth checks with go-kzg-4844, and says why a proof fails.
const KZG_SCALAR_ORDER = bls12_381.fields.Fr.ORDER;

/** Why a 48-byte compressed G1 point (a KZG commitment or proof) does not decode to a subgroup point. */
function kzgPoint(bytes: Uint8Array): string | undefined {
  const flags = bytes[0]! & 0xe0;
  if (flags === 0x00 || flags === 0x40) return 'short buffer';
  if (flags === 0xc0) return (bytes[0]! & 0x1f) === 0 && isZero(bytes.subarray(1)) ? undefined : 'invalid infinity point encoding';
  if (flags !== 0x80 && flags !== 0xa0) return 'invalid point encoding';
  const x = bytesToBigInt(Uint8Array.of(bytes[0]! & 0x1f, ...bytes.subarray(1)));
  const { Fp, G1 } = BLS;
  if (x >= Fp.ORDER) return FP_ENCODING;
  let y: bigint;
  try {
    y = Fp.sqrt(Fp.add(Fp.mul(Fp.sqr(x), x), G1.CURVE().b));
  } catch {
    return "invalid compressed coordinate: square root doesn't exist";
  }
  return G1.fromAffine({ x, y }).isTorsionFree() ? undefined : 'invalid point: subgroup check failed';
}

function pointEvaluation(data: Uint8Array): string {
  if (data.length !== 192) return INVALID_INPUT_LENGTH;
  const versionedHash = sha256(data.subarray(96, 144));
  versionedHash[0] = 0x01;
  if (!versionedHash.every((byte, i) => byte === data[i])) return 'mismatched versioned hash';
  const scalars = [data.subarray(32, 64), data.subarray(64, 96)].map((scalar) => bytesToBigInt(scalar));
  const reason = scalars.some((scalar) => scalar >= KZG_SCALAR_ORDER)
    ? 'scalar is not canonical when interpreted as a big integer in big-endian'
    : (kzgPoint(data.subarray(96, 144)) ?? kzgPoint(data.subarray(144, 192)) ?? "can't verify opening proof");
  return `error verifying kzg proof: ${reason}`;
}

// MODEXP (0x05): Osaka's bounds (EIP-7823), checked after its gas (EIP-7883) is paid.
const MODEXP_LENGTH_MAX = 1024n;

/** The gas MODEXP asks for `data` under EIP-7883, as geth computes it (lengths past 32 bits: more than any call has). */
function modexpGas(data: Uint8Array): bigint {
  const [baseLength, exponentLength, modulusLength] = [0, 32, 64].map((at) => bytesToBigInt(slice(data, at, 32))) as [bigint, bigint, bigint];
  if (baseLength > 0xffffffffn || modulusLength > 0xffffffffn || exponentLength > 0xffffffffn) return 2n ** 64n - 1n;
  const headLength = exponentLength < 32n ? exponentLength : 32n;
  const head = bytesToBigInt(slice(data, 96 + Number(baseLength), Number(headLength)));
  const headBits = head === 0n ? 0n : BigInt(head.toString(2).length) - 1n;
  const iterations = 16n * (exponentLength - headLength) + headBits;
  const longest = baseLength > modulusLength ? baseLength : modulusLength;
  const words = (longest + 7n) / 8n;
  const complexity = longest > 32n ? 2n * words * words : 16n;
  const gas = complexity * (iterations > 1n ? iterations : 1n);
  return gas > 500n ? gas : 500n;
}

function modexpBounds(data: Uint8Array): string | undefined {
  const names = ['base', 'exponent', 'modulus'];
  const index = [0, 32, 64].findIndex((at) => bytesToBigInt(slice(data, at, 32)) > MODEXP_LENGTH_MAX);
  return index < 0 ? undefined : `${names[index]} length is too large`;
}

/** By precompile address (its last byte): why geth refuses `data`, once EthereumJS did. */
const REASONS: ReadonlyMap<number, (data: Uint8Array) => string | undefined> = new Map([
  [0x05, modexpBounds],
  [0x06, (data: Uint8Array) => first(() => bn254G1(slice(data, 0, 64)), () => bn254G1(slice(data, 64, 64)))],
  [0x07, (data: Uint8Array) => bn254G1(slice(data, 0, 64))],
  [0x08, bn254Pairing],
  [0x09, (data: Uint8Array) => (data.length !== 213 ? INVALID_INPUT_LENGTH : data[212]! > 1 ? 'invalid final flag' : undefined)],
  [0x0a, pointEvaluation],
  [0x0b, (data: Uint8Array) => (data.length !== 256 ? INVALID_INPUT_LENGTH : first(() => blsG1(data.subarray(0, 128), false), () => blsG1(data.subarray(128), false)))],
  [0x0c, (data: Uint8Array) => blsItems(data, 160, false, (pair) => blsG1(pair.subarray(0, 128), true))],
  [0x0d, (data: Uint8Array) => (data.length !== 512 ? INVALID_INPUT_LENGTH : first(() => blsG2(data.subarray(0, 256), false), () => blsG2(data.subarray(256), false)))],
  [0x0e, (data: Uint8Array) => blsItems(data, 288, false, (pair) => blsG2(pair.subarray(0, 256), true))],
  [0x0f, (data: Uint8Array) => blsItems(data, 384, false, (pair) => first(
    () => blsG1(pair.subarray(0, 128), false),
    () => blsG2(pair.subarray(128), false),
    () => blsG1(pair.subarray(0, 128), true),
    () => blsG2(pair.subarray(128), true),
  ))],
  [0x10, (data: Uint8Array) => blsItems(data, 64, true, fpOnly(1))],
  [0x11, (data: Uint8Array) => blsItems(data, 128, true, fpOnly(2))],
]);

/** The precompile at `address` (0x01 to 0x11 as 20 bytes), or undefined for any other address. */
function precompileNumber(address: Uint8Array): number | undefined {
  if (address.length !== 20 || !isZero(address.subarray(0, 19))) return undefined;
  return address[19];
}

/**
 * geth's error for a call made straight to the precompile at `to` with `data` that EthereumJS failed
 * with `error`, `gas` being what the precompile was given; undefined when `to` is no precompile that
 * geth words otherwise. Out of gas stays out of gas, except where geth first finds MODEXP's lengths
 * past Osaka's bounds, once the gas they cost is paid.
 */
export function precompileFailure(to: Uint8Array, data: Uint8Array, error: string, gas: bigint): string | undefined {
  const number = precompileNumber(to);
  const reasons = number === undefined ? undefined : REASONS.get(number);
  if (reasons === undefined) return undefined;
  if (error === OUT_OF_GAS) return number === 0x05 && modexpGas(data) <= gas ? modexpBounds(data) : undefined;
  // Both follow the EIPs, so geth finds a reason wherever EthereumJS failed; should they ever differ,
  // EthereumJS's word is kept, but never 'revert': a precompile does not revert.
  return reasons(data) ?? (error === 'revert' ? 'the precompile refused its input' : error);
}
