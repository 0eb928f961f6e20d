// COSE Sign1 (RFC 9052) as CCF uses it: governance requests, the service's signatures over the
// Merkle root, COSE receipts. ECDSA signatures are raw r‖s, the hash fixed by the algorithm, and
// the algorithm must match the key's curve.

import { Decoder, Encoder, Tag } from 'cbor-x';
import { CocoError } from '../errors.js';
import { concatBytes, toHex, utf8 } from './bytes.js';
import { isEcdsaCurve, type EcdsaCurve, type EcdsaNonce } from './ecdsa-nonce.js';
import { CURVE_NAMES, curveOf, keyTypeOf, loadPrivateKey, sign, verify, type CurveName, type PrivateSigningKey } from './signing.js';

export const COSE_SIGN1_TAG = 18;
export const COSE_HEADER_ALG = 1;
export const COSE_HEADER_KID = 4;
export const COSE_ALG_ES256 = -7;
export const COSE_ALG_ES384 = -35;
export const COSE_ALG_ES512 = -36;
export const COSE_ALG_EDDSA = -8;

/** An ECDSA algorithm of COSE and JOSE (RFC 9053): what a signer outside this process is asked for. */
export interface CoseEcdsaAlgorithm {
  /** Its name, which a key vault's sign call takes (Azure Key Vault's `alg`). */
  name: 'ES256' | 'ES384' | 'ES512';
  coseAlg: number;
  /** ECDSA hashes with the SHA-2 of the curve's size. */
  hash: 'sha256' | 'sha384' | 'sha512';
  /** Length of the raw r‖s signature: twice the curve's order in bytes. */
  signatureBytes: number;
}

const ECDSA_ALGORITHMS: Record<EcdsaCurve, CoseEcdsaAlgorithm> = {
  'P-256': { name: 'ES256', coseAlg: COSE_ALG_ES256, hash: 'sha256', signatureBytes: 64 },
  'P-384': { name: 'ES384', coseAlg: COSE_ALG_ES384, hash: 'sha384', signatureBytes: 96 },
  'P-521': { name: 'ES512', coseAlg: COSE_ALG_ES512, hash: 'sha512', signatureBytes: 132 },
};

/** Each curve's algorithm. */
const ALG_OF_CURVE: Record<CurveName, number> = {
  'P-256': ECDSA_ALGORITHMS['P-256'].coseAlg,
  'P-384': ECDSA_ALGORITHMS['P-384'].coseAlg,
  'P-521': ECDSA_ALGORITHMS['P-521'].coseAlg,
  Ed25519: COSE_ALG_EDDSA,
};

/** The curves whose keys sign requests: CCF takes ECDSA only there (cose_auth.cpp, is_ecdsa_alg). */
const REQUEST_CURVES = CURVE_NAMES.filter(isEcdsaCurve);

/** The algorithm a key on `curve` signs requests with, or undefined when its requests are refused. */
export function requestAlgorithmOfCurve(curve: CurveName): CoseEcdsaAlgorithm | undefined {
  return isEcdsaCurve(curve) ? ECDSA_ALGORITHMS[curve] : undefined;
}
/** The algorithms of signed requests, one list for every COSE policy: EdDSA is not among them. */
export const COSE_REQUEST_ALGORITHMS: ReadonlySet<number> = new Set(REQUEST_CURVES.map((curve) => ALG_OF_CURVE[curve]));

export type CoseHeader = Map<number | string, unknown>;

export interface CoseSign1 {
  protectedBytes: Uint8Array;
  protectedHeader: CoseHeader;
  unprotectedHeader: CoseHeader;
  /** `undefined` when the payload is detached. */
  payload: Uint8Array | undefined;
  signature: Uint8Array;
}

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
// cbor-x wraps a Uint8Array in tag 64 (RFC 8746) unless told not to; COSE and CCF's CDDL want plain
// byte strings, and CCF's own tools (cbor2, t_cose) refuse the tagged ones.
const encoder = new Encoder({ mapsAsObjects: false, useRecords: false, variableMapSize: true, tagUint8Array: false });

function fail(reason: string): never {
  throw new CocoError('CoseMalformed', `COSE Sign1: ${reason}`);
}

function asBytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) fail(`${what} must be a byte string`);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

