// Offline verification of a whole ledger, chunk by chunk in seqno order: every entry parses, the
// seqnos run without gap or overlap, the Merkle tree rebuilt from the entries has the root each
// signature transaction signed (and it writes nothing but the signature tables), each signature
// verifies with its node's certificate, and that certificate is endorsed by the service identity
// recorded in the ledger (or the one trusted). Only what a verified signature covers is reported
// as verified; an entry a crash cut short at the very end is reported, not verified.
// A node re-reading its own ledger may check the cryptographic signatures of the last signature
// transaction only (`signatures: 'last'`): that one signs a tree holding every entry before it,
// earlier signatures included, so it authenticates them all; every root is still compared.

import { decodeCoseSign1, verifyCoseSign1, type CoseSign1 } from '../crypto/cose-sign1.js';
import { certificateId, publicKeyId } from '../crypto/entity-id.js';
import { verifyDigest } from '../crypto/signing.js';
import { parseCertificate, verifyCertificateChain } from '../crypto/x509.js';
import { equalBytes, fromUtf8, toHex } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import { CHUNK_HEADER_BYTES, checkPositionsTable, openChunkEntries, parseChunkName, readChunkLayout, tablePosition, type ChunkLayout } from './chunk-file.js';
import { decodeEntry, ENTRY_HEADER_BYTES, entryEndAt, EntryType, type LedgerEntry } from './entry.js';
import { GENESIS_PLACEHOLDER_LEAF, leafOf, writeSetDigest } from './leaf.js';
import { MerkleTree } from './merkle-tree.js';
import {
  COSE_CCF_CLAIMS,
  COSE_SIGNATURES_MAP,
  decodeCoseSignatureValue,
  decodePrimarySignature,
  SIGNATURES_MAP,
  singletonWrite,
  TREE_MAP,
  type DecodedSignature,
} from './signature.js';
import { formatTxId, type TxId } from './tx-id.js';

export const SERVICE_INFO_MAP = 'public:ccf.gov.service.info';
export const NODES_INFO_MAP = 'public:ccf.gov.nodes.info';

const CERTIFICATE_CACHE_ENTRIES_MAX = 256;

/**
 * What a signature transaction may write, as CCF's replay allows (`CFTExecutionWrapper::apply`
 * refuses any other map): the last one is covered by no later signature, so anything else it held
 * would pass unverified.
 */
const SIGNATURE_TRANSACTION_MAPS: ReadonlySet<string> = new Set([SIGNATURES_MAP, TREE_MAP, COSE_SIGNATURES_MAP]);

export class LedgerVerificationError extends CocoError {
  constructor(
    readonly file: string,
    readonly txId: TxId | undefined,
    readonly reason: string,
    /** The seqnos no chunk holds, when that is the failure (the file itself may be sound). */
    readonly missing?: { from: number; to: number },
    /** The seqno of the entry at fault when its view is not known (no txId). */
    readonly seqno?: number,
  ) {
    // A fault of the ledger as a whole names no file (nor transaction).
    const at = txId === undefined ? seqno !== undefined && `at seqno ${seqno}` : `at transaction ${formatTxId(txId)}`;
    const where = [file, at].filter(Boolean).join(' ');
    super('LedgerVerificationFailed', where === '' ? reason : `${where}: ${reason}`);
  }

  /** The same failure with another file name (its path) or reason, every other fact kept. */
  with(changes: { file?: string; reason?: string }): LedgerVerificationError {
    return new LedgerVerificationError(changes.file ?? this.file, this.txId, changes.reason ?? this.reason, this.missing, this.seqno);
  }
}

/** The reason of a ledger whose last signed service identity is not the trusted certificate's (the txId of the failure records that identity). */
export const UNTRUSTED_SERVICE_IDENTITY = "the service identity recorded in the ledger is not the trusted service certificate's key";

export interface VerifyProgress {
  files: number;
  entries: number;
  bytes: number;
}

