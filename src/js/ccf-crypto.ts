// The cryptography behind `ccf.crypto.*` as CCF's JS API (src/js/extensions/ccf/crypto.cpp)
// defines it: signatures (ECDSA in IEEE P1363 r||s form, RSA-PSS, EdDSA, HMAC; verified with SHA-256
// only, as in CCF), SHA-256 digests, key generation, key wrapping (RSA-OAEP with SHA-256, AES key wrap
// with padding, and the two combined), X.509 checks and JWK <-> PEM conversion. Plain functions over
// strings and bytes; node:crypto does the work.

import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as nodeSign,
  verify as nodeVerify,
  type JsonWebKey,
  type KeyObject,
  type RSAKeyPairOptions,
} from 'node:crypto';
import { CocoError, invariant } from '../errors.js';
import { concatBytes, fromHex, plainBytes, utf8 } from '../crypto/bytes.js';
import { sha256 } from '../crypto/hash.js';
import { splitPemBundle } from '../crypto/pem.js';
import { randomBytes } from '../crypto/random.js';
import { rsaOaepDecrypt, rsaOaepEncrypt } from '../crypto/rsa-oaep.js';
import { generateKeyPair as generateCurveKeyPair, parsedKey, type CurveName } from '../crypto/signing.js';
import { isReadableCertificate, isRootCaCertificate, parseCertificate, verifyCertificateChainToAny } from '../crypto/x509.js';

export interface SigningAlgorithm {
  name: string;
  hash?: string;
  saltLength?: number;
}

export interface PemKeyPair {
  privateKey: string;
  publicKey: string;
}

export interface WrapAlgorithm {
  name: string;
  label?: Uint8Array;
  /** RSA-OAEP-AES-KWP: bits of the temporary AES key. */
  aesKeySize?: number;
}

export type JwkKind = 'ec' | 'rsa' | 'eddsa';

/**
 * Smallest RSA modulus generated: OpenSSL's own minimum, as CCF hands the size to OpenSSL unchecked
 * (its docs advise 2048 and more, but 1024 or 512 work there, and apps may rely on it).
 */
export const RSA_MODULUS_BITS_MIN = 512;
/**
 * Largest RSA modulus generated, below what OpenSSL (and so CCF) would make: a pair is generated on
 * the node's event loop, outside the JS time limit, and a 4096-bit one takes up to 2 s already
 * (docs/js-isolation.md); 8192-bit ones took 22-143 s here, during which the backups would depose
 * the primary.
 */
export const RSA_MODULUS_BITS_MAX = 4096;
export const RSA_DEFAULT_EXPONENT = 65537;
const AES_KEY_BITS = [128, 192, 256];
/** RFC 5649's alternative initial value, the IV node's `id-aesNNN-wrap-pad` ciphers expect. */
const AES_KWP_IV = fromHex('a65959a6');

/** What CCF's sign accepts: these hashes, and the algorithms (EdDSA takes no hash). */
const SIGNING_HASHES: Record<string, string> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };
const SIGNING_ALGORITHMS = ['RSA-PSS', 'ECDSA', 'EdDSA', 'HMAC'];
/** What CCF's verifySignature accepts: RSASSA-PKCS1-v1_5 went in CCF 5 (PR #6415), other hashes never came. */
const VERIFYING_HASHES: Record<string, string> = { 'SHA-256': 'sha256' };
const VERIFYING_ALGORITHMS = ['RSA-PSS', 'ECDSA', 'EdDSA'];
/** The key types each asymmetric signature algorithm works with. */
const SIGNATURE_KEY_TYPES: Record<string, string[]> = { ECDSA: ['ec'], 'RSA-PSS': ['rsa', 'rsa-pss'], EdDSA: ['ed25519', 'ed448'] };

const SPKI_PEM = { type: 'spki', format: 'pem' } as const;
const PKCS8_PEM = { type: 'pkcs8', format: 'pem' } as const;

/**
 * The EC curves CCF 6 signs, verifies and converts with, by node's name, with their JWK names
 * (secp256k1 went in CCF 6, PR #6602; brainpool and the others it never knew).
 */
const EC_CURVES: Record<string, { jwkCurve: string; scalarBytes: number }> = {
  prime256v1: { jwkCurve: 'P-256', scalarBytes: 32 },
  secp384r1: { jwkCurve: 'P-384', scalarBytes: 48 },
  secp521r1: { jwkCurve: 'P-521', scalarBytes: 66 },
};
const EC_JWK_CURVES = Object.values(EC_CURVES).map((curve) => curve.jwkCurve);

