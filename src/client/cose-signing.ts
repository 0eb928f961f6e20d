// COSE Sign1 request bodies as CCF expects them: governance requests signed by a member
// (`ccf.gov.msg.*` headers) and user requests for the `user_cose_sign1` policy (`ccf.msg.*`).
// The kid is the signer's ID (SHA-256 of its certificate DER) as ASCII hex bytes, the algorithm
// follows the key (ES256 for P-256, ES384 for P-384, ES512 for P-521), and the key must belong to the certificate.
// A governance request may also be signed by an ExternalSigner (an HSM, a key vault) or prepared
// here and finished with a signature made elsewhere (see external-signing).

import { equalBytes } from '../crypto/bytes.js';
import { publicKeyDer } from '../crypto/signing.js';
import { CocoError } from '../errors.js';
import { prepareSign1, signSign1Externally, signSign1WithKey, type ExternalSigner, type PreparedRequest } from './external-signing.js';
import { checkExternalSigner, checkPrivateKey } from './identity-check.js';

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
export const PROPOSAL_SCOPED_MSG_TYPES: ReadonlySet<GovernanceMsgType> = new Set(['ballot', 'withdrawal']);
/** A proposal ID as CCF writes it: SHA-256 in lowercase hex. */
export const PROPOSAL_ID = /^[0-9a-f]{64}$/;

export interface Signer {
  signerCertPem: string;
  /** The private key of `signerCertPem` (ECDSA P-256, P-384 or P-521). */
  signerKeyPem: string;
}

/** What a governance request says, whoever signs it. */
export interface GovernanceRequestFields {
  /** The JSON request body, or empty bytes for requests without one. */
  content: Uint8Array;
  msgType: GovernanceMsgType;
  /** Seconds since the Unix epoch. */
  createdAt: number;
  /** Required for 'ballot' and 'withdrawal': the proposal named in the URL. */
  proposalId?: string;
}

export interface GovernanceRequestInput extends GovernanceRequestFields, Signer {}

/** A governance request signed by a key this process cannot read. */
export interface ExternallySignedGovernanceRequestInput extends GovernanceRequestFields {
  signer: ExternalSigner;
}

export interface UserRequestInput extends Signer {
  content: Uint8Array;
  msgType: string;
  createdAt: number;
}

/** Signs with the key PEM at once, or asks the external signer (an HSM, a key vault) and checks its signature. */
export function signGovernanceRequest(input: GovernanceRequestInput): Uint8Array;
export function signGovernanceRequest(input: ExternallySignedGovernanceRequestInput): Promise<Uint8Array>;
export function signGovernanceRequest(input: GovernanceRequestInput | ExternallySignedGovernanceRequestInput): Uint8Array | Promise<Uint8Array> {
  if ('signer' in input) {
    const { signer } = input;
    return Promise.resolve().then(() => {
      checkExternalSigner(signer, 'signer');
      return signSign1Externally(prepareGovernanceRequest({ ...input, signerCertPem: signer.certPem }), signer);
    });
  }
  return signWithKey(prepareGovernanceRequest(input), input.signerKeyPem);
}

/**
 * A governance request ready for a signature made elsewhere: `digest` (or `toBeSigned`) goes to the
 * signer, and finishPreparedRequest assembles the envelope from its signature.
 */
export function prepareGovernanceRequest(input: GovernanceRequestFields & { signerCertPem: string }): PreparedRequest {
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
  return prepareSign1(input.signerCertPem, headers, input.content);
}

export function signUserRequest(input: UserRequestInput): Uint8Array {
  if (typeof input.msgType !== 'string' || input.msgType.length === 0) {
    throw new CocoError('InvalidArgument', `msgType must be a non-empty string, got ${JSON.stringify(input.msgType)}`);
  }
  const headers: [string, unknown][] = [
    [USER_MSG_TYPE_HEADER, input.msgType],
    [USER_MSG_CREATED_AT_HEADER, createdAtSeconds(input.createdAt)],
  ];
  return signWithKey(prepareSign1(input.signerCertPem, headers, input.content), input.signerKeyPem);
}

function signWithKey(prepared: PreparedRequest, keyPem: string): Uint8Array {
  checkPrivateKey(keyPem, 'signerKeyPem');
  if (!equalBytes(publicKeyDer(keyPem), publicKeyDer(prepared.signerCertPem))) {
    throw new CocoError('InvalidKey', 'signerKeyPem is not the private key of signerCertPem; the service would reject the signature');
  }
  return signSign1WithKey(prepared, keyPem);
}

/** A CBOR integer, as the service requires: cbor-x writes a number above 2^32 - 1 as a float. */
function createdAtSeconds(createdAt: number): number | bigint {
  if (!Number.isSafeInteger(createdAt) || createdAt < 0 || createdAt > CREATED_AT_SECONDS_MAX) {
    throw new CocoError('InvalidArgument', `createdAt must be whole seconds since the epoch in 0..${CREATED_AT_SECONDS_MAX}, got ${createdAt}`);
  }
  return createdAt > 0xffff_ffff ? BigInt(createdAt) : createdAt;
}