export interface LedgerVerifierOptions {
  /** PEM of the service identity to trust; without it, the identity recorded in the ledger is used. */
  trustedServiceCertPem?: string;
  onProgress?: (progress: VerifyProgress) => void;
  /**
   * Where verification starts when the ledger before it is not at hand (a node started from a
   * snapshot): the committed signature transaction at `txId`, the Merkle tree up to it, and the
   * service identity in force there when it is not the trusted one (a snapshot of the service a
   * recovery replaced: the ledger after it must then change to the trusted identity, as a recovery does).
   */
  from?: { txId: TxId; tree: MerkleTree; serviceCertPem?: string | undefined };
  /**
   * The tree to rebuild in place of a copy of its own, kept whole for the caller (never flushed):
   * the genesis placeholder leaf alone, or with `from`, `from.tree` itself.
   */
  tree?: MerkleTree;
  /**
   * `all` (the default, what an auditor wants) verifies the node's ECDSA signature and the
   * service's COSE signature of every signature transaction; `last` those of the last one only
   * (checked by `finish`), still comparing every signed root with the rebuilt tree.
   */
  signatures?: 'all' | 'last';
}

/** Each verified entry as `addChunk` reads it, with its write-set digest (SHA-256 of its bytes). */
export type VerifiedEntryHandler = (entry: LedgerEntry, writeSetDigest: Uint8Array) => void;

/** The layout of a chunk `addChunk` verified. */
export interface VerifiedChunk {
  /** Byte offset of each entry in the file. */
  offsets: number[];
  /** Where the last entry ends. */
  entriesEnd: number;
  /** Whether the file ends with its positions table (a chunk that is no longer written to). */
  complete: boolean;
}

/** The cryptographic checks of a signature transaction, as `signatures: 'last'` defers them. */
interface SignatureChecks {
  file: string;
  txId: TxId;
  nodeId: string;
  nodeCertPem: string;
  root: Uint8Array;
  signatureDer: Uint8Array;
  /** The service's signature over the same root, where the entry has one, and the service certificate then. */
  cose: { message: CoseSign1; serviceCertPem: string } | undefined;
}

/** What a crash leaves at the end of the chunk being written: the start of an entry, cut short. */
export interface IncompleteEntry {
  file: string;
  /** Where it starts in the file, after the last whole entry. */
  offset: number;
  /** What the file holds of it. */
  bytes: number;
  /** The seqno it would have had. */
  seqno: number;
}

export interface LedgerSummary {
  files: number;
  transactions: number;
  signatures: number;
  coseSignatures: number;
  firstTxId: TxId | undefined;
  lastTxId: TxId | undefined;
  /** The last signature transaction: everything up to it is verified. */
  lastVerifiedTxId: TxId | undefined;
  /** Transactions after the last signature, which no signature covers yet. */
  unsignedTail: number;
  /** An entry cut short at the end of the last chunk, still being written: not verified, not counted. */
  incompleteEntry: IncompleteEntry | undefined;
  /** The service identity in force at the last verified signature (recorded by an entry it covers). */
  serviceCertPem: string | undefined;
  /** SHA-256 hex of the service certificate DER (`openssl x509 -fingerprint -sha256`). */
  serviceIdentityFingerprint: string | undefined;
}

/** A service identity the ledger records: its key, and the entry that recorded it. */
interface IdentityRecord {
  key: Uint8Array;
  file: string;
  txId: TxId;
}

export class LedgerVerifier {
  private readonly tree: MerkleTree;
  private readonly nodeCerts = new Map<string, string>();
  /** Every node ID the ledger records (a key of the nodes table), certificate or not. */
  private readonly nodeIds = new Set<string>();
  /** Checks that hold for a certificate whatever it signs, remembered: node ID by certificate, endorsements. */
  private readonly nodeKeys = new Map<string, string>();
  private readonly endorsed = new Set<string>();
  /** The service identity recorded last, which the next signature is checked against. */
  private serviceCertPem: string | undefined;
  /**
   * The one in force at the last verified signature: recorded by an entry that signature covers,
   * and the identity it was checked against. Only it is reported; a later record, which no
   * signature covers yet, may be made up.
   */
  private signedServiceCertPem: string | undefined;
  /** Where the identity recorded last, and the one in force at the last verified signature, were recorded, with its key. */
  private serviceIdentityRecord: IdentityRecord | undefined;
  private signedServiceIdentityRecord: IdentityRecord | undefined;
  /** The first record since the last signature that gave the service a new key outside a recovery. */
  private identityChangeOutsideRecovery: { txId: TxId; file: string; status: string } | undefined;
  private readonly trustedServiceKey: Uint8Array | undefined;
  private file = '';
  private lastTxId: TxId | undefined;
  private lastVerifiedTxId: TxId | undefined;
  private lastFileCommitted = false;
  private files = 0;
  private transactions = 0;
  private signatures = 0;
  private coseSignatures = 0;
  private bytes = 0;
  private firstTxId: TxId | undefined;
  private sinceSignature = 0;
  private lastSignatureSeqno = 0;
  /** View and file of each seqno since the last signature, to name an altered entry by its TxID and file. */
  private readonly placed = new Map<number, { view: number; file: string }>();
  /** With `signatures: 'last'`: the checks of the last signature so far, run by `finish`. */
  private deferred: SignatureChecks | undefined;
  /** An entry cut short at the end of a chunk being written: only the last chunk may end so. */
  private incompleteEntry: IncompleteEntry | undefined;

