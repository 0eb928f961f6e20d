// COSE Sign1 request bodies as CCF expects them: governance requests signed by a member
// (`ccf.gov.msg.*` headers) and user requests for the `user_cose_sign1` policy (`ccf.msg.*`).
// The kid is the signer's ID (SHA-256 of its certificate DER) as ASCII hex bytes, the algorithm
// follows the key (ES256 for P-256, ES384 for P-384), and the key must belong to the certificate.

import { equalBytes, utf8 } from '../crypto/bytes.js';
import { COSE_HEADER_KID, signCoseSign1, type CoseHeader } from '../crypto/cose-sign1.js';
import { certificateId } from '../crypto/entity-id.js';
import { curveOf, publicKeyDer } from '../crypto/signing.js';
import { CocoError } from '../errors.js';

export const GOV_MSG_TYPE_HEADER = 'ccf.gov.msg.type';
export const GOV_MSG_CREATED_AT_HEADER = 'ccf.gov.msg.created_at';
export const GOV_MSG_PROPOSAL_ID_HEADER = 'ccf.gov.msg.proposal_id';
export const USER_MSG_TYPE_HEADER = 'ccf.msg.type';
export const USER_MSG_CREATED_AT_HEADER = 'ccf.msg.created_at';
export const COSE_CONTENT_TYPE = 'application/cose';
/** CCF rejects a later created_at (ten decimal digits: its replay keys are zero-padded to 10). */
export const CREATED_AT_SECONDS_MAX = 9_999_999_999;

export const GOVERNANCE_MSG_TYPES = ['proposal', 'ballot', 'withdrawal', 'ack', 'state_digest', 'recovery_share'] as const;
export type GovernanceMsgType = (typeof GOVERNANCE_MSG_TYPES)[number];

/** Message types whose URL names a proposal, which the signature must then cover. */
const PROPOSAL_SCOPED_MSG_TYPES: ReadonlySet<GovernanceMsgType> = new Set(['ballot', 'withdrawal']);
const PROPOSAL_ID = /^[0-9a-f]{64}$/;

export interface Signer {
  signerCertPem: string;
  /** The private key of `signerCertPem` (P-256 or P-384). */
  signerKeyPem: string;
}

export interface GovernanceRequestInput extends Signer {
  /** The JSON request body, or empty bytes for requests without one. */
  content: Uint8Array;
  msgType: GovernanceMsgType;
  /** Seconds since the Unix epoch. */
  createdAt: number;
  /** Required for 'ballot' and 'withdrawal': the proposal named in the URL. */
  proposalId?: string;
}

export interface UserRequestInput extends Signer {
  content: Uint8Array;
  msgType: string;
  createdAt: number;
}

export function signGovernanceRequest(input: GovernanceRequestInput): Uint8Array {
  if (!GOVERNANCE_MSG_TYPES.includes(input.msgType)) {
    throw new CocoError('InvalidArgument', `unknown governance message type ${JSON.stringify(input.msgType)}; use one of ${GOVERNANCE_MSG_TYPES.join(', ')}`);
  }
  const headers: [string, unknown][] = [
    [GOV_MSG_TYPE_HEADER, input.msgType],
    [GOV_MSG_CREATED_AT_HEADER, createdAtSeconds(input.createdAt)],
  ];
  if (input.proposalId !== undefined) {
    if (typeof input.proposalId !== 'string' || !PROPOSAL_ID.test(input.proposalId)) {
      throw new CocoError('InvalidArgument', `proposalId must be 64 lowercase hex digits, got ${JSON.stringify(input.proposalId)}`);
    }
    headers.push([GOV_MSG_PROPOSAL_ID_HEADER, input.proposalId]);
  } else if (PROPOSAL_SCOPED_MSG_TYPES.has(input.msgType)) {
    throw new CocoError('InvalidArgument', `a '${input.msgType}' request must be signed with the proposalId it applies to`);
  }
  return signRequest(input, headers);
}

export function signUserRequest(input: UserRequestInput): Uint8Array {
  if (typeof input.msgType !== 'string' || input.msgType.length === 0) {
    throw new CocoError('InvalidArgument', `msgType must be a non-empty string, got ${JSON.stringify(input.msgType)}`);
  }
  return signRequest(input, [
    [USER_MSG_TYPE_HEADER, input.msgType],
    [USER_MSG_CREATED_AT_HEADER, createdAtSeconds(input.createdAt)],
  ]);
}

function signRequest(input: Signer & { content: Uint8Array }, headers: [string, unknown][]): Uint8Array {
  if (!(input.content instanceof Uint8Array)) {
    throw new CocoError('InvalidArgument', `content must be a Uint8Array (the request body), got ${typeof input.content}`);
  }
  const curve = curveOf(input.signerKeyPem);
  if (curve === 'Ed25519') {
    throw new CocoError('InvalidKey', 'CCF accepts only ECDSA signatures on requests; sign with a P-256 or P-384 key (coco keygen --curve)');
  }
  if (!equalBytes(publicKeyDer(input.signerKeyPem), publicKeyDer(input.signerCertPem))) {
    throw new CocoError('InvalidKey', 'signerKeyPem is not the private key of signerCertPem; the service would reject the signature');
  }
  const protectedHeader: CoseHeader = new Map<number | string, unknown>([
    [COSE_HEADER_KID, utf8(certificateId(input.signerCertPem))],
    ...headers,
  ]);
  return signCoseSign1({ privateKey: input.signerKeyPem, protectedHeader, payload: input.content });
}

/** A CBOR integer, as the service requires: cbor-x writes a number above 2^32 - 1 as a float. */
function createdAtSeconds(createdAt: number): number | bigint {
  if (!Number.isSafeInteger(createdAt) || createdAt < 0 || createdAt > CREATED_AT_SECONDS_MAX) {
    throw new CocoError('InvalidArgument', `createdAt must be whole seconds since the epoch in 0..${CREATED_AT_SECONDS_MAX}, got ${createdAt}`);
  }
  return createdAt > 0xffff_ffff ? BigInt(createdAt) : createdAt;
}
