// Key pairs and signatures for the curves CCF uses: ECDSA P-256 / P-384 / P-521 (ES256 / ES384 /
// ES512) and Ed25519. Messages are signed with node:crypto; pre-hashed digests (CCF's signed Merkle
// root) with @noble/curves, since node:crypto always hashes. Verification never throws for bad
// signature bytes, only for an unusable key, and caches parsed public keys per PEM so repeated
// checks stay cheap.

import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import type { ECDSA, WeierstrassPoint } from '@noble/curves/abstract/weierstrass.js';
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { CocoError } from '../errors.js';
import { concatBytes, plainBytes } from './bytes.js';
import { createEcdsaNonce, isEcdsaCurve, OPENSSL_CURVE_NAMES, signWithNonce, type EcdsaCurve, type EcdsaNonce } from './ecdsa-nonce.js';

export type CurveName = 'P-256' | 'P-384' | 'P-521' | 'Ed25519';
export type SignatureFormat = 'der' | 'ieee-p1363';

export interface KeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

/** Distinct public keys kept parsed; a ledger is signed by a handful of node keys. */
export const PUBLIC_KEY_CACHE_ENTRIES_MAX = 64;
/** A key verified this often gets precomputed multiples (costs about 8 verifications, then ~2-3x faster). */
export const DIGEST_VERIFY_PRECOMPUTE_AFTER_USES = 4;
/** Digests accepted by signDigest/verifyDigest: SHA-256 to SHA-512 output lengths. */
export const DIGEST_BYTES_MIN = 32;
export const DIGEST_BYTES_MAX = 64;

const PRECOMPUTE_WINDOW_BITS = 6;
const ED25519_SIGNATURE_BYTES = 64;

interface CurveSpec {
  /** node:crypto digest for message signing (COSE ES256 / ES384 / ES512), null for EdDSA. */
  hash: 'sha256' | 'sha384' | 'sha512' | null;
  /** noble ECDSA for digest signing, absent for Ed25519. */
  ecdsa?: ECDSA;
  generate: () => { privateKey: string; publicKey: string };
}

const SPKI_PEM = { type: 'spki', format: 'pem' } as const;
const PKCS8_PEM = { type: 'pkcs8', format: 'pem' } as const;

/** An ECDSA curve hashes messages with the SHA-2 of its size, as its COSE algorithm does (RFC 9053). */
function ecdsaCurve(curve: EcdsaCurve, hash: 'sha256' | 'sha384' | 'sha512', ecdsa: ECDSA): CurveSpec {
  return { hash, ecdsa, generate: () => generateKeyPairSync('ec', { namedCurve: OPENSSL_CURVE_NAMES[curve], publicKeyEncoding: SPKI_PEM, privateKeyEncoding: PKCS8_PEM }) };
}

/**
 * The curves Coco signs and verifies with. The algorithm tables of COSE (cose-sign1) and X.509
 * (x509) are keyed by CurveName, so a curve added here cannot be left without its algorithms there.
 */
const CURVES: Record<CurveName, CurveSpec> = {
  'P-256': ecdsaCurve('P-256', 'sha256', p256),
  'P-384': ecdsaCurve('P-384', 'sha384', p384),
  'P-521': ecdsaCurve('P-521', 'sha512', p521),
  Ed25519: {
    hash: null,
    generate: () => generateKeyPairSync('ed25519', { publicKeyEncoding: SPKI_PEM, privateKeyEncoding: PKCS8_PEM }),
  },
};

/** Every curve, in the table's order. */
export const CURVE_NAMES = Object.keys(CURVES) as readonly CurveName[];

const NAMED_CURVES: Record<string, CurveName> = Object.fromEntries(Object.entries(OPENSSL_CURVE_NAMES).map(([curve, name]) => [name, curve as CurveName]));

interface PublicKeyEntry {
  key: KeyObject;
  curve: CurveName;
  /** Parsed lazily on the first digest verification. */
  point?: WeierstrassPoint<bigint>;
  digestVerifications: number;
}

/** Insertion-ordered map used as an LRU: a hit moves the entry to the end. */
const publicKeyCache = new Map<string, PublicKeyEntry>();

