// Writes a ledger in CCF's format: each transaction sealed into an entry with its commit evidence,
// leaves appended to the Merkle tree, signature transactions signed by the node (and COSE-signed
// by the service) over the root of everything before them, and a chunk closed after a signature
// once it reaches the target size. Pure: it returns each entry's bytes; the caller stores them.
// A backup continues the same ledger with the primary's entries (appendReplicated), checking each
// signature against its own tree; a rollback truncates the uncommitted suffix.

import { equalBytes, toBase64, toHex, utf8 } from '../crypto/bytes.js';
import { signCoseSign1, type CoseHeader } from '../crypto/cose-sign1.js';
import { isEcdsaCurve, type EcdsaNonce, type EcdsaNonceSource } from '../crypto/ecdsa-nonce.js';
import { publicKeyId } from '../crypto/entity-id.js';
import { loadPrivateKey, signDigest, type PrivateSigningKey } from '../crypto/signing.js';
import { CocoError } from '../errors.js';
import type { MapChanges, WriteSet } from '../kv/write-set.js';
import { commitEvidence, commitEvidenceDigest, commitSecret } from './commit-evidence.js';
import { decodeEntry, EntryFlags, EntryType } from './entry.js';
import { openEntry, sealEntry } from './entry-sealing.js';
import { GENESIS_PLACEHOLDER_LEAF, leafFromDigests, leafOf, NO_CLAIMS_DIGEST } from './leaf.js';
import { sha256 } from '../crypto/hash.js';
import type { HmacSha256Key } from '../crypto/kdf.js';
import type { LedgerSecrets } from './ledger-secrets.js';
import { MerkleTree } from './merkle-tree.js';
import {
  COSE_CCF_CLAIMS,
  COSE_CWT_CLAIMS,
  COSE_SIGNATURES_MAP,
  CWT_IAT,
  CWT_ISS,
  CWT_SUB,
  decodePrimarySignature,
  encodePrimarySignature,
  SIGNATURES_MAP,
  SINGLETON_KEY,
  singletonWrite,
  TREE_MAP,
} from './signature.js';
import { formatTxId, type TxId } from './tx-id.js';

/** CCF's default `ledger.chunk_size`. */
export const CHUNK_BYTES_DEFAULT = 5 * 1024 * 1024;
/** COSE header labels CCF puts in the service's signature over the root (and COSE_CWT_CLAIMS, CWT_IAT). */
const COSE_VERIFIABLE_DATA_STRUCTURE = 395;
const CCF_LEDGER_SHA256 = 2;

export interface SigningIdentity {
  nodePrivateKeyPem: string;
  /** The node certificate endorsed by the service identity. */
  nodeCertPem: string;
  /** The service key, for the COSE signature over the root; omit to write none (CCF before 6.x). */
  servicePrivateKeyPem?: string;
  serviceCertPem?: string;
}

/** The IV keeps the view's top bit for snapshots: views stay below it. */
const VIEW_MAX = 0x7fff_ffff;

/** The view of the entries from a seqno on. */
export interface ViewStart {
  view: number;
  fromSeqno: number;
}

/**
 * CCF's view history vector: element i is the first seqno of view i + 1. A view without entries
 * gets the start of the next view that has some, as CCF records it.
 */
export function viewStartVector(history: readonly ViewStart[]): number[] {
  const starts: number[] = [];
  for (const { view, fromSeqno } of history) while (starts.length < view) starts.push(fromSeqno);
  return starts;
}

/** Where a writer continues an existing ledger. */
export interface WriterResume {
  tree: MerkleTree;
  seqno: number;
  signatureSeqno: number;
  /** Entry bytes of the open chunk (what LedgerFiles.resume returns); 0 when omitted. */
  chunkBytes?: number;
  /** The views of the resumed entries (ReplayedLedger.views); entries it omits count as the initial view. */
  views?: readonly ViewStart[];
}

