// Committed snapshot files, as CCF 6.x writes them: `snapshot_<seqno>_<evidence seqno>` while the
// evidence transaction is pending, renamed `.committed` once it commits, with the JSON receipt of
// the evidence transaction appended after the snapshot entry (CCF: src/snapshots/filenames.h,
// src/node/snapshot_serdes.h). A committed file is trusted only if that receipt verifies against
// the service certificate, is for the evidence seqno its name gives, and its claims digest is this
// snapshot's digest: the evidence transaction's claims digest is the snapshot digest, so the
// signed root binds the snapshot. Coco also requires the receipt to be byte for byte the form CCF
// writes (compact JSON, keys in order, lower-case hex, canonical base64 and PEM), so that a file
// altered anywhere, even in a way that would keep its meaning, is refused. CCF 7 appends a COSE
// receipt instead (first byte 0xD2); Coco writes and reads the 6.x JSON receipt only.

import { concatBytes, fromBase64, fromHex, fromUtf8, isValidUtf8, toHex, utf8 } from '../crypto/bytes.js';
import { derToPem } from '../crypto/pem.js';
import { certificateDer } from '../crypto/x509.js';
import { CocoError } from '../errors.js';
import { parseCommitEvidence } from './commit-evidence.js';
import { buildReceipt, verifyReceipt, type TxReceipt } from './receipt.js';
import { entryBytes } from './entry.js';
import { decodeSnapshot, decodeSnapshotEntry, snapshotDigest, type DecodedSnapshot } from './snapshot.js';
import { formatTxId, type TxId } from './tx-id.js';

/** A receipt holds a few certificates (node, endorsements) and a short proof: far below this. */
export const SNAPSHOT_RECEIPT_BYTES_MAX = 1024 * 1024;

const SNAPSHOT_NAME = /^snapshot_([1-9]\d{0,15})_([1-9]\d{0,15})(\.committed)?$/;

export interface SnapshotFileName {
  seqno: number;
  evidenceSeqno: number;
  committed: boolean;
}

export interface VerifiedSnapshot extends DecodedSnapshot {
  /** The evidence transaction the receipt proves committed. */
  evidenceTxId: TxId;
  receipt: TxReceipt;
}

export function snapshotFileName(seqno: number, evidenceSeqno: number, committed: boolean): string {
  if (!Number.isSafeInteger(seqno) || seqno < 1 || !Number.isSafeInteger(evidenceSeqno) || evidenceSeqno <= seqno) {
    throw new CocoError('InvalidArgument', `a snapshot at seqno ${seqno} needs a positive seqno and a later evidence seqno, got ${evidenceSeqno}`);
  }
  return `snapshot_${seqno}_${evidenceSeqno}${committed ? '.committed' : ''}`;
}

/** The seqnos a snapshot file name gives; undefined for any other name (CCF 1.x `.committed_<n>` and `.ignored` files included). */
export function parseSnapshotFileName(fileName: string): SnapshotFileName | undefined {
  const match = SNAPSHOT_NAME.exec(fileName);
  if (!match) return undefined;
  const seqno = Number(match[1]);
  const evidenceSeqno = Number(match[2]);
  if (!Number.isSafeInteger(evidenceSeqno) || evidenceSeqno <= seqno) return undefined;
  return { seqno, evidenceSeqno, committed: match[3] !== undefined };
}

const notOneSnapshotEntry = () => new CocoError('InvalidArgument', 'a receipt is appended to exactly one snapshot entry');

/** A committed snapshot file: the snapshot entry (checked to be one), then the receipt of its evidence transaction. */
export function appendSnapshotReceipt(snapshot: Uint8Array, receipt: TxReceipt): Uint8Array {
  if (decodeSnapshotEntry(snapshot).next !== snapshot.length) throw notOneSnapshotEntry();
  return concatBytes(...committedSnapshotPieces([snapshot], receipt));
}

/**
 * A committed snapshot file as pieces, for writing without joining megabytes first: the pieces of
 * the snapshot entry (as SnapshotEncoder gives them), then the receipt. Only the entry's length is
 * checked here, from its header: a snapshot in pieces is not parsed.
 */
export function committedSnapshotPieces(snapshot: readonly Uint8Array[], receipt: TxReceipt): Uint8Array[] {
  let length = 0;
  for (const piece of snapshot) length += piece.length;
  if (snapshot.length === 0 || entryBytes(snapshot[0] as Uint8Array) !== length) throw notOneSnapshotEntry();
  return [...snapshot, utf8(canonicalReceiptText(receipt))];
}