  constructor(private readonly options: LedgerVerifierOptions = {}) {
    if (options.tree !== undefined) {
      const expected = (options.from?.txId.seqno ?? 0) + 1;
      if (options.tree.size !== expected || (options.from !== undefined && options.from.tree !== options.tree)) {
        throw new CocoError('InvalidArgument', `the tree to rebuild must hold the ${expected} leaves before verification starts (with a starting point, be its tree)`);
      }
    }
    if (options.from === undefined) {
      this.tree = options.tree ?? new MerkleTree();
      if (options.tree === undefined) this.tree.append(GENESIS_PLACEHOLDER_LEAF);
    } else {
      // The service identity was recorded before the starting point: only a trusted one will do.
      if (options.trustedServiceCertPem === undefined) throw new CocoError('InvalidArgument', 'verifying from a starting point needs the trusted service certificate');
      this.serviceCertPem = options.from.serviceCertPem ?? options.trustedServiceCertPem;
      this.signedServiceCertPem = this.serviceCertPem;
      this.tree = options.tree ?? MerkleTree.deserialize(options.from.tree.serialize());
      this.lastTxId = options.from.txId;
      this.lastVerifiedTxId = options.from.txId;
      this.lastSignatureSeqno = options.from.txId.seqno;
    }
    if (options.trustedServiceCertPem !== undefined) {
      this.trustedServiceKey = parseCertificate(options.trustedServiceCertPem).publicKeyDer;
      if (options.from !== undefined) {
        const key = options.from.serviceCertPem === undefined ? this.trustedServiceKey : parseCertificate(options.from.serviceCertPem).publicKeyDer;
        this.signedServiceIdentityRecord = this.serviceIdentityRecord = { key, file: '', txId: options.from.txId };
      }
    }
  }

  private fail(reason: string, txId: TxId | undefined, file = this.file): never {
    throw new LedgerVerificationError(file, txId, reason);
  }

  /** A fault of the entry at `seqno` whose view is not known (or not to be believed). */
  private failAtSeqno(reason: string, seqno: number, file: string): never {
    throw new LedgerVerificationError(file, undefined, reason, undefined, seqno);
  }

  /** A fault of the ledger as a whole (nothing in it, nothing that names its service): no file or transaction is to blame. */
  private failLedger(reason: string): never {
    throw new LedgerVerificationError('', undefined, reason);
  }

  /** A fault of the file as a whole (its name, layout or positions table): no one transaction is to blame. */
  private failFile(reason: string, missing?: { from: number; to: number }): never {
    throw new LedgerVerificationError(this.file, undefined, reason, missing);
  }