export interface LedgerWriterOptions {
  /** The view of the first entries this writer appends; `startView` moves to later ones. */
  view: number;
  resume?: WriterResume;
  secrets: LedgerSecrets;
  identity: SigningIdentity;
  chunkBytesTarget?: number;
  /** Prepared ECDSA nonces, so that signing the root costs little on this thread (see ecdsa-nonce). */
  nonces?: EcdsaNonceSource;
  /** The issuer and subject the COSE signatures' CWT claims name (CCF's `cose_signatures`); empty ones by default, as CCF's. */
  signatureClaims?: () => { issuer: string; subject: string };
}

export interface AppendResult {
  txId: TxId;
  commitEvidence: string;
  entry: Uint8Array;
  /** The changes the entry records (for a signature, the signature tables: apply them to the store). */
  writeSet: WriteSet;
  /** The entry ends its chunk: the next entry starts a new chunk file. */
  closesChunk: boolean;
  /** The receipt's leaf components besides the commit evidence. */
  writeSetDigest: Uint8Array;
  claimsDigest: Uint8Array;
}

export class LedgerWriter {
  readonly tree: MerkleTree;
  private seqno = 0;
  private signatureSeqno = 0;
  private chunkBytes = 0;
  private chunkRequested = false;
  /** The view own entries are appended in: never goes back. */
  private currentView: number;
  /** Where each view starts among the entries, oldest first; entries before the first are in the initial view. */
  private readonly views: ViewStart[] = [];
  private readonly nodeId: string;
  /** Derived once per ledger secret, not once per transaction. */
  private readonly commitSecrets = new WeakMap<Uint8Array, HmacSha256Key>();

  private readonly nodeKey: PrivateSigningKey;
  /** The node certificate signatures carry: the endorsed one at start, then each one members renew. */
  private nodeCertPem: string;
  private readonly serviceSigner: { key: PrivateSigningKey; kid: Uint8Array } | undefined;

  constructor(private readonly options: LedgerWriterOptions) {
    checkView(options.view);
    this.currentView = options.view;
    if (options.resume === undefined) {
      this.tree = new MerkleTree();
      this.tree.append(GENESIS_PLACEHOLDER_LEAF);
    } else {
      this.tree = options.resume.tree;
      this.seqno = options.resume.seqno;
      this.signatureSeqno = options.resume.signatureSeqno;
      this.chunkBytes = options.resume.chunkBytes ?? 0;
      this.views.push(...(options.resume.views ?? []).filter((start) => start.fromSeqno <= this.seqno));
      const lastView = this.views.at(-1)?.view ?? 0;
      if (lastView > options.view) {
        throw new CocoError('InvalidArgument', `the writer cannot start in view ${options.view}: the resumed ledger is already in view ${lastView}`);
      }
    }
    const { identity } = options;
    this.nodeId = publicKeyId(identity.nodeCertPem);
    this.nodeCertPem = identity.nodeCertPem;
    this.nodeKey = loadPrivateKey(identity.nodePrivateKeyPem);
    this.serviceSigner =
      identity.servicePrivateKeyPem === undefined || identity.serviceCertPem === undefined
        ? undefined
        : { key: loadPrivateKey(identity.servicePrivateKeyPem), kid: utf8(publicKeyId(identity.serviceCertPem)) };
  }

  private nonceFor(key: PrivateSigningKey): EcdsaNonce | undefined {
    return isEcdsaCurve(key.curve) ? this.options.nonces?.(key.curve) : undefined;
  }

  /** Closes the current chunk at the next signature, whatever its size (governance's trigger_ledger_chunk). */
  requestChunk(): void {
    this.chunkRequested = true;
  }

  /** Seqno of the last signature transaction (0 before the first). */
  get lastSignatureSeqno(): number {
    return this.signatureSeqno;
  }

  /** The TxID of the last entry ({ view: initial view, seqno: 0 } before any). */
  get lastTxId(): TxId {
    return { view: this.views.at(-1)?.view ?? this.options.view, seqno: this.seqno };
  }

  /** The view this writer's own entries carry. */
  get view(): number {
    return this.currentView;
  }

