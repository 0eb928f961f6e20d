// What a receipt is made of, for a committed transaction: the signature transaction that covers it
// and, unless it is that signature, its Merkle proof up to the signed root and its leaf components.
// A node builds it from memory for recent transactions; for older ones (whose Merkle leaves it
// flushed) `CoverageFromLedger` reads it back from the node's ledger files, as CCF serves old
// receipts through historical queries: the transaction's entry, and the signature entry after it,
// which holds the tree CCF serializes at every signature. What it reads is checked as a receipt
// against the service certificate before it is used, then cached; the first request starts the
// read and is told to come back (`TransactionNotCached`, answered 202 with Retry-After). What does
// not parse or verify is `LedgerEntryMalformed`, naming the file and the seqno, for every request.

import { CocoError } from '../errors.js';
import { decodeEntry } from '../ledger/entry.js';
import { leafOf, NO_CLAIMS_DIGEST, writeSetDigest } from '../ledger/leaf.js';
import { MerkleTree, type ProofStep } from '../ledger/merkle-tree.js';
import { buildReceipt, buildSignatureReceipt, verifyReceipt, type Receipt } from '../ledger/receipt.js';
import { SIGNATURES_MAP, singletonWrite, TREE_MAP } from '../ledger/signature.js';
import { formatTxId, type TxId } from '../ledger/tx-id.js';
import { malformedEntry, parseReadBack, type EntryReadBack } from './entry-read-back.js';
import { LoadedCache } from './loaded-cache.js';
import { signatureRecordOf, type SignatureRecord } from './signature-record.js';

/**
 * Entries searched for the signature after a transaction the node has no index for (a committed
 * chunk ends with one, so its own chunk holds it: this bounds the work a damaged ledger can cause).
 */
const SIGNATURE_SEARCH_ENTRIES_MAX = 50_000;

/** Coverages read back from the ledger kept at once (least recently used first out). */
export const LEDGER_COVERAGE_CACHE_MAX = 1024;

export interface ReceiptLeaf {
  proof: ProofStep[];
  writeSetDigest: Uint8Array;
  commitEvidence: string;
  claimsDigest: Uint8Array;
}

export interface Coverage {
  signature: SignatureRecord;
  /** Undefined for a signature transaction, whose receipt is its signed root. */
  leaf: ReceiptLeaf | undefined;
}

/** The receipt a coverage makes. */
export function receiptOf({ signature, leaf }: Coverage): Receipt {
  const signer = { nodeId: signature.nodeId, certPem: signature.certPem, signatureDer: signature.signatureDer };
  return leaf === undefined ? buildSignatureReceipt({ ...signer, root: signature.root }) : buildReceipt({ ...signer, ...leaf });
}

export interface LedgerCoverageSource {
  readEntry(seqno: number): Promise<EntryReadBack>;
  /** Some entries of the committed chunk file holding `seqno`, from it on; undefined when there is none. */
  readCommittedFrom(seqno: number): Promise<EntryReadBack[] | undefined>;
  commitEvidenceFor(txId: TxId): string;
  serviceCertPem: string;
  /**
   * Whether the node's ledger files may hold `seqno`: known at once, so that a node asked for a
   * transaction it can never read back says so every time rather than starting a read.
   */
  mayHold(seqno: number): boolean;
}

interface ReadCoverage extends Coverage {
  /** The transaction's Merkle leaf, as the signed tree holds it. */
  leafHash: Uint8Array;
}

export class CoverageFromLedger {
  private readonly cache = new LoadedCache<number, ReadCoverage>(LEDGER_COVERAGE_CACHE_MAX);

  constructor(private readonly source: LedgerCoverageSource) {}

  /**
   * The coverage of committed `txId` by the signature at `signatureSeqno` (undefined: the first
   * signature after it in the committed chunk files, for a transaction from before the snapshot the
   * node started from), if read already; else starts reading it and throws
   * CocoError('TransactionNotCached'). A read that failed throws its error on every later call
   * (each reads again, in case the file was restored). ResourceNotFound, at once, for a transaction
   * the node's files cannot hold.
   */
  get(txId: TxId, signatureSeqno: number | undefined): Coverage {
    if (!this.source.mayHold(txId.seqno)) throw notHeld(txId);
    const coverage = this.cache.get(txId.seqno, () => this.read(txId, signatureSeqno));
    if (coverage !== undefined) return coverage;
    throw new CocoError('TransactionNotCached', `${formatTxId(txId)} and the signature over it are being read back from the ledger; ask again shortly`);
  }

