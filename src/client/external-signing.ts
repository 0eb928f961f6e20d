// Signed requests whose key never enters this process (an HSM, a cloud key vault), in CCF's two
// steps: `prepareSign1` builds the envelope's protected header and gives what to sign (the COSE
// ToBeSigned bytes and their digest); `finishPreparedRequest` takes the signer's ECDSA signature,
// DER or raw r‖s, checks it against the signer's certificate and assembles the tagged COSE_Sign1.
// A key PEM signs the same prepared bytes, so both ways give the same envelope.

import { createHash, createPublicKey } from 'node:crypto';
import { utf8 } from '../crypto/bytes.js';
import {
  COSE_HEADER_ALG,
  COSE_HEADER_KID,
  encodeCbor,
  encodeCoseSign1,
  requestAlgorithmOfCurve,
  sigStructure,
  verifyCoseSign1,
  type CoseEcdsaAlgorithm,
  type CoseHeader,
  type CoseSign1,
} from '../crypto/cose-sign1.js';
import { certificateId } from '../crypto/entity-id.js';
import { curveOf, derSignatureToP1363, sign, type CurveName } from '../crypto/signing.js';
import { CocoError } from '../errors.js';

/** The algorithm's name in COSE and JOSE: what a key vault's sign call takes (Azure Key Vault's `alg`). */
export type RequestAlgorithmName = CoseEcdsaAlgorithm['name'];

/** What a signer is asked to sign: one request, in the two forms signers take. */
export interface SignatureRequest {
  algorithm: RequestAlgorithmName;
  /**
   * The COSE Sig_structure, for a signer that hashes what it signs (`openssl dgst -sign`, PKCS#11
   * CKM_ECDSA_SHA384, AWS KMS with MessageType RAW).
   */
  toBeSigned: Uint8Array;
  /**
   * SHA-256, SHA-384 or SHA-512 (the algorithm's) of `toBeSigned`, for a signer that takes the
   * digest (Azure Key Vault's sign, `openssl pkeyutl -sign`, PKCS#11 CKM_ECDSA).
   */
  digest: Uint8Array;
}

/** A signer that holds the key of `certPem` where this process cannot read it. */
export interface ExternalSigner {
  /** The signer's certificate (the member's): its ID is the envelope's kid, its key checks the signature. */
  certPem: string;
  /** The ECDSA signature of the request with the certificate's key: DER, or raw r‖s. */
  sign(request: SignatureRequest): Promise<Uint8Array>;
}

/** An envelope waiting for its signature. */
export interface PreparedRequest extends SignatureRequest {
  signerCertPem: string;
  protectedHeader: CoseHeader;
  protectedBytes: Uint8Array;
  payload: Uint8Array;
}

/** The algorithm a certificate's key signs requests with; InvalidKey for a key CCF does not take on requests. */
export function requestAlgorithmOf(certPem: string): RequestAlgorithmName {
  return requestAlgorithm(certPem).name;
}

function requestAlgorithm(certPem: string): CoseEcdsaAlgorithm {
  const curve = keyKind(certPem);
  const algorithm = curve === undefined ? undefined : requestAlgorithmOfCurve(curve);
  if (algorithm === undefined) {
    const kind = curve ?? createPublicKey(certPem).asymmetricKeyType?.toUpperCase() ?? 'of another kind';
    throw new CocoError('InvalidKey', `CCF accepts only ECDSA signatures on requests (ES256, ES384, ES512), and this key is ${kind}; sign with a P-256, P-384 or P-521 key (coco keygen --curve)`);
  }
  return algorithm;
}

/** The curve of the certificate's key, undefined for a key on none Coco signs with (RSA, say). */
function keyKind(certPem: string): CurveName | undefined {
  try {
    return curveOf(certPem);
  } catch (error) {
    if (error instanceof CocoError && error.code === 'InvalidKey') return undefined;
    throw error;
  }
}

/**
 * The envelope of `payload` signed by the key of `signerCertPem`: protected header alg, kid (the
 * signer's ID as ASCII hex bytes), then `headers` in their order.
 */
