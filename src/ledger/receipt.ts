// CCF's JSON transaction receipts (describe_receipt_v1 shape): built from a Merkle proof and the
// signature over the root, and verified offline. A receipt verifies only if its leaf folds through
// the proof to a root that the node's key signed, the node ID names that key, and the node's
// certificate chains to the service certificate (through `service_endorsements` when present).
// The receipts JS apps hand out (ccf_receipt_to_js) verify too: a signature transaction's carries
// the signed root as `root_hex`, with no proof.

import { equalBytes, fromBase64, fromHex, toBase64, toHex } from '../crypto/bytes.js';
import { publicKeyId } from '../crypto/entity-id.js';
import { verifyDigest } from '../crypto/signing.js';
import { splitPemBundle } from '../crypto/pem.js';
import { CERTIFICATE_CHAIN_LENGTH_MAX, CertificateOutsideValidity, certificateDer, isRootCaCertificate, verifyCertificateChain } from '../crypto/x509.js';
import { CocoError } from '../errors.js';
import { HASH_BYTES, MerkleTree, TREE_LEAVES_MAX, type ProofStep } from './merkle-tree.js';
import { COMMIT_EVIDENCE_PATTERN, commitEvidenceDigest, parseCommitEvidence } from './commit-evidence.js';
import { leafFromDigests } from './leaf.js';
import { formatTxId } from './tx-id.js';

/** A proof over a tree of at most TREE_LEAVES_MAX leaves has at most this many steps. */
export const RECEIPT_PROOF_STEPS_MAX = Math.ceil(Math.log2(TREE_LEAVES_MAX));
/** Endorsements sit between the node certificate and the service certificate in one chain. */
export const RECEIPT_SERVICE_ENDORSEMENTS_MAX = CERTIFICATE_CHAIN_LENGTH_MAX - 2;
export const RECEIPT_CERT_PEM_CHARS_MAX = 16_384;
/** Base64 of a DER ECDSA signature: 139 bytes at most for P-521, far less for P-256/P-384. */
export const RECEIPT_SIGNATURE_CHARS_MAX = 256;

export type ReceiptProofStep = { left: string } | { right: string };

export interface ReceiptLeafComponents {
  /** Absent when the transaction's entry carries no claims digest; the leaf then omits it. */
  claims_digest?: string;
  /** `ce:<view>.<seqno>:<hex nonce>`: reveals the TxID and that the transaction was committed. */
  commit_evidence: string;
  write_set_digest: string;
}

/** Receipt for an ordinary transaction. Keys are in CCF's (alphabetical) order. */
export interface TxReceipt {
  cert: string;
  leaf_components: ReceiptLeafComponents;
  node_id: string;
  proof: ReceiptProofStep[];
  service_endorsements?: string[];
  signature: string;
}

/** Receipt for a signature transaction: its leaf is the signed root itself. */
export interface SignatureReceipt {
  cert: string;
  leaf: string;
  node_id: string;
  proof: [];
  service_endorsements?: string[];
  signature: string;
}

export type Receipt = TxReceipt | SignatureReceipt;

export interface ReceiptSigner {
  /** DER ECDSA signature whose message digest is the root itself. */
  signatureDer: Uint8Array;
  nodeId: string;
  certPem: string;
  serviceEndorsements?: readonly string[];
}

export interface VerifiedReceipt {
  root: Uint8Array;
  /** `<view>.<seqno>` from the commit evidence; absent for receipts that carry a bare leaf. */
  txId?: string;
  /** The claims digest the leaf folds in, which the verifier compares with its own claims. */
  claimsDigest?: Uint8Array;
}

/** SHA-256 digests and node IDs alike: 64 hex digits. */
const DIGEST_HEX = /^[0-9a-fA-F]{64}$/;

/** SHA-256(write_set_digest ‖ SHA-256(utf8(commit_evidence)) ‖ claims_digest), claims only if given. */
export function computeLeaf(writeSetDigest: Uint8Array, commitEvidence: string, claimsDigest?: Uint8Array): Uint8Array {
  checkDigest(writeSetDigest, 'write set digest');
  if (claimsDigest !== undefined) checkDigest(claimsDigest, 'claims digest');
  return leafFromDigests(writeSetDigest, commitEvidenceDigest(commitEvidence), claimsDigest);
}