  /** The Merkle leaf of `seqno`, from a coverage read back, if one is cached. */
  leaf(seqno: number): Uint8Array | undefined {
    return this.cache.peek(seqno)?.leafHash;
  }

  /** The entry of `seqno` and the first signature transaction at or after it, from the committed chunk files. */
  private async readUnindexed(txId: TxId): Promise<[EntryReadBack, EntryReadBack]> {
    let entryRead: EntryReadBack | undefined;
    for (let at = txId.seqno; at - txId.seqno < SIGNATURE_SEARCH_ENTRIES_MAX; ) {
      const entries = await this.source.readCommittedFrom(at);
      if (entries === undefined || entries.length === 0) break;
      for (const read of entries) {
        entryRead ??= read;
        const { publicMaps } = parseReadBack(read, (bytes) => decodeEntry(bytes).entry);
        if (singletonWrite(publicMaps, SIGNATURES_MAP) !== undefined) return [entryRead, read];
      }
      at += entries.length;
    }
    throw notHeld(txId);
  }

  private async read(txId: TxId, knownSignatureSeqno: number | undefined): Promise<ReadCoverage> {
    const [entryRead, signatureRead] =
      knownSignatureSeqno === undefined
        ? await this.readUnindexed(txId)
        : await Promise.all([this.source.readEntry(txId.seqno), this.source.readEntry(knownSignatureSeqno)]);
    const signatureSeqno = signatureRead.seqno;
    const { signature, tree } = parseReadBack(signatureRead, (bytes) => {
      const { entry } = decodeEntry(bytes);
      const record = entry.txId.seqno === signatureSeqno ? signatureRecordOf(signatureSeqno, entry.publicMaps) : undefined;
      if (record === undefined) throw new CocoError('LedgerEntryMalformed', `it is not the signature transaction expected there (it holds ${formatTxId(entry.txId)})`);
      return { signature: record, tree: singletonWrite(entry.publicMaps, TREE_MAP) };
    });
    const entry = parseReadBack(entryRead, (bytes) => {
      const { entry } = decodeEntry(bytes);
      if (entry.txId.seqno !== txId.seqno || entry.txId.view !== txId.view) throw new CocoError('LedgerEntryMalformed', `it holds ${formatTxId(entry.txId)}, not ${formatTxId(txId)}`);
      return entry;
    });
    const digest = writeSetDigest(entry);
    let leaf: ReceiptLeaf | undefined;
    if (txId.seqno !== signatureSeqno) {
      const proof = parseReadBack(signatureRead, () => {
        if (tree === undefined) throw new CocoError('LedgerEntryMalformed', 'the signature transaction holds no Merkle tree');
        return MerkleTree.deserialize(tree).proofAt(txId.seqno, signatureSeqno);
      });
      leaf = { proof, writeSetDigest: digest, commitEvidence: this.source.commitEvidenceFor(txId), claimsDigest: entry.claimsDigest?.slice() ?? NO_CLAIMS_DIGEST };
    }
    const coverage = { signature, leaf, leafHash: leafOf(entry, digest) };
    try {
      verifyReceipt(receiptOf(coverage), this.source.serviceCertPem, { at: 'ignore-validity' });
    } catch (error) {
      throw malformedEntry(entryRead, `it and the signature transaction at seqno ${signatureSeqno} (${signatureRead.file}) do not make a receipt that verifies against the service certificate`, error);
    }
    return coverage;
  }
}

function notHeld(txId: TxId): CocoError {
  return new CocoError('ResourceNotFound', `this node's ledger files do not hold ${formatTxId(txId)} and the signature after it (it started from a snapshot after them): ask a node that holds that part of the ledger`);
}