  /**
   * Verifies the next chunk; chunks must come in seqno order. `onEntry` sees each entry once it is
   * checked (a signature transaction once its root matches).
   */
  addChunk(fileName: string, bytes: Uint8Array, onEntry?: VerifiedEntryHandler): VerifiedChunk {
    if (this.incompleteEntry !== undefined) {
      const { file, offset, bytes: held, seqno } = this.incompleteEntry;
      this.failAtSeqno(
        `the chunk ends with an incomplete entry (${held} bytes at byte ${offset}, where seqno ${seqno} would start) but ${fileName} follows it: only the last chunk, still being written, may end so`,
        seqno,
        file,
      );
    }
    this.file = fileName;
    const name = parseChunkName(fileName);
    if (!name) this.failFile('not a ledger chunk name (expected ledger_<first>-<last>[.committed])');
    const expectedFirst = (this.lastTxId?.seqno ?? 0) + 1;
    if (name.first !== expectedFirst) {
      const what = name.first > expectedFirst ? 'a gap' : 'an overlap';
      this.failFile(
        this.lastTxId === undefined
          ? `the ledger starts at seqno ${name.first}; verification needs every chunk from seqno 1`
          : `${what}: the previous chunk ended at seqno ${expectedFirst - 1} but this one starts at ${name.first}`,
        name.first > expectedFirst ? { from: expectedFirst, to: name.first - 1 } : undefined,
      );
    }
    let layout: ChunkLayout;
    try {
      layout = readChunkLayout(bytes, fileName);
    } catch (error) {
      this.failFile((error as Error).message);
    }
    if (name.committed && !layout.complete) this.failFile('a committed chunk has no positions table (its offset, the first 8 bytes, is 0)');
    // A crash can cut short the entry being appended to the chunk being written, as CCF and a
    // restarting node expect: the entries before it are verified, the rest is reported.
    if (!layout.complete) {
      const { count, end } = openChunkEntries(bytes);
      if (end < layout.entriesEnd) {
        this.incompleteEntry = { file: fileName, offset: end, bytes: layout.entriesEnd - end, seqno: expectedFirst + count };
        layout = { complete: false, entriesEnd: end };
      }
    }
    const entryBytes = bytes.subarray(0, layout.entriesEnd);
    const offsets: number[] = [];
    let offset = CHUNK_HEADER_BYTES;
    while (offset < layout.entriesEnd) {
      const expected: TxId = { view: this.lastTxId?.view ?? 0, seqno: expectedFirst + offsets.length };
      let decoded;
      try {
        decoded = decodeEntry(entryBytes, offset);
      } catch (error) {
        this.checkPreviousEnd(bytes, layout, offsets, offset);
        this.checkTableOffset(bytes, layout, offsets.length, offset);
        // Before any entry is read the view is not known: the seqno alone names it.
        if (this.lastTxId === undefined) this.failAtSeqno(`entry at byte ${offset} is malformed: ${(error as Error).message}`, expected.seqno, this.file);
        this.fail(`entry at byte ${offset} is malformed: ${(error as Error).message}`, expected);
      }
      // An altered size can swallow the next entry whole: the one after it then parses, out of sequence.
      if (decoded.entry.txId.seqno !== expected.seqno) this.checkPreviousEnd(bytes, layout, offsets, offset);
      offsets.push(offset);
      this.checkSignatureEnd(bytes, layout, offsets.length, decoded);
      const digest = writeSetDigest(decoded.entry);
      this.verifyEntry(decoded.entry, expected.seqno, digest);
      onEntry?.(decoded.entry, digest);
      offset = decoded.next;
    }
    // Or the chunk's last entries: the table then lists one more within the entries.
    const listedNext = tablePosition(bytes, layout, offsets.length);
    if (listedNext !== undefined && listedNext > (offsets.at(-1) ?? layout.entriesEnd) && listedNext < layout.entriesEnd) {
      this.checkPreviousEnd(bytes, layout, offsets, layout.entriesEnd);
    }
    if (layout.complete && !tableFits(bytes, layout) && bytes.length - layout.entriesEnd !== offsets.length * 4) {
      this.failFile(`the positions table offset ${layout.entriesEnd} does not point at the positions table (what follows it does not list the entries before it)`);
    }
    try {
      checkPositionsTable(bytes, layout, offsets, fileName);
    } catch (error) {
      this.failFile((error as Error).message);
    }
    if (name.last !== undefined && this.lastTxId?.seqno !== name.last) {
      this.failFile(`the file name says it ends at seqno ${name.last}, but its last entry is seqno ${this.lastTxId?.seqno ?? 'none'} (truncated or renamed file?)`);
    }
    if (name.committed && this.sinceSignature !== 0) {
      this.fail(`a committed chunk must end with a signature transaction, but ${this.sinceSignature} transactions follow the last one`, this.lastTxId);
    }
    this.lastFileCommitted = name.committed;
    this.files += 1;
    this.bytes += bytes.length;
    this.options.onProgress?.({ files: this.files, entries: this.transactions, bytes: this.bytes });
    return { offsets, entriesEnd: layout.entriesEnd, complete: layout.complete };
  }

