// The Merkle leaf of a ledger entry, by CCF's rule: the SHA-256 of the whole serialized entry
// (the write-set digest), then for entry types that carry them, hashed together with the
// commit-evidence digest and the claims digest, in that order.

import { sha256 } from '../crypto/hash.js';
import { DIGEST_BYTES, EntryType, type LedgerEntry } from './entry.js';

/** The tree's first leaf: a placeholder so that leaf index = seqno. */
export const GENESIS_PLACEHOLDER_LEAF = new Uint8Array(32);

export function writeSetDigest(entry: LedgerEntry): Uint8Array {
  return sha256(entry.raw);
}

/** Scratch for the leaf's hash input, reused: leaves are computed for every entry of a ledger. */
const leafInput = new Uint8Array(3 * DIGEST_BYTES);

export function leafOf(entry: LedgerEntry): Uint8Array {
  const digest = writeSetDigest(entry);
  if (entry.entryType === EntryType.WriteSet || entry.entryType === EntryType.Snapshot) return digest;
  leafInput.set(digest, 0);
  let length = DIGEST_BYTES;
  for (const part of [entry.commitEvidenceDigest, entry.claimsDigest]) {
    if (part === undefined) continue;
    leafInput.set(part, length);
    length += DIGEST_BYTES;
  }
  return sha256(leafInput.subarray(0, length));
}
