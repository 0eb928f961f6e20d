// CCF's COSE receipts (6.x, the SCITT CCF profile): the service's COSE Sign1 signature over the
// Merkle root of a signature transaction, with the transaction's inclusion proof added in the
// unprotected header (label 396, key -1, a list of them): leaf components [write-set digest,
// commit evidence, claims digest] and the path [[isLeft, digest], ...]. The payload (the root)
// stays detached. A receipt verifies only if every proof it holds does.

import { fromUtf8, toHex } from '../crypto/bytes.js';
import { COSE_HEADER_KID, decodeCbor, decodeCoseSign1, encodeCbor, encodeCoseSign1, verifyCoseSign1 } from '../crypto/cose-sign1.js';
import { publicKeyId } from '../crypto/entity-id.js';
import { CertificateOutsideValidity, verifyCertificateChain } from '../crypto/x509.js';
import { CocoError } from '../errors.js';
import { commitEvidenceDigest, parseCommitEvidence } from './commit-evidence.js';
import { leafFromDigests } from './leaf.js';
import { MerkleTree, type ProofStep } from './merkle-tree.js';
import { checkClaims, receiptOutsideValidity } from './receipt.js';
import { formatTxId } from './tx-id.js';

/** COSE header label of verifiable data proofs, and of inclusion proofs inside it. */
export const COSE_VERIFIABLE_DATA_PROOFS = 396;
const INCLUSION_PROOFS = -1;
const PROOF_LEAF = 1;
const PROOF_PATH = 2;

export interface CoseReceiptInput {
  /** The service's COSE signature over the root, as `public:ccf.internal.cose_signatures` holds it. */
  signatureCose: Uint8Array;
  proof: readonly ProofStep[];
  writeSetDigest: Uint8Array;
  commitEvidence: string;
  claimsDigest: Uint8Array;
}

export function buildCoseReceipt(input: CoseReceiptInput): Uint8Array {
  const message = decodeCoseSign1(input.signatureCose);
  const path = input.proof.map((step) => ('left' in step ? [true, step.left] : [false, step.right]));
  const inclusion = encodeCbor(new Map<number, unknown>([[PROOF_LEAF, [input.writeSetDigest, input.commitEvidence, input.claimsDigest]], [PROOF_PATH, path]]));
  const unprotected = new Map(message.unprotectedHeader);
  unprotected.set(COSE_VERIFIABLE_DATA_PROOFS, new Map([[INCLUSION_PROOFS, [inclusion]]]));
  return encodeCoseSign1({ ...message, unprotectedHeader: unprotected, payload: undefined });
}

function malformed(reason: string): CocoError {
  return new CocoError('ReceiptMalformed', `COSE receipt: ${reason}`);
}

function digest(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== 32) throw malformed(`${what} must be a 32-byte byte string`);
  return new Uint8Array(value);
}

/** More proofs than a receipt for one transaction could need: refused before any signature check. */
export const INCLUSION_PROOFS_MAX = 64;

export interface VerifiedCoseReceipt {
  /** The root, transaction and claims digest of the receipt's first inclusion proof. */
  root: Uint8Array;
  txId: string;
  claimsDigest: Uint8Array;
  /** The transaction of every inclusion proof, in order (one, as a service hands them out). */
  txIds: string[];
}

/**
 * Verifies a COSE receipt against the service certificate. As CCF's `verify_cose`, every
 * inclusion proof must fold to a root the service signature verifies over (one proof that does not
 * fails the receipt, wherever it is), and each leaf's claims digest must be `opts.claimsDigest` if
 * given ('ReceiptClaimsMismatch'); a receipt without a proof proves nothing and is refused. With
 * `opts.at` a Date, the service certificate must be valid then, as a JSON receipt's certificates
 * must (this layer reads no clock: absent, or 'ignore-validity', dates are not judged).
 */