  /**
   * Where an entry of a complete chunk starts (`offset`, or the end of the entries) is wrong and the
   * positions table says another entry starts elsewhere: the previous entry's size field was altered,
   * so name that entry, not the one after it.
   */
  private checkPreviousEnd(bytes: Uint8Array, layout: ChunkLayout, offsets: readonly number[], offset: number): void {
    if (!tableFits(bytes, layout)) return;
    const listed = tablePosition(bytes, layout, offsets.length);
    if (listed !== undefined && listed !== offset && this.lastTxId && offsets.length > 0) this.failSizeField(offset, listed);
  }

  /**
   * A signature transaction has no private domain, but one whose size field grew to swallow the
   * next entry seems to have one: where the positions table lists that next entry inside it, blame the size.
   */
  private checkSignatureEnd(bytes: Uint8Array, layout: ChunkLayout, nextIndex: number, decoded: { entry: LedgerEntry; next: number }): void {
    const { entry, next } = decoded;
    if (entry.encryptedPrivateDomain.length === 0 || singletonWrite(entry.publicMaps, SIGNATURES_MAP) === undefined || !tableFits(bytes, layout)) return;
    const listed = tablePosition(bytes, layout, nextIndex);
    if (listed !== undefined && listed < next && listed >= next - entry.encryptedPrivateDomain.length) this.failSizeField(next, listed, entry.txId);
  }

  private failSizeField(next: number, listed: number, txId = this.lastTxId): never {
    this.fail(`its size field disagrees with the chunk's positions table (the next entry would start at byte ${next}, the table says ${listed})`, txId);
  }

  /**
   * The entry at `offset` of a complete chunk does not parse. If it runs into where the header says
   * the positions table starts, and the table there is not one that lists it, that offset is wrong.
   */
  private checkTableOffset(bytes: Uint8Array, layout: ChunkLayout, index: number, offset: number): void {
    if (!layout.complete) return;
    const end = entryEndAt(bytes, offset);
    const cut = layout.entriesEnd - offset < ENTRY_HEADER_BYTES || end === undefined || end > layout.entriesEnd;
    if (cut && !(tableFits(bytes, layout) && tablePosition(bytes, layout, index) === offset)) {
      this.failFile(`the positions table offset ${layout.entriesEnd} is not at an entry boundary (the entries before it end at byte ${offset})`);
    }
  }

  private verifyEntry(entry: LedgerEntry, expectedSeqno: number, digest: Uint8Array): void {
    const txId = entry.txId;
    if (txId.seqno !== expectedSeqno) this.fail(`expected seqno ${expectedSeqno} but the entry says ${txId.seqno}`, txId);
    if (entry.entryType === EntryType.Snapshot || entry.isSnapshotIv) this.fail('a snapshot entry cannot appear in a ledger chunk', txId);
    this.lastTxId = txId;
    this.placed.set(txId.seqno, { view: txId.view, file: this.file });
    this.firstTxId ??= txId;
    this.transactions += 1;

    const signatureValue = singletonWrite(entry.publicMaps, SIGNATURES_MAP);
    if (signatureValue !== undefined) this.verifySignature(entry, signatureValue);
    else this.sinceSignature += 1;

    // Governance records that later signatures are checked against take effect after this entry.
    this.recordIdentities(entry);
    this.tree.append(leafOf(entry, digest));
  }