  /** Where each view starts, up to the last entry (what a snapshot records). */
  get viewHistory(): ViewStart[] {
    return this.views.map((start) => ({ ...start }));
  }

  /**
   * Signatures from now on carry `certPem` (a certificate members renewed, as CCF's
   * set_endorsed_certificate), so that receipts of later transactions name it. It must be this
   * node's key's (InvalidArgument otherwise).
   */
  setNodeCertificate(certPem: string): void {
    if (publicKeyId(certPem) !== this.nodeId) {
      throw new CocoError('InvalidArgument', `cannot sign with a certificate of another key than node ${this.nodeId}'s: pass this node's endorsed certificate`);
    }
    this.nodeCertPem = certPem;
  }

  /** Entries appended from now on carry `view` (a new primary's term); views never go back. */
  startView(view: number): void {
    checkView(view);
    if (view < this.currentView) {
      throw new CocoError('InvalidArgument', `cannot start view ${view}: the writer is already in view ${this.currentView}, and views only go forward`);
    }
    this.currentView = view;
  }

  appendTransaction(writeSet: WriteSet, claimsDigest: Uint8Array = NO_CLAIMS_DIGEST): AppendResult {
    return this.append(writeSet, claimsDigest, 0);
  }

  /** Appends a signature transaction over every transaction so far; closes the chunk if it is full. */
  appendSignature(timestampSeconds: number): AppendResult {
    const txId = { view: this.currentView, seqno: this.seqno + 1 };
    const root = this.tree.root();
    // Key order as CCF's JSON writer emits it.
    const signature = encodePrimarySignature({
      cert: this.nodeCertPem,
      // Deprecated in CCF, which writes 0 (its governance history check requires it).
      commit_seqno: 0,
      commit_view: 0,
      hashed_nonce: '0'.repeat(64),
      node: this.nodeId,
      root: toHex(root),
      seqno: txId.seqno,
      sig: toBase64(signDigest(this.nodeKey, root, 'der', this.nonceFor(this.nodeKey))),
      view: txId.view,
    });
    const maps: MapChanges[] = [];
    if (this.serviceSigner !== undefined) {
      const claims = this.options.signatureClaims?.() ?? { issuer: '', subject: '' };
      const header: CoseHeader = new Map<number | string, unknown>([
        [4, this.serviceSigner.kid],
        [COSE_VERIFIABLE_DATA_STRUCTURE, CCF_LEDGER_SHA256],
        // In CCF's order: iat, iss, sub.
        [COSE_CWT_CLAIMS, new Map<number, unknown>([[CWT_IAT, timestampSeconds], [CWT_ISS, claims.issuer], [CWT_SUB, claims.subject]])],
        [COSE_CCF_CLAIMS, new Map([['txid', formatTxId(txId)]])],
      ]);
      const { key } = this.serviceSigner;
      const cose = signCoseSign1({ privateKey: key, protectedHeader: header, payload: root, detached: true, nonce: this.nonceFor(key) });
      maps.push(singletonMap(COSE_SIGNATURES_MAP, utf8(JSON.stringify(toBase64(cose)))));
    }
    maps.push(singletonMap(SIGNATURES_MAP, signature));
    // CCF stores the leaves since the previous signature, and what is needed to rebuild the root.
    maps.push(singletonMap(TREE_MAP, this.tree.serialize(this.signatureSeqno, this.tree.size)));
    const full = this.chunkRequested || this.chunkBytes >= (this.options.chunkBytesTarget ?? CHUNK_BYTES_DEFAULT);
    this.chunkRequested = false;
    const result = this.append({ public: maps, private: [] }, NO_CLAIMS_DIGEST, full ? EntryFlags.forceLedgerChunkAfter : 0);
    this.signatureSeqno = txId.seqno;
    return result;
  }