/** CCF's curves for new key pairs. */
const ECDSA_CURVES: Record<string, () => PemKeyPair> = {
  secp256r1: () => fromCurveKeyPair('P-256'),
  secp384r1: () => fromCurveKeyPair('P-384'),
  secp521r1: () => fromCurveKeyPair('P-521'),
};

const EDDSA_CURVES: Record<string, () => PemKeyPair> = {
  curve25519: () => fromCurveKeyPair('Ed25519'),
  x25519: () => generateKeyPairSync('x25519', { publicKeyEncoding: SPKI_PEM, privateKeyEncoding: PKCS8_PEM }),
};

/** Which node key types each JWK family covers, and the JWK members in CCF's order. */
const JWK_KINDS: Record<JwkKind, { keyTypes: string[]; publicMembers: string[]; privateMembers: string[] }> = {
  ec: { keyTypes: ['ec'], publicMembers: ['crv', 'x', 'y'], privateMembers: ['d'] },
  rsa: { keyTypes: ['rsa'], publicMembers: ['n', 'e'], privateMembers: ['d', 'p', 'q', 'dp', 'dq', 'qi'] },
  eddsa: { keyTypes: ['ed25519', 'x25519'], publicMembers: ['crv', 'x'], privateMembers: ['d'] },
};

export function digest(algorithm: string, data: Uint8Array): Uint8Array {
  if (algorithm !== 'SHA-256') unsupported(`unsupported digest algorithm ${JSON.stringify(algorithm)}`, 'SHA-256');
  return sha256(data);
}

export function sign(algorithm: SigningAlgorithm, keyPem: string, data: Uint8Array): Uint8Array {
  // CCF's order of checks: the hash (EdDSA takes none), then the algorithm, then the key.
  if (algorithm.name === 'EdDSA') return plainBytes(nodeSign(null, data, signingKey(algorithm, keyPem)));
  const hash = hashOf(algorithm, SIGNING_HASHES, 'sign');
  checkAlgorithm(algorithm, SIGNING_ALGORITHMS);
  // CCF uses the key string's bytes as the HMAC key.
  if (algorithm.name === 'HMAC') return plainBytes(createHmac(hash, utf8(keyPem)).update(data).digest());
  return plainBytes(nodeSign(hash, data, { key: signingKey(algorithm, keyPem), ...signatureOptions(algorithm) }));
}

/** True if `signature` verifies; false for a wrong signature, an error for an unusable key or algorithm. */
export function verifySignature(algorithm: SigningAlgorithm, keyOrCertPem: string, signature: Uint8Array, data: Uint8Array): boolean {
  const hash = algorithm.name === 'EdDSA' ? null : hashOf(algorithm, VERIFYING_HASHES, 'verifySignature');
  checkAlgorithm(algorithm, VERIFYING_ALGORITHMS);
  // As CCF: a certificate only when the text starts as one, otherwise an SPKI public key; EdDSA,
  // which CCF verifies before it looks for a certificate, takes an SPKI key only.
  const key = keyOrCertPem.startsWith('-----BEGIN CERTIFICATE') && algorithm.name !== 'EdDSA'
    ? parsedKey(() => createPublicKey(parseCertificate(keyOrCertPem).publicKeyPem), 'a PEM certificate')
    : spkiPublicKey(keyOrCertPem);
  checkKeyFits(algorithm, key);
  const fitted = algorithm.name === 'ECDSA' ? p1363ForCurve(signature, key) : signature;
  if (fitted === undefined) return false;
  try {
    return nodeVerify(hash, data, { key, ...signatureOptions(algorithm) }, fitted);
  } catch {
    return false; // OpenSSL throws on some malformed signatures instead of returning false
  }
}

export function generateAesKey(bits: number): Uint8Array {
  if (!AES_KEY_BITS.includes(bits)) unsupported(`invalid key size ${bits} for AES`, '128, 192, 256');
  return randomBytes(bits / 8);
}

/** RSA key pairs made off the event loop: a pair of that shape, waiting up to `waitMs` for one; undefined when none came in time. */
export interface RsaKeyPairSource {
  take(bits: number, exponent: number, waitMs: number): PemKeyPair | undefined;
  /** Keeps pairs of this shape ready from now on, before any call asks for one. */
  prepare(bits: number, exponent: number): void;
}