export function generateKeyPair(curve: CurveName): KeyPair {
  const { privateKey, publicKey } = curveSpec(curve).generate();
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/** The curve of a private key, public key or certificate PEM. */
export function curveOf(keyPem: string): CurveName {
  return publicKeyEntry(keyPem).curve;
}

/** SPKI DER of a public key PEM, private key PEM or certificate PEM. */
export function publicKeyDer(pem: string): Uint8Array {
  return plainBytes(publicKeyEntry(pem).key.export({ type: 'spki', format: 'der' }));
}

/**
 * A private key parsed once, for a signer that signs often (a node signs its ledger every few
 * milliseconds): parsing a PEM costs more than an OpenSSL signature.
 */
export interface PrivateSigningKey {
  readonly key: KeyObject;
  readonly curve: CurveName;
  /** The ECDSA scalar, extracted on the first digest signature and kept with the key. */
  secret?: Uint8Array;
}

export function loadPrivateKey(privateKeyPem: string): PrivateSigningKey {
  const key = privateKeyObject(privateKeyPem);
  return { key, curve: curveOfKey(key) };
}

function signingKey(privateKey: string | PrivateSigningKey): PrivateSigningKey {
  return typeof privateKey === 'string' ? loadPrivateKey(privateKey) : privateKey;
}

/**
 * Signs `data`, hashing it with SHA-256 (P-256), SHA-384 (P-384) or SHA-512 (P-521); Ed25519 signs it whole. With a
 * prepared `nonce` of the key's curve, an ECDSA signature costs two multiplications (see ecdsa-nonce).
 */
export function sign(privateKey: string | PrivateSigningKey, data: Uint8Array, format: SignatureFormat = 'der', nonce?: EcdsaNonce): Uint8Array {
  checkFormat(format);
  const loaded = signingKey(privateKey);
  const { hash } = curveSpec(loaded.curve);
  if (nonce !== undefined && hash !== null && typeof privateKey !== 'string') {
    const signature = signDigestWithNonce(loaded, plainBytes(createHash(hash).update(data).digest()), format, nonce);
    if (signature !== undefined) return signature;
  }
  return plainBytes(nodeSign(hash, data, { key: loaded.key, dsaEncoding: format }));
}

export function verify(
  keyOrCertPem: string,
  data: Uint8Array,
  signature: Uint8Array,
  format: SignatureFormat = 'der',
): boolean {
  checkFormat(format);
  const { key, curve } = publicKeyEntry(keyOrCertPem);
  try {
    return nodeVerify(curveSpec(curve).hash, data, { key, dsaEncoding: format }, signature);
  } catch {
    return false; // OpenSSL rejects some malformed encodings by throwing rather than returning false
  }
}

/**
 * ECDSA over `digest` as the message hash, not hashed again: how CCF signs its Merkle root (the
 * 32-byte SHA-256 root is the digest, whatever the curve). Interoperates with OpenSSL's pkeyutl.
 */
export function signDigest(privateKey: string | PrivateSigningKey, digest: Uint8Array, format: SignatureFormat = 'der', nonce?: EcdsaNonce): Uint8Array {
  checkDigest(digest);
  const loaded = signingKey(privateKey);
  const ecdsa = ecdsaOf(loaded.curve);
  if (nonce !== undefined && typeof privateKey !== 'string') {
    const signature = signDigestWithNonce(loaded, digest, format, nonce);
    if (signature !== undefined) return signature;
  }
  // A key loaded once keeps its scalar; a PEM passed per call has it extracted and wiped each time.
  const secretKey = secretOf(loaded);
  try {
    // Without a prepared nonce, one made now: k·G by OpenSSL, not by noble's signer, whose first
    // signature in a process builds its base-point tables (~0.5 s of P-384 on the event loop: a
    // new primary's first signature stalled it so).
    const scalar = bytesToNumberBE(secretKey);
    const z = digestToInteger(digest, ecdsa.Point.Fn.BITS);
    let signature: { r: bigint; s: bigint } | undefined;
    while (signature === undefined) signature = signWithNonce(createEcdsaNonce(loaded.curve as EcdsaCurve), scalar, z);
    return new ecdsa.Signature(signature.r, signature.s).toBytes(nobleFormat(format));
  } finally {
    if (typeof privateKey === 'string') secretKey.fill(0);
    else privateKey.secret = secretKey;
  }
}

/** The ECDSA scalar of a key, extracted once and kept with it. */
function secretOf(loaded: PrivateSigningKey): Uint8Array {
  return loaded.secret ?? base64UrlBytes(loaded.key.export({ format: 'jwk' }).d);
}

/** For a key loaded once (it keeps its scalar). Undefined when the nonce cannot sign (another curve, or s = 0): sign whole. */
function signDigestWithNonce(loaded: PrivateSigningKey, digest: Uint8Array, format: SignatureFormat, nonce: EcdsaNonce): Uint8Array | undefined {
  if (nonce.curve !== loaded.curve) return undefined;
  const ecdsa = ecdsaOf(loaded.curve);
  loaded.secret = secretOf(loaded);
  const signature = signWithNonce(nonce, bytesToNumberBE(loaded.secret), digestToInteger(digest, ecdsa.Point.Fn.BITS));
  return signature === undefined ? undefined : new ecdsa.Signature(signature.r, signature.s).toBytes(nobleFormat(format));
}

/** Verifies an ECDSA signature whose message hash is `digest` itself (see signDigest). */
export function verifyDigest(
  keyOrCertPem: string,
  digest: Uint8Array,
  signature: Uint8Array,
  format: SignatureFormat = 'der',
): boolean {
  checkDigest(digest);
  const signatureFormat = nobleFormat(format);
  const entry = publicKeyEntry(keyOrCertPem);
  const ecdsa = ecdsaOf(entry.curve);
  const { Point } = ecdsa;
  const { Fn } = Point;
  let r: bigint;
  let s: bigint;
  try {
    // Range-checks r and s to [1, n-1] and requires strict DER / exact-length P1363.
    ({ r, s } = ecdsa.Signature.fromBytes(signature, signatureFormat));
  } catch {
    return false;
  }
  const point = digestVerificationPoint(entry, ecdsa);
  // SEC 1 v2 §4.1.4 over a cached (and, for hot keys, precomputed) public point; noble's own verify
  // takes the key as bytes and re-derives the point each call, which is ~3x slower for hot keys.
  const e = Fn.create(digestToInteger(digest, Fn.BITS));
  const sInverse = Fn.inv(s);
  const R = Point.BASE.multiplyUnsafe(Fn.mul(e, sInverse)).add(point.multiplyUnsafe(Fn.mul(r, sInverse)));
  if (R.is0()) return false;
  return Fn.create(R.toAffine().x) === r;
}

/** Converts a DER ECDSA signature to raw r‖s (IEEE P1363); Ed25519 signatures are raw already. */
export function derSignatureToP1363(der: Uint8Array, curve: CurveName): Uint8Array {
  return convertSignature(der, curve, 'der', 'compact');
}

/** Converts a raw r‖s (IEEE P1363) ECDSA signature to DER; Ed25519 signatures are returned as they are. */
export function p1363SignatureToDer(raw: Uint8Array, curve: CurveName): Uint8Array {
  return convertSignature(raw, curve, 'compact', 'der');
}

function convertSignature(
  signature: Uint8Array,
  curve: CurveName,
  from: 'der' | 'compact',
  to: 'der' | 'compact',
): Uint8Array {
  const { ecdsa } = curveSpec(curve);
  if (ecdsa === undefined) {
    if (signature.length !== ED25519_SIGNATURE_BYTES) {
      throw new CocoError('InvalidSignature', `an Ed25519 signature is ${ED25519_SIGNATURE_BYTES} bytes, got ${signature.length}`);
    }
    return signature.slice();
  }
  try {
    return ecdsa.Signature.fromBytes(signature, from).toBytes(to);
  } catch (cause) {
    const expected = from === 'der' ? 'a DER ECDSA signature' : `${2 * ecdsa.Point.Fn.BYTES} bytes of r‖s`;
    throw new CocoError('InvalidSignature', `expected ${expected} for ${curve}, got ${signature.length} malformed bytes`, { cause });
  }
}

function publicKeyEntry(pem: string): PublicKeyEntry {
  const cached = publicKeyCache.get(pem);
  if (cached !== undefined) {
    publicKeyCache.delete(pem);
    publicKeyCache.set(pem, cached);
    return cached;
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem); // accepts SPKI, private key and certificate PEM alike
  } catch (cause) {
    throw new CocoError('InvalidKey', 'expected a PEM public key, private key or certificate that node:crypto can parse', { cause });
  }
  const entry: PublicKeyEntry = { key, curve: curveOfKey(key), digestVerifications: 0 };
  // Never keep private key text alive in a long-lived cache.
  if (!pem.includes('PRIVATE KEY-----')) {
    if (publicKeyCache.size >= PUBLIC_KEY_CACHE_ENTRIES_MAX) {
      const oldest = publicKeyCache.keys().next();
      if (!oldest.done) publicKeyCache.delete(oldest.value);
    }
    publicKeyCache.set(pem, entry);
  }
  return entry;
}