/** The TxID (`<view>.<seqno>`) a commit evidence string reveals. */
export function commitEvidenceTxId(commitEvidence: string): string {
  return formatTxId(parseCommitEvidence(commitEvidence).txId);
}

export function buildReceipt(
  opts: ReceiptSigner & {
    proof: readonly ProofStep[];
    writeSetDigest: Uint8Array;
    commitEvidence: string;
    claimsDigest?: Uint8Array;
  },
): TxReceipt {
  checkDigest(opts.writeSetDigest, 'write set digest');
  if (opts.claimsDigest !== undefined) checkDigest(opts.claimsDigest, 'claims digest');
  commitEvidenceTxId(opts.commitEvidence);
  const leafComponents: ReceiptLeafComponents = {
    ...(opts.claimsDigest !== undefined && { claims_digest: toHex(opts.claimsDigest) }),
    commit_evidence: opts.commitEvidence,
    write_set_digest: toHex(opts.writeSetDigest),
  };
  return {
    cert: opts.certPem,
    leaf_components: leafComponents,
    node_id: opts.nodeId,
    proof: opts.proof.map((step) => ('left' in step ? { left: toHex(step.left) } : { right: toHex(step.right) })),
    ...endorsementsOf(opts),
    signature: toBase64(opts.signatureDer),
  };
}

export function buildSignatureReceipt(opts: ReceiptSigner & { root: Uint8Array }): SignatureReceipt {
  checkDigest(opts.root, 'root');
  return {
    cert: opts.certPem,
    leaf: toHex(opts.root),
    node_id: opts.nodeId,
    proof: [],
    ...endorsementsOf(opts),
    signature: toBase64(opts.signatureDer),
  };
}

/**
 * Verifies a receipt (parsed JSON, snake_case or CCF's camelCase variant) against the service
 * certificate. `at` judges certificate validity at that instant (the caller's clock: this layer
 * reads none), or not at all with 'ignore-validity'. Throws 'ReceiptMalformed' for a bad shape, 'ReceiptInvalid' when
 * the receipt does not prove what it claims, 'InvalidArgument' (or 'InvalidCertificate') when the
 * service certificate or `at` is not one. With `claimsDigest`, the receipt must also prove that
 * its transaction has these claims ('ReceiptClaimsMismatch' otherwise): the digest is compared with
 * the receipt's, or folded into its leaf when the receipt leaves it out (CCF's sample apps remove
 * it, so that the verifier recomputes it from the claim it holds).
 */
export function verifyReceipt(
  receipt: unknown,
  serviceCertPem: string,
  opts: { at: Date | 'ignore-validity'; claimsDigest?: Uint8Array },
): VerifiedReceipt {
  checkServiceCertificate(serviceCertPem);
  if (opts.claimsDigest !== undefined) checkDigest(opts.claimsDigest, 'claims digest');
  const parsed = parseReceipt(receipt, opts.claimsDigest);
  const root = MerkleTree.rootFromProof(parsed.leaf, parsed.proof);
  if (publicKeyId(parsed.certDer) !== parsed.nodeId) {
    throw invalid(`node_id ${parsed.nodeId} does not name the key of cert (its node ID is ${publicKeyId(parsed.certDer)})`);
  }
  let signed: boolean;
  try {
    signed = verifyDigest(parsed.cert, root, parsed.signature, 'der');
  } catch (cause) {
    throw invalid(`cannot check the signature with the key of cert: ${(cause as Error).message}`, cause);
  }
  if (!signed) {
    throw invalid(`signature does not verify over root ${toHex(root)} with the key of cert (${SUSPECTS[parsed.claimsFrom]})`);
  }
  try {
    verifyCertificateChain(parsed.cert, {
      trustedRootPem: serviceCertPem,
      intermediatesPem: parsed.endorsements,
      at: opts.at,
    });
  } catch (cause) {
    if (!(cause instanceof CocoError) || cause.code === 'InvalidArgument') throw cause;
    if (cause instanceof CertificateOutsideValidity) throw receiptOutsideValidity(cause);
    throw invalid(`cert is not endorsed by the service certificate: ${cause.message}`, cause);
  }
  checkClaims(parsed.claimsDigest, opts.claimsDigest);
  return { root, ...(parsed.txId !== undefined && { txId: parsed.txId }), ...(parsed.claimsDigest !== undefined && { claimsDigest: parsed.claimsDigest }) };
}