/** The shape made ahead for an app that calls generateRsaKeyPair: CCF's tests and most apps ask for it. */
export const RSA_PREPARED_BITS = 2048;

/** node:crypto's options for an RSA key pair as `generateRsaKeyPair` returns it (SPKI and PKCS#8 PEM). */
export function rsaKeyPairOptions(bits: number, exponent: number): RSAKeyPairOptions<'pem', 'pem'> {
  return { modulusLength: bits, publicExponent: exponent, publicKeyEncoding: SPKI_PEM, privateKeyEncoding: PKCS8_PEM };
}

/**
 * A pair from `prepared`, which may wait up to `waitMs` for it, or, without a source, generated here
 * (up to seconds for 4096 bits: a node always has a source).
 */
export function generateRsaKeyPair(bits: number, exponent = RSA_DEFAULT_EXPONENT, prepared?: RsaKeyPairSource, waitMs = Infinity): PemKeyPair {
  // Past Coco's own bound, a RangeError; what OpenSSL refuses (too small, a bad exponent) fails as in CCF, which hands both to it.
  if (Number.isInteger(bits) && bits > RSA_MODULUS_BITS_MAX) {
    unsupported(`unsupported RSA modulus of ${bits} bits`, `a whole number of bits from ${RSA_MODULUS_BITS_MIN} to ${RSA_MODULUS_BITS_MAX} (2048 or more for security)`);
  }
  if (!Number.isInteger(bits) || bits < RSA_MODULUS_BITS_MIN) {
    throw new CocoError('InvalidArgument', `an RSA modulus of ${bits} bits is too small: OpenSSL makes ${RSA_MODULUS_BITS_MIN} bits or more (2048 or more for security)`);
  }
  if (!Number.isInteger(exponent) || exponent < 3 || exponent % 2 === 0 || exponent > 0xffffffff) {
    throw new CocoError('InvalidArgument', `the RSA public exponent ${exponent} is not an odd number from 3 to 2^32-1 (normally 65537)`);
  }
  if (prepared === undefined) return generateKeyPairSync('rsa', rsaKeyPairOptions(bits, exponent));
  const pair = prepared.take(bits, exponent, waitMs);
  if (pair === undefined) {
    throw new CocoError(
      'RsaKeyPairNotReady',
      `no ${bits}-bit RSA key pair with public exponent ${exponent} was ready, and making one takes longer than this call could wait ` +
        `(half of what is left of its time limit): this node is making one now, try again shortly`,
    );
  }
  return pair;
}

export function generateEcdsaKeyPair(curve: string): PemKeyPair {
  const generate = ECDSA_CURVES[curve];
  if (generate === undefined) unsupported(`Unsupported curve id ${JSON.stringify(curve)} for ECDSA`, Object.keys(ECDSA_CURVES).join(', '));
  return generate();
}

export function generateEddsaKeyPair(curve: string): PemKeyPair {
  const generate = EDDSA_CURVES[curve];
  if (generate === undefined) unsupported(`Unsupported curve id ${JSON.stringify(curve)} for EdDSA`, Object.keys(EDDSA_CURVES).join(', '));
  return generate();
}

/**
 * Wraps `key` with `wrappingKey`: RSA-OAEP (wrappingKey = PEM of an RSA public key), AES-KWP
 * (wrappingKey = raw AES key), or RSA-OAEP-AES-KWP (a fresh AES key wrapped with RSA-OAEP, followed
 * by `key` wrapped with that AES key).
 */
export function wrapKey(key: Uint8Array, wrappingKey: Uint8Array, algorithm: WrapAlgorithm): Uint8Array {
  switch (algorithm.name) {
    case 'RSA-OAEP':
      return rsaOaepWrap(key, wrappingKey, algorithm.label);
    case 'AES-KWP':
      return aesKwp(key, wrappingKey, 'wrap');
    case 'RSA-OAEP-AES-KWP': {
      // A failure to wrap, not an unsupported algorithm: CCF makes the AES key inside its wrapping.
      if (!AES_KEY_BITS.includes(algorithm.aesKeySize ?? 0)) {
        throw new CocoError('InvalidArgument', `RSA-OAEP-AES-KWP needs aesKeySize 128, 192 or 256, got ${algorithm.aesKeySize ?? 'none'}`);
      }
      const aesKey = generateAesKey(algorithm.aesKeySize ?? 0);
      return concatBytes(rsaOaepWrap(aesKey, wrappingKey, algorithm.label), aesKwp(key, aesKey, 'wrap'));
    }
    default:
      return unsupported(`unsupported key wrapping algorithm ${JSON.stringify(algorithm.name)}`, 'RSA-OAEP, AES-KWP, RSA-OAEP-AES-KWP');
  }
}