  private verifySignature(entry: LedgerEntry, value: Uint8Array): void {
    const txId = entry.txId;
    this.checkSignatureContents(entry);
    let signature: DecodedSignature;
    try {
      signature = decodePrimarySignature(value);
    } catch (error) {
      this.fail((error as Error).message, txId);
    }
    const { json } = signature;
    if (json.seqno !== txId.seqno || json.view !== txId.view) {
      this.fail(`the signature claims to be at ${json.view}.${json.seqno}`, txId);
    }
    const nodeCert = json.cert ?? this.nodeCerts.get(json.node);
    if (nodeCert === undefined) this.fail(`the signing node ${json.node} has no certificate in the ledger`, txId);
    this.checkNodeKey(json.node, nodeCert, txId);
    const deferring = this.options.signatures === 'last';
    const checks: SignatureChecks = { file: this.file, txId, nodeId: json.node, nodeCertPem: nodeCert, root: signature.root, signatureDer: signature.signatureDer, cose: undefined };
    if (!deferring) this.checkNodeSignature(checks);
    // Entries are checked before the endorsement: an altered governance entry (say, the service
    // certificate) is then named itself, rather than the signature that depends on it.
    const root = this.tree.root();
    const treeValue = singletonWrite(entry.publicMaps, TREE_MAP);
    if (!equalBytes(root, signature.root)) {
      const signedTree = this.signedTree(treeValue, signature.root, txId);
      this.checkSignerBeforeBlame(checks);
      this.failAtAlteredEntry(signedTree, txId);
    }
    // The stored tree is usually byte-identical to ours; only otherwise is it worth rebuilding.
    if (treeValue !== undefined && !equalBytes(treeValue, this.tree.serialize(this.lastSignatureSeqno, txId.seqno))) {
      this.signedTree(treeValue, signature.root, txId);
    }
    if (json.cert !== undefined) this.checkEndorsement(nodeCert, txId);
    checks.cose = this.coseSignature(entry);
    if (deferring) this.deferred = checks;
    else this.checkCoseSignature(checks);
    // Leaves before the previous signature are no longer needed: keep memory bounded.
    if (this.options.tree === undefined) this.tree.flush(this.lastSignatureSeqno);
    for (let seqno = this.lastSignatureSeqno - 1; this.placed.delete(seqno); seqno--);
    this.lastSignatureSeqno = txId.seqno;
    this.signatures += 1;
    this.sinceSignature = 0;
    this.lastVerifiedTxId = txId;
    const change = this.identityChangeOutsideRecovery;
    if (change !== undefined) this.fail(`the service identity changes to a new key with status ${JSON.stringify(change.status)}; only a recovery (status "Recovering") changes it`, change.txId, change.file);
    this.signedServiceCertPem = this.serviceCertPem;
    this.signedServiceIdentityRecord = this.serviceIdentityRecord;
  }

  private checkSignatureContents(entry: LedgerEntry): void {
    const allowed = [...SIGNATURE_TRANSACTION_MAPS].join(', ');
    const extra = entry.publicMaps.find((map) => !SIGNATURE_TRANSACTION_MAPS.has(map.name));
    if (extra !== undefined) {
      this.fail(`a signature transaction may write only ${allowed}, but this one also writes ${extra.name}`, entry.txId);
    }
    if (entry.encryptedPrivateDomain.length > 0) {
      this.fail(`a signature transaction may write only ${allowed}, but this one also has ${entry.encryptedPrivateDomain.length} bytes of private writes`, entry.txId);
    }
  }

  /** The tree CCF serialized beside the signature; its root must be the signed root. */
  private signedTree(value: Uint8Array | undefined, signedRoot: Uint8Array, txId: TxId): MerkleTree | undefined {
    if (value === undefined) return undefined;
    let tree: MerkleTree;
    try {
      tree = MerkleTree.deserialize(value);
    } catch (error) {
      this.fail(`the serialized Merkle tree is malformed: ${(error as Error).message}`, txId);
    }
    if (tree.size !== txId.seqno || !equalBytes(tree.root(), signedRoot)) {
      this.fail('the serialized Merkle tree does not match the signed root', txId);
    }
    return tree;
  }

  /**
   * The rebuilt root differs from the signed one, and the stored tree is about to name the altered
   * entry: only a signature of this service makes its leaves authentic. A signature transaction
   * taken from another service (same seqno, another tree) is blamed itself. A node the ledger
   * records (its ID is its key's hash) needs no endorsement here: that fails as well when the
   * altered entry is the service identity the endorsement is checked against.
   */
  private checkSignerBeforeBlame(checks: SignatureChecks): void {
    if (this.options.signatures === 'last') this.checkNodeSignature(checks);
    if (!this.nodeIds.has(checks.nodeId)) this.checkEndorsement(checks.nodeCertPem, checks.txId);
  }