/** A receipt whose certificate is out of date at the instant it is judged: it may predate that. */
export function receiptOutsideValidity(cause: CertificateOutsideValidity): CocoError {
  return invalid(`${cause.message}; the receipt may predate that: verify it with 'ignore-validity' (coco receipt verify --ignore-validity) to check it regardless of dates`, cause);
}

/** A verified receipt's claims digest (`found`) must be the one the caller expects, if any. */
export function checkClaims(found: Uint8Array | undefined, expected: Uint8Array | undefined): void {
  if (expected === undefined || (found !== undefined && equalBytes(found, expected))) return;
  const has = found === undefined ? 'no claims digest' : `claims digest ${toHex(found)}`;
  throw new CocoError('ReceiptClaimsMismatch', `the receipt verifies, but its transaction has ${has}, not ${toHex(expected)}: it does not prove what was asked`);
}

/**
 * The trust anchor must be one service certificate, a self-signed CA: a receipt checked against its
 * own node certificate (an easy slip) would prove nothing, as anyone can make one that passes.
 */
export function checkServiceCertificate(serviceCertPem: string): void {
  const count = typeof serviceCertPem === 'string' ? splitPemBundle(serviceCertPem).length : 0;
  if (count !== 1) {
    throw new CocoError('InvalidArgument', `the service certificate must be one PEM certificate (service_cert.pem), got ${count === 0 ? 'none' : `${count}`}`);
  }
  if (!isRootCaCertificate(serviceCertPem)) {
    throw new CocoError('InvalidArgument', "the certificate given as the service's is not a self-signed CA certificate (a node's certificate?): pass the service's own, service_cert.pem");
  }
}

type ClaimsSource = 'receipt' | 'verifier' | 'none';

/** What a signature that does not verify over the leaf's root may mean, by where its claims digest came from. */
const SUSPECTS: Record<ClaimsSource, string> = {
  receipt: 'tampered leaf, proof or signature?',
  verifier: "tampered leaf, proof or signature, or claims other than the transaction's?",
  // CCF's logging sample removes the digest of the claims it set, for the verifier to recompute it.
  none: 'the receipt has no claims digest: if its app set claims and removed their digest from the receipt, as CCF\'s logging sample does, ' +
    'pass the digest of those claims (claimsDigest; coco receipt verify --claims-digest HEX); otherwise its leaf, proof or signature was tampered with',
};

interface ParsedReceipt {
  cert: string;
  certDer: Uint8Array;
  nodeId: string;
  signature: Uint8Array;
  proof: ProofStep[];
  leaf: Uint8Array;
  txId: string | undefined;
  claimsDigest: Uint8Array | undefined;
  /** Where the leaf's claims digest came from; 'none' when neither the receipt nor the verifier gave one. */
  claimsFrom: ClaimsSource;
  endorsements: string[];
}

/**
 * Checks every field the verification uses; other fields are ignored, as CCF's verifiers do.
 * `expectedClaims` stands in for a claims digest the leaf components leave out.
 */