function digestVerificationPoint(entry: PublicKeyEntry, ecdsa: ECDSA): WeierstrassPoint<bigint> {
  if (entry.point === undefined) {
    const { x, y } = entry.key.export({ format: 'jwk' });
    entry.point = ecdsa.Point.fromBytes(concatBytes(Uint8Array.of(0x04), base64UrlBytes(x), base64UrlBytes(y)));
  }
  entry.digestVerifications++;
  if (entry.digestVerifications === DIGEST_VERIFY_PRECOMPUTE_AFTER_USES) {
    entry.point.precompute(PRECOMPUTE_WINDOW_BITS, false);
  }
  return entry.point;
}

/** `parse()`'s key, or InvalidKey saying what was expected and why node:crypto refused it. */
export function parsedKey(parse: () => KeyObject, expected: string): KeyObject {
  try {
    return parse();
  } catch (cause) {
    throw new CocoError('InvalidKey', `expected ${expected}: ${(cause as Error).message}`, { cause });
  }
}

function privateKeyObject(pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (cause) {
    throw new CocoError('InvalidKey', 'expected a PEM private key (PKCS#8 or SEC1) that node:crypto can parse', { cause });
  }
}

/** A key's curve, or its type as node:crypto names it (secp256k1, rsa) when it is on none of Coco's. */
function keyType(key: KeyObject): CurveName | string {
  if (key.asymmetricKeyType === 'ed25519') return 'Ed25519';
  const named = key.asymmetricKeyType === 'ec' ? NAMED_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''] : undefined;
  return named ?? key.asymmetricKeyDetails?.namedCurve ?? key.asymmetricKeyType ?? 'unknown';
}