/** The inverse of wrapKey; `unwrappingKey` is the RSA private key PEM or the raw AES key. */
export function unwrapKey(wrapped: Uint8Array, unwrappingKey: Uint8Array, algorithm: WrapAlgorithm): Uint8Array {
  switch (algorithm.name) {
    case 'RSA-OAEP':
      return rsaOaepUnwrap(wrapped, unwrappingKey, algorithm.label);
    case 'AES-KWP':
      return aesKwp(wrapped, unwrappingKey, 'unwrap');
    case 'RSA-OAEP-AES-KWP': {
      const privateKey = parsedKey(() => createPrivateKey(Buffer.from(unwrappingKey)), 'a PEM RSA private key');
      const split = (privateKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
      if (split === 0 || wrapped.length <= split) {
        throw new CocoError('InvalidArgument', 'RSA-OAEP-AES-KWP: the wrapped key is shorter than the RSA modulus');
      }
      const aesKey = rsaOaepUnwrap(wrapped.subarray(0, split), unwrappingKey, algorithm.label);
      return aesKwp(wrapped.subarray(split), aesKey, 'unwrap');
    }
    default:
      return unsupported(`unsupported key unwrapping algorithm ${JSON.stringify(algorithm.name)}`, 'RSA-OAEP, AES-KWP, RSA-OAEP-AES-KWP');
  }
}

/** True if `pem` holds one or more certificates and nothing else that fails to parse. */
export function isValidX509CertBundle(pem: string): boolean {
  try {
    const certificates = splitPemBundle(pem);
    return certificates.length > 0 && certificates.every(isReadableCertificate);
  } catch {
    return false;
  }
}

/** CCF's `isValidX509RootCACert`: `pem` is one certificate, a self-signed root CA. */
export function isValidX509RootCACert(pem: string): boolean {
  try {
    const certificates = splitPemBundle(pem);
    return certificates.length === 1 && isRootCaCertificate(certificates[0]!);
  } catch {
    return false;
  }
}

/**
 * True if the first certificate of `chain` chains, through the others, to one of the `trusted`
 * certificates, every certificate being valid at `atMs` (ms since the epoch).
 */
export function isValidX509CertChain(chain: string, trusted: string, atMs: number): boolean {
  try {
    const [target, ...intermediatesPem] = splitPemBundle(chain);
    if (target === undefined) return false;
    verifyCertificateChainToAny(target, { trustedRootsPem: splitPemBundle(trusted), intermediatesPem, at: new Date(atMs) });
    return true;
  } catch {
    return false;
  }
}

/** JWK of a PEM key of the given family: public members only, or with the private ones. */
export function pemToJwk(kind: JwkKind, pem: string, isPrivate: boolean, kid?: string): Record<string, string> {
  const spec = JWK_KINDS[kind];
  const key = isPrivate ? parsedKey(() => createPrivateKey(pem), 'a PEM private key') : spkiPublicKey(pem);
  if (!spec.keyTypes.includes(key.asymmetricKeyType ?? '')) {
    throw new CocoError('InvalidKey', `expected a ${kind.toUpperCase()} key, got a ${key.asymmetricKeyType ?? 'unknown'} key`);
  }
  if (kind === 'ec') checkEcCurve(key);
  const exported = key.export({ format: 'jwk' }) as Record<string, string | undefined>;
  const jwk: Record<string, string> = { kty: exported.kty ?? '' };
  if (kid !== undefined) jwk.kid = kid;
  for (const member of isPrivate ? [...spec.publicMembers, ...spec.privateMembers] : spec.publicMembers) {
    const value = exported[member];
    if (value !== undefined) jwk[member] = value;
  }
  return jwk;
}

/** PEM (SPKI for public, PKCS#8 for private) of a JWK of the given family. */
export function jwkToPem(kind: JwkKind, jwk: unknown, isPrivate: boolean): string {
  const spec = JWK_KINDS[kind];
  if (typeof jwk !== 'object' || jwk === null) throw new CocoError('InvalidArgument', 'expected a JWK object');
  const source = jwk as Record<string, unknown>;
  if (kind === 'ec' && !EC_JWK_CURVES.includes(source.crv as string)) {
    throw new CocoError('InvalidKey', `unsupported JWK curve ${JSON.stringify(source.crv)}; CCF takes ${EC_JWK_CURVES.join(', ')}`);
  }
  const members: Record<string, unknown> = { kty: source.kty };
  for (const member of isPrivate ? [...spec.publicMembers, ...spec.privateMembers] : spec.publicMembers) {
    if (typeof source[member] !== 'string') throw new CocoError('InvalidArgument', `the JWK has no string member "${member}"`);
    members[member] = source[member];
  }
  const key = parsedKey(
    () => (isPrivate ? createPrivateKey({ key: members as JsonWebKey, format: 'jwk' }) : createPublicKey({ key: members as JsonWebKey, format: 'jwk' })),
    `a ${kind.toUpperCase()} JWK`,
  );
  if (!spec.keyTypes.includes(key.asymmetricKeyType ?? '')) {
    throw new CocoError('InvalidKey', `expected a ${kind.toUpperCase()} JWK, got a ${key.asymmetricKeyType ?? 'unknown'} key`);
  }
  return key.export(isPrivate ? PKCS8_PEM : SPKI_PEM).toString();
}

// ---------------------------------------------------------------------------------------------

function fromCurveKeyPair(curve: CurveName): PemKeyPair {
  const { privateKeyPem, publicKeyPem } = generateCurveKeyPair(curve);
  return { privateKey: privateKeyPem, publicKey: publicKeyPem };
}

/**
 * The first "PUBLIC KEY" (SPKI) block of `pem`, as OpenSSL's PEM_read_bio_PUBKEY reads CCF's public
 * keys: other blocks are skipped, so a private key, a certificate or a PKCS#1 "RSA PUBLIC KEY" alone
 * is no public key (node's createPublicKey would take them all).
 */
function spkiPublicKey(pem: string): KeyObject {
  const block = SPKI_PEM_BLOCK.exec(pem)?.[0];
  if (block === undefined) {
    throw new CocoError('InvalidKey', 'expected a PEM public key (-----BEGIN PUBLIC KEY-----, SPKI); private keys, certificates and PKCS#1 RSA PUBLIC KEY blocks are not public keys here');
  }
  return parsedKey(() => createPublicKey(block), 'a PEM public key (SPKI)');
}

const SPKI_PEM_BLOCK = /-----BEGIN PUBLIC KEY-----[^-]*-----END PUBLIC KEY-----/;

/**
 * An ECDSA r||s signature in the length node expects for the key's curve. CCF splits a signature of
 * any even length into r and s (ecdsa_sig_p1363_to_der), so r and s zero-padded to more bytes verify
 * there, and here. Undefined (verifies false) for an odd length, whose last byte CCF ignores, which
 * makes a second valid signature of every signature, or for an r or s too long to be one.
 */
function p1363ForCurve(signature: Uint8Array, key: KeyObject): Uint8Array | undefined {
  const scalarBytes = EC_CURVES[key.asymmetricKeyDetails?.namedCurve ?? '']?.scalarBytes;
  invariant(scalarBytes !== undefined, 'the curve was checked first');
  if (signature.length % 2 !== 0) return undefined;
  const half = signature.length / 2;
  const fitted = new Uint8Array(2 * scalarBytes);
  for (const [part, offset] of [[signature.subarray(0, half), 0], [signature.subarray(half), scalarBytes]] as const) {
    const first = part.findIndex((byte) => byte !== 0);
    const digits = first < 0 ? part.subarray(part.length) : part.subarray(first);
    if (digits.length > scalarBytes) return undefined;
    fitted.set(digits, offset + scalarBytes - digits.length);
  }
  return fitted;
}

/** Throws unless the EC key is on one of CCF's curves. */
function checkEcCurve(key: KeyObject): void {
  const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
  if (EC_CURVES[curve] === undefined) {
    throw new CocoError('InvalidKey', `a key on curve ${curve} is not supported; CCF takes ${EC_JWK_CURVES.join(', ')} keys`);
  }
}

/** node:crypto's name of the algorithm's hash, if `hashes` (CCF's for `where`) has it. */
function hashOf(algorithm: SigningAlgorithm, hashes: Record<string, string>, where: string): string {
  const hash = hashes[algorithm.hash ?? ''];
  if (hash === undefined) unsupported(`Unsupported hash algorithm ${JSON.stringify(algorithm.hash)} for ${algorithm.name} in ${where}`, Object.keys(hashes).join(', '));
  return hash;
}

/** CCF calls them all signing algorithms, in verifySignature's error too. */
function checkAlgorithm(algorithm: SigningAlgorithm, supported: readonly string[]): void {
  if (!supported.includes(algorithm.name)) unsupported(`Unsupported signing algorithm ${JSON.stringify(algorithm.name)}`, supported.join(', '));
}

function signingKey(algorithm: SigningAlgorithm, keyPem: string): KeyObject {
  const key = parsedKey(() => createPrivateKey(keyPem), 'a PEM private key');
  checkKeyFits(algorithm, key);
  return key;
}

/** Throws unless `key` is of a type the (supported, asymmetric) algorithm works with. */
function checkKeyFits(algorithm: SigningAlgorithm, key: KeyObject): void {
  const keyType = key.asymmetricKeyType ?? 'unknown';
  const types = SIGNATURE_KEY_TYPES[algorithm.name];
  invariant(types !== undefined, 'the algorithm was checked first');
  if (!types.includes(keyType)) throw new CocoError('InvalidKey', `a ${keyType} key cannot be used with ${algorithm.name}`);
  if (keyType === 'ec') checkEcCurve(key);
}

function signatureOptions(algorithm: SigningAlgorithm): { dsaEncoding?: 'ieee-p1363'; padding?: number; saltLength?: number } {
  switch (algorithm.name) {
    case 'ECDSA':
      return { dsaEncoding: 'ieee-p1363' };
    case 'RSA-PSS':
      return { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: algorithm.saltLength ?? 0 };
    default:
      return {};
  }
}

function rsaOaepWrap(key: Uint8Array, publicKeyPem: Uint8Array, label: Uint8Array | undefined): Uint8Array {
  // As CCF's PEM_read_bio_PUBKEY: an SPKI public key only (QA: a private key or certificate wrapped here, not on CCF).
  return rsaOaepEncrypt(spkiPublicKey(Buffer.from(publicKeyPem).toString('utf8')), key, label);
}

function rsaOaepUnwrap(wrapped: Uint8Array, privateKeyPem: Uint8Array, label: Uint8Array | undefined): Uint8Array {
  return rsaOaepDecrypt(parsedKey(() => createPrivateKey(Buffer.from(privateKeyPem)), 'a PEM RSA private key'), wrapped, label);
}

function aesKwp(data: Uint8Array, aesKey: Uint8Array, direction: 'wrap' | 'unwrap'): Uint8Array {
  if (!AES_KEY_BITS.includes(aesKey.length * 8)) {
    throw new CocoError('InvalidKey', `AES-KWP needs a 16, 24 or 32 byte key, got ${aesKey.length} bytes`);
  }
  if (data.length === 0) throw new CocoError('InvalidArgument', `AES-KWP cannot ${direction} empty data`);
  const cipherName = `id-aes${aesKey.length * 8}-wrap-pad`;
  try {
    const cipher = direction === 'wrap' ? createCipheriv(cipherName, aesKey, AES_KWP_IV) : createDecipheriv(cipherName, aesKey, AES_KWP_IV);
    return concatBytes(cipher.update(data), cipher.final());
  } catch (cause) {
    // OpenSSL's own words ("Trying to add data in unsupported state") say nothing to an app author.
    if (direction === 'unwrap') throw new CocoError('UnwrapFailed', 'AES-KWP unwrap failed: the integrity check failed (a wrong key, or wrapped data that was altered or is not AES-KWP)', { cause });
    throw new CocoError('InvalidArgument', `AES-KWP wrap failed: ${(cause as Error).message}`, { cause });
  }
}

/** A RangeError in JS, worded as CCF's ("<what>, supported: <list>") with the value that was refused in `what`. */
function unsupported(what: string, supported: string): never {
  throw new CocoError('UnsupportedAlgorithm', `${what}, supported: ${supported}`);
}
