// What the Coco transaction that runs an Ethereum transaction claims: the Ethereum transaction's
// hash. Its leaf in the Merkle tree folds in SHA-256 of that hash as the claims digest (CCF's
// application claims), so its Coco receipt proves offline, against the service certificate alone,
// that this transaction ran that Ethereum transaction; the Ethereum data itself stays private.

import { sha256 } from '../crypto/hash.js';

/** The claims digest of the Coco transaction that runs the Ethereum transaction `hash` (32 bytes). */
export function ethereumClaimsDigest(hash: Uint8Array): Uint8Array {
  return sha256(hash);
}