export function verifyCoseReceipt(bytes: Uint8Array, serviceCertPem: string, opts: { at?: Date | 'ignore-validity'; claimsDigest?: Uint8Array } = {}): VerifiedCoseReceipt {
  const message = decodeCoseSign1(bytes);
  const proofs = message.unprotectedHeader.get(COSE_VERIFIABLE_DATA_PROOFS);
  const inclusion = proofs instanceof Map ? proofs.get(INCLUSION_PROOFS) : undefined;
  if (!Array.isArray(inclusion) || inclusion.length === 0) throw malformed('no inclusion proof in unprotected header 396 (key -1)');
  if (inclusion.length > INCLUSION_PROOFS_MAX) throw malformed(`${inclusion.length} inclusion proofs, more than the ${INCLUSION_PROOFS_MAX} accepted`);
  const verifiedRoots = new Set<string>();
  const leaves = inclusion.map((encoded: unknown, i) => {
    const what = inclusion.length === 1 ? 'the inclusion proof' : `inclusion proof ${i + 1} of ${inclusion.length}`;
    const leaf = foldInclusionProof(encoded, what);
    // Proofs of one root (the same transaction twice) need one signature check.
    if (!verifiedRoots.has(toHex(leaf.root))) {
      if (!verifyCoseSign1(message, serviceCertPem, leaf.root)) {
        throw new CocoError('ReceiptInvalid', `the service signature does not verify over the root ${what} proves${otherSigner(message.protectedHeader.get(COSE_HEADER_KID), serviceCertPem)}`);
      }
      verifiedRoots.add(toHex(leaf.root));
    }
    checkClaims(leaf.claimsDigest, opts.claimsDigest);
    return leaf;
  });
  if (opts.at instanceof Date) {
    try {
      verifyCertificateChain(serviceCertPem, { trustedRootPem: serviceCertPem, at: opts.at });
    } catch (cause) {
      throw cause instanceof CertificateOutsideValidity ? receiptOutsideValidity(cause) : cause;
    }
  }
  const first = leaves[0]!;
  return { root: first.root, txId: first.txId, claimsDigest: first.claimsDigest, txIds: leaves.map((leaf) => leaf.txId) };
}

/**
 * Why a signature may not verify: the receipt names (kid, as CCF's: its key's SHA-256 in hex) another
 * service key than the certificate's, as a transaction's from before a disaster recovery does.
 */
function otherSigner(kid: unknown, serviceCertPem: string): string {
  if (!(kid instanceof Uint8Array)) return '';
  const named = fromUtf8(kid);
  const expected = publicKeyId(serviceCertPem);
  if (named === expected) return '';
  return (
    `: it names another service key (kid ${named}) than the certificate's (${expected}). A transaction from before a disaster recovery has a COSE receipt ` +
    "signed by that service's key: verify it against the previous service's certificate (GET /node/service/previous_identity), or ask for its JSON receipt, which the current certificate verifies"
  );
}

/** An inclusion proof's transaction and claims digest, and the root its leaf folds to through its path. */
function foldInclusionProof(encoded: unknown, what: string): { root: Uint8Array; txId: string; claimsDigest: Uint8Array } {
  if (!(encoded instanceof Uint8Array)) throw malformed(`${what} is not a byte string`);
  const proof = decodeCbor(encoded, what);
  if (!(proof instanceof Map)) throw malformed(`${what} is not a map`);
  const leaf = proof.get(PROOF_LEAF);
  const path = proof.get(PROOF_PATH);
  if (!Array.isArray(leaf) || leaf.length !== 3 || typeof leaf[1] !== 'string' || !Array.isArray(path)) throw malformed(`${what} needs leaf [ws, ce, claims] and a path`);
  const evidence = leaf[1] as string;
  const txId = formatTxId(parseCommitEvidence(evidence).txId);
  const claimsDigest = digest(leaf[2], `the claims digest of ${what}`);
  let acc = leafFromDigests(digest(leaf[0], `the write-set digest of ${what}`), commitEvidenceDigest(evidence), claimsDigest);
  path.forEach((step: unknown, i) => {
    if (!Array.isArray(step) || typeof step[0] !== 'boolean') throw malformed(`path step ${i} of ${what} must be [isLeft, digest]`);
    const sibling = digest(step[1], `path step ${i} of ${what}`);
    acc = MerkleTree.rootFromProof(acc, [step[0] ? { left: sibling } : { right: sibling }]);
  });
  return { root: acc, txId, claimsDigest };
}

/** Receipts are told apart by their first byte: COSE starts with CBOR tag 18 (0xd2), JSON with "{". */
export function isCoseReceipt(bytes: Uint8Array): boolean {
  return bytes[0] === 0xd2;
}