export function decodeCbor(bytes: Uint8Array, what: string): unknown {
  try {
    return decoder.decode(bytes);
  } catch (error) {
    // The decoder reads past the end through a DataView: say so, not which bounds it overstepped.
    fail(`${what} is not valid CBOR (${error instanceof RangeError ? 'it ends in the middle of an item' : (error as Error).message})`);
  }
}

/** `requireTag`: refuse an untagged COSE_Sign1, as CCF does for signed requests. */
export function decodeCoseSign1(bytes: Uint8Array, options: { requireTag?: boolean } = {}): CoseSign1 {
  let message = decodeCbor(bytes, 'message');
  if (message instanceof Tag) {
    if (message.tag !== COSE_SIGN1_TAG) fail(`expected CBOR tag ${COSE_SIGN1_TAG}, got ${message.tag}`);
    message = message.value;
  } else if (options.requireTag === true) {
    fail(`COSE_Sign1 is not tagged: the message must carry CBOR tag ${COSE_SIGN1_TAG}`);
  }
  if (!Array.isArray(message) || message.length !== 4) fail('expected an array of 4 items');
  const [protectedValue, unprotectedValue, payloadValue, signatureValue] = message as unknown[];
  const protectedBytes = asBytes(protectedValue, 'protected header');
  const protectedHeader = protectedBytes.length === 0 ? new Map() : decodeCbor(protectedBytes, 'protected header');
  if (!(protectedHeader instanceof Map)) fail('protected header must be a map');
  // Decoding keeps the last of repeated labels and reads a whole float as an integer (4.0 as 4): the
  // encoding tells. RFC 9052 wants unique integer or text labels and an integer or text alg; CCF
  // refuses the others.
  const algItem = protectedHeaderValues(protectedBytes).get(COSE_HEADER_ALG);
  const algType = algItem === undefined ? undefined : readHead(algItem, 0).major;
  if (algType !== undefined && !INTEGER_OR_TEXT.has(algType)) fail(`alg (1) must be an integer or a text string, not ${CBOR_TYPE_NAMES[algType]}`);
  if (!(unprotectedValue instanceof Map)) fail('unprotected header must be a map');
  const payload = payloadValue === null || payloadValue === undefined ? undefined : asBytes(payloadValue, 'payload');
  return {
    protectedBytes,
    protectedHeader: protectedHeader as CoseHeader,
    unprotectedHeader: unprotectedValue as CoseHeader,
    payload,
    signature: asBytes(signatureValue, 'signature'),
  };
}

/** The crit header (RFC 9052 §3.1): the labels a recipient must understand, or refuse the message. */
export const COSE_HEADER_CRIT = 2;
/** What t_cose, CCF's verifier, understands itself (alg, crit, content type, kid, IV, partial IV): CCF registers no others. */
const UNDERSTOOD_LABELS: ReadonlySet<number | string> = new Set([1, 2, 3, 4, 5, 6]);

/**
 * Refuses a request whose crit header lists a parameter the verifier does not understand, as RFC
 * 9052 requires and CCF's t_cose does; crit must be a non-empty array of labels in the protected header.
 */
export function checkCriticalHeaders(message: CoseSign1): void {
  if (message.unprotectedHeader.has(COSE_HEADER_CRIT)) fail('crit (2) must be in the protected header');
  const crit = message.protectedHeader.get(COSE_HEADER_CRIT);
  if (crit === undefined) return;
  if (!Array.isArray(crit) || crit.length === 0) fail('crit (2) must be a non-empty array of header labels');
  for (const label of crit as unknown[]) {
    if ((typeof label !== 'number' && typeof label !== 'string') || !UNDERSTOOD_LABELS.has(label)) {
      fail(`crit (2) lists the header parameter ${JSON.stringify(label)}, which this service does not understand, so it must refuse the message (RFC 9052 §3.1)`);
    }
  }
}

/** CBOR major types, as refusals name them. */
const CBOR_TYPE_NAMES = ['an unsigned integer', 'a negative integer', 'a byte string', 'a text string', 'an array', 'a map', 'a tag', 'a float or simple value'];
/** The major types of COSE labels and of an alg: integers (0, 1) and text (3). */
const INTEGER_OR_TEXT: ReadonlySet<number> = new Set([0, 1, 3]);