/** Splits a committed snapshot file after its entry; SnapshotMalformed if either part is missing. */
export function splitCommittedSnapshot(fileBytes: Uint8Array): { snapshot: Uint8Array; receipt: Uint8Array } {
  const { next } = decodeSnapshotEntry(fileBytes);
  if (next === fileBytes.length) throw new CocoError('SnapshotMalformed', 'the snapshot file has no receipt after its entry: it is not committed');
  return { snapshot: fileBytes.subarray(0, next), receipt: fileBytes.subarray(next) };
}

/**
 * Decodes a committed snapshot file named `fileName` and checks that its receipt proves it (see
 * the top of this file). Certificate validity periods are not judged, as CCF does not for snapshot
 * receipts: node certificates expire long before their snapshots. The receipt is checked before the
 * snapshot is decrypted, so that each failure names its real cause: SnapshotInvalid when the file
 * is not what its receipt proves (altered, misnamed, malformed receipt), SnapshotServiceMismatch when
 * the receipt is signed by a node `serviceCertPem` does not endorse (the snapshot is another
 * service's, or that certificate is not the snapshot's service's), then DecryptionFailed when the
 * proven snapshot does not decrypt with `keyFor`'s secret (so that secret is not the one its service
 * used), SnapshotMalformed when it does not decode. With `'public only'` only its public maps are
 * decoded (an auditor without the ledger secret: the receipt proves the whole snapshot).
 */
export function verifyCommittedSnapshot(
  fileBytes: Uint8Array,
  serviceCertPem: string,
  keyFor: ((seqno: number) => Uint8Array) | 'public only',
  fileName: string,
): VerifiedSnapshot {
  const { snapshot, seqno, evidenceTxId, receipt } = verifySnapshotReceipt(fileBytes, serviceCertPem, fileName);
  let decoded: DecodedSnapshot;
  try {
    decoded = decodeSnapshot(snapshot, keyFor);
  } catch (cause) {
    if (!(cause instanceof CocoError && cause.code === 'DecryptionFailed')) throw cause;
    // The receipt proved the file intact: the secret is the wrong one, not the snapshot damaged.
    throw new CocoError('DecryptionFailed', `committed snapshot is refused: its receipt proves it is the service's and unaltered, yet it does not decrypt with the ledger secret given for seqno ${seqno}, so that secret is not the one the service used`, { cause });
  }
  if (evidenceTxId.view < decoded.txId.view) {
    invalid(`its evidence transaction ${formatTxId(evidenceTxId)} is in an earlier view than the snapshot (view ${decoded.txId.view})`);
  }
  return { ...decoded, evidenceTxId, receipt };
}

/**
 * The receipt checks of verifyCommittedSnapshot alone, which need no ledger secret: whether the file
 * `fileName` is the committed snapshot of the service `serviceCertPem` identifies (SnapshotInvalid,
 * SnapshotServiceMismatch as there). Its entry is split off, not decrypted.
 */
