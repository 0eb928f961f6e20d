// The Merkle leaf of a ledger entry, by CCF's rule: the SHA-256 of the whole serialized entry
// (the write-set digest), then for entry types that carry them, hashed together with the
// commit-evidence digest and the claims digest, in that order.

import { sha256 } from '../crypto/hash.js';
import { invariant } from '../errors.js';
import { DIGEST_BYTES, EntryType, type LedgerEntry } from './entry.js';

/** The claims digest of a transaction that set none (CCF's default: 32 zero bytes). */
export const NO_CLAIMS_DIGEST = new Uint8Array(DIGEST_BYTES);

/** The tree's first leaf: a placeholder so that leaf index = seqno. */
export const GENESIS_PLACEHOLDER_LEAF = new Uint8Array(32);

export function writeSetDigest(entry: LedgerEntry): Uint8Array {
  return sha256(entry.raw);
}

/** Scratch for the leaf's hash input, reused: leaves are computed for every entry of a ledger. */
const leafInput = new Uint8Array(3 * DIGEST_BYTES);

/** SHA-256(write-set digest ‖ commit-evidence digest ‖ claims digest), each only if present. */
export function leafFromDigests(writeSetDigest: Uint8Array, commitEvidenceDigest?: Uint8Array, claimsDigest?: Uint8Array): Uint8Array {
  let length = 0;
  for (const part of [writeSetDigest, commitEvidenceDigest, claimsDigest]) {
    if (part === undefined) continue;
    invariant(part.length === DIGEST_BYTES, 'leaf components are SHA-256 digests');
    leafInput.set(part, length);
    length += DIGEST_BYTES;
  }
  return sha256(leafInput.subarray(0, length));
}

/** The entry's leaf; `digest`, its write-set digest, when the caller has it already. */
export function leafOf(entry: LedgerEntry, digest = writeSetDigest(entry)): Uint8Array {
  if (entry.entryType === EntryType.WriteSet || entry.entryType === EntryType.Snapshot) return digest;
  return leafFromDigests(digest, entry.commitEvidenceDigest, entry.claimsDigest);
}