/** A CBOR item's initial byte and argument at `offset`; `argument` undefined for indefinite length. */
function readHead(bytes: Uint8Array, offset: number): { major: number; argument: number | undefined; end: number } {
  const initial = bytes[offset];
  if (initial === undefined) fail('CBOR item runs past the end');
  const major = initial >> 5;
  const info = initial & 0x1f;
  if (info < 24) return { major, argument: info, end: offset + 1 };
  if (info === 31) return { major, argument: undefined, end: offset + 1 };
  if (info > 27) fail(`reserved CBOR additional information ${info}`);
  const size = 1 << (info - 24);
  if (offset + 1 + size > bytes.length) fail('CBOR item runs past the end');
  let argument = 0;
  for (let i = 0; i < size; i++) argument = argument * 256 + bytes[offset + 1 + i]!;
  return { major, argument, end: offset + 1 + size };
}

/** The offset just past the CBOR item at `offset`. */
function itemEnd(bytes: Uint8Array, offset: number): number {
  const { major, argument, end } = readHead(bytes, offset);
  if (major === 0 || major === 1 || major === 7) return end;
  if (major === 6) return itemEnd(bytes, end);
  if (argument === undefined) {
    let at = end;
    while (bytes[at] !== 0xff) {
      if (at >= bytes.length) fail('indefinite-length CBOR item has no break');
      at = itemEnd(bytes, at);
    }
    return at + 1;
  }
  if (major === 2 || major === 3) {
    if (end + argument > bytes.length) fail('CBOR string runs past the end');
    return end + argument;
  }
  let at = end;
  for (let i = 0; i < (major === 5 ? 2 * argument : argument); i++) at = itemEnd(bytes, at);
  return at;
}

/**
 * The encoded value of each entry of a protected header (a CBOR map), by label: for checks on how
 * a value was encoded, which decoding hides (a float holding a whole number reads as an integer).
 * A label that is not an integer or text string, or appears twice, is malformed.
 */
export function protectedHeaderValues(protectedBytes: Uint8Array): Map<number | string, Uint8Array> {
  // RFC 9052: an empty protected header is sent as an empty byte string.
  if (protectedBytes.length === 0) return new Map();
  const { major, argument, end } = readHead(protectedBytes, 0);
  if (major !== 5) fail('protected header must be a map');
  const values = new Map<number | string, Uint8Array>();
  let at = end;
  for (let i = 0; argument === undefined ? protectedBytes[at] !== 0xff : i < argument; i++) {
    const keyEnd = itemEnd(protectedBytes, at);
    const labelType = readHead(protectedBytes, at).major;
    if (!INTEGER_OR_TEXT.has(labelType)) fail(`protected header labels must be integers or text strings, not ${CBOR_TYPE_NAMES[labelType]}`);
    const label = decodeCbor(protectedBytes.subarray(at, keyEnd), 'protected header label');
    if (typeof label !== 'number' && typeof label !== 'string') fail(`protected header label ${String(label)} is out of range`);
    if (values.has(label)) fail(`protected header label ${JSON.stringify(label)} appears more than once`);
    at = itemEnd(protectedBytes, keyEnd);
    values.set(label, protectedBytes.subarray(keyEnd, at));
  }
  return values;
}

/** The exact value of a CBOR unsigned integer (major type 0), all 64 bits of it; undefined for any other item. */
export function cborUnsignedBigInt(item: Uint8Array): bigint | undefined {
  const { major, argument, end } = readHead(item, 0);
  if (major !== 0 || argument === undefined) return undefined;
  // The head's argument as a number is exact only up to 2^53: read its bytes again as a bigint.
  return end === 1 ? BigInt(argument) : BigInt(`0x${toHex(item.subarray(1, end))}`);
}

function cborHead(majorType: number, length: number): Uint8Array {
  const major = majorType << 5;
  if (length < 24) return Uint8Array.of(major | length);
  if (length < 0x100) return Uint8Array.of(major | 24, length);
  if (length < 0x10000) return Uint8Array.of(major | 25, length >> 8, length & 0xff);
  return Uint8Array.of(major | 26, length >>> 24, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff);
}

function cborBytes(data: Uint8Array): Uint8Array {
  return concatBytes(cborHead(2, data.length), data);
}

const SIGNATURE1_CONTEXT = utf8('Signature1');

/** The bytes actually signed: Sig_structure = ["Signature1", protected, external_aad, payload]. */
export function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array, externalAad = new Uint8Array()): Uint8Array {
  return concatBytes(
    cborHead(4, 4),
    cborHead(3, SIGNATURE1_CONTEXT.length),
    SIGNATURE1_CONTEXT,
    cborBytes(protectedBytes),
    cborBytes(externalAad),
    cborBytes(payload),
  );
}