function parseReceipt(receipt: unknown, expectedClaims: Uint8Array | undefined): ParsedReceipt {
  const top = asObject(receipt, 'receipt');
  const cert = pemCertificate(required(top, 'cert'));
  const nodeId = stringField(required(top, 'node_id', 'nodeId'), DIGEST_HEX, '64 hex digits').toLowerCase();
  const signature = signatureField(required(top, 'signature'));
  const components = optional(top, 'leaf_components', 'leafComponents');
  const bareLeaf = optional(top, 'leaf');
  // A JS app's receipt of a signature transaction: the signed root, which no proof step lies above.
  const signedRoot = optional(top, 'root_hex');
  const sources = [components, bareLeaf, signedRoot].filter((field) => field !== undefined);
  if (sources.length > 1) throw malformed(sources[1]!.name, `receipt has ${sources.map((field) => field.name).join(' and ')}; a receipt carries one`);
  checkSignatureFlag(optional(top, 'is_signature_transaction'), components);
  const proof = signedRoot === undefined ? proofField(required(top, 'proof')) : noProof(optional(top, 'proof'));
  let leaf: Uint8Array;
  let txId: string | undefined;
  let claimsDigest: Uint8Array | undefined;
  let claimsFrom: ClaimsSource = 'receipt';
  if (components !== undefined) {
    const fields = asObject(components.value, components.name);
    const prefix = `${components.name}.`;
    const writeSetDigest = digestField(required(fields, 'write_set_digest', 'writeSetDigest', prefix));
    const evidence = required(fields, 'commit_evidence', 'commitEvidence', prefix);
    const commitEvidence = stringField(evidence, COMMIT_EVIDENCE_PATTERN, '"ce:<view>.<seqno>:<64 hex digits>"');
    const claims = optional(fields, 'claims_digest', 'claimsDigest', prefix);
    if (claims === undefined) claimsFrom = expectedClaims === undefined ? 'none' : 'verifier';
    claimsDigest = claims === undefined ? expectedClaims : digestField(claims);
    txId = commitEvidenceTxId(commitEvidence);
    leaf = computeLeaf(writeSetDigest, commitEvidence, claimsDigest);
  } else if (bareLeaf !== undefined || signedRoot !== undefined) {
    leaf = digestField((bareLeaf ?? signedRoot)!);
  } else {
    throw malformed('leaf_components', 'receipt has none of leaf_components, leaf (a signature transaction\'s) and root_hex (the same, as JS apps give it)');
  }
  const endorsementsField = optional(top, 'service_endorsements', 'serviceEndorsements');
  const endorsements = endorsementsField === undefined ? [] : endorsementsOfField(endorsementsField);
  return { ...cert, nodeId, signature, proof, leaf, txId, claimsDigest, claimsFrom, endorsements };
}

interface Field {
  /** The key as the receipt spells it (snake_case or camelCase), for error messages. */
  name: string;
  value: unknown;
}

