// UVM endorsements: a COSE Sign1 statement by which the publisher of a confidential container
// platform's utility VM (Microsoft's, for Confidential ACI and AKS) endorses its launch measurement.
// Verified as CCF verifies the third argument of `snp_attestation.verifySnpAttestation`: the
// signer's certificate chain resolves the statement's did:x509 issuer, the signature holds, the
// payload names the attested measurement, and the issuer, feed and SVN meet a root of trust.

import { verify, constants, type KeyObject } from 'node:crypto';
import { COSE_ALG_ES256, COSE_ALG_ES384, COSE_ALG_ES512, COSE_HEADER_ALG, decodeCoseSign1, sigStructure } from '../crypto/cose-sign1.js';
import { fromUtf8, toHex } from '../crypto/bytes.js';
import { resolveDidX509 } from '../crypto/did-x509.js';
import { CocoError } from '../errors.js';

/** Who endorsed a UVM, in which feed, at which security version (a decimal string, as CCF keeps it). */
export interface UvmEndorsements {
  did: string;
  feed: string;
  svn: string;
}

/** CCF's roots of trust for the UVMs of Confidential ACI and Confidential AKS: at least these SVNs. */
export const DEFAULT_UVM_ROOTS_OF_TRUST: readonly UvmEndorsements[] = [
  { did: 'did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx_eT1RPHbCQ_ECBQfYZpt9s::eku:1.3.6.1.4.1.311.76.59.1.2', feed: 'ContainerPlat-AMD-UVM', svn: '100' },
  { did: 'did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx_eT1RPHbCQ_ECBQfYZpt9s::eku:1.3.6.1.4.1.311.76.59.1.5', feed: 'ConfAKS-AMD-UVM', svn: '1' },
];

const HEADER_CONTENT_TYPE = 3;
const HEADER_X5CHAIN = 33;
const JSON_CONTENT_TYPE = 'application/json';
/** RSASSA-PSS with SHA-256/384/512 (RFC 8230), and the hash of each ECDSA algorithm. */
const RSA_PSS_HASHES = new Map([[-37, 'sha256'], [-38, 'sha384'], [-39, 'sha512']]);
const ECDSA_HASHES = new Map([[COSE_ALG_ES256, 'sha256'], [COSE_ALG_ES384, 'sha384'], [COSE_ALG_ES512, 'sha512']]);
/** The curve each ECDSA algorithm names (RFC 9053). */
const ECDSA_CURVES = new Map([[COSE_ALG_ES256, 'prime256v1'], [COSE_ALG_ES384, 'secp384r1'], [COSE_ALG_ES512, 'secp521r1']]);

function invalid(message: string): never {
  throw new CocoError('UvmEndorsementsInvalid', message);
}

/**
 * Verifies `raw` (the COSE Sign1 bytes) for an attested `measurement` against `rootsOfTrust`, and
 * returns who endorsed it; a CocoError 'UvmEndorsementsInvalid' with CCF's words otherwise.
 */
export function verifyUvmEndorsements(raw: Uint8Array, measurement: Uint8Array, rootsOfTrust: readonly UvmEndorsements[] = DEFAULT_UVM_ROOTS_OF_TRUST): UvmEndorsements {
  let message;
  try {
    message = decodeCoseSign1(raw, { requireTag: true });
  } catch (error) {
    return invalid(`UVM endorsements are not a tagged COSE Sign1: ${(error as Error).message}`);
  }
  const header = message.protectedHeader;
  const alg = header.get(COSE_HEADER_ALG);
  const hash = typeof alg === 'number' ? (RSA_PSS_HASHES.get(alg) ?? ECDSA_HASHES.get(alg)) : undefined;
  if (hash === undefined) invalid(`Signature algorithm ${String(alg)} is not one of expected: RSA, ECDSA`);
  const did = textHeader(header.get('iss'), 'iss');
  const feed = textHeader(header.get('feed'), 'feed');
  const x5chain = header.get(HEADER_X5CHAIN);
  const chain = x5chain instanceof Uint8Array ? [x5chain] : Array.isArray(x5chain) && x5chain.length > 0 && x5chain.every((c) => c instanceof Uint8Array) ? (x5chain as Uint8Array[]) : invalid('x5chain (33) in the protected header must be a certificate or a non-empty array of certificates');
  let signer: KeyObject;
  try {
    signer = resolveDidX509(chain, did);
  } catch (error) {
    return invalid((error as Error).message);
  }
  const payload = message.payload ?? invalid('the UVM endorsements carry no payload');
  if (!signatureHolds(alg as number, hash, signer, sigStructure(message.protectedBytes, payload), message.signature)) invalid('Signature verification failed');
  const contentType = header.get(HEADER_CONTENT_TYPE);
  if (contentType !== JSON_CONTENT_TYPE) invalid(`Unexpected payload content type ${String(contentType)}, expected ${JSON_CONTENT_TYPE}`);
  const { svn, launchMeasurement } = readPayload(payload);
  if (launchMeasurement !== toHex(measurement)) {
    invalid(`Launch measurement in UVM endorsements payload ${launchMeasurement} is not equal to UVM attestation measurement ${toHex(measurement)}`);
  }
  const endorsements = { did, feed, svn };
  if (!rootsOfTrust.some((root) => root.did === did && root.feed === feed && atLeast(svn, root.svn))) {
    invalid(`UVM endorsements did ${did}, feed ${feed}, svn ${svn} do not match any of the known UVM roots of trust`);
  }
  return endorsements;
}

/** Whether `signature` over `signed` verifies with `key` under the COSE algorithm `alg`; a key of another kind or curve than `alg` names does not. */
function signatureHolds(alg: number, hash: string, key: KeyObject, signed: Uint8Array, signature: Uint8Array): boolean {
  const rsa = RSA_PSS_HASHES.has(alg);
  if (rsa ? key.asymmetricKeyType !== 'rsa' : key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== ECDSA_CURVES.get(alg)) return false;
  return rsa
    ? verify(hash, signed, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature)
    : verify(hash, signed, { key, dsaEncoding: 'ieee-p1363' }, signature);
}

function textHeader(value: unknown, name: string): string {
  return typeof value === 'string' ? value : invalid(`the protected header's "${name}" must be a text string`);
}

function readPayload(payload: Uint8Array): { svn: string; launchMeasurement: string } {
  let json: unknown;
  try {
    json = JSON.parse(fromUtf8(payload));
  } catch (error) {
    return invalid(`the UVM endorsements payload is not JSON (${(error as Error).message})`);
  }
  const fields = json as Record<string, unknown> | null;
  const svn = fields?.['x-ms-sevsnpvm-guestsvn'];
  const launchMeasurement = fields?.['x-ms-sevsnpvm-launchmeasurement'];
  if (typeof svn !== 'string' || typeof launchMeasurement !== 'string') {
    invalid('the UVM endorsements payload must hold "x-ms-sevsnpvm-guestsvn" and "x-ms-sevsnpvm-launchmeasurement" as strings');
  }
  return { svn, launchMeasurement };
}

/** SVNs compare as numbers when both are decimal (CCF compares the strings, which agrees at equal lengths). */
function atLeast(svn: string, minimum: string): boolean {
  const decimal = /^\d+$/;
  return decimal.test(svn) && decimal.test(minimum) ? BigInt(svn) >= BigInt(minimum) : svn >= minimum;
}