  /**
   * Appends an entry another node wrote (a backup following its primary): `entry` must hold
   * exactly `txId`, the next seqno, in a view no earlier than the last entry's (else
   * LedgerEntryMismatch). A signature transaction must sign this writer's own root of everything
   * before it (else LedgerDivergence: the ledgers differ before it). The writer's view rises to
   * the entry's. Nothing changes when it throws. The returned write set views `entry`: do not
   * reuse its buffer.
   */
  appendReplicated(entry: Uint8Array, txId: TxId): AppendResult {
    const seqno = this.seqno + 1;
    // Entries whose view the writer does not know (before a resume without views) constrain nothing.
    const lastView = this.views.at(-1)?.view ?? 0;
    if (txId.seqno !== seqno || !Number.isSafeInteger(txId.view) || txId.view < lastView || txId.view > VIEW_MAX) {
      throw mismatch(txId, `the next entry is seqno ${seqno} in view ${lastView} or later`);
    }
    const { entry: decoded, next } = decodeEntry(entry);
    if (next !== entry.length) {
      throw new CocoError('LedgerEntryMalformed', `entry ${formatTxId(txId)} is followed by ${entry.length - next} stray bytes`);
    }
    if (decoded.txId.seqno !== seqno || decoded.txId.view !== txId.view || decoded.isSnapshotIv || decoded.entryType === EntryType.Snapshot) {
      throw mismatch(txId, `the entry holds ${decoded.isSnapshotIv ? 'the snapshot ' : ''}${formatTxId(decoded.txId)}`);
    }
    const key = this.options.secrets.keyFor(seqno);
    const privateMaps = openEntry(decoded, key);
    const evidence = commitEvidence(this.commitSecretFor(key), txId);
    if (decoded.commitEvidenceDigest !== undefined && !equalBytes(decoded.commitEvidenceDigest, commitEvidenceDigest(evidence))) {
      throw mismatch(txId, 'its commit evidence was derived from another ledger secret');
    }
    const signature = singletonWrite(decoded.publicMaps, SIGNATURES_MAP);
    if (signature !== undefined) {
      const { json, root } = decodePrimarySignature(signature);
      if (json.seqno !== seqno || json.view !== txId.view) {
        throw mismatch(txId, `its signature claims to be ${formatTxId({ view: json.view, seqno: json.seqno })}`);
      }
      const ownRoot = this.tree.root();
      if (!equalBytes(root, ownRoot)) {
        throw new CocoError(
          'LedgerDivergence',
          `signature transaction ${formatTxId(txId)} signs root ${toHex(root)}, but this ledger's root before seqno ${seqno} ` +
            `is ${toHex(ownRoot)}: the ledgers differ before seqno ${seqno}; truncate to the last common entry`,
        );
      }
    }
    const writeSetDigest = sha256(decoded.raw);
    this.tree.append(leafOf(decoded, writeSetDigest));
    const closesChunk = (decoded.flags & EntryFlags.forceLedgerChunkAfter) !== 0;
    this.advance(txId, entry.length, closesChunk);
    if (signature !== undefined) this.signatureSeqno = seqno;
    if (txId.view > this.currentView) this.currentView = txId.view;
    return {
      txId: { view: txId.view, seqno },
      commitEvidence: evidence,
      entry,
      writeSet: { public: decoded.publicMaps, private: privateMaps },
      closesChunk,
      writeSetDigest,
      claimsDigest: decoded.claimsDigest ?? NO_CLAIMS_DIGEST,
    };
  }