function asObject(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed(name, `${name} must be a JSON object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/** The field under its snake_case or camelCase key; `prefix` is the path of `object` in the receipt. */
function optional(object: Record<string, unknown>, snake: string, camel?: string, prefix = ''): Field | undefined {
  const hasSnake = Object.hasOwn(object, snake);
  const hasCamel = camel !== undefined && Object.hasOwn(object, camel);
  if (hasSnake && hasCamel) throw malformed(prefix + snake, `receipt has both ${prefix}${snake} and ${prefix}${camel}; send one spelling`);
  if (hasSnake) return { name: prefix + snake, value: object[snake] };
  if (hasCamel) return { name: prefix + camel, value: object[camel] };
  return undefined;
}

function required(object: Record<string, unknown>, snake: string, camel?: string, prefix = ''): Field {
  const field = optional(object, snake, camel, prefix);
  if (field === undefined) throw malformed(prefix + snake, `${prefix}${snake} is missing`);
  return field;
}

function stringField(field: Field, pattern: RegExp, expected: string): string {
  if (typeof field.value !== 'string' || !pattern.test(field.value)) {
    throw malformed(field.name, `${field.name} must be ${expected}, got ${describe(field.value)}`);
  }
  return field.value;
}

function digestField(field: Field): Uint8Array {
  return fromHex(stringField(field, DIGEST_HEX, 'a SHA-256 digest in 64 hex digits'));
}

function pemCertificate(field: Field): { cert: string; certDer: Uint8Array } {
  const { name, value } = field;
  if (typeof value !== 'string' || value.length > RECEIPT_CERT_PEM_CHARS_MAX) {
    throw malformed(name, `${name} must be a PEM certificate of at most ${RECEIPT_CERT_PEM_CHARS_MAX} characters, got ${describe(value)}`);
  }
  try {
    return { cert: value, certDer: certificateDer(value) };
  } catch (cause) {
    throw malformed(name, `${name} is not a PEM certificate: ${(cause as Error).message}`, cause);
  }
}

function signatureField(field: Field): Uint8Array {
  if (typeof field.value === 'string' && field.value.length > 0 && field.value.length <= RECEIPT_SIGNATURE_CHARS_MAX) {
    try {
      return fromBase64(field.value);
    } catch {
      // reported below with the field's name
    }
  }
  throw malformed(field.name, `${field.name} must be a base64 DER signature, got ${describe(field.value)}`);
}

function proofField(field: Field): ProofStep[] {
  if (!Array.isArray(field.value) || field.value.length > RECEIPT_PROOF_STEPS_MAX) {
    throw malformed(field.name, `${field.name} must be an array of at most ${RECEIPT_PROOF_STEPS_MAX} steps, got ${describe(field.value)}`);
  }
  return field.value.map((item: unknown, i): ProofStep => {
    const name = `${field.name}[${i}]`;
    const step = asObject(item, name);
    const hasLeft = Object.hasOwn(step, 'left');
    if (hasLeft === Object.hasOwn(step, 'right')) {
      throw malformed(name, `${name} must have exactly one of "left" and "right"`);
    }
    const side = hasLeft ? 'left' : 'right';
    const hash = digestField({ name: `${name}.${side}`, value: step[side] });
    return hasLeft ? { left: hash } : { right: hash };
  });
}

/**
 * `is_signature_transaction`, which JS apps' receipts carry, is a boolean that agrees with the leaf:
 * a signature transaction's receipt has its signed root, any other's has leaf components.
 */
function checkSignatureFlag(flag: Field | undefined, components: Field | undefined): void {
  if (flag === undefined) return;
  if (typeof flag.value !== 'boolean') throw malformed(flag.name, `${flag.name} must be true or false, got ${describe(flag.value)}`);
  if (flag.value === (components !== undefined)) {
    const carries = components === undefined ? 'no leaf_components' : 'leaf_components';
    throw malformed(flag.name, `${flag.name} is ${flag.value}, but the receipt has ${carries}: a signature transaction's receipt has its signed root (root_hex or leaf), any other's leaf_components`);
  }
}

/** The proof of a receipt that carries the signed root itself: none, or an empty one. */
function noProof(field: Field | undefined): [] {
  if (field === undefined || (Array.isArray(field.value) && field.value.length === 0)) return [];
  throw malformed(field.name, `${field.name} must be empty or absent with root_hex, which is the signed root itself, got ${describe(field.value)}`);
}

function endorsementsOfField(field: Field): string[] {
  if (!Array.isArray(field.value) || field.value.length > RECEIPT_SERVICE_ENDORSEMENTS_MAX) {
    throw malformed(
      field.name,
      `${field.name} must be an array of at most ${RECEIPT_SERVICE_ENDORSEMENTS_MAX} PEM certificates, got ${describe(field.value)}`,
    );
  }
  return field.value.map((item: unknown, i) => pemCertificate({ name: `${field.name}[${i}]`, value: item }).cert);
}

function endorsementsOf(signer: ReceiptSigner): { service_endorsements?: string[] } {
  return signer.serviceEndorsements === undefined ? {} : { service_endorsements: [...signer.serviceEndorsements] };
}

function checkDigest(digest: Uint8Array, what: string): void {
  if (!(digest instanceof Uint8Array) || digest.length !== HASH_BYTES) {
    throw new CocoError('InvalidArgument', `${what} must be a ${HASH_BYTES}-byte SHA-256 digest`);
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value);
  return json === undefined ? typeof value : json.length > 60 ? `${json.slice(0, 60)}…` : json;
}

function malformed(field: string, message: string, cause?: unknown): CocoError {
  return new CocoError('ReceiptMalformed', `receipt field ${field}: ${message}`, { cause });
}

function invalid(reason: string, cause?: unknown): CocoError {
  return new CocoError('ReceiptInvalid', `receipt does not verify: ${reason}`, { cause });
}
