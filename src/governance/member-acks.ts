// Member activation as in CCF: a member starts Accepted with a state digest to acknowledge; it may
// refresh the digest (the root the latest signature signed), then signs an ack of that digest and
// becomes Active, able to propose and vote.

import { fromUtf8, toBase64, utf8 } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import type { Transaction } from '../kv/transaction.js';
import { decodePrimarySignature } from '../ledger/signature.js';
import { decodeJson, encodeJson, SINGLETON, Tables, type MemberInfo } from './builtin-tables.js';
import type { MemberCoseIdentity } from './member-cose-identity.js';

export interface MemberAck {
  state_digest: string;
  cose_sign1_req?: string;
}

export interface StateDigestView {
  memberId: string;
  stateDigest: string;
}

function readAck(tx: Transaction, memberId: string): MemberAck | undefined {
  const value = tx.map(Tables.membersAcks).get(utf8(memberId));
  return value === undefined ? undefined : decodeJson<MemberAck>(value, Tables.membersAcks);
}

function noAckRecord(memberId: string): string {
  return `No ACK record exists for member ${memberId}.`;
}

export function getStateDigest(tx: Transaction, memberId: string): StateDigestView {
  const ack = readAck(tx, memberId);
  if (ack === undefined) throw new CocoError('ResourceNotFound', noAckRecord(memberId));
  return { memberId, stateDigest: ack.state_digest };
}

/**
 * Sets the signer's digest to the root signed by the latest signature transaction (creating its
 * ack record if it had none, as CCF does). The caller has checked that the URL names the signer.
 */
export function updateStateDigest(tx: Transaction, identity: MemberCoseIdentity): StateDigestView {
  const memberId = identity.memberId;
  const ack = readAck(tx, memberId) ?? { state_digest: '' };
  const signature = tx.map(Tables.signatures).get(SINGLETON);
  if (signature === undefined) throw new CocoError('NodeCannotHandleRequest', 'no signature transaction yet: retry in a moment');
  ack.state_digest = decodePrimarySignature(signature).json.root;
  tx.map(Tables.membersAcks).set(utf8(memberId), encodeJson(ack));
  return { memberId, stateDigest: ack.state_digest };
}

/** Makes the signer Active; returns whether it was not before. The caller has checked that the URL names the signer. */
export function ackStateDigest(tx: Transaction, identity: MemberCoseIdentity): boolean {
  const memberId = identity.memberId;
  const ack = readAck(tx, memberId);
  // CCF: no digest to acknowledge is a refusal (403), not a missing resource.
  if (ack === undefined) throw new CocoError('AuthorizationFailed', noAckRecord(memberId));
  let signed: unknown;
  try {
    signed = (JSON.parse(fromUtf8(identity.content)) as { stateDigest?: unknown }).stateDigest;
  } catch {
    signed = undefined;
  }
  if (typeof signed !== 'string') throw new CocoError('InvalidInput', 'the signed body must be {"stateDigest": "<hex>"}');
  if (signed !== ack.state_digest) {
    // CCF's words (clients may match them), then what to do.
    throw new CocoError('StateDigestMismatch', `Submitted state digest is not valid.\nExpected\n ${ack.state_digest}\nReceived\n ${signed}\nFetch member ${memberId}'s current digest (or refresh it with :update) and acknowledge that one.`);
  }
  const infoBytes = tx.map(Tables.membersInfo).get(utf8(memberId));
  if (infoBytes === undefined) throw new CocoError('ResourceNotFound', `member ${memberId} has no member information`);
  const info = decodeJson<MemberInfo>(infoBytes, Tables.membersInfo);
  const newlyActive = info.status !== 'Active';
  info.status = 'Active';
  tx.map(Tables.membersInfo).set(utf8(memberId), encodeJson(info));
  tx.map(Tables.membersAcks).set(utf8(memberId), encodeJson({ ...ack, cose_sign1_req: toBase64(identity.envelope) }));
  return newlyActive;
}
