// `coco ledger verify <dir>`: verifies a ledger directory offline and prints a summary, or one
// line naming the file, the transaction and the reason it failed (with --json, both as JSON).

import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { fromUtf8 } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import { LedgerVerificationError, LedgerVerifier, type LedgerSummary, type VerifiedEntryHandler } from '../ledger/ledger-verifier.js';
import { verifyCommittedSnapshot } from '../ledger/committed-snapshot.js';
import type { MerkleTree } from '../ledger/merkle-tree.js';
import { checkServiceCertificate } from '../ledger/receipt.js';
import { formatTxId, type TxId } from '../ledger/tx-id.js';
import { listChunkFiles, type ChunkFile } from '../node/ledger-directory.js';
import { Progress } from './progress.js';
import { readInputFile } from '../node/read-input.js';

export interface LedgerVerifyOptions {
  directory: string;
  serviceCertPath?: string | undefined;
  /** A committed snapshot to start from (a node that joined from it holds no ledger before it). */
  snapshotPath?: string | undefined;
  /** The certificate the snapshot is proven against when it is the service's that a recovery replaced. */
  previousServiceCertPath?: string | undefined;
}

export interface LedgerVerifyResult extends LedgerSummary {
  /** Chunk files written by a recovery not yet finished (`.recovery`): skipped, as CCF's Ledger skips them. */
  skippedRecoveryFiles: string[];
}

/** Verifies the directory's chunks in order; `onEntry` sees each entry as the verifier hands it. */
export function ledgerVerify(options: LedgerVerifyOptions, onEntry?: VerifiedEntryHandler): LedgerVerifyResult {
  const skippedRecoveryFiles: string[] = [];
  const files = listChunkFiles(options.directory, {
    onSetAside: (file) => {
      if (file.chunk.suffix === 'recovery') skippedRecoveryFiles.push(file.name);
    },
  });
  const trustedServiceCertPem = options.serviceCertPath === undefined ? undefined : fromUtf8(readInputFile(options.serviceCertPath, 'service certificate'));
  // As receipt verify: one self-signed CA certificate, never the first of a bundle or a node's.
  if (trustedServiceCertPem !== undefined) checkServiceCertificate(trustedServiceCertPem);
  const previousServiceCertPem = options.previousServiceCertPath === undefined ? undefined : fromUtf8(readInputFile(options.previousServiceCertPath, 'previous service certificate'));
  if (previousServiceCertPem !== undefined) {
    if (options.snapshotPath === undefined) throw new CocoError('UsageError', '--previous-service-cert is the certificate a --snapshot FILE is proven against: give the snapshot too');
    checkServiceCertificate(previousServiceCertPem);
  }
  const from = options.snapshotPath === undefined ? undefined : startingSnapshot(options.snapshotPath, trustedServiceCertPem, previousServiceCertPem);
  const afterSnapshot = from === undefined ? files : chunksAfter(files, from.txId.seqno);
  if (from !== undefined && afterSnapshot.length === 0) {
    const first = files[0]!.chunk.first;
    // Without --snapshot it is verified from seqno 1: it must start there, or be completed from there.
    const without = first === 1 ? 'verify it without --snapshot' : `verify it without --snapshot, with the chunks before seqno ${first} put in it (coco ledger fetch DIR --since 1)`;
    throw new CocoError(
      'LedgerRefused',
      `${options.directory} holds no chunk after the snapshot at seqno ${from.txId.seqno} (its chunks are seqno ${first} to ${files.at(-1)!.chunk.last ?? files.at(-1)!.chunk.first}): it holds the ledger before the snapshot; ${without}`,
    );
  }
  const progress = new Progress();
  const verifier = new LedgerVerifier({
    ...(trustedServiceCertPem === undefined ? {} : { trustedServiceCertPem }),
    ...(from && { from }),
    onProgress: (p) => progress.update(`verifying: ${p.files}/${afterSnapshot.length} files, ${p.entries} transactions`),
  });
  try {
    for (const file of afterSnapshot) {
      const { name, bytes } = readChunkOf(options.directory, file);
      verifier.addChunk(name, bytes, onEntry);
    }
    return { ...verifier.finish(), skippedRecoveryFiles: skippedRecoveryFiles.sort() };
  } finally {
    progress.done();
  }
}

/** A ledger that starts after seqno 1 may continue a snapshot (a node that started from one holds no ledger before it): how to verify it from there. */
export function withSnapshotHint(error: unknown): unknown {
  if (!(error instanceof LedgerVerificationError) || error.missing?.from !== 1 || error.txId !== undefined) return error;
  const { to } = error.missing;
  return error.with({
    reason: `${error.reason}; a ledger that continues a committed snapshot (a node that started from one) verifies from it: add --snapshot <its snapshots directory>/snapshot_${to}_<evidence seqno>.committed (with --service-cert)`,
  });
}

/**
 * Where a verification from the committed snapshot at `path` starts: its seqno and Merkle tree, once
 * its receipt proves it is the trusted service's (its private maps are not read: no secret is needed).
 */
function startingSnapshot(path: string, trustedServiceCertPem: string | undefined, previousServiceCertPem: string | undefined): { txId: TxId; tree: MerkleTree; serviceCertPem?: string } {
  if (trustedServiceCertPem === undefined) {
    throw new CocoError('UsageError', '--snapshot needs --service-cert: the snapshot\'s receipt, and the ledger after it, are checked against the service certificate');
  }
  // A snapshot of the service a recovery replaced: proven against that one, and the ledger after it
  // must change to the trusted identity (by a recovery: the verifier checks that).
  let proven: { txId: TxId; tree: MerkleTree };
  try {
    proven = verifyCommittedSnapshot(readInputFile(path, 'snapshot'), previousServiceCertPem ?? trustedServiceCertPem, 'public only', basename(path));
  } catch (error) {
    if (!(error instanceof CocoError && error.code === 'SnapshotServiceMismatch')) throw error;
    const against = previousServiceCertPem === undefined ? '--service-cert' : '--previous-service-cert';
    throw new CocoError(error.code, `${error.message} (checked against ${against})`, { cause: error });
  }
  return { txId: proven.txId, tree: proven.tree, ...(previousServiceCertPem !== undefined && { serviceCertPem: previousServiceCertPem }) };
}

