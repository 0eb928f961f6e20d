// The Merkle leaf of a ledger entry, by CCF's rule: the SHA-256 of the whole serialized entry
// (the write-set digest), then for entry types that carry them, hashed together with the
// commit-evidence digest and the claims digest, in that order.

import { sha256 } from '../crypto/hash.js';
import { concatBytes } from '../crypto/bytes.js';
import { EntryType, type LedgerEntry } from './entry.js';

/** The tree's first leaf: a placeholder so that leaf index = seqno. */
export const GENESIS_PLACEHOLDER_LEAF = new Uint8Array(32);

export function writeSetDigest(entry: LedgerEntry): Uint8Array {
  return sha256(entry.raw);
}

export function leafOf(entry: LedgerEntry): Uint8Array {
  const digest = writeSetDigest(entry);
  if (entry.entryType === EntryType.WriteSet || entry.entryType === EntryType.Snapshot) return digest;
  const parts = [digest];
  if (entry.commitEvidenceDigest) parts.push(entry.commitEvidenceDigest);
  if (entry.claimsDigest) parts.push(entry.claimsDigest);
  return sha256(concatBytes(...parts));
}
