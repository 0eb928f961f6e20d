// Signature transactions: the primary's signature over the Merkle root of every transaction
// before it (`public:ccf.internal.signatures`, JSON), the serialized tree beside it, and since
// CCF 6 a COSE Sign1 by the service key over the same root (`public:ccf.internal.cose_signatures`).

import { fromBase64, fromHex, fromUtf8, isValidUtf8, utf8 } from '../crypto/bytes.js';
import { decodeCoseSign1 } from '../crypto/cose-sign1.js';
import { CocoError } from '../errors.js';
import type { MapChanges } from '../kv/write-set.js';

export const SIGNATURES_MAP = 'public:ccf.internal.signatures';
export const COSE_SIGNATURES_MAP = 'public:ccf.internal.cose_signatures';
export const TREE_MAP = 'public:ccf.internal.tree';
/** Single-value tables use eight zero bytes as their only key. */
export const SINGLETON_KEY = new Uint8Array(8);
/**
 * The COSE signature's CWT claims (protected header label 15, RFC 8392): its time, claim 6 `iat`, and
 * the service's issuer (1) and subject (2), as CCF's node configuration sets them.
 */
export const COSE_CWT_CLAIMS = 15;
export const CWT_IAT = 6;
export const CWT_ISS = 1;
export const CWT_SUB = 2;
/** The protected header map of CCF's own claims (its COSE_PHEADER_KEY_CCF). */
export const COSE_CCF_CLAIMS = 'ccf.v1';

/** The JSON CCF stores in `public:ccf.internal.signatures`. */
export interface PrimarySignature {
  /** Base64 DER ECDSA signature over `root`, the root being the digest itself. */
  sig: string;
  /** Node ID of the signer: SHA-256 hex of its public key DER. */
  node: string;
  hashed_nonce?: string;
  seqno: number;
  view: number;
  commit_seqno: number;
  commit_view: number;
  /** Hex Merkle root of every transaction before this one. */
  root: string;
  /** The signer's service-endorsed certificate (absent in older ledgers). */
  cert?: string;
}

export interface DecodedSignature {
  json: PrimarySignature;
  signatureDer: Uint8Array;
  root: Uint8Array;
}

function fail(reason: string): never {
  throw new CocoError('SignatureMalformed', `signature transaction: ${reason}`);
}

export function decodePrimarySignature(value: Uint8Array): DecodedSignature {
  if (!isValidUtf8(value)) fail('value is not UTF-8 JSON');
  let json: unknown;
  try {
    json = JSON.parse(fromUtf8(value));
  } catch {
    fail('value is not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('value is not a JSON object');
  const record = json as Record<string, unknown>;
  for (const field of ['sig', 'node', 'root'] as const) {
    if (typeof record[field] !== 'string') fail(`field "${field}" must be a string`);
  }
  for (const field of ['seqno', 'view', 'commit_seqno', 'commit_view'] as const) {
    if (record[field] !== undefined && !Number.isSafeInteger(record[field])) fail(`field "${field}" must be an integer`);
  }
  if (!Number.isSafeInteger(record.seqno) || !Number.isSafeInteger(record.view)) fail('fields "seqno" and "view" are required');
  if (record.cert !== undefined && typeof record.cert !== 'string') fail('field "cert" must be a PEM string');
  const signature = record as unknown as PrimarySignature;
  if (!/^[0-9a-f]{64}$/.test(signature.root)) fail('field "root" must be 64 lowercase hex digits');
  if (!/^[0-9a-f]{64}$/.test(signature.node)) fail('field "node" must be a 64-hex-digit node ID');
  let signatureDer: Uint8Array;
  try {
    signatureDer = fromBase64(signature.sig);
  } catch {
    fail('field "sig" is not base64');
  }
  return { json: signature, signatureDer, root: fromHex(signature.root) };
}

export function encodePrimarySignature(signature: PrimarySignature): Uint8Array {
  return utf8(JSON.stringify(signature));
}

/** The COSE Sign1 bytes of a `public:ccf.internal.cose_signatures` value (a JSON string of base64). */
export function decodeCoseSignatureValue(value: Uint8Array): Uint8Array {
  let encoded: unknown;
  try {
    encoded = JSON.parse(fromUtf8(value));
  } catch {
    encoded = undefined;
  }
  if (typeof encoded !== 'string') throw new CocoError('SignatureMalformed', 'the COSE signature value is not a JSON string of base64');
  return fromBase64(encoded);
}

/**
 * When the service signed, by its COSE signature's `iat` claim (seconds since 1970); undefined when
 * the signature carries none (CCF writes it, older ledgers may not).
 */
export function coseSignatureTime(cose: Uint8Array): number | undefined {
  const claims = decodeCoseSign1(cose).protectedHeader.get(COSE_CWT_CLAIMS);
  const iat = claims instanceof Map ? (claims as Map<unknown, unknown>).get(CWT_IAT) : undefined;
  return typeof iat === 'number' && Number.isSafeInteger(iat) && iat >= 0 ? iat : undefined;
}

/** The single value a singleton map got in this transaction, if it was written. */
export function singletonWrite(maps: readonly MapChanges[], mapName: string): Uint8Array | undefined {
  const map = maps.find((m) => m.name === mapName);
  return map?.writes[0]?.value;
}