  /**
   * The rebuilt root differs from the signed one. The signed tree's leaves are authentic (their
   * root was signed by the service's node), so the first leaf that differs names the altered entry.
   */
  private failAtAlteredEntry(signedTree: MerkleTree | undefined, signatureTxId: TxId): never {
    if (signedTree !== undefined) {
      for (let seqno = Math.max(signedTree.flushed, this.tree.flushed); seqno < signedTree.size; seqno++) {
        if (!equalBytes(signedTree.leaf(seqno), this.tree.leaf(seqno))) {
          const placed = this.placed.get(seqno);
          // The view it claims is altered too when no signature of that view could cover it: not a transaction to name.
          if (placed !== undefined && placed.view > signatureTxId.view) {
            this.failAtSeqno(`this entry, which claims view ${placed.view}, does not match the one signed at transaction ${formatTxId(signatureTxId)} (altered, replaced or reordered)`, seqno, placed.file);
          }
          this.fail(
            `this entry does not match the one signed at transaction ${formatTxId(signatureTxId)} (altered, replaced or reordered)`,
            { view: placed?.view ?? this.lastTxId?.view ?? 0, seqno },
            placed?.file,
          );
        }
      }
    }
    this.fail(
      `the Merkle root of the ${this.tree.size - 1} transactions before this signature does not match the signed root: ` +
        'an entry before it was altered, removed or reordered',
      signatureTxId,
    );
  }

  private checkNodeKey(nodeId: string, certPem: string, txId: TxId): void {
    if (this.nodeKeys.get(certPem) === nodeId) return;
    let keyId: string;
    try {
      keyId = publicKeyId(certPem);
    } catch (error) {
      this.fail(`the signing node's certificate is unreadable: ${(error as Error).message}`, txId);
    }
    if (keyId !== nodeId) this.fail(`the signing node's certificate is for node ${keyId}, not ${nodeId}`, txId);
    if (this.nodeKeys.size >= CERTIFICATE_CACHE_ENTRIES_MAX) this.nodeKeys.clear();
    this.nodeKeys.set(certPem, nodeId);
  }

  private checkEndorsement(certPem: string, txId: TxId): void {
    if (this.serviceCertPem === undefined) this.fail('a node signed before any service identity was recorded', txId);
    // A node signs many times with one certificate: check each (certificate, service) pair once.
    const pair = `${this.serviceCertPem}\n${certPem}`;
    if (this.endorsed.has(pair)) return;
    try {
      // Judged as of the ledger: CCF's certificates are short-lived and real ledgers outlive them.
      verifyCertificateChain(certPem, { trustedRootPem: this.serviceCertPem, at: 'ignore-validity' });
    } catch (error) {
      this.fail(`the signing node's certificate is not endorsed by the service identity: ${(error as Error).message}`, txId);
    }
    if (this.endorsed.size >= CERTIFICATE_CACHE_ENTRIES_MAX) this.endorsed.clear();
    this.endorsed.add(pair);
  }

  /** The service's COSE signature over the root, if the entry has one, decoded and checked for the transaction it names. */
  private coseSignature(entry: LedgerEntry): SignatureChecks['cose'] {
    const value = singletonWrite(entry.publicMaps, COSE_SIGNATURES_MAP);
    if (value === undefined) return undefined;
    const txId = entry.txId;
    const serviceCertPem = this.serviceCertPem;
    if (serviceCertPem === undefined) this.fail('a COSE signature precedes any service identity', txId);
    try {
      const message = decodeCoseSign1(decodeCoseSignatureValue(value));
      const ccfHeader = message.protectedHeader.get(COSE_CCF_CLAIMS);
      const signedTxId = ccfHeader instanceof Map ? ccfHeader.get('txid') : undefined;
      if (signedTxId !== undefined && signedTxId !== formatTxId(txId)) {
        throw new Error(`it names transaction ${String(signedTxId)}`);
      }
      this.coseSignatures += 1;
      return { message, serviceCertPem };
    } catch (error) {
      this.fail(`the COSE signature over the root is invalid: ${(error as Error).message}`, txId);
    }
  }

  private checkNodeSignature({ file, txId, nodeId, nodeCertPem, root, signatureDer }: SignatureChecks): void {
    if (!verifyDigest(nodeCertPem, root, signatureDer)) {
      throw new LedgerVerificationError(file, txId, `the signature by node ${nodeId} over root ${toHex(root)} does not verify`);
    }
  }