function curveOfKey(key: KeyObject): CurveName {
  const type = keyType(key);
  if (!(CURVE_NAMES as readonly string[]).includes(type)) throw new CocoError('InvalidKey', `unsupported key type ${type}; use a key on one of ${CURVE_NAMES.join(', ')}`);
  return type as CurveName;
}

/** The type of a key or certificate's key, for messages: its curve, or what it is when Coco has no curve for it. */
export function keyTypeOf(keyOrCertPem: string): string {
  return keyType(parsedKey(() => createPublicKey(keyOrCertPem), 'a PEM public key, private key or certificate'));
}

function curveSpec(curve: CurveName): CurveSpec {
  const spec = CURVES[curve];
  if (spec === undefined) throw new CocoError('InvalidKey', `unknown curve ${JSON.stringify(curve)}; use one of ${CURVE_NAMES.join(', ')}`);
  return spec;
}

function ecdsaOf(curve: CurveName): ECDSA {
  const { ecdsa } = curveSpec(curve);
  if (ecdsa === undefined) {
    throw new CocoError('InvalidKey', `${curve} cannot sign a pre-hashed digest; use an ECDSA key (${CURVE_NAMES.filter(isEcdsaCurve).join(', ')})`);
  }
  return ecdsa;
}

function checkDigest(digest: Uint8Array): void {
  if (!(digest instanceof Uint8Array) || digest.length < DIGEST_BYTES_MIN || digest.length > DIGEST_BYTES_MAX) {
    throw new CocoError(
      'InvalidDigest',
      `a digest must be ${DIGEST_BYTES_MIN} to ${DIGEST_BYTES_MAX} bytes (a SHA-2 output), got ${describeLength(digest)}`,
    );
  }
}

function describeLength(value: unknown): string {
  return value instanceof Uint8Array ? `${value.length} bytes` : typeof value;
}

/** bits2int of SEC 1 / RFC 6979: the leftmost bit-length-of-n bits of the digest. */
function digestToInteger(digest: Uint8Array, orderBits: number): bigint {
  const excessBits = digest.length * 8 - orderBits;
  const value = bytesToNumberBE(digest);
  return excessBits > 0 ? value >> BigInt(excessBits) : value;
}

function base64UrlBytes(text: string | undefined): Uint8Array {
  if (text === undefined) throw new CocoError('InvalidKey', 'EC key export lacks a coordinate');
  return plainBytes(Buffer.from(text, 'base64url'));
}

function checkFormat(format: SignatureFormat): void {
  if (format !== 'der' && format !== 'ieee-p1363') {
    throw new CocoError('InvalidArgument', `signature format must be 'der' or 'ieee-p1363', got ${JSON.stringify(format)}`);
  }
}

function nobleFormat(format: SignatureFormat): 'der' | 'compact' {
  checkFormat(format);
  return format === 'der' ? 'der' : 'compact';
}
