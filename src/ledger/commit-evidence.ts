// Commit evidence: "ce:<view>.<seqno>:<hex nonce>". Its digest is bound into the transaction's
// Merkle leaf; the nonce is derived from the ledger secret, so only a node holding the secret can
// reveal it, which it does only for committed transactions (a receipt then proves commit).

import { fromHex, utf8, toHex } from '../crypto/bytes.js';
import { sha256 } from '../crypto/hash.js';
import { HmacSha256Key, hkdfSha256 } from '../crypto/kdf.js';
import { CocoError } from '../errors.js';
import { formatTxId, type TxId } from './tx-id.js';

const COMMIT_SECRET_INFO = utf8('Commit secret label');
const COMMIT_SECRET_BYTES = 32;

/** The key commit nonces are derived with, from the ledger secret. */
export function commitSecret(ledgerSecretKey: Uint8Array): HmacSha256Key {
  return new HmacSha256Key(hkdfSha256(ledgerSecretKey, new Uint8Array(), COMMIT_SECRET_INFO, COMMIT_SECRET_BYTES));
}

export function commitEvidence(commitSecretKey: HmacSha256Key, txId: TxId): string {
  const id = formatTxId(txId);
  return `ce:${id}:${toHex(commitSecretKey.mac(utf8(id)))}`;
}

export function commitEvidenceDigest(evidence: string): Uint8Array {
  return sha256(utf8(evidence));
}

/** `ce:<view>.<seqno>:<nonce>`: CCF's nonce is 32 bytes, 64 hex digits. */
export const COMMIT_EVIDENCE_PATTERN = /^ce:(\d{1,15})\.(\d{1,15}):([0-9a-fA-F]{64})$/;

/** The TxID a commit evidence string names; CocoError if it is not one. */
export function parseCommitEvidence(evidence: string): { txId: TxId; nonce: Uint8Array } {
  const match = COMMIT_EVIDENCE_PATTERN.exec(evidence);
  if (!match) throw new CocoError('InvalidCommitEvidence', `"${evidence.slice(0, 80)}" is not commit evidence ("ce:<view>.<seqno>:<64 hex>")`);
  return { txId: { view: Number(match[1]), seqno: Number(match[2]) }, nonce: fromHex(match[3]!) };
}