/** The chunks after the snapshot at `seqno`: the ledger after one starts with a chunk of its own, and one across it is refused. */
function chunksAfter(files: readonly ChunkFile[], seqno: number): ChunkFile[] {
  const across = files.find((file) => file.chunk.first <= seqno && (file.chunk.last === undefined || file.chunk.last > seqno));
  if (across !== undefined) {
    throw new CocoError('LedgerRefused', `${across.name} holds transactions on both sides of the snapshot at seqno ${seqno}: verify the directory without --snapshot (it holds the ledger before it), or give the snapshot its chunks start after`);
  }
  return files.filter((file) => file.chunk.first > seqno);
}

/**
 * A chunk file's name and bytes. A running node renames its open chunk when it completes it
 * (`ledger_<first>` to `ledger_<first>-<last>.committed`), maybe while a long verification gets there:
 * the file that now starts at the same seqno is the one.
 */
export function readChunk(directory: string, file: ChunkFile): { name: string; bytes: Uint8Array } {
  if (!existsSync(file.path)) {
    const renamed = listChunkFiles(directory).find((candidate) => candidate.chunk.first === file.chunk.first);
    if (renamed !== undefined) return { name: renamed.name, bytes: readInputFile(renamed.path, 'ledger chunk') };
  }
  return { name: file.name, bytes: readInputFile(file.path, 'ledger chunk') };
}

/** A chunk that cannot be read (a directory of that name, say) fails verification at that file. */
function readChunkOf(directory: string, file: ChunkFile): { name: string; bytes: Uint8Array } {
  try {
    return readChunk(directory, file);
  } catch (error) {
    if (!(error instanceof CocoError)) throw error;
    throw new LedgerVerificationError(file.name, undefined, error.message);
  }
}

export function describeSummary(directory: string, summary: LedgerVerifyResult): string {
  const lines = [
    `Ledger ${directory} verified.`,
    `  chunk files:           ${summary.files}`,
    `  transactions:          ${summary.transactions} (${formatTxId(summary.firstTxId!)} to ${formatTxId(summary.lastTxId!)})`,
    `  signatures:            ${summary.signatures} (${summary.coseSignatures} also COSE-signed by the service)`,
    `  last verified TxID:    ${summary.lastVerifiedTxId ? formatTxId(summary.lastVerifiedTxId) : 'none'}`,
    `  service identity:      ${summary.serviceIdentityFingerprint === undefined ? 'none recorded before the last signature' : `SHA-256 ${summary.serviceIdentityFingerprint}`}`,
  ];
  for (const note of summaryNotes(summary)) lines.push(`  ${`${note.label}:`.padEnd(22)} ${note.text}`);
  return lines.join('\n');
}

export interface SummaryNote {
  label: string;
  text: string;
}

/**
 * What the summary has to say beyond what verified: transactions not yet signed, an entry a crash
 * cut short, chunk files skipped.
 */
export function summaryNotes(summary: LedgerVerifyResult): SummaryNote[] {
  const notes: SummaryNote[] = [];
  if (summary.unsignedTail > 0) {
    notes.push({ label: 'not yet signed', text: `${summary.unsignedTail} transaction${summary.unsignedTail === 1 ? '' : 's'} after the last signature (in an uncommitted chunk)` });
  }
  const incomplete = summary.incompleteEntry;
  if (incomplete !== undefined) {
    notes.push({
      label: 'incomplete entry',
      text: `${incomplete.bytes} bytes at byte ${incomplete.offset} of ${incomplete.file}, where seqno ${incomplete.seqno} would start: a write cut short (as a crash leaves it), not verified`,
    });
  }
  const skipped = summary.skippedRecoveryFiles;
  if (skipped.length > 0) {
    notes.push({ label: 'skipped', text: `${skipped.join(', ')}: written by a recovery not yet finished (.recovery), not verified, as CCF's Ledger skips them` });
  }
  return notes;
}

export function summaryJson(summary: LedgerVerifyResult): Record<string, unknown> {
  return {
    verified: true,
    files: summary.files,
    transactions: summary.transactions,
    signatures: summary.signatures,
    cose_signatures: summary.coseSignatures,
    first_transaction_id: summary.firstTxId && formatTxId(summary.firstTxId),
    last_transaction_id: summary.lastTxId && formatTxId(summary.lastTxId),
    last_verified_transaction_id: summary.lastVerifiedTxId && formatTxId(summary.lastVerifiedTxId),
    unsigned_tail: summary.unsignedTail,
    incomplete_entry: summary.incompleteEntry ?? null,
    skipped_recovery_files: summary.skippedRecoveryFiles,
    service_identity_sha256: summary.serviceIdentityFingerprint,
  };
}

/**
 * A failed verification as JSON: the same facts as the text line, for `--json`. A failure of the
 * directory as a whole (unreadable, empty, two chunks for the same seqnos) names no file.
 */
export function failureJson(error: CocoError): Record<string, unknown> {
  const verification = error instanceof LedgerVerificationError ? error : undefined;
  return {
    verified: false,
    file: verification?.file || null,
    transaction_id: verification?.txId ? formatTxId(verification.txId) : null,
    seqno: verification?.txId?.seqno ?? verification?.seqno ?? null,
    reason: verification?.reason ?? error.message,
  };
}