/** Verifies with the key of a PEM key or certificate; `detachedPayload` for a detached payload. */
export function verifyCoseSign1(message: CoseSign1, keyOrCertPem: string, detachedPayload?: Uint8Array): boolean {
  const payload = message.payload ?? detachedPayload;
  if (payload === undefined) fail('payload is detached and none was supplied');
  const alg = message.protectedHeader.get(COSE_HEADER_ALG);
  const curve = curveOf(keyOrCertPem);
  if (alg !== ALG_OF_CURVE[curve]) {
    throw new CocoError('CoseAlgorithmMismatch', `COSE Sign1: algorithm ${String(alg)} does not match the ${curve} key`);
  }
  const format = curve === 'Ed25519' ? 'der' : 'ieee-p1363';
  return verify(keyOrCertPem, sigStructure(message.protectedBytes, payload), message.signature, format);
}

/** Refuses, in CCF's words, a signed request without an algorithm or with one not in COSE_REQUEST_ALGORITHMS. */
export function checkRequestAlgorithm(message: CoseSign1): void {
  const alg = message.protectedHeader.get(COSE_HEADER_ALG);
  if (alg === undefined) throw new CocoError('CoseMalformed', 'Missing algorithm in protected header');
  if (typeof alg !== 'number' || !COSE_REQUEST_ALGORITHMS.has(alg)) throw new CocoError('CoseUnsupportedAlgorithm', `Unsupported algorithm: ${String(alg)}`);
}

/**
 * Verifies a signed request (its algorithm checked first by checkRequestAlgorithm) with the
 * signer's certificate, whose key must be one that signs requests.
 */
export function verifyRequestSignature(message: CoseSign1, certPem: string): boolean {
  const keyType = keyTypeOf(certPem);
  if (!(REQUEST_CURVES as readonly string[]).includes(keyType)) {
    throw new CocoError('InvalidKey', `the signer's certificate key (${keyType}) cannot sign requests: they take ECDSA keys on ${REQUEST_CURVES.join(', ')}`);
  }
  return verifyCoseSign1(message, certPem);
}

/** Encodes a message as a tagged COSE_Sign1, its protected header kept byte for byte. */
export function encodeCoseSign1(message: CoseSign1): Uint8Array {
  return new Uint8Array(encoder.encode(new Tag([message.protectedBytes, message.unprotectedHeader, message.payload ?? null, message.signature], COSE_SIGN1_TAG)));
}

/** CBOR for structures that COSE carries inside byte strings (maps with integer keys, arrays). */
export function encodeCbor(value: unknown): Uint8Array {
  return new Uint8Array(encoder.encode(value));
}

export interface CoseSign1Input {
  privateKey: string | PrivateSigningKey;
  /** Protected header entries besides `alg`, which is set from the key. */
  protectedHeader?: CoseHeader;
  unprotectedHeader?: CoseHeader;
  payload: Uint8Array;
  /** Leave the payload out of the message (the verifier supplies it). */
  detached?: boolean;
  /** A prepared ECDSA nonce for a key loaded once (see ecdsa-nonce). */
  nonce?: EcdsaNonce;
}

export function signCoseSign1(input: CoseSign1Input): Uint8Array {
  const key = typeof input.privateKey === 'string' ? loadPrivateKey(input.privateKey) : input.privateKey;
  const { curve } = key;
  const header: CoseHeader = new Map<number | string, unknown>([[COSE_HEADER_ALG, ALG_OF_CURVE[curve]]]);
  for (const [key, value] of input.protectedHeader ?? []) if (key !== COSE_HEADER_ALG) header.set(key, value);
  const protectedBytes = new Uint8Array(encoder.encode(header));
  const format = curve === 'Ed25519' ? 'der' : 'ieee-p1363';
  const nonce = typeof input.privateKey === 'string' ? undefined : input.nonce;
  const signature = sign(key, sigStructure(protectedBytes, input.payload), format, nonce);
  const message = [protectedBytes, input.unprotectedHeader ?? new Map(), input.detached ? null : input.payload, signature];
  return new Uint8Array(encoder.encode(new Tag(message, COSE_SIGN1_TAG)));
}