export function prepareSign1(signerCertPem: string, headers: readonly [string, unknown][], payload: Uint8Array): PreparedRequest {
  if (!(payload instanceof Uint8Array)) {
    throw new CocoError('InvalidArgument', `content must be a Uint8Array (the request body), got ${typeof payload}`);
  }
  const algorithm = requestAlgorithm(signerCertPem);
  const protectedHeader: CoseHeader = new Map<number | string, unknown>([
    [COSE_HEADER_ALG, algorithm.coseAlg],
    [COSE_HEADER_KID, utf8(certificateId(signerCertPem))],
    ...headers,
  ]);
  const protectedBytes = encodeCbor(protectedHeader);
  const toBeSigned = sigStructure(protectedBytes, payload);
  const digest = new Uint8Array(createHash(algorithm.hash).update(toBeSigned).digest());
  return { algorithm: algorithm.name, toBeSigned, digest, signerCertPem, protectedHeader, protectedBytes, payload };
}

/** Signs a prepared envelope with a private key PEM, which the caller checked is the certificate's. */
export function signSign1WithKey(prepared: PreparedRequest, keyPem: string): Uint8Array {
  return encodeCoseSign1(withSignature(prepared, sign(keyPem, prepared.toBeSigned, 'ieee-p1363')));
}

/** Asks `signer` for the signature and finishes the envelope with it. */
export async function signSign1Externally(prepared: PreparedRequest, signer: ExternalSigner): Promise<Uint8Array> {
  const { algorithm, toBeSigned, digest } = prepared;
  const signature: unknown = await signer.sign({ algorithm, toBeSigned: toBeSigned.slice(), digest: digest.slice() });
  if (!(signature instanceof Uint8Array)) {
    throw new CocoError('InvalidArgument', `the signer's sign() must resolve to the signature's bytes (a Uint8Array), got ${typeof signature}`);
  }
  return finishPreparedRequest(prepared, signature);
}

/**
 * The tagged COSE_Sign1 of a prepared envelope and its signature (DER or raw r‖s), once the
 * signature verifies with the certificate's key: a wrong one is refused here, not by the service.
 */
export function finishPreparedRequest(prepared: PreparedRequest, signature: Uint8Array): Uint8Array {
  const algorithm = requestAlgorithm(prepared.signerCertPem);
  const readings = rawReadings(signature, algorithm, prepared.signerCertPem);
  if (readings.length === 0) {
    throw new CocoError(
      'InvalidSignature',
      `the signature is ${signature.length} bytes: neither a DER ECDSA signature nor ${algorithm.name}'s raw r‖s (${algorithm.signatureBytes} bytes); sign with the key of a ${curveOf(prepared.signerCertPem)} certificate`,
    );
  }
  for (const raw of readings) {
    const message = withSignature(prepared, raw);
    if (verifyCoseSign1(message, prepared.signerCertPem)) return encodeCoseSign1(message);
  }
  throw new CocoError(
    'InvalidSignature',
    `the signature does not verify with the key of member ${certificateId(prepared.signerCertPem)}'s certificate: sign this request's ${algorithm.name} digest (or ToBeSigned) with that member's key, for the same content, message type, created_at and proposal ID`,
  );
}

/**
 * The raw r‖s the signature may be: its DER decoding, and itself when it has the raw length. Both
 * are tried against the key, as a DER signature can, rarely, have the raw length.
 */
function rawReadings(signature: Uint8Array, algorithm: CoseEcdsaAlgorithm, certPem: string): Uint8Array[] {
  const readings: Uint8Array[] = [];
  try {
    readings.push(derSignatureToP1363(signature, curveOf(certPem)));
  } catch {
    // Not DER.
  }
  if (signature.length === algorithm.signatureBytes) readings.push(signature);
  return readings;
}

function withSignature(prepared: PreparedRequest, signature: Uint8Array): CoseSign1 {
  return { protectedBytes: prepared.protectedBytes, protectedHeader: prepared.protectedHeader, unprotectedHeader: new Map(), payload: prepared.payload, signature };
}
