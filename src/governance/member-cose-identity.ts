// Authenticates a member's COSE Sign1 request as CCF does: a tagged COSE_Sign1 whose protected
// header names the member (kid = the member ID as bytes), when it was created, the governance message
// type (checked where one is expected) and, for ballots and withdrawals, the proposal; signed with the
// member's certificate key. Serves the governance API and the `member_cose_sign1` app policy.

import { fromUtf8, utf8 } from '../crypto/bytes.js';
import { cborUnsignedBigInt, checkCriticalHeaders, checkRequestAlgorithm, COSE_HEADER_KID, decodeCoseSign1, protectedHeaderValues, verifyRequestSignature } from '../crypto/cose-sign1.js';
import { CocoError } from '../errors.js';
import type { Transaction } from '../kv/transaction.js';
import { decodeJson, Tables, type MemberInfo } from './builtin-tables.js';

export type GovMessageType = 'proposal' | 'ballot' | 'withdrawal' | 'ack' | 'state_digest' | 'recovery_share';

export const GOV_MSG_TYPE = 'ccf.gov.msg.type';
export const GOV_MSG_CREATED_AT = 'ccf.gov.msg.created_at';
export const GOV_MSG_PROPOSAL_ID = 'ccf.gov.msg.proposal_id';

/** CCF reads created_at as a signed 64-bit integer: any value up to this one authenticates. */
export const CREATED_AT_INT64_MAX = 2n ** 63n - 1n;

export interface MemberCoseIdentity {
  memberId: string;
  certPem: string;
  /** Seconds since the epoch; exact up to 2^53 - 1, past which only its comparison with CREATED_AT_MAX counts. */
  createdAt: number;
  proposalId: string | undefined;
  /** The signed payload (the request body proper). */
  content: Uint8Array;
  /** The whole COSE Sign1 envelope, kept in `cose_history` for audit. */
  envelope: Uint8Array;
  signature: Uint8Array;
}

function unauthenticated(reason: string): CocoError {
  return new CocoError('InvalidAuthenticationInfo', reason);
}

export interface CoseAuthOptions {
  /**
   * The `ccf.gov.msg.type` the endpoint takes; `null` takes any type or none, as CCF's
   * `member_cose_sign1` policy for application endpoints does.
   */
  msgType: GovMessageType | null;
  /** Members must be Active except to ack or refresh their state digest. */
  requireActive: boolean;
}

export function authenticateMemberCose(tx: Transaction, body: Uint8Array, options: CoseAuthOptions): MemberCoseIdentity {
  let message;
  try {
    message = decodeCoseSign1(body, { requireTag: true });
    checkCriticalHeaders(message);
  } catch (error) {
    throw unauthenticated(`the request body is not a COSE Sign1 message: ${(error as Error).message}`);
  }
  const header = message.protectedHeader;
  const kid = header.get(COSE_HEADER_KID);
  if (!(kid instanceof Uint8Array)) throw unauthenticated('the protected header needs kid (4): the member ID as a byte string');
  const type = header.get(GOV_MSG_TYPE);
  if (type !== undefined && typeof type !== 'string') throw unauthenticated(`the protected header ${GOV_MSG_TYPE} must be a text string, such as "proposal"`);
  // CCF's words, which its tests compare.
  if (options.msgType !== null && type === undefined) throw unauthenticated(`Missing ${GOV_MSG_TYPE}, expected ${GOV_MSG_TYPE} to be ${options.msgType}`);
  if (options.msgType !== null && type !== options.msgType) throw unauthenticated(`Found ${GOV_MSG_TYPE} set to ${type}, expected ${GOV_MSG_TYPE} to be ${options.msgType}`);
  // From the encoding: CCF takes an integer only, where decoding would let a whole float pass.
  const createdAtItem = protectedHeaderValues(message.protectedBytes).get(GOV_MSG_CREATED_AT);
  const createdAtValue = createdAtItem === undefined ? undefined : cborUnsignedBigInt(createdAtItem);
  if (createdAtValue === undefined || createdAtValue > CREATED_AT_INT64_MAX) {
    throw unauthenticated(`the protected header needs ${GOV_MSG_CREATED_AT}: seconds since the epoch as a CBOR integer (not a float), from 0 to 2^63 - 1`);
  }
  // Only proposals bound it further (InvalidCreatedAt past CREATED_AT_MAX); CCF takes any other value.
  const createdAt = Number(createdAtValue);
  const proposalId = header.get(GOV_MSG_PROPOSAL_ID);
  if (proposalId !== undefined && typeof proposalId !== 'string') throw unauthenticated(`${GOV_MSG_PROPOSAL_ID} must be a string`);
  // As CCF: the algorithm is checked before the signer is looked up.
  try {
    checkRequestAlgorithm(message);
  } catch (error) {
    throw unauthenticated((error as Error).message);
  }
  // As CCF, the kid is looked up as the bytes it is: a BOM or bytes that are not UTF-8 name no member.
  const certBytes = tx.map(Tables.membersCerts).get(kid);
  if (certBytes === undefined) throw unauthenticated('Signer is not a known member');
  const memberId = fromUtf8(kid);
  const certPem = fromUtf8(certBytes);
  let verified: boolean;
  try {
    verified = verifyRequestSignature(message, certPem);
  } catch (error) {
    throw unauthenticated(`the signature cannot be checked: ${(error as Error).message}`);
  }
  if (!verified) throw unauthenticated(`the COSE signature does not verify with member ${memberId}'s certificate`);
  if (options.requireActive) {
    const info = tx.map(Tables.membersInfo).get(utf8(memberId));
    const status = info === undefined ? undefined : decodeJson<MemberInfo>(info, Tables.membersInfo).status;
    // As CCF's ActiveMemberCOSESign1AuthnPolicy: an authentication failure (401), in its words.
    if (status !== 'Active') throw unauthenticated('Signer is not an ACTIVE member');
  }
  return {
    memberId,
    certPem,
    createdAt,
    proposalId,
    content: message.payload ?? new Uint8Array(),
    envelope: body,
    signature: message.signature,
  };
}