  /**
   * Drops every entry after `seqno` (a rollback of the uncommitted suffix). The caller knows what
   * the writer cannot: the last signature at or before `seqno`, and the entry bytes of the chunk
   * left open (LedgerFiles.truncate returns them).
   */
  truncate(seqno: number, options: { lastSignatureSeqno: number; openChunkBytes: number }): void {
    if (!Number.isSafeInteger(seqno) || seqno < 0 || seqno > this.seqno) {
      throw new CocoError('InvalidArgument', `cannot truncate to seqno ${seqno}: the writer holds seqnos 1 to ${this.seqno}`);
    }
    const { lastSignatureSeqno, openChunkBytes } = options;
    // A signature the truncation keeps must be the one the writer knows as the last.
    const signatureKept = this.signatureSeqno <= seqno;
    if (
      !Number.isSafeInteger(lastSignatureSeqno) ||
      lastSignatureSeqno < 0 ||
      lastSignatureSeqno > seqno ||
      (signatureKept && lastSignatureSeqno !== this.signatureSeqno) ||
      (!signatureKept && lastSignatureSeqno >= this.signatureSeqno)
    ) {
      throw new CocoError(
        'InvalidArgument',
        `last signature seqno ${lastSignatureSeqno} is not possible after truncating to ${seqno} (the last signature was at ${this.signatureSeqno})`,
      );
    }
    if (!Number.isSafeInteger(openChunkBytes) || openChunkBytes < 0) {
      throw new CocoError('InvalidArgument', `open chunk bytes must be a non-negative integer, got ${openChunkBytes}`);
    }
    // The tree holds the genesis placeholder at index 0: seqno s is leaf s.
    this.tree.truncate(seqno + 1);
    this.seqno = seqno;
    this.signatureSeqno = lastSignatureSeqno;
    this.chunkBytes = openChunkBytes;
    while ((this.views.at(-1)?.fromSeqno ?? 0) > seqno) this.views.pop();
  }

  private append(writeSet: WriteSet, claimsDigest: Uint8Array, flags: number): AppendResult {
    const txId = { view: this.currentView, seqno: this.seqno + 1 };
    const key = this.options.secrets.keyFor(txId.seqno);
    const evidence = commitEvidence(this.commitSecretFor(key), txId);
    const evidenceDigest = commitEvidenceDigest(evidence);
    const entry = sealEntry({
      txId,
      flags,
      entryType: EntryType.WriteSetWithCommitEvidenceAndClaims,
      claimsDigest,
      commitEvidenceDigest: evidenceDigest,
      publicMaps: writeSet.public,
      privateMaps: writeSet.private,
      key,
    });
    const writeSetDigest = sha256(entry);
    this.tree.append(leafFromDigests(writeSetDigest, evidenceDigest, claimsDigest));
    const closesChunk = (flags & EntryFlags.forceLedgerChunkAfter) !== 0;
    this.advance(txId, entry.length, closesChunk);
    return { txId, commitEvidence: evidence, entry, writeSet, closesChunk, writeSetDigest, claimsDigest };
  }

  /** Accounts for an entry whose leaf was just appended. */
  private advance(txId: TxId, entryBytes: number, closesChunk: boolean): void {
    this.seqno = txId.seqno;
    if (this.views.at(-1)?.view !== txId.view) this.views.push({ view: txId.view, fromSeqno: txId.seqno });
    this.chunkBytes = closesChunk ? 0 : this.chunkBytes + entryBytes;
  }

  /** The commit evidence of a transaction this writer wrote (revealed in its receipt once committed). */
  commitEvidenceFor(txId: TxId): string {
    return commitEvidence(this.commitSecretFor(this.options.secrets.keyFor(txId.seqno)), txId);
  }

  private commitSecretFor(ledgerSecretKey: Uint8Array): HmacSha256Key {
    let secret = this.commitSecrets.get(ledgerSecretKey);
    if (secret === undefined) this.commitSecrets.set(ledgerSecretKey, (secret = commitSecret(ledgerSecretKey)));
    return secret;
  }
}

function checkView(view: number): void {
  if (!Number.isSafeInteger(view) || view < 0 || view > VIEW_MAX) {
    throw new CocoError('InvalidArgument', `a view is an integer from 0 to ${VIEW_MAX}, got ${view}`);
  }
}

function mismatch(txId: TxId, reason: string): CocoError {
  return new CocoError('LedgerEntryMismatch', `replicated entry ${formatTxId(txId)} does not fit: ${reason}`);
}

function singletonMap(name: string, value: Uint8Array): MapChanges {
  return { name, readVersion: 0n, reads: [], writes: [{ key: SINGLETON_KEY, value }], removes: [] };
}