  /** The service's signature over the root, if there is one (the service identity is known by then). */
  private checkCoseSignature({ file, txId, root, cose }: SignatureChecks): void {
    if (cose !== undefined && !verifyCoseSign1(cose.message, cose.serviceCertPem, root)) {
      throw new LedgerVerificationError(file, txId, 'the COSE signature over the root is invalid: the service signature does not verify');
    }
  }

  private recordIdentities(entry: LedgerEntry): void {
    for (const map of entry.publicMaps) {
      if (map.name === SERVICE_INFO_MAP) {
        for (const write of map.writes) this.recordServiceInfo(write.value, entry.txId);
      } else if (map.name === NODES_INFO_MAP) {
        for (const write of map.writes) {
          const nodeId = fromUtf8(write.key);
          this.nodeIds.add(nodeId);
          const info = parseJsonObject(write.value);
          if (typeof info?.cert === 'string') this.nodeCerts.set(nodeId, info.cert);
        }
      }
    }
  }

  private recordServiceInfo(value: Uint8Array, txId: TxId): void {
    const info = parseJsonObject(value);
    if (typeof info?.cert !== 'string') this.fail('the service information has no certificate', txId);
    let key: Uint8Array;
    try {
      key = parseCertificate(info.cert).publicKeyDer;
    } catch (error) {
      this.fail(`the service certificate is unreadable: ${(error as Error).message}`, txId);
    }
    // Only a disaster recovery gives the service a new key: the recovered service's signatures then
    // cover the previous service's entries too, so the identity to trust is the last one. A change
    // counts once a signature covers it (a record after the last one may be made up).
    const previous = this.serviceIdentityRecord;
    this.serviceCertPem = info.cert;
    if (previous !== undefined && equalBytes(key, previous.key)) return;
    if (previous !== undefined && info.status !== 'Recovering') {
      this.identityChangeOutsideRecovery ??= { txId, file: this.file, status: String(info.status) };
    }
    this.serviceIdentityRecord = { key, file: this.file, txId };
  }

  finish(): LedgerSummary {
    if (this.transactions === 0) this.failLedger('the ledger has no transactions');
    if (this.deferred !== undefined) {
      this.checkNodeSignature(this.deferred);
      this.checkCoseSignature(this.deferred);
      this.deferred = undefined;
    }
    if (this.trustedServiceKey && this.serviceCertPem === undefined) {
      this.failLedger('the ledger records no service identity to compare with the trusted certificate');
    }
    // The identity the last signature was checked against must be the trusted one (a ledger whose
    // service was recovered since holds its previous identities before it).
    const signed = this.signedServiceIdentityRecord ?? this.serviceIdentityRecord;
    if (this.trustedServiceKey && signed !== undefined && !equalBytes(signed.key, this.trustedServiceKey)) {
      this.fail(UNTRUSTED_SERVICE_IDENTITY, signed.txId, signed.file);
    }
    if (this.sinceSignature > 0 && this.lastFileCommitted) {
      this.fail(`${this.sinceSignature} transactions after the last signature are not covered by any signature`, this.lastTxId);
    }
    return {
      files: this.files,
      transactions: this.transactions,
      signatures: this.signatures,
      coseSignatures: this.coseSignatures,
      firstTxId: this.firstTxId,
      lastTxId: this.lastTxId,
      lastVerifiedTxId: this.lastVerifiedTxId,
      unsignedTail: this.sinceSignature,
      incompleteEntry: this.incompleteEntry,
      serviceCertPem: this.signedServiceCertPem,
      serviceIdentityFingerprint: this.signedServiceCertPem === undefined ? undefined : certificateId(this.signedServiceCertPem),
    };
  }
}

/**
 * Whether what follows a complete chunk's entries reads as its positions table (whole u32s, the
 * first entry right after the chunk header): only then can the table's positions be trusted to
 * tell which entry is at fault.
 */
function tableFits(bytes: Uint8Array, layout: ChunkLayout): boolean {
  return (bytes.length - layout.entriesEnd) % 4 === 0 && tablePosition(bytes, layout, 0) === CHUNK_HEADER_BYTES;
}

function parseJsonObject(value: Uint8Array): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(fromUtf8(value));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