export function verifySnapshotReceipt(
  fileBytes: Uint8Array,
  serviceCertPem: string,
  fileName: string,
): { snapshot: Uint8Array; seqno: number; evidenceTxId: TxId; receipt: SnapshotReceipt } {
  const name = parseSnapshotFileName(fileName);
  if (name?.committed !== true) invalid(`"${fileName}" is not a committed snapshot file name (snapshot_<seqno>_<evidence seqno>.committed)`);
  const { snapshot, receipt: receiptBytes } = splitCommittedSnapshot(fileBytes);
  // The entry header is covered by the snapshot digest the receipt proves, not by the GCM tag.
  const seqno = decodeSnapshotEntry(snapshot).entry.txId.seqno;
  if (seqno !== name.seqno) invalid(`the file is named for seqno ${name.seqno} but holds the snapshot at seqno ${seqno}`);

  // Cheap checks first: the signature and certificate checks come last.
  const text = receiptText(receiptBytes);
  const receipt = snapshotReceiptOf(text);
  let canonical: string;
  try {
    canonical = canonicalReceiptText(receipt);
  } catch (cause) {
    if (!(cause instanceof CocoError)) throw cause;
    invalid(`its receipt is malformed: ${cause.message}`, cause);
  }
  if (text !== canonical) invalid('its receipt is not byte for byte in the form CCF writes (the file was altered)');
  const claimsDigest = receipt.leaf_components.claims_digest;
  if (claimsDigest !== toHex(snapshotDigest(snapshot))) {
    // One flipped bit in the snapshot gives the same mismatch as a receipt from another file.
    invalid(`its receipt's claims digest ${claimsDigest} is not this snapshot's digest: the snapshot is damaged, or its receipt is another snapshot's`);
  }
  const evidenceTxId = parseCommitEvidence(receipt.leaf_components.commit_evidence).txId;
  if (evidenceTxId.seqno !== name.evidenceSeqno) {
    invalid(`its receipt is for transaction ${formatTxId(evidenceTxId)}, not for the evidence seqno ${name.evidenceSeqno} the file name gives`);
  }
  try {
    verifyReceipt(receipt, serviceCertPem, { at: 'ignore-validity' });
  } catch (cause) {
    if (!(cause instanceof CocoError)) throw cause;
    // The receipt's signature held (it is checked first): only its signer's endorsement failed.
    if (cause.cause instanceof CocoError && cause.cause.code === 'CertificateChainInvalid') {
      throw new CocoError('SnapshotServiceMismatch', `committed snapshot is refused: its receipt is signed by a node that the service certificate does not endorse, so the snapshot is another service's, or its receipt's certificates were altered (${cause.cause.message})`, { cause });
    }
    invalid(`its receipt does not verify against the service certificate: ${cause.message}`, cause);
  }
  return { snapshot, seqno, evidenceTxId, receipt };
}

type SnapshotReceipt = TxReceipt & { leaf_components: { claims_digest: string } };

/** The receipt's JSON if it has the fields of a snapshot receipt, in snake_case as CCF writes them, with the right types. */
function snapshotReceiptOf(text: string): SnapshotReceipt {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    invalid('its receipt is not JSON');
  }
  const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
  const isString = (value: unknown): value is string => typeof value === 'string';
  const shaped =
    isRecord(json) &&
    isRecord(json.leaf_components) &&
    [json.cert, json.node_id, json.signature].every(isString) &&
    ['claims_digest', 'commit_evidence', 'write_set_digest'].every((field) => isString((json.leaf_components as Record<string, unknown>)[field])) &&
    Array.isArray(json.proof) &&
    json.proof.every((step) => isRecord(step) && isString('left' in step ? step.left : step.right)) &&
    (json.service_endorsements === undefined || (Array.isArray(json.service_endorsements) && json.service_endorsements.every(isString)));
  if (!shaped) invalid('its receipt must be a transaction receipt with leaf_components and a claims_digest, in snake_case as CCF writes it');
  return json as SnapshotReceipt;
}

function receiptText(bytes: Uint8Array): string {
  if (bytes.length > SNAPSHOT_RECEIPT_BYTES_MAX) invalid(`its receipt is ${bytes.length} bytes, over SNAPSHOT_RECEIPT_BYTES_MAX (${SNAPSHOT_RECEIPT_BYTES_MAX})`);
  if (!isValidUtf8(bytes)) invalid('its receipt is not UTF-8 text');
  return fromUtf8(bytes);
}

/** The receipt rebuilt from its own fields, as CCF's JSON writer emits it; CocoError for a malformed field. */
function canonicalReceiptText(receipt: TxReceipt): string {
  const leaf = receipt.leaf_components;
  if (leaf.claims_digest === undefined) throw new CocoError('InvalidArgument', 'a snapshot receipt carries the snapshot digest as its claims digest');
  return JSON.stringify(
    buildReceipt({
      signatureDer: fromBase64(receipt.signature),
      nodeId: receipt.node_id.toLowerCase(),
      certPem: canonicalPem(receipt.cert),
      serviceEndorsements: receipt.service_endorsements?.map(canonicalPem),
      proof: receipt.proof.map((step) => ('left' in step ? { left: fromHex(step.left) } : { right: fromHex(step.right) })),
      writeSetDigest: fromHex(leaf.write_set_digest),
      commitEvidence: leaf.commit_evidence,
      claimsDigest: fromHex(leaf.claims_digest),
    }),
  );
}

function canonicalPem(pem: string): string {
  return derToPem(certificateDer(pem), 'CERTIFICATE');
}

function invalid(reason: string, cause?: unknown): never {
  throw new CocoError('SnapshotInvalid', `committed snapshot is refused: ${reason}`, { cause });
}
